"""Read side of requests: the de-identified catalogue, request lists, pick lists, manifests."""
import csv
import io
import math
import re

from sqlalchemy import extract, func, select
from sqlalchemy.orm import selectinload

from flask_babel import gettext as _

from ..core.errors import InvalidInput, NotFound
from ..core.permissions import allowed, require
from ..core.time import iso_utc
from ..extensions import db
from ..network import scope
from ..network.models import Site
from ..samples.models import Sample
from ..samples.queries import spreadsheet_safe
from ..storage.models import Container
from ..storage.positions import label
from .models import RequestCriterion, RequestItem, RequestPart, ResearchRequest
from . import criteria
from .catalogue import conditions as _conditions
from .service import sees_all_requests, visible_request

# Facets of the catalogue: name -> the grouped expression. Codes group by their
# category (ICD-10 "C50", ICD-O-3 topography "C50") so the lists stay short.
_FACETS = {
    "sample_type": Sample.sample_type,
    "diagnosis": func.substr(Sample.diagnosis, 1, 3),
    "anatomical_site": func.substr(Sample.anatomical_site, 1, 3),
    "collection_year": extract("year", Sample.collected_at),
    "unit": Sample.unit,
}


# -- catalogue -----------------------------------------------------------------------
def facet_counts(filters: dict) -> dict:
    """Counts per value of each facet, under every other filter (so choices stay visible)."""
    facets = {}
    for name, expr in _FACETS.items():
        rows = db.session.execute(select(expr, func.count()).where(*_conditions(filters, skip=name))
                                  .group_by(expr).order_by(func.count().desc(), expr)).all()
        facets[name] = [{"value": _facet_value(value), "count": count} for value, count in rows
                        if value is not None]
    facets["site"] = _site_facet(filters)
    return facets


def _site_facet(filters: dict) -> list[dict]:
    """Available samples per site (one count per site: a network has a handful)."""
    conds = _conditions(filters, skip="site")
    counts = []
    for code, top in db.session.execute(select(Site.code, Site.container_id).order_by(Site.id)).all():
        here = Sample.container_id.in_(select(Container.id).where(Container.lineage.startswith(f"/{top}/")))
        count = db.session.execute(select(func.count()).select_from(Sample).where(*conds, here)).scalar_one()
        if count:
            counts.append({"value": code, "count": count})
    return sorted(counts, key=lambda c: (-c["count"], c["value"]))


def _facet_value(value):
    """Years come back as float (SQLite) or Decimal (PostgreSQL); show them as integers."""
    return value if isinstance(value, (str, int)) else int(value)


def catalogue_ids(actor, filters: dict, limit: int) -> list[int]:
    """Ids of every catalogue match (up to `limit`), in catalogue order: "add all to the cart"."""
    require(actor, "catalogue.search")
    filters = dict(filters, _researcher=not allowed(actor, "samples.identified"))
    return list(db.session.execute(select(Sample.id).where(*_conditions(filters)).order_by(Sample.id)
                                   .limit(limit)).scalars())


def catalogue(actor, filters: dict, page: int = 1, per_page: int = 50) -> dict:
    """Available samples of consenting donors, de-identified, with facet counts."""
    require(actor, "catalogue.search")
    if filters.get("min_volume") is not None and filters.get("max_volume") is not None \
            and filters["min_volume"] > filters["max_volume"]:
        raise InvalidInput(_("The minimum volume is larger than the maximum."), code="invalid_range")
    filters = dict(filters, _researcher=not allowed(actor, "samples.identified"))
    conds = _conditions(filters)
    total = db.session.execute(select(func.count()).select_from(Sample).where(*conds)).scalar_one()
    items = db.session.execute(select(Sample).where(*conds).order_by(Sample.id)
                               .offset((page - 1) * per_page).limit(per_page)).scalars().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page)), "facets": facet_counts(filters)}


