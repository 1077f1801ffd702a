"""Read side of samples: search, export rows, history."""
import csv
import io
import math

from flask_babel import gettext as _
from sqlalchemy import bindparam, exists, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from ..core.errors import NotPermitted
from ..core.permissions import allowed, require
from ..core.time import utcnow
from ..custody.models import CustodyEvent
from ..extensions import db
from ..network import scope
from ..storage.models import Container
from .models import Sample, location_of
from .schemas import DEIDENTIFIED_FIELDS


def _filtered(actor, filters: dict):
    require(actor, "catalogue.search")
    query = select(Sample)
    identified = allowed(actor, "samples.identified")
    if not identified:
        if filters.get("donor") or filters.get("container_id"):
            raise NotPermitted(_("Researchers search the de-identified catalogue: no donor or location filters."))
        query = query.where(Sample.status == "available", Sample.consent_withdrawn.is_(False))
    if filters.get("overdue") is not None:
        if not identified:
            raise NotPermitted(_("Researchers search the de-identified catalogue: no check-out filters."))
        late = (Sample.status == "checked_out") & (Sample.due_back < utcnow())
        query = query.where(late if filters["overdue"] else ~late | Sample.due_back.is_(None))
    for name in ("sample_type", "status", "donor", "diagnosis", "anatomical_site"):
        if filters.get(name):
            query = query.where(getattr(Sample, name) == filters[name])
    if filters.get("container_id"):
        container = db.session.get(Container, filters["container_id"])
        lineage = container.lineage if container else "/-1/"
        query = query.join(Container, Sample.container_id == Container.id).where(
            Container.lineage.startswith(lineage))
    if filters.get("q"):
        like = f"%{filters['q']}%"
        columns = [Sample.barcode, Sample.diagnosis, Sample.anatomical_site]
        if identified:
            columns += [Sample.notes, Sample.donor]
        query = query.where(or_(*[c.ilike(like) for c in columns]))
    return query


def search(actor, filters: dict, page: int = 1, per_page: int = 50) -> dict:
    query = _filtered(actor, filters)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.execute(query.order_by(Sample.id).offset((page - 1) * per_page).limit(per_page)
                               .options(selectinload(Sample.container), selectinload(Sample.home_container),
                                        selectinload(Sample.children),
                                        selectinload(Sample.parent))).scalars().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


CSV_FIELDS = ("barcode", "sample_type", "status", "donor", "collected_at", "volume", "unit", "anatomical_site",
              "diagnosis", "storage_temperature", "sprec", "parent_barcode", "freeze_thaw_count", "location", "notes")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def export_csv(actor, filters: dict, batch: int = 2000):
    """Yield the whole result as CSV text, a batch at a time (researchers: de-identified)."""
    query = _filtered(actor, filters).order_by(Sample.id)
    identified = allowed(actor, "samples.identified")  # researchers: the month of collection only
    columns = CSV_FIELDS if identified else tuple(
        f for f in CSV_FIELDS if f in DEIDENTIFIED_FIELDS)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    last_id = 0
    while True:
        rows = db.session.execute(query.where(Sample.id > last_id).limit(batch).options(
            selectinload(Sample.container), selectinload(Sample.parent))).scalars().all()
        if not rows:
            break
        for sample in rows:
            values = {"location": sample.location_path, "parent_barcode": sample.parent_barcode,
                      "collected_at": (sample.collected_at.isoformat() + "Z" if identified
                                       else sample.collected_at.strftime("%Y-%m")) if sample.collected_at else None}
            writer.writerow([spreadsheet_safe(values[c] if c in values else getattr(sample, c)) for c in columns])
        last_id = rows[-1].id
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        db.session.expunge_all()
    if buffer.getvalue():
        yield buffer.getvalue()


def history(actor, barcode: str) -> list[CustodyEvent]:
    require(actor, "samples.identified")
    from .service import get_sample
    sample = get_sample(barcode)
    return db.session.execute(select(CustodyEvent).where(CustodyEvent.sample_barcode == sample.barcode)
                              .order_by(CustodyEvent.seq)).scalars().all()


