"""Request state changes: create, submit, approve, reject, pick, ship, complete, cancel.

One function per change. Each takes the acting user, checks permissions, validates,
changes the models and appends one custody event for the request's change plus one
per sample whose status changes; none commits, so approval and its reservations
(or a cancellation and its releases) land together or not at all.

Reservations: approval locks every requested sample row (in id order, so two
approvals cannot deadlock), refuses with 409 unless all are available, then
reserves them. Rejection happens before anything is reserved. Cancellation
releases reserved samples back to `available`; when picking has started, the
picked tubes are in a technician's hands, so cancelling then needs someone who
may handle samples: each picked tube goes back to the position held for it
since it was picked (an ordinary `sample.returned` event, with the thaw flag
given) in the same transaction; a picked tube whose place was given up stays
checked out, no longer held by the request, for a technician to store. So a
cancellation always works. A researcher whose request is being picked is told
to ask a manager. A manager can also take one item off an open request (with a
reason), releasing it the same way.
"""
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.errors import (ConsentWithdrawn, Conflict, InvalidInput, InvalidTransition, NotFound,
                           NotPermitted, UnknownBarcode)
from ..core.permissions import allowed, require, require_at
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from ..mail import events as mail
from ..samples import service as samples
from ..samples.models import Sample
from ..samples.validation import check_barcode
from ..storage.models import Container
from .models import OPEN_STATUSES, TRANSITIONS, RequestItem, ResearchRequest

MAX_ITEMS = 1000

_VERBS = {"submitted": "submitted", "approved": "approved", "rejected": "rejected", "picking": "picked",
          "shipped": "shipped", "completed": "completed", "cancelled": "cancelled"}


# -- lookups ---------------------------------------------------------------------
def get_request(request_id) -> ResearchRequest:
    request = db.session.get(ResearchRequest, request_id) if isinstance(request_id, int) else None
    if request is None:
        raise NotFound(f"There is no request {request_id}.", code="unknown_request")
    return request


def _locked_request(request_id: int) -> ResearchRequest:
    """The request, row-locked on PostgreSQL so two actions on it queue up."""
    get_request(request_id)
    return db.session.execute(select(ResearchRequest).where(ResearchRequest.id == request_id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one()


def is_owner(actor, request: ResearchRequest) -> bool:
    if actor.user_id is not None and request.requester_id is not None:
        return actor.user_id == request.requester_id
    return actor.username == request.requester


def sees_all_requests(actor) -> bool:
    return allowed(actor, "requests.decide") or allowed(actor, "requests.fulfil")


def visible_request(actor, request_id: int) -> ResearchRequest:
    """The request if this actor may see it; researchers see only their own (others: 404)."""
    if not (sees_all_requests(actor) or allowed(actor, "requests.create")):
        require(actor, "requests.create")
    request = get_request(request_id)
    if not sees_all_requests(actor) and not is_owner(actor, request):
        raise NotFound(f"There is no request {request_id}.", code="unknown_request")
    return request


def _acting_request(actor, request_id: int, *, as_requester: bool) -> ResearchRequest:
    """Lock the request for a requester's action (own only, unless a manager/admin)."""
    request = _locked_request(request_id)
    if as_requester and not is_owner(actor, request) and not allowed(actor, "requests.decide"):
        if sees_all_requests(actor):
            raise NotPermitted(f"Only the requester or a manager may do this to request {request_id}.")
        raise NotFound(f"There is no request {request_id}.", code="unknown_request")
    return request


def _change_status(actor, request: ResearchRequest, new: str, *, reason: str | None = None,
                   changes: dict | None = None) -> None:
    old = request.status
    if new not in TRANSITIONS[old]:
        raise InvalidTransition(f"Request {request.id} is {old}; it cannot be {_VERBS.get(new, new)}.")
    request.status = new
    request.updated_at = utcnow()
    custody.record(actor, f"request.{new}", "request", request.id, request_id=request.id, reason=reason,
                   changes={"status": [old, new], **(changes or {})})


def _check_open(request: ResearchRequest, verb: str) -> None:
    if request.status not in OPEN_STATUSES:
        raise InvalidTransition(f"Request {request.id} is {request.status}; it cannot be {verb}.")


def _text(value, name: str, limit: int, required: bool = True) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    if value is None:
        raise InvalidInput(f"{name} must be text.", code="invalid_input")
    if required and not value:
        raise InvalidInput(f"Give the {name}.", code=f"{name.replace(' ', '_')}_required")
    if len(value) > limit:
        raise InvalidInput(f"The {name} is longer than {limit} characters.")
    return value or None


# -- validation of requested samples ---------------------------------------------------
def _requestable(barcodes, actor=None) -> list[Sample]:
    """The samples for these barcodes, refused unless every one is in the catalogue."""
    if not isinstance(barcodes, (list, tuple)) or not barcodes:
        raise InvalidInput("A request needs at least one sample.", code="no_samples")
    unique = []
    for barcode in barcodes:
        if not isinstance(barcode, str):
            raise InvalidInput(f"'{barcode}' is not a barcode.", code="invalid_barcode")
        barcode = barcode.strip()
        check_barcode(barcode)
        if barcode not in unique:
            unique.append(barcode)
    if len(unique) > MAX_ITEMS:
        raise InvalidInput(f"A request holds at most {MAX_ITEMS} samples.", code="too_many_samples")
    found = {s.barcode: s for s in db.session.execute(
        select(Sample).where(Sample.barcode.in_(unique))).scalars()}
    missing = [b for b in unique if b not in found]
    if missing:
        raise UnknownBarcode(f"No catalogue sample has the barcode {', '.join(missing)}.",
                             details={"barcodes": missing})
    _refuse_withdrawn([found[b] for b in unique], actor)
    unavailable = [b for b in unique if found[b].status != "available"]
    if unavailable:
        raise Conflict(f"Not available for requests: {', '.join(unavailable)}.", code="sample_unavailable",
                       details={"barcodes": unavailable})
    return [found[b] for b in unique]


def _refuse_withdrawn(sample_list, actor=None) -> None:
    withdrawn = [s.barcode for s in sample_list if s.consent_withdrawn]
    if withdrawn and actor is not None and not allowed(actor, "samples.identified"):
        # researchers never learn a donor's consent state: for them it is simply not available
        raise Conflict(f"Not available for requests: {', '.join(withdrawn)}.", code="sample_unavailable",
                       details={"barcodes": withdrawn})
    if withdrawn:
        raise ConsentWithdrawn(f"Consent was withdrawn for {', '.join(withdrawn)}; "
                               f"{'it' if len(withdrawn) == 1 else 'they'} can never be requested.",
                               details={"barcodes": withdrawn})


def _refuse_leaving(sample_list, request: ResearchRequest) -> None:
    """Consent is asked again at every step up to the door: a donor may withdraw after approval."""
    withdrawn = [s.barcode for s in sample_list if s.consent_withdrawn]
    if withdrawn:
        raise ConsentWithdrawn(
            f"Consent was withdrawn for {', '.join(withdrawn)} after request {request.id} was approved; "
            f"{'it' if len(withdrawn) == 1 else 'they'} must not leave the biobank. Nothing was changed: "
            "cancel the request (picked tubes go back to storage) and request the others again.",
            details={"barcodes": withdrawn})


# -- researcher side ----------------------------------------------------------------
def create_request(actor, *, title, purpose, ethics_reference, samples: list) -> ResearchRequest:
    """A draft request for catalogue samples (nothing is reserved until approval)."""
    require(actor, "requests.create")
    title = _text(title, "title", 200)
    purpose = _text(purpose, "purpose", 5000)
    ethics_reference = _text(ethics_reference, "ethics reference", 120)
    chosen = _requestable(samples, actor)
    request = ResearchRequest(title=title, purpose=purpose, ethics_reference=ethics_reference, status="draft",
                              requester_id=actor.user_id, requester=actor.username, created_at=utcnow(),
                              updated_at=utcnow())
    request.items = [RequestItem(sample=s, holds=False) for s in chosen]
    db.session.add(request)
    db.session.flush()
    custody.record(actor, "request.created", "request", request.id, request_id=request.id,
                   reason=title, changes={"status": [None, "draft"],
                                          "samples": [None, [s.barcode for s in chosen]],
                                          "ethics_reference": [None, ethics_reference]})
    return request


def submit_request(actor, request_id: int) -> ResearchRequest:
    require(actor, "requests.create")
    request = _acting_request(actor, request_id, as_requester=True)
    if request.status == "draft":
        _refuse_withdrawn([item.sample for item in request.items], actor)
    request.submitted_at = utcnow()
    _change_status(actor, request, "submitted")
    mail.request_submitted(request)
    return request


def complete_request(actor, request_id: int) -> ResearchRequest:
    """The recipient confirms the shipment arrived (the requester, or staff on their behalf)."""
    if not (allowed(actor, "requests.fulfil") or allowed(actor, "requests.create")):
        require(actor, "requests.fulfil")
    request = _acting_request(actor, request_id, as_requester=not allowed(actor, "requests.fulfil"))
    request.completed_at = utcnow()
    _change_status(actor, request, "completed")
    return request


# -- manager side ----------------------------------------------------------------------
def _holder_of(sample: Sample, other_than: int) -> int | None:
    return db.session.execute(select(RequestItem.request_id).where(
        RequestItem.sample_id == sample.id, RequestItem.holds.is_(True),
        RequestItem.request_id != other_than)).scalar()


def approve_request(actor, request_id: int, *, reason: str | None = None) -> ResearchRequest:
    """Approve and reserve every sample in the same transaction; 409 if any is not available."""
    require(actor, "requests.decide")
    request = _locked_request(request_id)
    if "approved" not in TRANSITIONS[request.status]:
        raise InvalidTransition(f"Request {request.id} is {request.status}; it cannot be approved.")
    reason = _text(reason, "reason", 2000, required=False)
    locked = [samples.locked_sample(item.sample.barcode)
              for item in sorted(request.items, key=lambda i: i.sample_id)]
    for sample in locked:  # a manager approves what is at their sites
        require_at(actor, "requests.decide", sample)
    _refuse_withdrawn(locked)
    problems = []
    for sample in locked:
        if sample.status != "available":
            holder = _holder_of(sample, request.id)
            problems.append(f"{sample.barcode} is {sample.status.replace('_', ' ')}"
                            + (f" for request {holder}" if holder else ""))
    if problems:
        raise Conflict("Cannot approve: " + "; ".join(problems) + ".", code="sample_unavailable",
                       details={"barcodes": [p.split(" ", 1)[0] for p in problems]})
    for sample in locked:
        samples.transition(sample, "reserved", "reserved")
    for item in request.items:
        item.holds = True
    _flush_holds()
    _record_holds(actor, request, locked, "sample.reserved", f"approved for request {request.id}",
                  "available", "reserved")
    request.decided_at, request.decided_by, request.decision_reason = utcnow(), actor.username, reason
    _change_status(actor, request, "approved", reason=reason,
                   changes={"reserved": [None, [s.barcode for s in locked]]})
    mail.request_decided(request)
    return request


def _record_holds(actor, request, held, action: str, reason: str, before: str, after: str) -> None:
    """One event per sample a request reserved or released, all under one lock of the chain."""
    custody.record_many([
        (actor, action, "sample", s.barcode,
         {"sample_barcode": s.barcode, "request_id": request.id, "container_id": s.container_id,
          "reason": reason, "changes": {"status": [before, after]}})
        for s in held])


def _flush_holds() -> None:
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Another request took one of these samples a moment ago.",
                       code="sample_unavailable") from None


def reject_request(actor, request_id: int, *, reason: str) -> ResearchRequest:
    require(actor, "requests.decide")
    reason = _text(reason, "reason", 2000)
    request = _locked_request(request_id)
    request.decided_at, request.decided_by, request.decision_reason = utcnow(), actor.username, reason
    _change_status(actor, request, "rejected", reason=reason)
    mail.request_decided(request)
    return request


def cancel_request(actor, request_id: int, *, reason: str, thawed: bool = False) -> ResearchRequest:
    """Cancel an open request, releasing what it holds (see the module notes)."""
    if not (allowed(actor, "requests.create") or allowed(actor, "requests.decide")):
        require(actor, "requests.create")
    reason = _text(reason, "reason", 2000)
    request = _acting_request(actor, request_id, as_requester=True)
    _check_open(request, "cancelled")
    picked = [item for item in request.items if item.picked and item.holds]
    if picked and not allowed(actor, "samples.handle"):
        raise Conflict(f"Picking of request {request.id} has started; ask a biobank manager to cancel it "
                       "so the picked tubes are put back.", code="picking_started")
    released, returned = [], []
    for item in sorted(request.items, key=lambda i: i.sample_id):
        outcome = _let_go(actor, request, item, reason=f"request {request.id} cancelled: {reason}",
                          thawed=bool(thawed))
        (returned if outcome == "returned" else released if outcome == "released" else []).append(item.sample)
    _record_holds(actor, request, [s for s in released if s.status == "available"], "sample.released",
                  f"request {request.id} cancelled", "reserved", "available")
    request.cancelled_at, request.cancelled_by, request.cancel_reason = utcnow(), actor.username, reason
    _change_status(actor, request, "cancelled", reason=reason,
                   changes={"released": [None, [s.barcode for s in released]],
                            "returned": [None, [s.barcode for s in returned]]})
    return request


def _let_go(actor, request: ResearchRequest, item: RequestItem, *, reason: str, thawed: bool = False) -> str | None:
    """The request stops holding this item's sample: reserved → available ("released");
    picked → back to its held place ("returned"), or, with no place held, left
    checked out for a technician to store ("kept_out"). None when it held nothing."""
    if not item.holds:
        return None
    item.holds = False
    sample = samples.locked_sample(item.sample.barcode)
    db.session.flush()  # the request lets go first, so the sample's own rules see it free
    if sample.status == "reserved":
        samples.transition(sample, "available", "released")
        return "released"
    if item.picked and sample.status == "checked_out":
        if sample.home_container_id:
            samples.put_back(actor, sample, thawed=thawed, reason=reason)
            return "returned"
        return "kept_out"
    return None


def remove_item(actor, request_id: int, barcode, *, reason) -> ResearchRequest:
    """Take one sample off an open request (a manager's decision, with a reason),
    releasing it as a cancellation would."""
    require(actor, "requests.decide")
    reason = _text(reason, "reason", 2000)
    request = _locked_request(request_id)
    _check_open(request, "changed")
    if not isinstance(barcode, str) or not barcode.strip():
        raise InvalidInput("Say which sample to take off.", code="invalid_barcode")
    barcode = barcode.strip()
    item = next((i for i in request.items if i.sample.barcode == barcode), None)
    if item is not None:
        require_at(actor, "requests.decide", item.sample)
    if item is None:
        check_barcode(barcode)
        raise NotFound(f"{barcode} is not on request {request.id}.", code="not_on_request")
    if len(request.items) == 1:
        raise Conflict(f"{barcode} is the only sample of request {request.id}; cancel the request instead.",
                       code="last_item")
    if item.picked and item.holds and not allowed(actor, "samples.handle"):
        require(actor, "samples.handle")
    outcome = _let_go(actor, request, item, reason=f"taken off request {request.id}: {reason}")
    sample = item.sample
    if outcome == "released":
        _record_holds(actor, request, [sample], "sample.released",
                      f"taken off request {request.id}: {reason}", "reserved", "available")
    request.items.remove(item)
    request.updated_at = utcnow()
    db.session.flush()
    custody.record(actor, "request.item_removed", "request", request.id, request_id=request.id,
                   sample_barcode=barcode, reason=reason,
                   changes={"samples": [barcode, None], "sample_status": [None, sample.status]})
    return request


# -- technician side -----------------------------------------------------------------
def _wrong_scan(request: ResearchRequest, barcode: str) -> Conflict:
    """Why a scanned barcode is not something to pick for this request."""
    sample = samples.find_sample(barcode)
    if sample is not None:
        why = "that sample is not on it"
    elif db.session.execute(select(Container.kind).where(Container.barcode == barcode)).scalar():
        kind = db.session.execute(select(Container.kind).where(Container.barcode == barcode)).scalar()
        why = f"that is a {kind} label, not a sample tube"
    else:
        why = "no sample has that barcode"
    return Conflict(f"Scanned {barcode}: not on the pick list of request {request.id} ({why}). "
                    "Nothing was changed; put it back.", code="not_on_picklist", details={"barcode": barcode})


def pick_sample(actor, request_id: int, barcode) -> ResearchRequest:
    """A scanned tube: checked out to the request if it is on its pick list; otherwise nothing changes."""
    require(actor, "requests.fulfil")
    request = _locked_request(request_id)
    if request.status not in ("approved", "picking"):
        raise InvalidTransition(f"Request {request.id} is {request.status}; only an approved request is picked.",
                                code="not_pickable")
    if not isinstance(barcode, str) or not barcode.strip():
        raise InvalidInput("Scan a barcode.", code="invalid_barcode")
    barcode = barcode.strip()
    item = next((i for i in request.items if i.sample.barcode == barcode), None)
    if item is None:
        check_barcode(barcode)
        raise _wrong_scan(request, barcode)
    if item.picked:
        raise Conflict(f"Scanned {barcode}: already picked for request {request.id} at "
                       f"{item.picked_at:%H:%M} by {item.picked_by}. Nothing was changed.",
                       code="already_picked", details={"barcode": barcode})
    sample = samples.locked_sample(barcode)
    _refuse_leaving([sample], request)
    require_at(actor, "requests.fulfil", sample)
    if sample.status != "reserved":
        raise Conflict(f"Scanned {barcode}: it is {sample.status.replace('_', ' ')}, not reserved for request "
                       f"{request.id}. Nothing was changed.", code="not_reserved", details={"barcode": barcode})
    samples.checkout_sample(actor, barcode, reason=f"picked for request {request.id}", request_id=request.id)
    item.picked_at, item.picked_by = utcnow(), actor.username
    if request.status == "approved":
        request.picking_started_at = utcnow()
        _change_status(actor, request, "picking", changes={"first_pick": [None, barcode]})
    else:
        request.updated_at = utcnow()
    return request


def ship_request(actor, request_id: int, *, recipient, courier, tracking=None) -> ResearchRequest:
    """Every picked tube leaves: samples become shipped; the request records who, how and when."""
    require(actor, "requests.fulfil")
    recipient = _text(recipient, "recipient", 300)
    courier = _text(courier, "courier", 120)
    tracking = _text(tracking, "tracking", 120, required=False)
    request = _locked_request(request_id)
    if request.status != "picking":
        raise InvalidTransition(f"Request {request.id} is {request.status}; it is shipped after picking.")
    missing = [i.sample.barcode for i in request.items if not i.picked]
    if missing:
        raise Conflict(f"Not everything is picked yet: {', '.join(missing)}.", code="not_all_picked",
                       details={"barcodes": missing})
    locked = [samples.locked_sample(item.sample.barcode) for item in sorted(request.items, key=lambda i: i.sample_id)]
    _refuse_leaving(locked, request)
    shipped = []
    for sample in locked:
        require_at(actor, "requests.fulfil", sample)
        old = samples.transition(sample, "shipped", "shipped")
        samples.release_place(sample)
        shipped.append((sample, old))
    destination = f"{recipient} via {courier}" + (f" ({tracking})" if tracking else "")
    custody.record_many([
        (actor, "sample.shipped", "sample", s.barcode,
         {"sample_barcode": s.barcode, "request_id": request.id, "from_location": f"with {actor.username}",
          "to_location": destination[:900], "reason": f"shipped for request {request.id}",
          "changes": {"status": [old, "shipped"]}})
        for s, old in shipped])
    request.shipped_at, request.shipped_by = utcnow(), actor.username
    request.recipient, request.courier, request.tracking = recipient, courier, tracking
    _change_status(actor, request, "shipped", changes={"recipient": [None, recipient], "courier": [None, courier],
                                                       "tracking": [None, tracking]})
    return request
