"""Sample state changes. One function per change; each validates, changes the
models and appends its custody event, and never commits."""
from collections import defaultdict

from flask_babel import gettext as _, pgettext
from sqlalchemy import bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..core.errors import (Conflict, ConsentWithdrawn, DuplicateBarcode, InvalidInput, InvalidTransition, NotFound,
                           NotPermitted, SlotOccupied, UnknownBarcode)
from ..core import display as names
from ..core.bulk import bulk_insert, writes_behind
from ..core.permissions import require, require_at
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from ..network import scope
from ..storage.models import Container
from ..storage.placement import Allocator, placement_scope
from ..requests.models import RequestItem
from ..storage.positions import label, parse as parse_position
from ..storage.service import adjust_counts, barcode_taken, get_container
from .models import TRANSITIONS, Donor, Sample
from .quantities import UNITS, convert, parse_amount, shown
from .validation import check_barcode, clean_fields, parse_datetime, raise_first


# -- lookups ------------------------------------------------------------------
def find_sample(barcode: str) -> Sample | None:
    return db.session.execute(select(Sample).where(Sample.barcode == barcode)).scalar_one_or_none()


def get_sample(barcode: str) -> Sample:
    sample = find_sample(barcode) if isinstance(barcode, str) else None
    if sample is None:
        check_barcode(barcode)
        raise UnknownBarcode(_("No sample has the barcode %(barcode)s.", barcode=barcode))
    return sample