# -- requests ------------------------------------------------------------------------
def list_requests(actor, status: str | None = None, page: int = 1, per_page: int = 50,
                  mine: bool = False) -> dict:
    """Researchers: their own requests; staff: all (or only their own with mine=True)."""
    if not sees_all_requests(actor):
        require(actor, "requests.create")
    query = select(ResearchRequest)
    if mine or not sees_all_requests(actor):
        query = query.where(ResearchRequest.requester_id == actor.user_id if actor.user_id is not None
                            else ResearchRequest.requester == actor.username)
    if status:
        query = query.where(ResearchRequest.status == status)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.execute(query.order_by(ResearchRequest.id.desc()).offset((page - 1) * per_page)
                               .limit(per_page).options(selectinload(ResearchRequest.items)
                                                        .selectinload(RequestItem.sample))).scalars().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


def waiting_for(actor, limit: int = 10) -> dict:
    """Submitted requests waiting for this manager: a part at their sites still to decide, or a
    line by criteria still to fill (any manager may fill one), oldest first."""
    require(actor, "requests.decide")
    site_ids = scope.visible_site_ids(actor)
    pending = select(RequestPart.request_id).where(RequestPart.status == "pending")
    if site_ids is not None:
        pending = pending.where(RequestPart.site_id.in_(site_ids or [-1]))
    unfilled = select(RequestCriterion.request_id).where(RequestCriterion.filled_at.is_(None))
    query = select(ResearchRequest).where(ResearchRequest.status == "submitted",
                                          ResearchRequest.id.in_(pending) | ResearchRequest.id.in_(unfilled))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.execute(query.order_by(func.coalesce(ResearchRequest.submitted_at, ResearchRequest.created_at),
                                              ResearchRequest.id).limit(limit)).scalars().all()
    return {"items": items, "total": total}


def request_for(actor, request_id: int) -> ResearchRequest:
    return visible_request(actor, request_id)


# -- pick list -------------------------------------------------------------------------
def _natural(text: str) -> tuple:
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text or ""))


def _where(sample: Sample):
    """(box, row, col): where the tube is, or where it was taken from once picked."""
    if sample.container_id:
        return sample.container, sample.pos_row, sample.pos_col
    if sample.home_container_id:
        return sample.home_container, sample.home_row, sample.home_col
    return None, None, None


def _levels(box: Container, ancestors: dict[int, Container]):
    """(chain from the root down to the box, its tank, its rack) of a box."""
    chain = [ancestors[i] for i in box.ancestor_ids if i in ancestors]
    tank = ancestors.get(box.tank_id) if box.tank_id else None
    parent = ancestors.get(box.parent_id) if box.parent_id else None
    rack = parent if tank is not None and parent is not None and parent.id != tank.id else None
    return chain, tank, rack


def picking_items(actor, request: ResearchRequest, site: str | None = None) -> list[RequestItem]:
    """The items this actor picks: those of the parts at their sites (every part for network
    roles), of one site if named; rejected parts' items are not picked."""
    return [item for item in request.live_items
            if scope.acts_at(actor, item.part.site if item.part is not None else None)
            and (not site or (item.part is not None and item.part.site is not None and item.part.site.code == site))]


def picklist(actor, request_id: int, site: str | None = None) -> dict:
    """Items in tank → rack → box → position order, so each tank is opened once and
    each box taken out once; with the numbers of tank openings and box removals.
    Each site's staff see their own site's part."""
    require(actor, "requests.fulfil")
    request = visible_request(actor, request_id)
    mine = picking_items(actor, request, site)
    placed = [(item, *_where(item.sample)) for item in mine]
    ancestor_ids = {i for _, box, _, _ in placed if box is not None for i in box.ancestor_ids}
    ancestors = {c.id: c for c in db.session.execute(
        select(Container).where(Container.id.in_(ancestor_ids))).scalars()} if ancestor_ids else {}

    rows = []
    for item, box, row, col in placed:
        if box is None:
            rows.append(((1,), item, None))
            continue
        chain, tank, rack = _levels(box, ancestors)
        # Sort by each ancestor's name (naturally: Tank 2 before Tank 10) and id, from the top down,
        # so everything in one tank, one rack and one box stays together.
        key = (0, tuple((_natural(c.name), c.id) for c in chain), row, col)
        location = {"path": f"{box.path} / {label(row, col)}", "container_id": box.id,
                    "container_barcode": box.barcode, "position": label(row, col),
                    "tank": tank.name if tank else None, "tank_id": tank.id if tank else None,
                    "rack": rack.name if rack else None, "box": box.name, "box_barcode": box.barcode,
                    "in_storage": item.sample.container_id is not None}
        rows.append((key, item, location))
    rows.sort(key=lambda r: (r[0], r[1].id))
    items = [{"barcode": item.sample.barcode, "sample_type": item.sample.sample_type, "location": location,
              "site": item.part.site.code if item.part is not None and item.part.site is not None else None,
              "consent_withdrawn": item.sample.consent_withdrawn,
              "picked": item.picked, "picked_at": item.picked_at, "picked_by": item.picked_by}
             for _, item, location in rows]
    tanks = {(loc["tank_id"] or ("box", loc["container_id"])) for _, _, loc in rows if loc}
    boxes = {loc["container_id"] for _, _, loc in rows if loc}
    picked = sum(1 for i in items if i["picked"])
    return {"request_id": request.id, "status": request.status, "items": items, "tank_openings": len(tanks),
            "box_removals": len(boxes), "total": len(items), "picked": picked, "remaining": len(items) - picked,
            "ready_to_ship": request.status == "picking" and bool(mine) and all(i.picked for i in mine)
            and any(i.part is not None and i.part.status == "picking" for i in mine),
            "other_sites": len(request.live_items) - len(mine)}


