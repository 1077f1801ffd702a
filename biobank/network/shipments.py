"""Shipments between sites: pack, dispatch, receive scan by scan, close.

A shipment is created at the sending site and filled by scanning tubes or
whole boxes (a box travels with its tubes in place). Dispatch takes every item
out of the sender's storage in one transaction: a loose tube leaves its
position, a box leaves its rack (its tubes stay in it) and hangs under no site
while it travels; each tube becomes `in_transit` with its own custody event.

The receiver scans what arrived. A box arrives at the receiving site (under the
site itself until its rack is scanned: `parent_id`), its tubes available again;
a loose tube arrives in the receiver's hands (checked out) until it is stored
by position or strategy (`location`). Closing names every discrepancy: the
items that did not arrive (missing) and what came that was not on the manifest
(unexpected); nothing is left in transit silently.
"""
from flask_babel import gettext as _
from sqlalchemy import select

from ..core.lazy_text import lazy_gettext as _l
from ..core.display import display
from ..core.errors import Conflict, InvalidInput, InvalidTransition, NotFound, UnknownBarcode
from ..core.permissions import require, require_at
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from ..mail.outbox import notify
from ..samples import service as samples
from ..samples.models import Sample
from ..samples.validation import check_barcode
from ..storage import positions
from ..storage.models import Container
from ..storage.placement import Allocator, placement_scope
from ..storage.service import adjust_usage, get_container, shift_counts
from . import scope, staff
from .models import SHIPPING_CONDITIONS, Shipment, ShipmentItem, Site, status_name

MAX_ITEMS = 2000
OPEN = ("draft", "in_transit")
# The free-text particulars, as their messages name them.
TEXT_FIELDS = {"courier": _l("courier"), "tracking": _l("tracking"), "excursion": _l("excursion"), "note": _l("note")}


# -- lookups ---------------------------------------------------------------------------
def get_shipment(shipment_id) -> Shipment:
    shipment = db.session.get(Shipment, shipment_id) if isinstance(shipment_id, int) else None
    if shipment is None:
        raise NotFound(_("There is no shipment %(id)s.", id=shipment_id), code="unknown_shipment")
    return shipment


