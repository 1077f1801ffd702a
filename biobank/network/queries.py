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
from ..storage.models import Container
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
    """A row per site: positions, used, free, fraction, tanks, samples received in the last 30 days,
    and shipments on their way to it."""
    require(actor, "reports.read")
    since = utcnow() - timedelta(days=30)
    rows = []
    for site in db.session.execute(select(Site).order_by(Site.id)).scalars():
        top = db.session.get(Container, site.container_id)
        prefix = f"/{top.id}/"
        here = select(Container.id).where(Container.lineage.startswith(prefix))
        tanks = db.session.execute(select(func.count()).select_from(Container).where(
            Container.lineage.startswith(prefix), Container.kind.in_(("tank", "freezer")))).scalar_one()
        intake = db.session.execute(select(func.count()).select_from(CustodyEvent).where(
            CustodyEvent.action.in_(("sample.registered", "sample.received")), CustodyEvent.at >= since,
            CustodyEvent.container_id.in_(here))).scalar_one()
        incoming = db.session.execute(select(func.count()).select_from(Shipment).where(
            Shipment.to_site_id == site.id, Shipment.status == "in_transit")).scalar_one()
        outgoing = db.session.execute(select(func.count()).select_from(Shipment).where(
            Shipment.from_site_id == site.id, Shipment.status == "in_transit")).scalar_one()
        rows.append({"site": site, "positions": top.capacity, "used": top.used, "free": top.capacity - top.used,
                     "fraction": round(top.used / top.capacity, 4) if top.capacity else 0.0, "tanks": tanks,
                     "intake_30_days": intake, "incoming": incoming, "outgoing": outgoing})
    return rows