# The scanner's hot path (GET /samples/{barcode}): one statement built once, with
# the box and parent joined in, read as plain rows rather than ORM objects.
_samples, _boxes = Sample.__table__, Container.__table__
_parents, _children = _samples.alias("parent"), _samples.alias("child")
_homes = _boxes.alias("home")
_LOOKUP = (select(_samples, _boxes.c.barcode.label("container_barcode"), _boxes.c.path.label("container_path"),
                  _homes.c.barcode.label("home_barcode"), _homes.c.path.label("home_path"),
                  _parents.c.barcode.label("parent_barcode"),
                  exists().where(_children.c.parent_id == _samples.c.id).label("has_children"))
           .select_from(_samples.outerjoin(_boxes, _boxes.c.id == _samples.c.container_id)
                        .outerjoin(_homes, _homes.c.id == _samples.c.home_container_id)
                        .outerjoin(_parents, _parents.c.id == _samples.c.parent_id))
           .where(_samples.c.barcode == bindparam("barcode")))
_CHILDREN = select(_samples.c.barcode).where(_samples.c.parent_id == bindparam("parent_id")).order_by(_samples.c.id)


def sample_record(actor, barcode: str) -> dict:
    """The same answer as sample_for, as a dict for SampleSchema, at a fraction of the cost."""
    require(actor, "catalogue.search")
    connection = db.session.connection()
    row = connection.execute(_LOOKUP, {"barcode": barcode}).mappings().first() if isinstance(barcode, str) else None
    if row is None:
        from .service import get_sample
        get_sample(barcode)  # raises the usual invalid / unknown barcode errors
    _hide_from_researchers(actor, barcode, row["consent_withdrawn"], row["status"])
    record = dict(row)
    del record["has_children"]
    # Most tubes are aliquots without children: those skip the second query.
    record["child_barcodes"] = connection.execute(_CHILDREN, {"parent_id": row["id"]}).scalars().all() \
        if row["has_children"] else []
    record["location"] = location_of(row["container_id"], row["container_barcode"], row["container_path"],
                                     row["pos_row"], row["pos_col"]) if row["container_id"] else None
    record["home"] = location_of(row["home_container_id"], row["home_barcode"], row["home_path"],
                                 row["home_row"], row["home_col"]) if row["home_container_id"] else None
    return record


def _hide_from_researchers(actor, barcode: str, consent_withdrawn: bool, status: str) -> None:
    if not allowed(actor, "samples.identified") and (consent_withdrawn or status != "available"):
        from ..core.errors import UnknownBarcode
        raise UnknownBarcode(_("No catalogue sample has the barcode %(barcode)s.", barcode=barcode))


def sample_for(actor, barcode: str) -> Sample:
    """A sample as this actor may see it (researchers: only catalogue samples)."""
    require(actor, "catalogue.search")
    from .service import get_sample
    # One query for the sample with everything its answer shows (box, parent,
    # children) instead of one lazy load each: this is the scanner's hot path.
    sample = db.session.execute(
        select(Sample).where(Sample.barcode == barcode).options(
            joinedload(Sample.container), joinedload(Sample.parent), joinedload(Sample.children))
    ).unique().scalar_one_or_none() if isinstance(barcode, str) else None
    if sample is None:
        sample = get_sample(barcode)  # raises the usual invalid / unknown barcode errors
    _hide_from_researchers(actor, barcode, sample.consent_withdrawn, sample.status)
    return sample


def overdue_checkouts(actor, limit: int | None = None, now=None) -> list[Sample]:
    """Checked-out tubes past their due-back time, the longest overdue first
    (for the overdue page and the manager's home page)."""
    require(actor, "samples.identified")
    query = (select(Sample).where(*_overdue(actor, now)).order_by(Sample.due_back, Sample.id)
             .options(selectinload(Sample.home_container)))
    if limit is not None:
        query = query.limit(limit)
    return db.session.execute(query).scalars().all()


def overdue_count(actor, now=None) -> int:
    require(actor, "samples.identified")
    return db.session.execute(select(func.count()).select_from(Sample).where(*_overdue(actor, now))).scalar_one()


def _overdue(actor, now=None) -> list:
    """Checked out past due back, from a place at the actor's sites (network roles: anywhere)."""
    conds = [Sample.status == "checked_out", Sample.due_back < (now or utcnow())]
    here = scope.at_visible_sites(actor, Sample.home_container_id)
    return conds + ([here] if here is not None else [])


def barcode_differing_in_case(code: str) -> str | None:
    """The stored sample barcode equal to `code` but for case (a scanner in the wrong mode), if any."""
    return db.session.execute(select(Sample.barcode).where(func.lower(Sample.barcode) == code.lower())
                              .limit(1)).scalar_one_or_none()
