"""Request lines by criteria: "20 plasma, C50, collected in 2025", for a manager to fill.

`parse` checks a researcher's criteria and makes the lines; `matching` is the query of
available catalogue samples that fit a line (the same rules as the catalogue search).
"""
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import false, or_, select

from ..core.errors import InvalidInput
from ..extensions import db
from ..network.models import Site
from ..samples.models import SAMPLE_TYPES, Sample
from .catalogue import at_site, conditions
from .models import RequestCriterion

MAX_COUNT = 1000


def _date(value, name: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InvalidInput(_("%(name)s is not a date (YYYY-MM-DD): %(value)s.", name=name, value=value),
                           code="invalid_criteria") from None


def _count(value) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        count = 0
    if isinstance(value, bool) or not 1 <= count <= MAX_COUNT:
        raise InvalidInput(_("Ask for between 1 and %(max)d samples in a line.", max=MAX_COUNT),
                           code="invalid_criteria")
    return count


def _site(code) -> Site | None:
    if code in (None, ""):
        return None
    site = db.session.execute(select(Site).where(Site.code == str(code).strip())).scalar_one_or_none()
    if site is None:
        raise InvalidInput(_("There is no site %(code)s.", code=code), code="unknown_site")
    return site


def parse(raw) -> list[RequestCriterion]:
    """Criteria lines from a list of {count, sample_type?, diagnosis?, collection_year?,
    collected_from?, collected_to?, site?}; a clear error for the first bad one."""
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        raise InvalidInput(_("Criteria must be a list of lines."), code="invalid_criteria")
    lines = []
    for entry in raw:
        if not isinstance(entry, dict):
            raise InvalidInput(_("Each criteria line needs at least a count."), code="invalid_criteria")
        sample_type = entry.get("sample_type") or None
        if sample_type is not None and sample_type not in SAMPLE_TYPES:
            raise InvalidInput(_("Unknown sample type: %(type)s.", type=sample_type), code="invalid_criteria")
        diagnosis = (entry.get("diagnosis") or "").strip().upper() or None
        if diagnosis is not None and len(diagnosis) > 16:
            raise InvalidInput(_("The diagnosis code is longer than 16 characters."), code="invalid_criteria")
        start = _date(entry.get("collected_from"), _("collected from"))
        end = _date(entry.get("collected_to"), _("collected until"))
        if entry.get("collection_year") not in (None, ""):
            year = entry["collection_year"]
            if isinstance(year, bool) or not str(year).isdigit() or not 1900 <= int(year) <= 2999:
                raise InvalidInput(_("The collection year must be a year such as 2025."), code="invalid_criteria")
            start, end = date(int(year), 1, 1), date(int(year), 12, 31)
        if start and end and start > end:
            raise InvalidInput(_("The collection period ends before it starts."), code="invalid_criteria")
        site = _site(entry.get("site"))
        lines.append(RequestCriterion(count=_count(entry.get("count")), sample_type=sample_type, diagnosis=diagnosis,
                                      collected_from=start, collected_to=end, site_id=site.id if site else None))
    return lines


def filters_of(criterion: RequestCriterion) -> dict:
    """The line as catalogue search filters."""
    filters = {"sample_type": criterion.sample_type, "diagnosis": criterion.diagnosis,
               "collected_from": criterion.collected_from, "collected_to": criterion.collected_to}
    return {k: v for k, v in filters.items() if v}


def matching(criterion: RequestCriterion, *, site_ids=None, exclude=()):
    """select(Sample) of available samples that fit the line, at its site if it names one and
    within `site_ids` (the filler's sites; None = every site), oldest registration first."""
    conds = conditions(filters_of(criterion))
    if criterion.site is not None:
        conds.append(at_site(criterion.site.code))
    if site_ids is not None:
        codes = list(db.session.execute(select(Site.code).where(Site.id.in_(list(site_ids)))).scalars())
        conds.append(or_(*(at_site(code) for code in codes)) if codes else false())
    if exclude:
        conds.append(Sample.id.not_in(list(exclude)))
    return select(Sample).where(*conds).order_by(Sample.id)
