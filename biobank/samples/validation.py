"""Field rules for samples, shared by single registration and bulk import.

clean_fields() never raises: it returns the cleaned values and a list of
problems, so an import can name every bad row and a registration the first.
"""
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from flask_babel import gettext as _

from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import InvalidBarcode, InvalidInput
from ..core.time import to_naive_utc, utcnow
from .models import SAMPLE_TYPES, TEMPERATURES
from .quantities import UNITS, amount_problem, known_amount

BARCODE_RE = re.compile(r"\A[A-Za-z0-9\-_.]{3,64}\Z")
DONOR_RE = re.compile(r"\A[A-Za-z0-9\-_.]{1,64}\Z")
ICDO3_TOPOGRAPHY_RE = re.compile(r"\AC\d{2}(\.\d)?\Z")
ICD10_RE = re.compile(r"\A[A-TV-Z]\d{2}(\.\d{1,4})?\Z")
SPREC_RE = re.compile(r"\A[A-Z0-9]{3}(-[A-Z0-9]{1,3}){6}\Z")
MAX_NOTES = 4000
FUTURE_TOLERANCE = timedelta(days=1)  # how far ahead of now a collection time may be
# Coded fields: (field, pattern, what a valid value looks like).
CODED_FIELDS = (("anatomical_site", ICDO3_TOPOGRAPHY_RE,
                 _l("'%(value)s' is not an ICD-O-3 topography code such as C50.9.")),
                ("diagnosis", ICD10_RE, _l("'%(value)s' is not an ICD-10 code such as C50.9.")),
                ("sprec", SPREC_RE, _l("'%(value)s' is not a SPREC code such as TIS-ZZZ-A-B-C-D-E.")))


@dataclass
class Problem:
    field: str
    message: str
    code: str = "invalid_input"


def barcode_problem(barcode) -> str | None:
    if not isinstance(barcode, str) or not barcode:
        return _("A barcode is required.")
    if not BARCODE_RE.fullmatch(barcode):
        shown = barcode if len(barcode) <= 40 else barcode[:40] + "…"
        return _("'%(barcode)s' is not a valid barcode: use 3..64 characters of "
                 "A-Z a-z 0-9 - _ . (no spaces or other symbols).", barcode=shown)
    return None


def check_barcode(barcode) -> str:
    problem = barcode_problem(barcode)
    if problem:
        raise InvalidBarcode(problem)
    return barcode


def parse_datetime(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return to_naive_utc(value)
    text = str(value).strip()
    try:
        return _time_of(text)
    except ValueError:
        raise ValueError(_("'%(value)s' is not a date/time; use ISO 8601 such as 2025-07-21T07:15:00Z.",
                           value=text)) from None


@lru_cache(maxsize=4096)
def _time_of(text: str) -> datetime:
    """An ISO 8601 text as naive UTC, parsed once per distinct text: the rows of a file share
    few collection times. (A refusal raises, and is not kept.)"""
    return to_naive_utc(datetime.fromisoformat(text.replace("z", "Z")))


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value) -> str | None:
    """The value as text without surrounding spaces; None when missing or blank."""
    return None if value is None else str(value).strip() or None


_SAMPLE_TYPES, _TEMPERATURES, _UNITS = frozenset(SAMPLE_TYPES), frozenset(TEMPERATURES), frozenset(UNITS)


def clean_fields(raw: dict, now: datetime | None = None) -> tuple[dict, list[Problem]]:
    """Check and normalise the sample fields of one registration or CSV row.

    now: the time the collection times are checked against (an import passes
    one for all its rows); the current time when not given. An import calls
    this for every row of a file, so the common case (text, valid) does no
    more than it must; problems are worded only when there are some."""
    get = raw.get
    problems = []

    barcode = get("barcode")
    if isinstance(barcode, str):
        barcode = barcode.strip()
    if (msg := barcode_problem(barcode)) is not None:
        problems.append(Problem("barcode", msg, "invalid_barcode"))

    sample_type = get("sample_type")
    if isinstance(sample_type, str):
        sample_type = sample_type.strip()
    if sample_type not in _SAMPLE_TYPES:
        problems.append(Problem("sample_type", _("'%(value)s' is not a sample type; use one of %(types)s.",
                                                 value=sample_type or "", types=", ".join(SAMPLE_TYPES)),
                                "invalid_sample_type"))

    temperature = get("storage_temperature")
    if _blank(temperature):
        temperature = None
    elif temperature not in _TEMPERATURES:
        problems.append(Problem("storage_temperature", _("'%(value)s' is not a temperature class; use one of "
                                                         "%(classes)s.", value=temperature,
                                                         classes=", ".join(TEMPERATURES))))

    donor = _text(get("donor"))
    if donor is not None and not DONOR_RE.fullmatch(donor):
        problems.append(Problem("donor", _("'%(value)s' is not a donor pseudonym (1..64 of A-Z a-z 0-9 - _ .).",
                                           value=donor)))

    try:
        collected = parse_datetime(get("collected_at"))
        if collected is not None and collected > (now or utcnow()) + FUTURE_TOLERANCE:
            problems.append(Problem("collected_at", _("Collection time %(value)s is in the future.",
                                                      value=get("collected_at"))))
    except ValueError as exc:
        problems.append(Problem("collected_at", str(exc), "invalid_date"))
        collected = None

    unit = _text(get("unit"))
    if unit is not None and unit not in _UNITS:
        problems.append(Problem("unit", _("'%(unit)s' is not a unit; use one of %(units)s.", unit=unit,
                                          units=", ".join(UNITS))))

    volume = _text(get("volume"))
    if volume is not None:
        amount = known_amount(volume, unit or "mL")
        if amount is None:
            amount, problem = amount_problem(volume, unit or "mL")
            problems.append(Problem("volume", problem, "invalid_quantity"))
        volume = amount

    clean = {"barcode": barcode, "sample_type": sample_type, "storage_temperature": temperature, "donor": donor,
             "collected_at": collected, "volume": volume, "unit": unit or ("mL" if volume is not None else None)}
    for field, pattern, refusal in CODED_FIELDS:
        value = _text(get(field))
        if value is not None:
            value = value.upper()
            if not pattern.fullmatch(value):
                problems.append(Problem(field, str(refusal) % {"value": value}))
        clean[field] = value

    notes = get("notes")
    notes = None if _blank(notes) else str(notes)
    if notes is not None and len(notes) > MAX_NOTES:
        problems.append(Problem("notes", _("Notes are limited to %(num)d characters.", num=MAX_NOTES)))
    clean["notes"] = notes

    clean["parent_barcode"] = _text(get("parent_barcode"))
    return clean, problems


def raise_first(problems: list[Problem]) -> None:
    if problems:
        first = problems[0]
        error = InvalidBarcode if first.code == "invalid_barcode" else InvalidInput
        raise error(first.message, code=first.code,
                    details=[{"field": p.field, "message": p.message} for p in problems])