def _locked(shipment_id: int) -> Shipment:
    get_shipment(shipment_id)
    return db.session.execute(select(Shipment).where(Shipment.id == shipment_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def visible_shipment(actor, shipment_id: int) -> Shipment:
    """The shipment, for staff of either end (or the network roles); others: 404."""
    require(actor, "shipments.handle")
    shipment = get_shipment(shipment_id)
    if not (scope.acts_at(actor, shipment.from_site) or scope.acts_at(actor, shipment.to_site)):
        raise NotFound(_("There is no shipment %(id)s.", id=shipment_id), code="unknown_shipment")
    return shipment


def list_shipments(actor, *, status: str | None = None, site: int | None = None) -> list[Shipment]:
    """Shipments from or to the actor's sites (every site for the network roles), newest first."""
    require(actor, "shipments.handle")
    query = select(Shipment).order_by(Shipment.id.desc()).limit(500)
    site_ids = scope.visible_site_ids(actor)
    if site_ids is not None:
        query = query.where(Shipment.from_site_id.in_(site_ids) | Shipment.to_site_id.in_(site_ids))
    if site is not None:
        query = query.where((Shipment.from_site_id == site) | (Shipment.to_site_id == site))
    if status:
        query = query.where(Shipment.status == status)
    return list(db.session.execute(query).scalars())


def _site(site_id, role: str) -> Site:
    site = db.session.get(Site, site_id) if isinstance(site_id, int) else None
    if site is None:
        message = _("There is no site %(id)s to ship from.", id=site_id) if role == "from" \
            else _("There is no site %(id)s to ship to.", id=site_id)
        raise InvalidInput(message, code="unknown_site")
    return site


def _text(value, name: str, limit: int = 120) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidInput(_("The %(field)s must be text.", field=TEXT_FIELDS[name]))
    value = value.strip()
    if len(value) > limit:
        raise InvalidInput(_("The %(field)s is longer than %(limit)s characters.", field=TEXT_FIELDS[name],
                             limit=limit))
    return value or None


def _in_transit_label(shipment: Shipment) -> str:
    return f"in transit {shipment.code} to {shipment.to_site.name}"


# -- the sender ------------------------------------------------------------------------
def create_shipment(actor, *, from_site, to_site, condition, courier=None, tracking=None) -> Shipment:
    """A draft shipment from one site to another, created at the sender."""
    require(actor, "shipments.handle")
    sender, receiver = _site(from_site, "from"), _site(to_site, "to")
    require_at(actor, "shipments.handle", sender)
    if sender.id == receiver.id:
        raise InvalidInput(_("A shipment goes to another site; use a move within a site."), code="same_site")
    if condition not in SHIPPING_CONDITIONS:
        raise InvalidInput(_("Unknown shipping condition %(condition)s; use one of %(codes)s.", condition=condition,
                             codes=", ".join(SHIPPING_CONDITIONS)), code="invalid_condition")
    shipment = Shipment(from_site_id=sender.id, to_site_id=receiver.id, condition=condition,
                        courier=_text(courier, "courier"), tracking=_text(tracking, "tracking"), status="draft",
                        created_at=utcnow(), created_by=actor.username)
    db.session.add(shipment)
    db.session.flush()
    custody.record(actor, "shipment.created", "shipment", shipment.code, container_id=sender.container_id,
                   from_location=sender.name, to_location=receiver.name,
                   changes={"status": [None, "draft"], "condition": [None, condition],
                            "courier": [None, shipment.courier], "tracking": [None, shipment.tracking]})
    return shipment


def _open_item_of(*, sample_id=None, container_id=None) -> ShipmentItem | None:
    """The item of an open shipment that already holds this tube or box."""
    query = select(ShipmentItem).join(Shipment).where(Shipment.status.in_(OPEN),
                                                      ShipmentItem.status.in_(("packed", "in_transit")))
    query = query.where(ShipmentItem.sample_id == sample_id) if sample_id is not None \
        else query.where(ShipmentItem.container_id == container_id, ShipmentItem.kind == "box")
    return db.session.execute(query.limit(1)).scalar_one_or_none()


def _refuse_taken(item: ShipmentItem | None, barcode: str, shipment: Shipment) -> None:
    if item is None:
        return
    if item.shipment_id == shipment.id:
        message = _("%(barcode)s is already on this shipment (in its box).", barcode=barcode) if item.box_item_id \
            else _("%(barcode)s is already on this shipment.", barcode=barcode)
    elif item.box_item_id:
        message = _("%(barcode)s is already on shipment %(code)s (in its box).", barcode=barcode,
                    code=item.shipment.code)
    else:
        message = _("%(barcode)s is already on shipment %(code)s.", barcode=barcode, code=item.shipment.code)
    raise Conflict(message, code="already_on_shipment", details={"barcode": barcode, "shipment_id": item.shipment_id})


def _tube_item(shipment, sample: Sample, box_item: ShipmentItem | None = None) -> ShipmentItem:
    return ShipmentItem(kind="sample", barcode=sample.barcode, sample_id=sample.id,
                        box_item_id=box_item.id if box_item else None, status="packed",
                        from_container_id=sample.container_id, from_row=sample.pos_row, from_col=sample.pos_col,
                        from_location=sample.location_path)


def _packable(sample: Sample, shipment: Shipment) -> None:
    if sample.status != "available" or not sample.container_id:
        why = _("reserved for a request") if sample.status == "reserved" else display(sample.status, "status")
        raise Conflict(_("%(barcode)s is %(why)s; only a tube in storage and available can be shipped.",
                         barcode=sample.barcode, why=why), code="not_shippable", details={"barcode": sample.barcode})
    if scope.site_of(sample.container) is None or scope.site_of(sample.container).id != shipment.from_site_id:
        raise Conflict(_not_at_sender(sample.barcode, shipment), code="not_at_sender",
                       details={"barcode": sample.barcode})


def _not_at_sender(barcode: str, shipment: Shipment) -> str:
    return _("%(barcode)s is not at %(site)s, where this shipment leaves from.", barcode=barcode,
             site=shipment.from_site.name)


def add_item(actor, shipment_id: int, barcode) -> Shipment:
    """A scanned tube or box goes onto a draft shipment (a box with every tube in it)."""
    require(actor, "shipments.handle")
    shipment = _locked(shipment_id)
    require_at(actor, "shipments.handle", shipment.from_site)
    if shipment.status != "draft":
        raise InvalidTransition(_("Shipment %(code)s is %(status)s; items are added before dispatch.",
                                  code=shipment.code, status=status_name(shipment.status)), code="not_draft")
    if not isinstance(barcode, str) or not barcode.strip():
        raise InvalidInput(_("Scan a barcode."), code="invalid_barcode")
    barcode = barcode.strip()
    if len(shipment.items) >= MAX_ITEMS:
        raise InvalidInput(_("A shipment holds at most %(num)s items.", num=MAX_ITEMS), code="too_many_items")
    sample = samples.find_sample(barcode)
    if sample is not None:
        _refuse_taken(_open_item_of(sample_id=sample.id), barcode, shipment)
        _packable(sample, shipment)
        shipment.items.append(_tube_item(shipment, sample))
        added = [barcode]
    else:
        box = db.session.execute(select(Container).where(Container.barcode == barcode)).scalar_one_or_none()
        if box is None:
            check_barcode(barcode)
            raise UnknownBarcode(_("No tube or box has the barcode %(barcode)s.", barcode=barcode))
        if not box.is_grid:
            raise InvalidInput(_("%(barcode)s is a %(kind)s; a shipment takes tubes and boxes.", barcode=barcode,
                                 kind=box.kind), code="not_a_box")
        _refuse_taken(_open_item_of(container_id=box.id), barcode, shipment)
        box_item = ShipmentItem(kind="box", barcode=barcode, container_id=box.id,
                                status="packed", from_container_id=box.parent_id, from_location=box.path)
        if scope.site_of(box) is None or scope.site_of(box).id != shipment.from_site_id:
            raise Conflict(_not_at_sender(barcode, shipment), code="not_at_sender", details={"barcode": barcode})
        shipment.items.append(box_item)
        db.session.flush()
        added = [barcode]
        for tube in _tubes_in(box):
            _refuse_taken(_open_item_of(sample_id=tube.id), tube.barcode, shipment)
            _packable(tube, shipment)
            shipment.items.append(_tube_item(shipment, tube, box_item))
            added.append(tube.barcode)
    db.session.flush()
    custody.record(actor, "shipment.item_added", "shipment", shipment.code, container_id=shipment.from_site.container_id,
                   sample_barcode=barcode if sample is not None else None, reason=f"packed {barcode}",
                   changes={"items": [None, added]})
    return shipment


def _tubes_in(box: Container) -> list[Sample]:
    return list(db.session.execute(select(Sample).where(Sample.container_id == box.id)
                                   .order_by(Sample.pos_row, Sample.pos_col)).scalars())


def remove_item(actor, shipment_id: int, barcode: str) -> Shipment:
    """Take a tube or a box (with its tubes) off a draft shipment again."""
    require(actor, "shipments.handle")
    shipment = _locked(shipment_id)
    require_at(actor, "shipments.handle", shipment.from_site)
    if shipment.status != "draft":
        raise InvalidTransition(_("Shipment %(code)s has left; nothing is taken off it now.", code=shipment.code),
                                code="not_draft")
    item = next((i for i in shipment.items if i.barcode == barcode and i.box_item_id is None), None)
    if item is None:
        raise NotFound(_("%(barcode)s is not on shipment %(code)s (a tube in a box goes with its box).",
                         barcode=barcode, code=shipment.code), code="not_on_shipment")
    gone = [i for i in shipment.items if i is item or i.box_item_id == item.id]
    for each in gone:
        shipment.items.remove(each)
    db.session.flush()
    custody.record(actor, "shipment.item_removed", "shipment", shipment.code,
                   container_id=shipment.from_site.container_id, reason=f"unpacked {barcode}",
                   changes={"items": [[i.barcode for i in gone], None]})
    return shipment


def cancel_shipment(actor, shipment_id: int, *, reason: str | None = None) -> Shipment:
    """Call off a draft shipment (nothing has left)."""
    require(actor, "shipments.handle")
    shipment = _locked(shipment_id)
    require_at(actor, "shipments.handle", shipment.from_site)
    if shipment.status != "draft":
        raise InvalidTransition(_("Shipment %(code)s is %(status)s; only a draft is cancelled.", code=shipment.code,
                                  status=status_name(shipment.status)), code="not_draft")
    shipment.status = "cancelled"
    custody.record(actor, "shipment.cancelled", "shipment", shipment.code, reason=reason,
                   container_id=shipment.from_site.container_id, changes={"status": ["draft", "cancelled"]})
    return shipment


def _detach(box: Container, label: str) -> None:
    """The box leaves its rack: out of every ancestor's counters, under no site while it travels."""
    ancestors = [cid for cid in box.ancestor_ids if cid != box.id]
    if ancestors:
        shift_counts(ancestors, [], box.capacity, box.used, box.held)
    box.parent_id, box.lineage, box.tank_id = None, f"/{box.id}/", None
    box.path = f"{label} / {box.name}"[:800]


def _attach(box: Container, parent: Container) -> None:
    """The box goes under `parent` (a rack, or a site on arrival): counters, lineage, path, restrictions."""
    box.parent_id, box.lineage = parent.id, f"{parent.lineage}{box.id}/"
    box.path, box.tank_id = f"{parent.path} / {box.name}"[:800], parent.tank_id
    box.effective_temperature = box.storage_temperature or parent.effective_temperature
    box.effective_types = box.allowed_types or parent.effective_types
    shift_counts([], parent.ancestor_ids, box.capacity, box.used, box.held)


def dispatch(actor, shipment_id: int) -> Shipment:
    """Every item leaves the sender's storage: in transit, one custody event per tube and box."""
    require(actor, "shipments.handle")
    shipment = _locked(shipment_id)
    require_at(actor, "shipments.handle", shipment.from_site)
    if shipment.status != "draft":
        raise InvalidTransition(_("Shipment %(code)s is %(status)s; it was dispatched already.", code=shipment.code,
                                  status=status_name(shipment.status)), code="not_draft")
    if not shipment.items:
        raise InvalidInput(_("Shipment %(code)s is empty; scan what goes in it first.", code=shipment.code),
                           code="empty_shipment")
    label = f"In transit {shipment.code}"
    events = []
    boxes = [i for i in shipment.items if i.kind == "box"]
    for box_item in boxes:
        _sync_box(shipment, box_item)
    tubes = sorted((i for i in shipment.items if i.kind == "sample"), key=lambda i: i.sample_id)
    left: dict[int, int] = {}
    for item in tubes:  # row locks in id order: a concurrent move of the same tube queues behind
        sample = samples.locked_sample(item.barcode)
        here = (sample.container_id, sample.pos_row, sample.pos_col)
        if sample.status != "available" or here != (item.from_container_id, item.from_row, item.from_col):
            now = sample.location_path or display(sample.status, "status")
            raise Conflict(_("%(barcode)s is no longer where it was packed (%(packed)s): it is now %(now)s. Nothing "
                             "was dispatched; take it off or pack it again.", barcode=item.barcode,
                             packed=item.from_location, now=now), code="moved_meanwhile",
                           details={"barcode": item.barcode})
        samples.transition(sample, "in_transit", "shipped between sites")
        item.status = "in_transit"
        if item.box_item_id is None:  # a loose tube leaves its position
            left[sample.container_id] = left.get(sample.container_id, 0) - 1
            sample.container, sample.pos_row, sample.pos_col = None, None, None
            to = _in_transit_label(shipment)
        else:
            to = f"{label} / {sample.container.name} / {positions.label(sample.pos_row, sample.pos_col)}"
        events.append((actor, "sample.dispatched", "sample", item.barcode,
                       {"sample_barcode": item.barcode, "container_id": item.from_container_id,
                        "from_location": item.from_location, "to_location": to,
                        "reason": f"shipment {shipment.code} to {shipment.to_site.name}",
                        "changes": {"status": ["available", "in_transit"], "shipment": [None, shipment.code]}}))
    db.session.flush()
    if left:
        adjust_usage(left)
    for box_item in boxes:
        box = get_container(box_item.container_id)
        _detach(box, label)
        box_item.status = "in_transit"
        events.append((actor, "container.dispatched", "container", box.barcode,
                       {"container_id": box.id, "from_location": box_item.from_location,
                        "to_location": _in_transit_label(shipment), "reason": f"shipment {shipment.code}",
                        "changes": {"parent_id": [box_item.from_container_id, None],
                                    "shipment": [None, shipment.code]}}))
    shipment.status, shipment.dispatched_at, shipment.dispatched_by = "in_transit", utcnow(), actor.username
    db.session.flush()
    events.append((actor, "shipment.dispatched", "shipment", shipment.code,
                   {"container_id": shipment.from_site.container_id, "from_location": shipment.from_site.name,
                    "to_location": shipment.to_site.name,
                    "changes": {"status": ["draft", "in_transit"], "items": [None, len(shipment.items)]}}))
    custody.record_many(events)
    particulars = [_("%(num)s item(s)", num=len(shipment.items)), shipment.condition]
    if shipment.courier:
        particulars.append(shipment.courier)
    if shipment.tracking:
        particulars.append(_("tracking %(tracking)s", tracking=shipment.tracking))
    notify("shipment.dispatched", _("Shipment %(code)s is on its way from %(site)s", code=shipment.code,
                                    site=shipment.from_site.name),
           _("%(sender)s dispatched shipment %(code)s to %(receiver)s: %(particulars)s.\n\nScan each item as it "
             "arrives on the shipment's page; close the receipt when all are in.", sender=shipment.from_site.name,
             code=shipment.code, receiver=shipment.to_site.name, particulars=", ".join(particulars)),
           user_ids=staff.staff_ids(shipment.to_site))
    return shipment


def _sync_box(shipment: Shipment, box_item: ShipmentItem) -> None:
    """A box travels with the tubes in it at dispatch: tubes put in or taken out since packing count."""
    box = get_container(box_item.container_id)
    if scope.site_of(box) is None or scope.site_of(box).id != shipment.from_site_id:
        raise Conflict(_("Box %(box)s is no longer at %(site)s.", box=box.barcode, site=shipment.from_site.name),
                       code="moved_meanwhile", details={"barcode": box.barcode})
    inside = {t.id: t for t in _tubes_in(box)}
    packed = {i.sample_id: i for i in shipment.items if i.box_item_id == box_item.id}
    for sample_id, item in packed.items():
        if sample_id not in inside:
            shipment.items.remove(item)
    for sample_id, tube in inside.items():
        if sample_id not in packed:
            _refuse_taken(_open_item_of(sample_id=sample_id), tube.barcode, shipment)
            _packable(tube, shipment)
            shipment.items.append(_tube_item(shipment, tube, box_item))
        else:
            item = packed[sample_id]
            item.from_container_id, item.from_row, item.from_col = tube.container_id, tube.pos_row, tube.pos_col
    db.session.flush()


# -- the receiver ------------------------------------------------------------------------
def item_on(shipment: Shipment, barcode: str) -> ShipmentItem | None:
    return next((i for i in shipment.items if i.barcode == barcode and i.status != "unexpected"), None)


def receive(actor, shipment_id: int, *, barcode, condition: str | None = None, parent_id: int | None = None,
            location: dict | None = None, excursion: str | None = None, note: str | None = None) -> dict:
    """One scanned arrival. A box arrives at the receiving site (with parent_id: under that rack);
    a loose tube arrives in the receiver's hands (with location: stored by position or strategy).
    Scanning an arrived item again with parent_id or location stores it. A barcode that is not on
    the shipment is recorded as unexpected. Returns {shipment, item, outcome}."""
    require(actor, "shipments.handle")
    shipment = _locked(shipment_id)
    require_at(actor, "shipments.handle", shipment.to_site)
    if shipment.status != "in_transit":
        raise InvalidTransition(_("Shipment %(code)s is %(status)s; only a shipment in transit is received.",
                                  code=shipment.code, status=status_name(shipment.status)), code="not_in_transit")
    if not isinstance(barcode, str) or not barcode.strip():
        raise InvalidInput(_("Scan a barcode."), code="invalid_barcode")
    barcode = barcode.strip()
    check_barcode(barcode)
    if condition not in (None, "ok", "damaged"):
        raise InvalidInput(_("The condition is ok or damaged."), code="invalid_condition")
    excursion, note = _text(excursion, "excursion", 2000), _text(note, "note", 2000)
    item = item_on(shipment, barcode)
    if item is None:
        return {"shipment": shipment, "item": _unexpected(actor, shipment, barcode, note), "outcome": "unexpected"}
    if item.box_item_id is not None:
        box = next(i for i in shipment.items if i.id == item.box_item_id)
        raise Conflict(_("%(barcode)s travels in box %(box)s at %(position)s; scan the box.", barcode=barcode,
                         box=box.barcode, position=positions.label(item.from_row, item.from_col)), code="in_a_box",
                       details={"barcode": barcode, "box": box.barcode})
    outcome = "stored" if item.status == "stored" else "received"
    if item.status == "in_transit":
        _arrive(actor, shipment, item, condition or "ok", excursion, note)
    elif parent_id is None and location is None:
        raise Conflict(_("%(barcode)s was received already (%(time)s by %(user)s).", barcode=barcode,
                         time=f"{item.received_at:%H:%M}", user=item.received_by),
                       code="already_received", details={"barcode": barcode})
    if excursion and excursion not in (shipment.excursion or ""):
        shipment.excursion = "; ".join(x for x in (shipment.excursion, excursion) if x)
    if parent_id is not None or location is not None:
        if item.status == "stored" and item.kind == "sample":
            raise Conflict(_("%(barcode)s is stored already, at %(place)s; move it as usual.", barcode=barcode,
                             place=item.to_location), code="already_stored", details={"barcode": barcode})
        _store(actor, shipment, item, parent_id, location)
        outcome = "stored"
    db.session.flush()
    return {"shipment": shipment, "item": item, "outcome": outcome}


def _unexpected(actor, shipment: Shipment, barcode: str, note: str | None) -> ShipmentItem:
    known = next((i for i in shipment.items if i.barcode == barcode and i.status == "unexpected"), None)
    if known is not None:
        return known
    sample = samples.find_sample(barcode)
    box = None if sample else db.session.execute(select(Container).where(Container.barcode == barcode)).scalar()
    item = ShipmentItem(kind="box" if box is not None else "sample", barcode=barcode,
                        sample_id=sample.id if sample else None, container_id=box.id if box is not None else None,
                        status="unexpected", received_at=utcnow(), received_by=actor.username, note=note,
                        from_location=sample.location_path if sample else (box.path if box is not None else None))
    shipment.items.append(item)
    db.session.flush()
    custody.record(actor, "shipment.unexpected_item", "shipment", shipment.code, sample_barcode=sample.barcode
                   if sample else None, container_id=shipment.to_site.container_id,
                   reason=f"{barcode} arrived but is not on the manifest", changes={"unexpected": [None, barcode]})
    return item


def _arrive(actor, shipment, item, condition, excursion, note) -> None:
    now = utcnow()
    item.status, item.condition, item.received_at, item.received_by = "received", condition, now, actor.username
    item.note = note
    changes_extra = {"condition": [None, condition]}
    if excursion:
        changes_extra["excursion"] = [None, excursion]
    reason = f"received from {shipment.from_site.name} ({shipment.code})" + \
        ("; damaged" if condition == "damaged" else "") + (f"; temperature excursion: {excursion}" if excursion else "")
    events = []
    if item.kind == "box":
        box = get_container(item.container_id)
        site_top = get_container(shipment.to_site.container_id)
        _attach(box, site_top)
        item.to_location = box.path
        for tube_item in (i for i in shipment.items if i.box_item_id == item.id):
            sample = samples.locked_sample(tube_item.barcode)
            samples.transition(sample, "available", "received")
            tube_item.status, tube_item.condition = "received", condition
            tube_item.received_at, tube_item.received_by = now, actor.username
            tube_item.to_location = f"{box.path} / {positions.label(sample.pos_row, sample.pos_col)}"
            events.append((actor, "sample.received", "sample", sample.barcode,
                           {"sample_barcode": sample.barcode, "container_id": box.id,
                            "from_location": _in_transit_label(shipment), "to_location": tube_item.to_location,
                            "reason": reason, "changes": {"status": ["in_transit", "available"], **changes_extra}}))
        events.append((actor, "container.received", "container", box.barcode,
                       {"container_id": box.id, "from_location": _in_transit_label(shipment),
                        "to_location": box.path, "reason": reason,
                        "changes": {"parent_id": [None, site_top.id], **changes_extra}}))
    else:
        sample = samples.locked_sample(item.barcode)
        samples.transition(sample, "checked_out", "received")
        sample.home_container, sample.home_row, sample.home_col = None, None, None
        item.to_location = f"with {actor.username} at {shipment.to_site.name}"
        events.append((actor, "sample.received", "sample", sample.barcode,
                       {"sample_barcode": sample.barcode, "container_id": shipment.to_site.container_id,
                        "from_location": _in_transit_label(shipment), "to_location": item.to_location,
                        "reason": reason, "changes": {"status": ["in_transit", "checked_out"], **changes_extra}}))
    db.session.flush()
    custody.record_many(events)


def _store(actor, shipment, item, parent_id, location) -> None:
    reason = f"stored on receipt of {shipment.code}"
    if item.kind == "box":
        if parent_id is None:
            raise InvalidInput(_("%(barcode)s is a box: scan the rack it goes into (parent_id).",
                                 barcode=item.barcode), code="parent_required")
        parent = get_container(parent_id)
        require_at(actor, "shipments.handle", parent)
        if getattr(scope.site_of(parent), "id", None) != shipment.to_site_id:
            raise Conflict(_not_at_receiver(parent, shipment), code="not_at_receiver")
        if parent.is_grid:
            raise InvalidInput(_("%(path)s is a box; a box goes into a rack.", path=parent.path), code="not_a_rack")
        box = get_container(item.container_id)
        if parent.id == box.id or parent.lineage.startswith(box.lineage):
            raise Conflict(_("A box cannot go inside itself."), code="invalid_move")
        old = box.path
        shift_counts([cid for cid in box.ancestor_ids if cid != box.id], [], box.capacity, box.used, box.held)
        _attach(box, parent)
        _repath_tubes(shipment, item, box)
        item.status, item.to_location = "stored", box.path
        custody.record(actor, "container.stored", "container", box.barcode, container_id=box.id,
                       from_location=old, to_location=box.path, reason=reason,
                       changes={"parent_id": [None, parent.id]})
        return
    if not isinstance(location, dict):
        raise InvalidInput(_("%(barcode)s is a tube: give a location (container_id and position, or a strategy).",
                             barcode=item.barcode), code="location_required")
    sample = samples.get_sample(item.barcode)
    if location.get("container_id") is not None:
        if not location.get("position"):
            raise InvalidInput(_("Give a position with the container, e.g. A1."), code="invalid_position")
        container_id, position = int(location["container_id"]), location["position"]
    else:
        within = location.get("within") if location.get("within") is not None else shipment.to_site.container_id
        allocator = Allocator(within=placement_scope(actor, within))
        box, row, col = allocator.place(location.get("strategy") or "compact", sample.sample_type,
                                        sample.storage_temperature, sample.donor)
        container_id, position = box.id, positions.label(row, col)
    target = get_container(container_id)
    if scope.site_of(target) is None or scope.site_of(target).id != shipment.to_site_id:
        raise Conflict(_not_at_receiver(target, shipment), code="not_at_receiver")
    samples.return_sample(actor, item.barcode, thawed=False, container_id=container_id, position=position,
                          reason=reason)
    item.status, item.to_location = "stored", sample.location_path


def _not_at_receiver(container: Container, shipment: Shipment) -> str:
    return _("%(path)s is not at %(site)s.", path=container.path, site=shipment.to_site.name)


def _repath_tubes(shipment, box_item, box) -> None:
    for tube_item in (i for i in shipment.items if i.box_item_id == box_item.id):
        sample = samples.get_sample(tube_item.barcode)
        if sample.container_id == box.id:
            tube_item.to_location = f"{box.path} / {positions.label(sample.pos_row, sample.pos_col)}"
            tube_item.status = "stored"


def close(actor, shipment_id: int, *, missing=(), unexpected=(), excursion: str | None = None) -> Shipment:
    """Close the receipt: every item is received, or named missing; every unexpected arrival is named."""
    require(actor, "shipments.handle")
    shipment = _locked(shipment_id)
    require_at(actor, "shipments.handle", shipment.to_site)
    if shipment.status != "in_transit":
        raise InvalidTransition(_("Shipment %(code)s is %(status)s; only a shipment in transit is closed.",
                                  code=shipment.code, status=status_name(shipment.status)), code="not_in_transit")
    for name, values in (("missing", missing), ("unexpected", unexpected)):
        if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
            raise InvalidInput(_("%(name)s is a list of barcodes.", name=name), code="invalid_input")
    missing, unexpected = {m.strip() for m in missing}, {u.strip() for u in unexpected}
    pending = {i.barcode: i for i in shipment.items if i.status == "in_transit" and i.box_item_id is None}
    scanned_unexpected = {i.barcode for i in shipment.items if i.status == "unexpected"}
    problems = []
    if set(pending) - missing:
        problems.append(_("not received and not named missing: %(barcodes)s",
                          barcodes=", ".join(sorted(set(pending) - missing))))
    if missing - set(pending):
        problems.append(_("named missing but not outstanding on this shipment: %(barcodes)s",
                          barcodes=", ".join(sorted(missing - set(pending)))))
    if scanned_unexpected - unexpected:
        problems.append(_("scanned as unexpected but not named: %(barcodes)s",
                          barcodes=", ".join(sorted(scanned_unexpected - unexpected))))
    if problems:
        raise Conflict(_("The receipt does not add up, so it stays open: %(problems)s.", problems="; ".join(problems)),
                       code="unnamed_discrepancy",
                       details={"outstanding": sorted(pending), "unexpected_scanned": sorted(scanned_unexpected)})
    for barcode in sorted(unexpected - scanned_unexpected):
        check_barcode(barcode)
        _unexpected(actor, shipment, barcode, "named at close")
    events = []
    for barcode, item in sorted(pending.items()):
        tubes = [item] if item.kind == "sample" else [i for i in shipment.items if i.box_item_id == item.id]
        item.status = "missing"
        if item.kind == "box":
            box = get_container(item.container_id)
            box.path = f"Missing from {shipment.code} / {box.name}"[:800]
            events.append((actor, "container.missing", "container", box.barcode,
                           {"container_id": box.id, "from_location": _in_transit_label(shipment),
                            "reason": f"did not arrive with {shipment.code}",
                            "changes": {"shipment_item": ["in_transit", "missing"]}}))
        for tube_item in tubes:
            sample = samples.locked_sample(tube_item.barcode)
            samples.transition(sample, "missing", "named missing")
            tube_item.status = "missing"
            events.append((actor, "sample.missing", "sample", sample.barcode,
                           {"sample_barcode": sample.barcode, "container_id": shipment.to_site.container_id,
                            "from_location": _in_transit_label(shipment),
                            "reason": f"did not arrive with {shipment.code}",
                            "changes": {"status": ["in_transit", "missing"]}}))
    excursion = _text(excursion, "excursion", 2000)
    if excursion:
        shipment.excursion = "; ".join(x for x in (shipment.excursion, excursion) if x)
    shipment.status, shipment.closed_at, shipment.closed_by = "closed", utcnow(), actor.username
    db.session.flush()
    counts = shipment_counts(shipment)
    events.append((actor, "shipment.closed", "shipment", shipment.code,
                   {"container_id": shipment.to_site.container_id, "from_location": shipment.from_site.name,
                    "to_location": shipment.to_site.name, "reason": shipment.excursion,
                    "changes": {"status": ["in_transit", "closed"], "missing": [None, sorted(missing)],
                                "unexpected": [None, sorted(unexpected)], "received": [None, counts["received"]
                                                                                      + counts["stored"]]}}))
    custody.record_many(events)
    outcome = [_("%(num)s received", num=counts["received"] + counts["stored"])]
    if missing:
        outcome.append(_("missing: %(barcodes)s", barcodes=", ".join(sorted(missing))))
    if unexpected:
        outcome.append(_("unexpected: %(barcodes)s", barcodes=", ".join(sorted(unexpected))))
    outcome = ", ".join(outcome)
    if shipment.excursion:
        outcome = _("%(outcome)s. Excursion: %(excursion)s", outcome=outcome, excursion=shipment.excursion)
    notify("shipment.received", _("Shipment %(code)s was received at %(site)s", code=shipment.code,
                                  site=shipment.to_site.name),
           _("%(site)s closed the receipt of shipment %(code)s: %(outcome)s.", site=shipment.to_site.name,
             code=shipment.code, outcome=outcome),
           user_ids=staff.staff_ids(shipment.from_site))
    return shipment


def shipment_counts(shipment: Shipment) -> dict:
    counts = {status: 0 for status in ("packed", "in_transit", "received", "stored", "missing", "unexpected")}
    for item in shipment.items:
        counts[item.status] = counts.get(item.status, 0) + 1
    counts["tubes"] = sum(1 for i in shipment.items if i.kind == "sample" and i.status != "unexpected")
    counts["boxes"] = sum(1 for i in shipment.items if i.kind == "box" and i.status != "unexpected")
    return counts
