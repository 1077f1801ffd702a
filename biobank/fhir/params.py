"""FHIR search parameters as the R4 specification reads them: tokens, references, dates
with prefixes and partial precision, _count, _offset, _sort, _include.

A parsed search is plain data (lists of alternatives per parameter, ANDed across
repetitions); the queries module turns it into SQL.
"""
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from ..core.errors import InvalidInput

PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
DEFAULT_COUNT = 50
MAX_COUNT = 1000
# Parameters that shape the answer rather than filter it (all resource types).
RESULT_PARAMETERS = ("_count", "_offset", "_sort", "_include", "_format", "_summary", "_total", "_elements",
                     "format", "_pretty")
_DATE = re.compile(r"^(?P<year>\d{4})(-(?P<month>\d{2})(-(?P<day>\d{2})"
                   r"(T(?P<hour>\d{2}):(?P<minute>\d{2})(:(?P<second>\d{2})(\.\d+)?)?"
                   r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$")


class SearchError(InvalidInput):
    """A search FHIR cannot run as asked: 400 with an OperationOutcome."""
    status = 400
    code = "invalid_search"


@dataclass(frozen=True)
class Token:
    system: str | None   # None: any system; "": no system
    code: str | None     # None: any code of the system


@dataclass(frozen=True)
class DateRange:
    prefix: str
    low: datetime        # inclusive, naive UTC
    high: datetime       # exclusive, naive UTC


@dataclass
class Search:
    filters: dict = field(default_factory=dict)     # name -> [[alternatives], ...] (AND of ORs)
    count: int = DEFAULT_COUNT
    offset: int = 0
    sort: list = field(default_factory=list)        # [(name, descending)]
    include: list = field(default_factory=list)     # ["Specimen:subject", ...]
    summary_count: bool = False
    ndjson: bool = False
    used: list = field(default_factory=list)        # (name, value) pairs the search honoured
    ignored: list = field(default_factory=list)     # names it did not understand


def token(text: str) -> Token:
    if "|" not in text:
        return Token(None, text or None)
    system, code = text.split("|", 1)
    return Token(system, code or None)


def reference(text: str, resource_type: str) -> str:
    """`Patient/123`, `123` or an absolute URL ending in Patient/123 -> "123"."""
    value = text.strip()
    if "/" in value:
        parts = value.rstrip("/").split("/")
        if len(parts) < 2 or parts[-2] != resource_type:
            raise SearchError(f"'{text}' is not a reference to a {resource_type}.")
        value = parts[-1]
    if not value:
        raise SearchError(f"An empty reference to a {resource_type} names nothing.")
    return value


def date_range(text: str) -> DateRange:
    """`ge2025-03` -> the prefix and the range [low, high) the value's precision covers, in UTC."""
    prefix, value = ("eq", text)
    if text[:2] in PREFIXES:
        prefix, value = text[:2], text[2:]
    elif text[:2] == "ap":
        raise SearchError("The 'ap' (approximately) date prefix is not supported; use ge and le.",
                          code="unsupported_prefix")
    match = _DATE.match(value)
    if not match:
        raise SearchError(f"'{text}' is not a FHIR date: use YYYY, YYYY-MM, YYYY-MM-DD or "
                          "YYYY-MM-DDThh:mm[:ss][Z|+hh:mm], with an optional prefix (eq, ne, lt, gt, le, ge, sa, eb).")
    parts = {k: int(v) for k, v in match.groupdict().items() if v and k != "tz"}
    try:
        low = datetime(parts["year"], parts.get("month", 1), parts.get("day", 1), parts.get("hour", 0),
                       parts.get("minute", 0), parts.get("second", 0))
    except ValueError:
        raise SearchError(f"'{value}' is not a date on the calendar.") from None
    if "second" in parts:
        high = low + timedelta(seconds=1)
    elif "minute" in parts:
        high = low + timedelta(minutes=1)
    elif "day" in parts:
        high = low + timedelta(days=1)
    elif "month" in parts:
        high = datetime(low.year + low.month // 12, low.month % 12 + 1, 1)
    else:
        high = datetime(low.year + 1, 1, 1)
    tz = match.group("tz")
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        shift = timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6])) * sign
        low, high = low - shift, high - shift
    return DateRange(prefix, low, high)


