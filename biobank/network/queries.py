"""Read side of the network: shipment views, manifests, the per-site overview."""
import csv
import io
from datetime import timedelta

from sqlalchemy import func, select

from ..core.permissions import require
from ..core.time import utcnow
from ..custody.models import CustodyEvent
from ..extensions import db
from ..samples.models import Sample
from ..storage import positions
from ..storage.models import TANK_KINDS, Container, lineage_ids, occupied_fraction
from . import shipments
from .models import SHIPPING_CONDITIONS, Shipment, Site

MANIFEST_COLUMNS = ("barcode", "kind", "box", "position", "sample_type", "storage_temperature", "volume", "unit",
                    "status", "condition", "from_location", "to_location")


def item_rows(shipment) -> list[dict]:
    """One row per item (boxes first, each followed by its tubes), with what a receiver checks."""
    by_id = {i.id: i for i in shipment.items}
    sample_ids = [i.sample_id for i in shipment.items if i.sample_id]
    details = {s.id: s for s in db.session.execute(select(Sample).where(Sample.id.in_(sample_ids))).scalars()} \
        if sample_ids else {}
    ordered = []
    for item in shipment.items:
        if item.box_item_id is None:
            ordered.append(item)
            ordered += [i for i in shipment.items if i.box_item_id == item.id]
    rows = []
    for item in ordered:
        sample = details.get(item.sample_id)
        box = by_id.get(item.box_item_id)
        rows.append({
            "id": item.id, "kind": item.kind, "barcode": item.barcode, "box_barcode": box.barcode if box else None,
            "position": positions.label(item.from_row, item.from_col) if box and item.from_row else None,
            "status": item.status, "condition": item.condition,
            "sample_type": sample.sample_type if sample else None,
            "storage_temperature": sample.storage_temperature if sample else None,
            "volume": None if sample is None or sample.volume is None else str(sample.volume),
            "unit": sample.unit if sample else None,
            "from_location": item.from_location, "to_location": item.to_location,
            "received_at": item.received_at, "received_by": item.received_by, "note": item.note})
    return rows


def shipment_view(shipment, with_items: bool = True) -> dict:
    view = {name: getattr(shipment, name) for name in (
        "id", "code", "from_site", "to_site", "condition", "courier", "tracking", "status", "excursion",
        "created_at", "created_by", "dispatched_at", "dispatched_by", "closed_at", "closed_by")}
    view["condition_name"] = str(SHIPPING_CONDITIONS.get(shipment.condition, shipment.condition))
    view["counts"] = shipments.shipment_counts(shipment)
    if with_items:
        view["items"] = item_rows(shipment)
    return view


def manifest(actor, shipment_id: int) -> tuple:
    shipment = shipments.visible_shipment(actor, shipment_id)
    return shipment, [{k: r[k] if k != "box" else r["box_barcode"] for k in MANIFEST_COLUMNS}
                      for r in item_rows(shipment) if r["status"] != "unexpected"]


def manifest_csv(actor, shipment_id: int) -> tuple:
    shipment, rows = manifest(actor, shipment_id)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=MANIFEST_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return shipment, out.getvalue().encode()


def manifest_pdf(actor, shipment_id: int) -> tuple:
    from . import manifest_pdf as pdf  # reportlab is loaded on first use, not at app start
    shipment, rows = manifest(actor, shipment_id)
    return shipment, pdf.shipment_manifest_pdf(shipment, rows)


def network_overview(actor) -> list[dict]:
    """A row per site: positions, used, held, free, fraction, tanks, samples received in the last
    30 days, and shipments on their way to it and from it.

    The figures are those of the capacity report's site rows (free = positions - used - held),
    read from the sites' own counters; the rest is one GROUP BY each, so the page costs a few
    queries whatever the size of the network, not a walk over its containers."""
    require(actor, "reports.read")
    since = utcnow() - timedelta(days=30)
    sites = db.session.execute(select(Site, Container.capacity, Container.used, Container.held)
                               .join(Container, Container.id == Site.container_id).order_by(Site.id)).all()
    tanks = _per_site(select(Container.lineage, func.count()).where(Container.kind.in_(TANK_KINDS))
                      .group_by(Container.lineage))
    received = (select(CustodyEvent.container_id, func.count().label("events"))
                .where(CustodyEvent.action.in_(("sample.registered", "sample.received")),
                       CustodyEvent.at >= since, CustodyEvent.container_id.is_not(None))
                .group_by(CustodyEvent.container_id).subquery())
    intake = _per_site(select(Container.lineage, func.sum(received.c.events))
                       .join(received, received.c.container_id == Container.id).group_by(Container.lineage))
    on_the_way = Shipment.status == "in_transit"
    incoming = dict(db.session.execute(select(Shipment.to_site_id, func.count()).where(on_the_way)
                                       .group_by(Shipment.to_site_id)).all())
    outgoing = dict(db.session.execute(select(Shipment.from_site_id, func.count()).where(on_the_way)
                                       .group_by(Shipment.from_site_id)).all())
    rows = []
    for site, positions, used, held in sites:
        top = site.container_id
        rows.append({"site": site, "positions": positions, "used": used, "held": held,
                     "free": positions - used - held,
                     "fraction": occupied_fraction(used, held, positions),
                     "tanks": tanks.get(top, 0), "intake_30_days": intake.get(top, 0),
                     "incoming": incoming.get(site.id, 0), "outgoing": outgoing.get(site.id, 0)})
    return rows


def _per_site(query) -> dict[int, int]:
    """Sum (lineage, count) rows by the top container of each lineage ("/site/tank/.../")."""
    totals: dict[int, int] = {}
    for lineage, count in db.session.execute(query):
        top = lineage_ids(lineage)[0]
        totals[top] = totals.get(top, 0) + int(count or 0)
    return totals