def locked_sample(barcode: str) -> Sample:
    """The sample, row-locked on PostgreSQL so concurrent changes to it queue up."""
    sample = db.session.execute(select(Sample).where(Sample.barcode == barcode).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one_or_none() \
        if isinstance(barcode, str) else None
    return sample if sample is not None else get_sample(barcode)  # get_sample raises the clear error


def status_name(status: str) -> str:
    """A sample status as it reads inside a sentence ("checked out")."""
    return str(names.display(status, "status"))


def _cannot_be(verb: str) -> str:
    """The past participle of "it cannot be …", in the reader's language."""
    participles = {
        "checked out": pgettext("it cannot be …", "checked out"),
        "returned": pgettext("it cannot be …", "returned"),
        "discarded": pgettext("it cannot be …", "discarded"),
        "moved": pgettext("it cannot be …", "moved"),
        "used up": pgettext("it cannot be …", "used up"),
        "reserved": pgettext("it cannot be …", "reserved"),
        "released": pgettext("it cannot be …", "released"),
        "shipped": pgettext("it cannot be …", "shipped"),
        "received": pgettext("it cannot be …", "received"),
        "named missing": pgettext("it cannot be …", "named missing"),
        "shipped between sites": pgettext("it cannot be …", "shipped between sites"),
        "returned to the collecting centre": pgettext("it cannot be …", "returned to the collecting centre"),
        "given up its place": pgettext("it cannot be …", "given up its place"),
        "have a child registered": pgettext("it cannot be …", "have a child registered"),
        "be aliquoted": pgettext("it cannot be …", "be aliquoted"),
    }
    return participles.get(verb, verb)


def _cannot(verb: str) -> str:
    """The verb of "it cannot …", in the reader's language."""
    verbs = {"have a child registered": pgettext("it cannot …", "have a child registered"),
             "be aliquoted": pgettext("it cannot …", "be aliquoted")}
    return verbs.get(verb, verb)


def transition(sample: Sample, new_status: str, action: str) -> str:
    old = sample.status
    if new_status not in TRANSITIONS[old]:
        raise InvalidTransition(_("Sample %(barcode)s is %(status)s; it cannot be %(action)s.", barcode=sample.barcode,
                                  status=status_name(old), action=_cannot_be(action)))
    sample.status = new_status
    return old


def _flush_placement() -> None:
    """Flush, turning the database's one-sample-per-position rule into a clear error."""
    try:
        db.session.flush()
    except IntegrityError as exc:
        db.session.rollback()
        text = str(exc.orig).lower()
        if "barcode" in text:
            raise DuplicateBarcode(_("That barcode was registered by someone else a moment ago.")) from None
        raise SlotOccupied(_("That position was filled by someone else a moment ago; choose another.")) from None


# -- registration (one or many) --------------------------------------------------
def resolve_location(allocator: Allocator, location: dict | None, clean: dict, actor=None):
    """(box, row, col) for a registration's `location` (default: compact strategy). A
    strategy stays inside the actor's site, or inside `location.within` (a container id)."""
    location = location or {"strategy": "compact"}
    if location.get("container_id") is not None:
        if not location.get("position"):
            raise InvalidInput(_("Give a position with the container, e.g. A1."), code="invalid_position")
        placement = allocator.at(int(location["container_id"]), location["position"], clean["sample_type"],
                                 clean["storage_temperature"])
        if actor is not None:
            require_at(actor, "samples.handle", placement[0])
        return placement
    if actor is not None:
        within = location.get("within")
        if within is not None and not isinstance(within, int):
            raise InvalidInput(_("location.within is a container id."), code="invalid_location")
        allocator.within = placement_scope(actor, within)
    return allocator.place(location.get("strategy") or "compact", clean["sample_type"],
                           clean["storage_temperature"], clean["donor"])


_CHUNK = 5000  # rows built, inserted and hashed at a time by insert_samples


def insert_samples(actor, entries: list[tuple[dict, tuple, int | None]], progress=None,
                   want_ids: bool = True) -> list[int]:
    """Insert checked samples with their placements and one custody event each.

    entries: (clean fields, (box, row, col), parent id). Rows whose parent is in
    the same batch must come after it and carry parent_barcode instead of an id.
    Rows go in through the driver's bulk path, a chunk at a time and written
    behind (core.bulk), so memory holds the checked entries and a few chunks of
    rows, and each chunk's custody events are hashed while the database stores
    the chunks before it. Ids are read back only where a later generation or the
    caller needs them.
    """
    now = utcnow()
    ids: dict[str, int] = {}
    usage: dict[int, int] = defaultdict(int)
    boxes: dict[int, Container] = {}
    for _clean, (box, _row, _col), _parent in entries:
        usage[box.id] += 1
        boxes[box.id] = box
    db.session.flush()
    # the boxes' counters before the chain's head: every writer takes them in that order
    adjust_counts(usage, known=boxes)
    paths = {box_id: box.path for box_id, box in boxes.items()}
    try:
        with custody.appending() as chain, writes_behind():
            for generation, wanted in _generations(entries, ids):
                for start in range(0, len(generation), _CHUNK):  # rows and their dicts live one chunk at a time
                    chunk = generation[start:start + _CHUNK]
                    bulk_insert(Sample.__table__, _sample_rows(actor, chunk, ids, now))
                    chain.add(_registered_events(actor, chunk, paths))
                    if progress:
                        progress(len(chunk))
                ids.update(ids_of(wanted & {e[0]["barcode"] for e in generation}))
    except IntegrityError as exc:
        db.session.rollback()
        if "barcode" in str(exc.orig).lower():
            raise DuplicateBarcode(_("A barcode in this batch was registered by someone else "
                                     "meanwhile.")) from None
        raise SlotOccupied(_("That position was filled by someone else a moment ago; "
                             "choose another.")) from None
    blocked = sorted(_withdrawn_donors({e[0]["donor"] for e in entries if e[0].get("donor")}))
    for start in range(0, len(blocked), _LOOKUP_CHUNK):
        db.session.execute(update(Sample).where(Sample.donor.in_(blocked[start:start + _LOOKUP_CHUNK]))
                           .values(consent_withdrawn=True), execution_options={"synchronize_session": False})
    if not want_ids:
        return []
    ids.update(ids_of({e[0]["barcode"] for e in entries} - ids.keys()))
    return [ids[e[0]["barcode"]] for e in entries]


def _generations(entries, ids: dict):
    """The entries generation by generation, so that in-batch parents exist first: (entries whose
    parent is known, barcodes of theirs the next generation refers to). `ids` is read as it fills."""
    pending = list(entries)
    while pending:
        ready = [e for e in pending if e[2] is not None or not e[0].get("parent_barcode")
                 or e[0]["parent_barcode"] in ids]
        if not ready:
            raise InvalidInput(_("Some parent barcodes refer to each other in a loop."))
        ready_ids = {id(e) for e in ready}
        pending = [e for e in pending if id(e) not in ready_ids]
        wanted = {e[0]["parent_barcode"] for e in pending if e[2] is None and e[0].get("parent_barcode")}
        yield ready, wanted


def _sample_rows(actor, chunk, ids: dict, now) -> list[dict]:
    rows = []
    for clean, (box, row, col), parent_id in chunk:
        box_id = box.id
        if parent_id is None:
            parent_id = ids.get(clean.get("parent_barcode"))
        sample = dict(clean, parent_id=parent_id, container_id=box_id, pos_row=row, pos_col=col,
                      home_container_id=box_id, home_row=row, home_col=col, status="available",
                      freeze_thaw_count=0, consent_withdrawn=False, created_at=now, created_by=actor.username)
        del sample["parent_barcode"]
        rows.append(sample)
    return rows


def _registered_events(actor, entries, paths: dict):
    """The custody entry (record_many's form) of each registered sample."""
    for clean, (box, row, col), _parent in entries:
        box_id, barcode, volume = box.id, clean["barcode"], clean.get("volume")
        yield (actor, "sample.registered", "sample", barcode,
               {"sample_barcode": barcode, "container_id": box_id,
                "to_location": f"{paths[box_id]} / {label(row, col)}",
                "changes": {"status": [None, "available"], "sample_type": [None, clean["sample_type"]],
                            "donor": [None, clean.get("donor")],
                            "volume": [None, None if volume is None else str(volume)]}})


_LOOKUP_CHUNK = 500  # values per IN (...): far below what any database takes in one statement


def rows_where_in(columns: tuple, key, values):
    """Rows of `columns` whose `key` is one of `values`, asked in chunks. The
    statement is built once, with the chunk as an expanding parameter."""
    statement = select(*columns).where(key.in_(bindparam("values", expanding=True)))
    values = list(values)
    for start in range(0, len(values), _LOOKUP_CHUNK):
        yield from db.session.execute(statement, {"values": values[start:start + _LOOKUP_CHUNK]})


def ids_of(barcodes) -> dict[str, int]:
    """{barcode: id} of the registered samples among these barcodes."""
    return dict(rows_where_in((Sample.barcode, Sample.id), Sample.barcode, barcodes))


def _withdrawn_donors(codes: set) -> set:
    """Which of these donors withdrew consent. A registration asks about one or
    a few; a file's donors can be more than a statement may carry (PostgreSQL
    takes at most 65,535 parameters), so for many the withdrawn, who are few,
    are read whole."""
    withdrawn = select(Donor.code).where(Donor.consent_withdrawn_at.is_not(None))
    if len(codes) <= _LOOKUP_CHUNK:
        return set(db.session.execute(withdrawn.where(Donor.code.in_(codes))).scalars()) if codes else set()
    return codes.intersection(db.session.execute(withdrawn).scalars())


def register_sample(actor, *, location: dict | None = None, **fields) -> Sample:
    """Register one sample and store it (explicit position or a strategy).

    With parent_barcode it is a child: it gets the parent's donor, and the
    quantity it was given is taken from the parent, exactly as an aliquot's is."""
    require(actor, "samples.handle")
    clean, problems = clean_fields(fields)
    raise_first(problems)
    if find_sample(clean["barcode"]) is not None:
        raise DuplicateBarcode(_("The barcode %(barcode)s is already registered.", barcode=clean["barcode"]))
    if db.session.execute(select(Container.id).where(Container.barcode == clean["barcode"])).first():
        raise DuplicateBarcode(_("%(barcode)s is a container's barcode.", barcode=clean["barcode"]))
    parent, taken = None, None
    if clean["parent_barcode"]:
        if find_sample(clean["parent_barcode"]) is None:
            raise UnknownBarcode(_("The parent %(barcode)s is not registered.", barcode=clean["parent_barcode"]))
        parent = locked_sample(clean["parent_barcode"])
        _check_may_divide(parent, "have a child registered")
        clean["donor"] = _child_donor(parent, clean["donor"])
        if _blank_unit(fields.get("unit")) and parent.unit:
            clean["unit"] = parent.unit
        taken = _portion(parent, 1, clean["volume"], clean["unit"] if clean["volume"] is not None else None)
        if taken is not None:
            clean["volume"] = taken[0]
    placement = resolve_location(Allocator(), location, clean, actor)
    if parent is not None:
        take_from_parent(actor, parent, taken, [clean["barcode"]],
                          reason=f"child {clean['barcode']} registered")
    [sample_id] = insert_samples(actor, [(clean, placement, parent.id if parent else None)])
    return db.session.get(Sample, sample_id)


def _blank_unit(unit) -> bool:
    return unit is None or (isinstance(unit, str) and not unit.strip())


# -- requests holding a sample -----------------------------------------------------
def holding_request(sample: Sample) -> int | None:
    """The id of the request that holds this sample (reserved or picked for it), if any."""
    return db.session.execute(select(RequestItem.request_id).where(
        RequestItem.sample_id == sample.id, RequestItem.holds.is_(True))).scalar()


def _refuse_if_requested(sample: Sample, verb: str) -> None:
    request_id = holding_request(sample)
    if request_id is not None:
        if sample.status == "checked_out":
            message = _("Sample %(barcode)s is picked for request %(request)s; it cannot be %(action)s while that "
                        "request holds it. Take it off request %(request)s (or cancel the request) first.",
                        barcode=sample.barcode, request=request_id, action=_cannot_be(verb))
        else:
            message = _("Sample %(barcode)s is reserved for request %(request)s; it cannot be %(action)s while that "
                        "request holds it. Take it off request %(request)s (or cancel the request) first.",
                        barcode=sample.barcode, request=request_id, action=_cannot_be(verb))
        raise Conflict(message,
                       code="held_by_request", details={"request_id": request_id, "barcode": sample.barcode})


# -- movements ---------------------------------------------------------------------
def _vacate(sample: Sample, *, keep_place: bool, used: dict, held: dict) -> None:
    """Take the sample off its position. keep_place: the position stays held for
    it (a check-out); otherwise its place is given up as well. Counter changes
    are added to `used` and `held` for one adjust_counts."""
    box_id, home_id = sample.container_id, sample.home_container_id
    if box_id:
        used[box_id] = used.get(box_id, 0) - 1
        sample.container = None
        sample.pos_row = sample.pos_col = None
        if keep_place:
            held[box_id] = held.get(box_id, 0) + 1
            return
    elif home_id and not keep_place:
        held[home_id] = held.get(home_id, 0) - 1
    if not keep_place:
        sample.home_container = None
        sample.home_row = sample.home_col = None


def _leave_position(sample: Sample, count: bool = True) -> int | None:
    """Take the sample off its position and give up its place; returns the box it left."""
    box_id = sample.container_id or sample.home_container_id
    used, held = {}, {}
    _vacate(sample, keep_place=False, used=used, held=held)
    if count:
        adjust_counts(used, held)
    return box_id


def release_place(sample: Sample) -> str | None:
    """Give up the position held for a tube that leaves for good (shipped);
    returns the path it was held at. The caller records the event."""
    path = sample.home_path if not sample.container_id else sample.location_path
    _leave_position(sample)
    return path


def _occupy(sample: Sample, placement, count: bool = True) -> None:
    box, row, col = placement
    sample.container, sample.pos_row, sample.pos_col = box, row, col
    sample.home_container, sample.home_row, sample.home_col = box, row, col
    _flush_placement()
    if count:
        adjust_counts({box.id: 1}, known={box.id: box})


def move_sample(actor, barcode: str, *, container_id: int, position: str, reason: str | None = None,
                from_container_id: int | None = None, from_position: str | None = None) -> Sample:
    """Move a stored sample. With from_container_id/from_position the move only happens
    if the sample is still where the technician saw it (409 moved_meanwhile otherwise)."""
    require(actor, "samples.handle")
    sample = locked_sample(barcode)
    if sample.status not in ("available", "reserved") or not sample.container_id:
        raise InvalidTransition(_("Sample %(barcode)s is %(status)s, not in storage; return it instead of moving it.",
                                  barcode=barcode, status=status_name(sample.status)))
    require_at(actor, "samples.handle", sample)
    if from_container_id is not None or from_position is not None:
        from ..storage.positions import parse
        expected = (from_container_id if from_container_id is not None else sample.container_id,
                    parse(from_position) if from_position else (sample.pos_row, sample.pos_col))
        if expected != (sample.container_id, (sample.pos_row, sample.pos_col)):
            raise Conflict(_("Sample %(barcode)s is no longer where you saw it: it is now at %(place)s.",
                             barcode=barcode, place=sample.location_path), code="moved_meanwhile")
    _refuse_if_requested(sample, "moved")
    allocator = Allocator()
    old_path = sample.location_path
    left = sample.container
    old_box = left.id
    placement = allocator.at(container_id, position, sample.sample_type, sample.storage_temperature)
    require_at(actor, "samples.handle", placement[0])
    _leave_position(sample, count=False)
    _occupy(sample, placement, count=False)  # one UPDATE of its row takes it from the old place to the new
    # Both paths in one ordered update, so two opposite moves cannot deadlock.
    deltas = {old_box: -1}
    deltas[placement[0].id] = deltas.get(placement[0].id, 0) + 1
    adjust_counts(deltas, known={old_box: left, placement[0].id: placement[0]})
    custody.record(actor, "sample.moved", "sample", barcode, sample_barcode=barcode, container_id=sample.container_id,
                   from_location=old_path, to_location=sample.location_path, reason=reason,
                   changes={"location": [old_path, sample.location_path], "container_id": [old_box, sample.container_id]})
    return sample


def _due_back(value):
    """A check-out's due-back time: later than now, or None."""
    try:
        due = parse_datetime(value)
    except ValueError as exc:
        raise InvalidInput(str(exc), code="invalid_due_back") from None
    if due is not None and due <= utcnow():
        raise InvalidInput(_("The due-back time %(value)s has already passed; give a later one.", value=value),
                           code="invalid_due_back")
    return due


def checkout_sample(actor, barcode: str, *, reason: str | None = None, due_back=None,
                    request_id: int | None = None) -> Sample:
    """Out of storage into someone's hands; its position stays held for its return."""
    require(actor, "samples.handle")
    sample = locked_sample(barcode)
    due = _due_back(due_back)
    require_at(actor, "samples.handle", sample)
    if sample.consent_withdrawn and request_id is not None:
        raise ConsentWithdrawn(_("The donor of %(barcode)s withdrew consent; it cannot leave for a request.",
                                 barcode=barcode))
    if sample.status in ("in_transit", "missing"):
        raise InvalidTransition(_("Sample %(barcode)s is %(status)s between sites; it is received with its shipment, "
                                  "not checked out.", barcode=barcode, status=status_name(sample.status)),
                                code="in_transit")
    if sample.status == "reserved" and request_id is None:
        holder = holding_request(sample)
        raise InvalidTransition(_("Sample %(barcode)s is reserved for request %(request)s; it leaves storage only by "
                                  "picking that request.", barcode=barcode, request=holder), code="sample_reserved",
                                details={"request_id": holder, "barcode": barcode})
    old_path = sample.location_path
    old = transition(sample, "checked_out", "checked out")
    used, held = {}, {}
    _vacate(sample, keep_place=True, used=used, held=held)
    adjust_counts(used, held)
    sample.due_back, sample.checked_out_at, sample.checked_out_by = due, utcnow(), actor.username
    changes = {"status": [old, "checked_out"], "location": [old_path, None]}
    if sample.home_container_id:
        changes["home"] = [None, sample.home_path]
    if due is not None:
        changes["due_back"] = [None, due.isoformat()]
    custody.record(actor, "sample.checked_out", "sample", barcode, sample_barcode=barcode,
                   container_id=sample.home_container_id, request_id=request_id,
                   from_location=old_path, to_location=f"with {actor.username}", reason=reason, changes=changes)
    return sample


def _clear_checkout(sample: Sample) -> None:
    sample.due_back = sample.checked_out_at = sample.checked_out_by = None


def return_sample(actor, barcode: str, *, thawed: bool, container_id: int | None = None,
                  position: str | None = None, reason: str | None = None) -> Sample:
    """Back into storage: to its held position unless another is given (which
    gives the held one up). A thaw counts."""
    require(actor, "samples.handle")
    sample = locked_sample(barcode)
    if sample.status != "checked_out":
        raise InvalidTransition(_("Sample %(barcode)s is %(status)s; only a checked-out sample can be returned.",
                                  barcode=barcode, status=status_name(sample.status)))
    _refuse_if_requested(sample, "returned")
    return _put_back(actor, sample, thawed=thawed, container_id=container_id, position=position,
                     reason=reason or ("thawed" if thawed else "kept frozen"))


def _put_back(actor, sample: Sample, *, thawed: bool, container_id=None, position=None, reason=None) -> Sample:
    barcode = sample.barcode
    home = (sample.home_container_id, sample.home_row, sample.home_col) if sample.home_container_id else None
    if container_id is None:
        if home is None:
            raise InvalidInput(_("Sample %(barcode)s has no place held for it; say where it goes.", barcode=barcode),
                               code="invalid_position")
        container_id = home[0]
    elif not position:
        raise InvalidInput(_("Give a position with the container, e.g. A1."), code="invalid_position")
    target_box = get_container(container_id)
    if position and target_box.is_grid:
        target = (target_box.id, *parse_position(position, target_box.rows, target_box.cols))
    else:
        target = (target_box.id, home[1], home[2]) if home and target_box.id == home[0] else None
    require_at(actor, "samples.handle", target_box)
    old = transition(sample, "available", "returned")
    changes = {"status": [old, "available"]}
    if thawed:
        changes["freeze_thaw_count"] = [sample.freeze_thaw_count, sample.freeze_thaw_count + 1]
        sample.freeze_thaw_count += 1
    if sample.due_back is not None:
        changes["due_back"] = [sample.due_back.isoformat(), None]
    _clear_checkout(sample)  # before the place is taken: the tube's row changes in one UPDATE
    if home is not None and target == home:
        _occupy(sample, (target_box, home[1], home[2]), count=False)
        adjust_counts({home[0]: 1}, {home[0]: -1}, known={home[0]: target_box})
    else:
        if home is not None:
            changes["home"] = [sample.home_path, None]
            _leave_position(sample)
            _flush_placement()
        placement = Allocator().at(container_id, position, sample.sample_type, sample.storage_temperature)
        _occupy(sample, placement)
    changes["location"] = [None, sample.location_path]
    custody.record(actor, "sample.returned", "sample", barcode, sample_barcode=barcode,
                   container_id=sample.container_id, from_location=f"with {actor.username}",
                   to_location=sample.location_path, reason=reason, changes=changes)
    return sample


def put_back(actor, sample: Sample, *, thawed: bool = False, reason: str | None = None) -> Sample:
    """A checked-out tube goes back to the place held for it (a cancelled
    request's picked tube): no other check than that the place is held."""
    require(actor, "samples.handle")
    return _put_back(actor, sample, thawed=thawed, reason=reason)


def release_home(actor, barcode: str, *, reason: str) -> Sample:
    """Give up the position held for a checked-out tube, on purpose, with a reason."""
    require(actor, "samples.handle")
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput(_("Say why the tube's place is given up."), code="reason_required")
    sample = locked_sample(barcode)
    require_at(actor, "samples.handle", sample)
    if sample.status != "checked_out":
        raise InvalidTransition(_("Sample %(barcode)s is %(status)s; only a checked-out tube has a place held for it.",
                                  barcode=barcode, status=status_name(sample.status)))
    if not sample.home_container_id:
        raise InvalidTransition(_("No place is held for %(barcode)s.", barcode=barcode), code="no_place_held")
    _refuse_if_requested(sample, "given up its place")
    box_id, path = sample.home_container_id, sample.home_path
    _leave_position(sample)
    custody.record(actor, "sample.home_released", "sample", barcode, sample_barcode=barcode, container_id=box_id,
                   from_location=path, reason=reason.strip(), changes={"home": [path, None]})
    return sample


def discard_sample(actor, barcode: str, *, reason: str) -> Sample:
    require(actor, "samples.handle")
    if not (reason or "").strip():
        raise InvalidInput(_("Say why the sample is discarded."), code="reason_required")
    sample = locked_sample(barcode)
    _refuse_if_requested(sample, "discarded")
    require_at(actor, "samples.handle", sample)
    old_path = sample.location_path
    held_path = sample.home_path if not sample.container_id else None
    old = transition(sample, "discarded", "discarded")
    box_id = _leave_position(sample)
    changes = {"status": [old, "discarded"], "location": [old_path, None]}
    if held_path:
        changes["home"] = [held_path, None]
    _clear_checkout(sample)
    custody.record(actor, "sample.discarded", "sample", barcode, sample_barcode=barcode,
                   container_id=box_id, from_location=old_path, reason=reason, changes=changes)
    return sample


# -- lineage ------------------------------------------------------------------------
def _check_may_divide(parent: Sample, verb: str) -> None:
    """A child comes only from material that is still here and not promised to a request."""
    _refuse_if_requested(parent, verb)
    if parent.status not in ("available", "checked_out"):
        raise InvalidTransition(_("Sample %(barcode)s is %(status)s; it cannot %(action)s.", barcode=parent.barcode,
                                  status=status_name(parent.status), action=_cannot(verb)))


def _child_donor(parent: Sample, donor: str | None) -> str | None:
    if donor is not None and parent.donor is not None and donor != parent.donor:
        raise InvalidInput(_("A child has its parent's donor: %(parent)s is from %(donor)s, not %(given)s.",
                             parent=parent.barcode, donor=parent.donor, given=donor), code="donor_mismatch")
    return parent.donor if parent.donor is not None else donor


def _portion(parent: Sample, count: int, amount, unit: str | None):
    """(amount per child in its unit, total taken in the parent's unit), or None
    when neither the parent's nor the children's quantity is known.

    A parent of known quantity gives each child a stated amount, exactly; a
    parent of unknown quantity gives whatever the children say (or nothing)."""
    if amount is None:
        if parent.volume is not None:
            raise InvalidInput(_("%(barcode)s holds %(quantity)s; say how much each child takes.",
                                 barcode=parent.barcode, quantity=shown(parent.volume, parent.unit)),
                               code="quantity_required")
        return None
    unit = unit or parent.unit or "mL"
    if unit not in UNITS:
        raise InvalidInput(_("'%(unit)s' is not a unit; use one of %(units)s.", unit=unit, units=", ".join(UNITS)),
                           code="invalid_unit")
    each = parse_amount(amount, unit)
    if parent.unit is None or parent.volume is None:
        if parent.unit is not None:
            convert(each, unit, parent.unit)  # same kind of quantity, or refused
        return each, None
    taken = convert(each, unit, parent.unit) * count
    if taken > parent.volume:
        raise InvalidInput(_("%(barcode)s holds %(quantity)s; %(count)s × %(each)s does not fit.",
                             barcode=parent.barcode, quantity=shown(parent.volume, parent.unit), count=count,
                             each=shown(each, unit)), code="insufficient_volume")
    return each, taken


def take_from_parent(actor, parent: Sample, portion, children: list[str], reason: str) -> None:
    """The parent gives up what its children took (used up at zero) and records it."""
    taken = portion[1] if portion else None
    old_volume, old_status = parent.volume, parent.status
    if taken is not None:
        parent.volume = old_volume - taken
    if parent.volume is not None and parent.volume == 0:
        transition(parent, "consumed", "used up")
        _leave_position(parent)
        _clear_checkout(parent)
    db.session.flush()
    custody.record(actor, "sample.aliquoted", "sample", parent.barcode, sample_barcode=parent.barcode,
                   container_id=parent.container_id, reason=reason,
                   changes={"volume": [_text(old_volume), _text(parent.volume)],
                            "status": [old_status, parent.status], "children": [None, children]})


def _text(amount) -> str | None:
    return None if amount is None else str(amount)


def _child_barcodes(parent: Sample, count: int) -> list[str]:
    """PARENT-01, PARENT-02, ... skipping any barcode a sample or a container already has."""
    codes: list[str] = []
    number = len(parent.children)
    while len(codes) < count:
        number += 1
        code = f"{parent.barcode}-{number:02d}"[-64:]
        if code not in codes and not barcode_taken(code):
            codes.append(code)
    return codes


def aliquot_sample(actor, barcode: str, *, count: int, volume=None, unit: str | None = None,
                   strategy: str = "spread", container_id: int | None = None,
                   positions: list | None = None) -> list[Sample]:
    """Split off `count` children of `volume` (in `unit`, by default the parent's)
    each; the parent loses exactly count × volume and is used up at zero. A
    parent of unknown quantity keeps it unknown; its children's are optional."""
    require(actor, "samples.handle")
    parent = locked_sample(barcode)
    require_at(actor, "samples.handle", parent)
    _check_may_divide(parent, "be aliquoted")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 96:
        raise InvalidInput(_("Make 1..96 aliquots at a time."))
    portion = _portion(parent, count, volume, unit)
    if positions is not None and (container_id is None or len(positions) != count):
        raise InvalidInput(_("Give a container and one position per aliquot."), code="invalid_position")
    # Aliquots stay at the parent's site (its tree), or the actor's own site.
    home = scope.site_of(parent)
    allocator = Allocator(within=f"/{home.container_id}/" if home is not None else placement_scope(actor))
    entries = []
    child_unit = (unit or parent.unit or "mL") if portion else parent.unit
    for i, child_code in enumerate(_child_barcodes(parent, count)):
        clean = {"barcode": child_code, "sample_type": parent.sample_type,
                 "storage_temperature": parent.storage_temperature, "donor": parent.donor,
                 "collected_at": parent.collected_at, "anatomical_site": parent.anatomical_site,
                 "diagnosis": parent.diagnosis, "volume": portion[0] if portion else None, "unit": child_unit,
                 "sprec": parent.sprec, "notes": None, "parent_barcode": barcode}
        placement = (allocator.at(container_id, positions[i], parent.sample_type, parent.storage_temperature)
                     if positions else allocator.place(strategy, parent.sample_type, parent.storage_temperature,
                                                       parent.donor))
        require_at(actor, "samples.handle", placement[0])
        entries.append((clean, placement, parent.id))
    each = f"of {shown(portion[0], child_unit)}" if portion else "of unknown quantity"
    take_from_parent(actor, parent, portion, [e[0]["barcode"] for e in entries],
                      reason=f"{count} aliquot(s) {each}")
    ids = insert_samples(actor, entries)
    return [db.session.get(Sample, i) for i in ids]


# -- consent ------------------------------------------------------------------------
def _require_donor_at_own_site(actor, donor: str, count: int) -> None:
    """A manager withdraws consent for donors whose material is (also) at their sites."""
    site_ids = scope.visible_site_ids(actor)
    if site_ids is None or count == 0:
        return
    prefixes = scope.lineage_prefixes(site_ids)
    held_here = db.session.execute(
        select(Sample.id).join(Container, Container.id == func.coalesce(Sample.container_id, Sample.home_container_id))
        .where(Sample.donor == donor, or_(*[Container.lineage.like(p + "%") for p in prefixes]) if prefixes
               else false()).limit(1)).first()
    if not held_here:
        raise NotPermitted(_("None of donor %(donor)s's samples is at your sites; a manager where they are, or a "
                             "network manager, records the withdrawal.", donor=donor), code="other_site")


def withdraw_consent(actor, donor: str, *, reason: str) -> dict:
    """Block every sample of a donor from requests at once, and record it."""
    require(actor, "consent.withdraw")
    if not (reason or "").strip():
        raise InvalidInput(_("Record why consent was withdrawn (e.g. the form reference)."), code="reason_required")
    record = db.session.execute(select(Donor).where(Donor.code == donor)).scalar_one_or_none()
    count = db.session.execute(select(db.func.count()).select_from(Sample).where(Sample.donor == donor)).scalar_one()
    if record is None and count == 0:
        raise NotFound(_("No donor %(donor)s is known.", donor=donor), code="unknown_donor")
    _require_donor_at_own_site(actor, donor, count)
    if record is None:
        record = Donor(code=donor)
        db.session.add(record)
    if record.consent_withdrawn_at is not None:
        raise InvalidTransition(_("Donor %(donor)s already withdrew consent on %(date)s.", donor=donor,
                                  date=f"{record.consent_withdrawn_at:%Y-%m-%d}"))
    record.consent_withdrawn_at, record.consent_withdrawn_reason = utcnow(), reason
    db.session.execute(update(Sample).where(Sample.donor == donor).values(consent_withdrawn=True),
                       execution_options={"synchronize_session": "fetch"})
    custody.record(actor, "donor.consent_withdrawn", "donor", donor, reason=reason,
                   changes={"consent": ["given", "withdrawn"], "samples_blocked": [None, count]})
    return {"donor": donor, "samples_blocked": count, "withdrawn_at": record.consent_withdrawn_at}
