"""Which samples the catalogue offers: available samples of consenting donors, under a
search's filters. Shared by the catalogue, "add every match to the cart" and the
filling of criteria lines, so all three agree on what a researcher may have."""
from datetime import datetime, time

from sqlalchemy import extract, false, func, select

from ..extensions import db
from ..network.models import Site
from ..samples.models import Sample
from ..storage.models import Container
from .opaque import sample_id_of


def _day(value, end: bool = False) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time.max if end else time.min)


def conditions(filters: dict, skip: str | None = None) -> list:
    """WHERE conditions for the catalogue; `skip` leaves out one facet's own filter. The text
    search `q` matches a catalogue id, a code, or (unless `_researcher` is set) a barcode."""
    conds = [Sample.status == "available", Sample.consent_withdrawn.is_(False)]
    if filters.get("sample_type") and skip != "sample_type":
        conds.append(Sample.sample_type == filters["sample_type"])
    for name in ("diagnosis", "anatomical_site"):
        if filters.get(name) and skip != name:
            code = filters[name].strip().upper()
            conds.append(func.upper(getattr(Sample, name)).startswith(code, autoescape=True))
    if filters.get("unit") and skip != "unit":
        conds.append(Sample.unit == filters["unit"])
    if skip != "collection_year":
        if filters.get("collected_from"):
            conds.append(Sample.collected_at >= _day(filters["collected_from"]))
        if filters.get("collected_to"):
            conds.append(Sample.collected_at <= _day(filters["collected_to"], end=True))
        if filters.get("collection_year"):
            conds.append(extract("year", Sample.collected_at) == int(filters["collection_year"]))
    if filters.get("min_volume") is not None:
        conds.append(Sample.volume >= filters["min_volume"])
    if filters.get("max_volume") is not None:
        conds.append(Sample.volume <= filters["max_volume"])
    if filters.get("site") and skip != "site":
        conds.append(at_site(filters["site"]))
    if filters.get("q"):
        like = f"%{filters['q']}%"
        by_id = sample_id_of(filters["q"])
        text = Sample.diagnosis.ilike(like) | Sample.anatomical_site.ilike(like)
        if by_id is not None:
            text = text | (Sample.id == by_id)
        if not filters.get("_researcher"):  # researchers do not search by barcode: it may name the donor
            text = text | Sample.barcode.ilike(like)
        conds.append(text)
    return conds


def at_site(code: str):
    """Samples stored in the tree of the site with this code (none for an unknown code)."""
    top = db.session.execute(select(Site.container_id).where(Site.code == code)).scalar()
    return Sample.container_id.in_(select(Container.id).where(Container.lineage.startswith(f"/{top}/"))) \
        if top is not None else false()