def _integer(name: str, text: str, low: int, high: int) -> int:
    try:
        number = int(text)
    except ValueError:
        raise SearchError(f"{name} must be a whole number, not '{text}'.") from None
    if not low <= number <= high:
        raise SearchError(f"{name} must be between {low} and {high}.")
    return number


def parse(pairs, definitions: dict, sorts: dict, includes: tuple, strict: bool) -> Search:
    """Read the query string's (name, value) pairs against one resource type's definitions
    {name: kind}, where kind is token, reference, date or string."""
    search = Search()
    for raw_name, value in pairs:
        name, _, modifier = raw_name.partition(":")
        if name in definitions:
            kind = definitions[name]
            if modifier and not (modifier == "missing" and kind in ("date", "reference", "token")):
                raise SearchError(f"The modifier :{modifier} of {name} is not supported.",
                                  code="unsupported_modifier")
            if modifier == "missing":
                if value not in ("true", "false"):
                    raise SearchError(f"{raw_name} takes true or false.")
                search.filters.setdefault(name + ":missing", []).append([value == "true"])
            else:
                search.filters.setdefault(name, []).append(_values(name, kind, value))
            search.used.append((raw_name, value))
        elif name == "_count":
            search.count = _integer("_count", value, 0, MAX_COUNT)
            search.used.append((name, value))
        elif name == "_offset":
            search.offset = _integer("_offset", value, 0, 2**31 - 1)
        elif name == "_sort":
            search.sort = _sort(value, sorts)
            search.used.append((name, value))
        elif name == "_include":
            if value.split(":")[:2] and ":".join(value.split(":")[:2]) in includes:
                search.include.append(":".join(value.split(":")[:2]))
                search.used.append((name, value))
            elif strict:
                raise SearchError(f"_include={value} is not supported; this server includes "
                                  f"{', '.join(includes) or 'nothing'}.", code="unsupported_include")
            else:
                search.ignored.append(f"_include={value}")
        elif name in ("_format", "format"):
            if value in ("ndjson", "application/fhir+ndjson", "application/ndjson"):
                search.ndjson = True
            elif value not in ("json", "application/fhir+json", "application/json"):
                raise SearchError(f"_format={value} is not served; this server speaks JSON "
                                  "(application/fhir+json) and NDJSON.", code="unsupported_format", status=406)
            search.used.append((name, value))
        elif name == "_summary":
            if value == "count":
                search.summary_count = True
                search.used.append((name, value))
            elif value != "false":
                search.ignored.append(raw_name)
        elif name in ("_total", "_pretty"):
            pass   # the total is always counted; JSON is always compact
        elif strict:
            raise SearchError(f"The search parameter '{raw_name}' is not supported here "
                              f"(Prefer: handling=strict). Supported: {', '.join(sorted(definitions))}.",
                              code="unknown_parameter")
        else:
            search.ignored.append(raw_name)
    return search


def _values(name: str, kind: str, value: str) -> list:
    alternatives = [part for part in value.split(",")]
    if kind == "token":
        return [token(part) for part in alternatives]
    if kind == "date":
        return [date_range(part) for part in alternatives]
    if not all(alternatives):
        raise SearchError(f"{name} needs a value.")
    return alternatives


def _sort(value: str, sorts: dict) -> list:
    keys = []
    for part in value.split(","):
        descending = part.startswith("-")
        name = part[1:] if descending else part
        if name not in sorts:
            raise SearchError(f"Cannot sort by '{name}'; sort by {', '.join(sorts)}.", code="unsupported_sort")
        keys.append((name, descending))
    return keys


def utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment
