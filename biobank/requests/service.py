"""Request state changes: create, submit, fill a criteria line, approve, reject, pick, ship,
complete, cancel.

One function per change. Each takes the acting user, checks permissions, validates,
changes the models and appends one custody event for the request's change plus one
per sample whose status changes; none commits, so approval and its reservations
(or a cancellation and its releases) land together or not at all.

Sites: a request's samples fall into one part per site (requests/parts.py). Each
site's manager approves or rejects their part, and each site's staff pick and ship
theirs; network managers and admins act on every part. The request's status
follows its parts: submitted while a part waits for a decision, approved once every
part is decided and one is approved (rejected when all are), picking from the
first pick, shipped when every approved part is shipped. A researcher sees one
request, with each part's state.

Criteria lines ("20 plasma, C50, collected in 2025") are filled by a manager with
matching available samples before approval; approval waits for every line.

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

Researchers name samples by catalogue id (requests/opaque.py); staff may use barcodes.
"""
from flask_babel import gettext as _, ngettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core.lazy_text import lazy_gettext as _l
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
from . import criteria as criteria_lines, parts as request_parts
from .models import OPEN_STATUSES, TRANSITIONS, RequestItem, ResearchRequest
from .opaque import sample_id_of

MAX_ITEMS = 1000

_VERBS = {"submitted": _l("submitted"), "approved": _l("approved"), "rejected": _l("rejected"),
          "picking": _l("picked"), "shipped": _l("shipped"), "completed": _l("completed"),
          "cancelled": _l("cancelled"), "changed": _l("changed")}


# -- lookups ---------------------------------------------------------------------
def _no_request(request_id) -> NotFound:
    return NotFound(_("There is no request %(id)s.", id=request_id), code="unknown_request")


def get_request(request_id) -> ResearchRequest:
    request = db.session.get(ResearchRequest, request_id) if isinstance(request_id, int) else None
    if request is None:
        raise _no_request(request_id)
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
        raise _no_request(request_id)
    return request


def _acting_request(actor, request_id: int, *, as_requester: bool) -> ResearchRequest:
    """Lock the request for a requester's action (own only, unless a manager/admin)."""
    request = _locked_request(request_id)
    if as_requester and not is_owner(actor, request) and not allowed(actor, "requests.decide"):
        if sees_all_requests(actor):
            raise NotPermitted(_("Only the requester or a manager may do this to request %(id)s.", id=request_id))
        raise _no_request(request_id)
    return request


def _refuse_transition(request: ResearchRequest, new: str) -> InvalidTransition:
    return InvalidTransition(_("Request %(id)s is %(status)s; it cannot be %(verb)s.", id=request.id,
                               status=request.status, verb=_VERBS.get(new, new)))


def _change_status(actor, request: ResearchRequest, new: str, *, reason: str | None = None,
                   changes: dict | None = None) -> None:
    old = request.status
    if new not in TRANSITIONS[old]:
        raise _refuse_transition(request, new)
    request.status = new
    request.updated_at = utcnow()
    custody.record(actor, f"request.{new}", "request", request.id, request_id=request.id, reason=reason,
                   changes={"status": [old, new], **(changes or {})})


def _settle(actor, request: ResearchRequest, *, reason=None, changes=None, part_action: str | None = None) -> bool:
    """Bring the request's status in line with its parts: True when it changed (one request
    event); otherwise the parts' change is recorded as `part_action`, if given."""
    wanted = request_parts.wanted_status(request)
    if wanted != request.status:
        _change_status(actor, request, wanted, reason=reason, changes=changes)
        return True
    request.updated_at = utcnow()
    if part_action:
        custody.record(actor, part_action, "request", request.id, request_id=request.id, reason=reason,
                       changes=changes or {})
    return False


def _check_open(request: ResearchRequest, verb: str) -> None:
    if request.status not in OPEN_STATUSES:
        raise _refuse_transition(request, verb)


_FIELD_NAMES = {"title": _l("title"), "purpose": _l("purpose"), "ethics reference": _l("ethics reference"),
                "reason": _l("reason"), "recipient": _l("recipient"), "courier": _l("courier"),
                "tracking": _l("tracking")}


def _text(value, name: str, limit: int, required: bool = True) -> str | None:
    value = (value or "").strip() if isinstance(value, str) or value is None else None
    shown = _FIELD_NAMES.get(name, name)
    if value is None:
        raise InvalidInput(_("%(name)s must be text.", name=shown), code="invalid_input")
    if required and not value:
        raise InvalidInput(_("Give the %(name)s.", name=shown), code=f"{name.replace(' ', '_')}_required")
    if len(value) > limit:
        raise InvalidInput(_("The %(name)s is longer than %(limit)d characters.", name=shown, limit=limit))
    return value or None


# -- validation of requested samples ---------------------------------------------------
def _resolve(entries) -> tuple[list[str], dict[str, Sample]]:
    """(the entries as given, without repeats; entry -> sample) for barcodes or catalogue ids."""
    if not isinstance(entries, (list, tuple)) or not entries:
        raise InvalidInput(_("A request needs at least one sample."), code="no_samples")
    unique = []
    for entry in entries:
        if not isinstance(entry, str):
            raise InvalidInput(_("'%(value)s' is not a barcode.", value=entry), code="invalid_barcode")
        entry = entry.strip()
        if sample_id_of(entry) is None:
            check_barcode(entry)
        if entry not in unique:
            unique.append(entry)
    if len(unique) > MAX_ITEMS:
        raise InvalidInput(_("A request holds at most %(max)d samples.", max=MAX_ITEMS), code="too_many_samples")
    ids = {e: sample_id_of(e) for e in unique}
    by_id = {s.id: s for s in db.session.execute(
        select(Sample).where(Sample.id.in_([i for i in ids.values() if i is not None]))).scalars()}
    by_barcode = {s.barcode: s for s in db.session.execute(
        select(Sample).where(Sample.barcode.in_([e for e, i in ids.items() if i is None]))).scalars()}
    found = {e: by_id.get(ids[e]) if ids[e] is not None else by_barcode.get(e) for e in unique}
    return unique, {e: s for e, s in found.items() if s is not None}


def _requestable(entries, actor=None) -> list[Sample]:
    """The samples for these barcodes (or catalogue ids), refused unless every one is in the catalogue."""
    unique, found = _resolve(entries)
    missing = [e for e in unique if e not in found]
    if missing:
        raise UnknownBarcode(_("No catalogue sample has the barcode %(barcodes)s.", barcodes=", ".join(missing)),
                             details={"barcodes": missing})
    chosen = list(dict.fromkeys(found[e] for e in unique))
    _refuse_withdrawn(chosen, actor, shown={found[e].id: e for e in unique})
    unavailable = [e for e in unique if found[e].status != "available"]
    if unavailable:
        raise Conflict(_("Not available for requests: %(barcodes)s.", barcodes=", ".join(unavailable)),
                       code="sample_unavailable", details={"barcodes": unavailable})
    return chosen


def _refuse_withdrawn(sample_list, actor=None, shown: dict | None = None) -> None:
    withdrawn = [(shown or {}).get(s.id, s.barcode) for s in sample_list if s.consent_withdrawn]
    if withdrawn and actor is not None and not allowed(actor, "samples.identified"):
        # researchers never learn a donor's consent state: for them it is simply not available
        raise Conflict(_("Not available for requests: %(barcodes)s.", barcodes=", ".join(withdrawn)),
                       code="sample_unavailable", details={"barcodes": withdrawn})
    if withdrawn:
        raise ConsentWithdrawn(ngettext("Consent was withdrawn for %(barcodes)s; it can never be requested.",
                                        "Consent was withdrawn for %(barcodes)s; they can never be requested.",
                                        len(withdrawn), barcodes=", ".join(withdrawn)),
                               details={"barcodes": withdrawn})


def _refuse_leaving(sample_list, request: ResearchRequest) -> None:
    """Consent is asked again at every step up to the door: a donor may withdraw after approval."""
    withdrawn = [s.barcode for s in sample_list if s.consent_withdrawn]
    if withdrawn:
        raise ConsentWithdrawn(ngettext(
            "Consent was withdrawn for %(barcodes)s after request %(id)s was approved; it must not leave the "
            "biobank. Nothing was changed: cancel the request (picked tubes go back to storage) and request the "
            "others again.",
            "Consent was withdrawn for %(barcodes)s after request %(id)s was approved; they must not leave the "
            "biobank. Nothing was changed: cancel the request (picked tubes go back to storage) and request the "
            "others again.", len(withdrawn), barcodes=", ".join(withdrawn), id=request.id),
            details={"barcodes": withdrawn})


def _add_items(request: ResearchRequest, chosen: list[Sample], criterion=None) -> list[RequestItem]:
    items = [RequestItem(sample=s, holds=False, criterion=criterion) for s in chosen]
    request.items.extend(items)
    request_parts.assign(request, items)
    return items


# -- researcher side ----------------------------------------------------------------
def create_request(actor, *, title, purpose, ethics_reference, samples: list | None = None,
                   criteria: list | None = None) -> ResearchRequest:
    """A draft request for catalogue samples and/or lines by criteria (nothing is reserved until approval)."""
    require(actor, "requests.create")
    title = _text(title, "title", 200)
    purpose = _text(purpose, "purpose", 5000)
    ethics_reference = _text(ethics_reference, "ethics reference", 120)
    lines = criteria_lines.parse(criteria)
    chosen = _requestable(samples, actor) if samples or not lines else []
    request = ResearchRequest(title=title, purpose=purpose, ethics_reference=ethics_reference, status="draft",
                              requester_id=actor.user_id, requester=actor.username, created_at=utcnow(),
                              updated_at=utcnow())
    db.session.add(request)
    _add_items(request, chosen)
    request.criteria = lines
    db.session.flush()
    changes = {"status": [None, "draft"], "samples": [None, [s.barcode for s in chosen]],
               "ethics_reference": [None, ethics_reference]}
    if lines:
        changes["criteria"] = [None, [criteria_lines.filters_of(c) | {"count": c.count} for c in lines]]
    custody.record(actor, "request.created", "request", request.id, request_id=request.id,
                   reason=title, changes=_jsonable(changes))
    return request


def _jsonable(value):
    """Dates in criteria as ISO text, for the custody event."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value.isoformat() if hasattr(value, "isoformat") else value


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


def fill_criterion(actor, request_id: int, criterion_id: int, samples: list) -> ResearchRequest:
    """A manager fills a criteria line with matching available samples (at their sites): they join
    the request (in their sites' parts) and the line is done, with as many as were found."""
    require(actor, "requests.decide")
    request = _locked_request(request_id)
    if request.status not in ("draft", "submitted"):
        raise InvalidTransition(_("Request %(id)s is %(status)s; its lines by criteria can no longer be filled.",
                                  id=request.id, status=request.status), code="not_fillable")
    criterion = next((c for c in request.criteria if c.id == criterion_id), None)
    if criterion is None:
        raise NotFound(_("Request %(id)s has no line %(line)s.", id=request.id, line=criterion_id),
                       code="unknown_criterion")
    if criterion.filled:
        raise Conflict(_("That line was filled by %(who)s already.", who=criterion.filled_by), code="already_filled")
    chosen = _requestable(samples, actor)
    if len(chosen) > criterion.count:
        raise InvalidInput(_("The line asks for %(count)d samples; %(chosen)d were chosen.", count=criterion.count,
                             chosen=len(chosen)), code="too_many_samples")
    on_request = {item.sample_id for item in request.items}
    twice = [s.barcode for s in chosen if s.id in on_request]
    if twice:
        raise Conflict(_("Already on request %(id)s: %(barcodes)s.", id=request.id, barcodes=", ".join(twice)),
                       code="already_on_request", details={"barcodes": twice})
    fitting = set(db.session.execute(criteria_lines.matching(criterion).where(
        Sample.id.in_([s.id for s in chosen])).with_only_columns(Sample.id)).scalars())
    misfits = [s.barcode for s in chosen if s.id not in fitting]
    if misfits:
        raise InvalidInput(_("Not what the line asks for: %(barcodes)s.", barcodes=", ".join(misfits)),
                           code="not_matching", details={"barcodes": misfits})
    for sample in chosen:
        require_at(actor, "requests.decide", sample)
    _add_items(request, chosen, criterion)
    criterion.filled_at, criterion.filled_by = utcnow(), actor.username
    request.updated_at = utcnow()
    db.session.flush()
    custody.record(actor, "request.filled", "request", request.id, request_id=request.id,
                   changes={"criterion": [None, criterion.id], "samples": [None, [s.barcode for s in chosen]]})
    return request


def approve_request(actor, request_id: int, *, reason: str | None = None, site: str | None = None) -> ResearchRequest:
    """Approve this actor's parts (every part for network roles; `site` narrows to one) and reserve
    their samples in the same transaction; 409 if any is not available."""
    require(actor, "requests.decide")
    request = _locked_request(request_id)
    if "approved" not in TRANSITIONS[request.status]:
        raise _refuse_transition(request, "approved")
    unfilled = Conflict(_("Request %(id)s still asks for samples by criteria: fill every line before approving.",
                          id=request.id), code="criteria_unfilled")
    if request.unfilled_criteria and not request.items:
        raise unfilled
    reason = _text(reason, "reason", 2000, required=False)
    deciding = request_parts.mine(actor, request, "requests.decide", ("pending",), site)  # other sites: 403
    if request.unfilled_criteria:
        raise unfilled
    items = [item for part in deciding for item in part.items]
    locked = [samples.locked_sample(item.sample.barcode) for item in sorted(items, key=lambda i: i.sample_id)]
    for sample in locked:  # a manager approves what is at their sites
        require_at(actor, "requests.decide", sample)
    _refuse_withdrawn(locked)
    problems, taken = [], []
    for sample in locked:
        if sample.status != "available":
            holder = _holder_of(sample, request.id)
            taken.append(sample.barcode)
            problems.append(_("%(barcode)s is %(status)s for request %(holder)s", barcode=sample.barcode,
                              status=sample.status.replace("_", " "), holder=holder) if holder else
                            _("%(barcode)s is %(status)s", barcode=sample.barcode,
                              status=sample.status.replace("_", " ")))
    if problems:
        raise Conflict(_("Cannot approve: %(problems)s.", problems="; ".join(problems)), code="sample_unavailable",
                       details={"barcodes": taken})
    for sample in locked:
        samples.transition(sample, "reserved", "reserved")
    for item in items:
        item.holds = True
    _flush_holds()
    _record_holds(actor, request, locked, "sample.reserved", f"approved for request {request.id}",
                  "available", "reserved")
    now = utcnow()
    for part in deciding:
        part.status, part.decided_at, part.decided_by, part.decision_reason = "approved", now, actor.username, reason
    _decided(actor, request, reason, {"reserved": [None, [s.barcode for s in locked]],
                                      "parts_approved": [None, [_site_code(p) for p in deciding]]},
             "request.part_approved")
    return request


def _site_code(part) -> str | None:
    return part.site.code if part.site is not None else None


def _decided(actor, request: ResearchRequest, reason, changes: dict, part_action: str) -> None:
    """After a part's decision: the request is decided once every part is (and the researcher told)."""
    if _settle(actor, request, reason=reason, changes=changes, part_action=part_action):
        request.decided_at, request.decided_by, request.decision_reason = utcnow(), actor.username, reason
        mail.request_decided(request)


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
        raise Conflict(_("Another request took one of these samples a moment ago."),
                       code="sample_unavailable") from None


def reject_request(actor, request_id: int, *, reason: str, site: str | None = None) -> ResearchRequest:
    """Reject this actor's parts: the request is rejected when every part is; with other parts
    approved, it goes ahead with those."""
    require(actor, "requests.decide")
    reason = _text(reason, "reason", 2000)
    request = _locked_request(request_id)
    if "rejected" not in TRANSITIONS[request.status]:
        raise _refuse_transition(request, "rejected")
    deciding = (request_parts.mine(actor, request, "requests.decide", ("pending",), site)
                if request.parts else [])
    now = utcnow()
    for part in deciding:
        part.status, part.decided_at, part.decided_by, part.decision_reason = "rejected", now, actor.username, reason
    if not request.items:  # only unfilled criteria: nothing to split by site
        request.decided_at, request.decided_by, request.decision_reason = now, actor.username, reason
        _change_status(actor, request, "rejected", reason=reason)
        mail.request_decided(request)
        return request
    _decided(actor, request, reason, {"parts_rejected": [None, [_site_code(p) for p in deciding]]},
             "request.part_rejected")
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
        raise Conflict(_("Picking of request %(id)s has started; ask a biobank manager to cancel it so the picked "
                         "tubes are put back.", id=request.id), code="picking_started")
    released, returned = [], []
    for item in sorted(request.items, key=lambda i: i.sample_id):
        outcome = _let_go(actor, request, item, reason=f"request {request.id} cancelled: {reason}",
                          thawed=bool(thawed))
        (returned if outcome == "returned" else released if outcome == "released" else []).append(item.sample)
    _record_holds(actor, request, [s for s in released if s.status == "available"], "sample.released",
                  f"request {request.id} cancelled", "reserved", "available")
    for part in request.parts:
        if part.status in ("pending", "approved", "picking"):
            part.status = "cancelled"
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


def _item_named(request: ResearchRequest, entry: str) -> RequestItem | None:
    """The item for a barcode (staff) or a catalogue id."""
    sample_id = sample_id_of(entry)
    return next((i for i in request.items if i.sample.barcode == entry or i.sample_id == sample_id), None)


def remove_item(actor, request_id: int, barcode, *, reason) -> ResearchRequest:
    """Take one sample off an open request (a manager's decision, with a reason),
    releasing it as a cancellation would."""
    require(actor, "requests.decide")
    reason = _text(reason, "reason", 2000)
    request = _locked_request(request_id)
    _check_open(request, "changed")
    if not isinstance(barcode, str) or not barcode.strip():
        raise InvalidInput(_("Say which sample to take off."), code="invalid_barcode")
    barcode = barcode.strip()
    item = _item_named(request, barcode)
    if item is None:
        check_barcode(barcode)
        raise NotFound(_("%(barcode)s is not on request %(id)s.", barcode=barcode, id=request.id),
                       code="not_on_request")
    require_at(actor, "requests.decide", item.sample)
    barcode = item.sample.barcode
    if len(request.items) == 1:
        raise Conflict(_("%(barcode)s is the only sample of request %(id)s; cancel the request instead.",
                         barcode=barcode, id=request.id), code="last_item")
    if item.picked and item.holds and not allowed(actor, "samples.handle"):
        require(actor, "samples.handle")
    outcome = _let_go(actor, request, item, reason=f"taken off request {request.id}: {reason}")
    sample = item.sample
    if outcome == "released":
        _record_holds(actor, request, [sample], "sample.released",
                      f"taken off request {request.id}: {reason}", "reserved", "available")
    if item.part is not None:
        item.part.items.remove(item)
    request.items.remove(item)
    request_parts.drop_empty(request)
    request.updated_at = utcnow()
    db.session.flush()
    custody.record(actor, "request.item_removed", "request", request.id, request_id=request.id,
                   sample_barcode=barcode, reason=reason,
                   changes={"samples": [barcode, None], "sample_status": [None, sample.status]})
    _settle(actor, request)
    return request


# -- technician side -----------------------------------------------------------------
def _wrong_scan(request: ResearchRequest, barcode: str) -> Conflict:
    """Why a scanned barcode is not something to pick for this request, and what to do."""
    sample = samples.find_sample(barcode)
    kind = db.session.execute(select(Container.kind).where(Container.barcode == barcode)).scalar()
    if sample is not None:
        message = _("Scanned %(barcode)s: not on the pick list of request %(id)s (that sample is not on it). "
                    "Nothing was changed; put it back.", barcode=barcode, id=request.id)
    elif kind:
        message = _("Scanned %(barcode)s: not on the pick list of request %(id)s (that is a %(kind)s label, not a "
                    "sample tube). Nothing was changed; put it back.", barcode=barcode, id=request.id, kind=kind)
    else:
        message = _("Scanned %(barcode)s: not on the pick list of request %(id)s (no sample has that barcode). "
                    "Nothing was changed; put it back.", barcode=barcode, id=request.id)
    return Conflict(message, code="not_on_picklist", details={"barcode": barcode})


def pick_sample(actor, request_id: int, barcode) -> ResearchRequest:
    """A scanned tube: checked out to the request if it is on its pick list; otherwise nothing changes."""
    require(actor, "requests.fulfil")
    request = _locked_request(request_id)
    if request.status not in ("approved", "picking"):
        raise InvalidTransition(_("Request %(id)s is %(status)s; only an approved request is picked.",
                                  id=request.id, status=request.status), code="not_pickable")
    if not isinstance(barcode, str) or not barcode.strip():
        raise InvalidInput(_("Scan a barcode."), code="invalid_barcode")
    barcode = barcode.strip()
    item = next((i for i in request.live_items if i.sample.barcode == barcode), None)
    if item is None:
        check_barcode(barcode)
        raise _wrong_scan(request, barcode)
    if item.picked:
        raise Conflict(_("Scanned %(barcode)s: already picked for request %(id)s at %(time)s by %(who)s. "
                         "Nothing was changed.", barcode=barcode, id=request.id,
                         time=f"{item.picked_at:%H:%M}", who=item.picked_by),
                       code="already_picked", details={"barcode": barcode})
    sample = samples.locked_sample(barcode)
    _refuse_leaving([sample], request)
    require_at(actor, "requests.fulfil", sample)
    if sample.status != "reserved":
        raise Conflict(_("Scanned %(barcode)s: it is %(status)s, not reserved for request %(id)s. "
                         "Nothing was changed.", barcode=barcode, status=sample.status.replace("_", " "),
                         id=request.id), code="not_reserved", details={"barcode": barcode})
    samples.checkout_sample(actor, barcode, reason=f"picked for request {request.id}", request_id=request.id)
    item.picked_at, item.picked_by = utcnow(), actor.username
    if item.part is not None and item.part.status == "approved":
        item.part.status = "picking"
    if request.status == "approved":
        request.picking_started_at = utcnow()
    _settle(actor, request, changes={"first_pick": [None, barcode]})
    return request


def ship_request(actor, request_id: int, *, recipient, courier, tracking=None, site: str | None = None) -> ResearchRequest:
    """This actor's parts leave (every part for network roles; `site` narrows to one): their picked
    tubes become shipped. The request is shipped once every approved part is."""
    require(actor, "requests.fulfil")
    recipient = _text(recipient, "recipient", 300)
    courier = _text(courier, "courier", 120)
    tracking = _text(tracking, "tracking", 120, required=False)
    request = _locked_request(request_id)
    if request.status != "picking":
        raise InvalidTransition(_("Request %(id)s is %(status)s; it is shipped after picking.", id=request.id,
                                  status=request.status))
    shipping = request_parts.mine(actor, request, "requests.fulfil", ("approved", "picking"), site)
    items = [item for part in shipping for item in part.items]
    missing = [i.sample.barcode for i in items if not i.picked]
    if missing:
        raise Conflict(_("Not everything is picked yet: %(barcodes)s.", barcodes=", ".join(missing)),
                       code="not_all_picked", details={"barcodes": missing})
    locked = [samples.locked_sample(item.sample.barcode) for item in sorted(items, key=lambda i: i.sample_id)]
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
    now = utcnow()
    for part in shipping:
        part.status, part.shipped_at, part.shipped_by = "shipped", now, actor.username
        part.courier, part.tracking = courier, tracking
    request.recipient, request.courier, request.tracking = recipient, courier, tracking
    if request_parts.wanted_status(request) == "shipped":
        request.shipped_at, request.shipped_by = now, actor.username
    _settle(actor, request, changes={"recipient": [None, recipient], "courier": [None, courier],
                                     "tracking": [None, tracking],
                                     "parts_shipped": [None, [_site_code(p) for p in shipping]]},
            part_action="request.part_shipped")
    return request