# -- filling a line by criteria --------------------------------------------------------
def proposal(actor, request_id: int, criterion_id: int) -> dict:
    """Matching available samples at the filler's sites for one criteria line, as many as it asks
    for (oldest registration first), for the manager to confirm."""
    require(actor, "requests.decide")
    request = visible_request(actor, request_id)
    criterion = next((c for c in request.criteria if c.id == criterion_id), None)
    if criterion is None:
        raise NotFound(_("Request %(id)s has no line %(line)s.", id=request.id, line=criterion_id),
                       code="unknown_criterion")
    query = criteria.matching(criterion, site_ids=scope.visible_site_ids(actor),
                              exclude=[item.sample_id for item in request.items])
    available = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    found = db.session.execute(query.limit(criterion.count)).scalars().all()
    return {"criterion": criterion, "samples": [s.barcode for s in found], "sample_list": found,
            "available": available}


# -- shipping manifest --------------------------------------------------------------
MANIFEST_FIELDS = ("request_id", "request_title", "barcode", "sample_type", "anatomical_site", "diagnosis",
                   "collected_at", "volume", "unit", "storage_temperature", "picked_at", "shipped_at",
                   "recipient", "courier", "tracking")


def manifest(actor, request_id: int) -> tuple[ResearchRequest, list[dict]]:
    """The shipment's contents, de-identified (no donor, no storage location): staff or the requester."""
    request = visible_request(actor, request_id)  # researchers: their own only
    if request.status not in ("picking", "shipped", "completed"):
        raise InvalidInput(_("Request %(id)s is %(status)s; a manifest exists once picking starts.",
                             id=request.id, status=request.status),
                           code="no_manifest")
    rows = []
    for item in sorted(request.items, key=lambda i: i.sample.barcode):
        s = item.sample
        rows.append({"request_id": request.id, "request_title": request.title, "barcode": s.barcode,
                     "sample_type": s.sample_type, "anatomical_site": s.anatomical_site, "diagnosis": s.diagnosis,
                     "collected_at": iso_utc(s.collected_at), "volume": s.volume, "unit": s.unit,
                     "storage_temperature": s.storage_temperature, "picked_at": iso_utc(item.picked_at),
                     "shipped_at": iso_utc(request.shipped_at), "recipient": request.recipient,
                     "courier": request.courier, "tracking": request.tracking})
    return request, rows


def manifest_csv(actor, request_id: int) -> tuple[ResearchRequest, str]:
    request, rows = manifest(actor, request_id)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MANIFEST_FIELDS)
    for row in rows:
        writer.writerow([spreadsheet_safe(row[f]) for f in MANIFEST_FIELDS])
    return request, buffer.getvalue()


def manifest_pdf(actor, request_id: int) -> tuple[ResearchRequest, bytes]:
    """The printable manifest: same rows and rules as the CSV, with Code 128 per tube."""
    # Imported here: it loads fonts and page styles (about 75 ms), which no other start of the app needs.
    from .manifest_pdf import manifest_pdf as render_manifest_pdf
    request, rows = manifest(actor, request_id)
    return request, render_manifest_pdf(request, rows)
