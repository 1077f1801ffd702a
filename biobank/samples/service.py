"""Sample state changes. One function per change; each validates, changes the
models and appends its custody event, and never commits."""
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import bindparam, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from ..core.errors import (Conflict, ConsentWithdrawn, DuplicateBarcode, InvalidInput, InvalidTransition, NotFound,
                           NotPermitted, SlotOccupied, UnknownBarcode)
from ..core.db import bulk_insert
from ..core.permissions import require, require_at
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from ..network import scope
from ..storage.models import Container
from ..storage.placement import Allocator, placement_scope
from ..storage.positions import label
from ..storage.service import adjust_usage
from .models import TRANSITIONS, Donor, Sample
from .validation import check_barcode, clean_fields, raise_first


# -- lookups ------------------------------------------------------------------
def find_sample(barcode: str) -> Sample | None:
    return db.session.execute(select(Sample).where(Sample.barcode == barcode)).scalar_one_or_none()


def get_sample(barcode: str) -> Sample:
    sample = find_sample(barcode) if isinstance(barcode, str) else None
    if sample is None:
        check_barcode(barcode)
        raise UnknownBarcode(f"No sample has the barcode {barcode}.")
    return sample


def locked_sample(barcode: str) -> Sample:
    """The sample, row-locked on PostgreSQL so concurrent changes to it queue up."""
    sample = db.session.execute(select(Sample).where(Sample.barcode == barcode).with_for_update()
                                .execution_options(populate_existing=True)).scalar_one_or_none() \
        if isinstance(barcode, str) else None
    return sample if sample is not None else get_sample(barcode)  # get_sample raises the clear error


def transition(sample: Sample, new_status: str, action: str) -> str:
    old = sample.status
    if new_status not in TRANSITIONS[old]:
        raise InvalidTransition(f"Sample {sample.barcode} is {old.replace('_', ' ')}; it cannot be {action}.")
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
            raise DuplicateBarcode("That barcode was registered by someone else a moment ago.") from None
        raise SlotOccupied("That position was filled by someone else a moment ago; choose another.") from None


# -- registration (one or many) --------------------------------------------------
def resolve_location(allocator: Allocator, location: dict | None, clean: dict, actor=None):
    """(box, row, col) for a registration's `location` (default: compact strategy). A
    strategy stays inside the actor's site, or inside `location.within` (a container id)."""
    location = location or {"strategy": "compact"}
    if location.get("container_id") is not None:
        if not location.get("position"):
            raise InvalidInput("Give a position with the container, e.g. A1.", code="invalid_position")
        placement = allocator.at(int(location["container_id"]), location["position"], clean["sample_type"],
                                 clean["storage_temperature"])
        if actor is not None:
            require_at(actor, "samples.handle", placement[0])
        return placement
    if actor is not None:
        within = location.get("within")
        if within is not None and not isinstance(within, int):
            raise InvalidInput("location.within is a container id.", code="invalid_location")
        allocator.within = placement_scope(actor, within)
    return allocator.place(location.get("strategy") or "compact", clean["sample_type"],
                           clean["storage_temperature"], clean["donor"])


_CHUNK = 5000  # rows built, inserted and hashed at a time by insert_samples


def insert_samples(actor, entries: list[tuple[dict, tuple, int | None]], progress=None,
                   want_ids: bool = True) -> list[int]:
    """Insert checked samples with their placements and one custody event each.

    entries: (clean fields, (box, row, col), parent id). Rows whose parent is in
    the same batch must come after it and carry parent_barcode instead of an id.
    Rows go in through plain Core executemany, a chunk at a time, so memory
    holds the checked entries and one chunk of rows; ids are read back only
    where a later generation or the caller needs them.
    """
    now = utcnow()
    ids: dict[str, int] = {}
    usage: dict[int, int] = defaultdict(int)
    boxes: dict[int, Container] = {}
    pending = list(entries)
    while pending:  # generation by generation, so in-batch parents exist first
        ready = [e for e in pending if e[2] is not None or not e[0].get("parent_barcode")
                 or e[0]["parent_barcode"] in ids]
        if not ready:
            raise InvalidInput("Some parent barcodes refer to each other in a loop.")
        ready_ids = {id(e) for e in ready}
        pending = [e for e in pending if id(e) not in ready_ids]
        if pending:  # the next generation refers to some of these by barcode
            wanted = {e[0]["parent_barcode"] for e in pending if e[2] is None and e[0].get("parent_barcode")}
        else:
            wanted = set()
        for start in range(0, len(ready), _CHUNK):  # rows and their dicts live one chunk at a time
            rows = []
            for clean, (box, row, col), parent_id in ready[start:start + _CHUNK]:
                box_id = box.id
                if parent_id is None:
                    parent_id = ids.get(clean.get("parent_barcode"))
                sample = dict(clean, parent_id=parent_id, container_id=box_id, pos_row=row, pos_col=col,
                              home_container_id=box_id, home_row=row, home_col=col, status="available",
                              freeze_thaw_count=0, consent_withdrawn=False, created_at=now, created_by=actor.username)
                del sample["parent_barcode"]
                rows.append(sample)
                usage[box_id] += 1
                boxes[box_id] = box
            try:
                bulk_insert(Sample.__table__, rows)
            except IntegrityError as exc:
                db.session.rollback()
                if "barcode" in str(exc.orig).lower():
                    raise DuplicateBarcode("A barcode in this batch was registered by someone else "
                                           "meanwhile.") from None
                raise SlotOccupied("That position was filled by someone else a moment ago; "
                                   "choose another.") from None
            if progress:
                progress(len(rows))
        ids.update(ids_of(wanted & {e[0]["barcode"] for e in ready}))
    adjust_usage({box_id: count for box_id, count in usage.items()}, boxes)
    blocked = sorted(_withdrawn_donors({e[0]["donor"] for e in entries if e[0].get("donor")}))
    for start in range(0, len(blocked), _LOOKUP_CHUNK):
        db.session.execute(update(Sample).where(Sample.donor.in_(blocked[start:start + _LOOKUP_CHUNK]))
                           .values(consent_withdrawn=True), execution_options={"synchronize_session": False})
    paths = {box_id: box.path for box_id, box in boxes.items()}
    for start in range(0, len(entries), _CHUNK):  # one chain, appended a chunk at a time
        custody.record_many(list(_registered_events(actor, entries[start:start + _CHUNK], paths)), returning=False)
    if not want_ids:
        return []
    ids.update(ids_of({e[0]["barcode"] for e in entries} - ids.keys()))
    return [ids[e[0]["barcode"]] for e in entries]


def _registered_events(actor, entries, paths: dict):
    """The custody entry (record_many's form) of each registered sample."""
    for clean, (box, row, col), _ in entries:
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
    """Register one sample and store it (explicit position or a strategy)."""
    require(actor, "samples.handle")
    clean, problems = clean_fields(fields)
    raise_first(problems)
    if find_sample(clean["barcode"]) is not None:
        raise DuplicateBarcode(f"The barcode {clean['barcode']} is already registered.")
    if db.session.execute(select(Container.id).where(Container.barcode == clean["barcode"])).first():
        raise DuplicateBarcode(f"{clean['barcode']} is a container's barcode.")
    parent_id = None
    if clean["parent_barcode"]:
        parent = find_sample(clean["parent_barcode"])
        if parent is None:
            raise UnknownBarcode(f"The parent {clean['parent_barcode']} is not registered.")
        parent_id = parent.id
    placement = resolve_location(Allocator(), location, clean, actor)
    [sample_id] = insert_samples(actor, [(clean, placement, parent_id)])
    return db.session.get(Sample, sample_id)


# -- movements ---------------------------------------------------------------------
def _leave_position(sample: Sample, count: bool = True) -> int | None:
    """Take the sample off its position; returns the box it left."""
    box_id = sample.container_id
    if box_id:
        if count:
            adjust_usage({box_id: -1})
        sample.container = None
        sample.pos_row = sample.pos_col = None
    return box_id


def _occupy(sample: Sample, placement, count: bool = True) -> None:
    box, row, col = placement
    sample.container, sample.pos_row, sample.pos_col = box, row, col
    sample.home_container, sample.home_row, sample.home_col = box, row, col
    _flush_placement()
    if count:
        adjust_usage({box.id: 1}, {box.id: box})


def move_sample(actor, barcode: str, *, container_id: int, position: str, reason: str | None = None,
                from_container_id: int | None = None, from_position: str | None = None) -> Sample:
    """Move a stored sample. With from_container_id/from_position the move only happens
    if the sample is still where the technician saw it (409 moved_meanwhile otherwise)."""
    require(actor, "samples.handle")
    sample = locked_sample(barcode)
    if sample.status not in ("available", "reserved") or not sample.container_id:
        raise InvalidTransition(f"Sample {barcode} is {sample.status.replace('_', ' ')}, not in storage; "
                                "return it instead of moving it.")
    require_at(actor, "samples.handle", sample)
    if from_container_id is not None or from_position is not None:
        from ..storage.positions import parse
        expected = (from_container_id if from_container_id is not None else sample.container_id,
                    parse(from_position) if from_position else (sample.pos_row, sample.pos_col))
        if expected != (sample.container_id, (sample.pos_row, sample.pos_col)):
            raise Conflict(f"Sample {barcode} is no longer where you saw it: it is now at "
                           f"{sample.location_path}.", code="moved_meanwhile")
    allocator = Allocator()
    old_path = sample.location_path
    old_box = sample.container_id
    placement = allocator.at(container_id, position, sample.sample_type, sample.storage_temperature)
    require_at(actor, "samples.handle", placement[0])
    _leave_position(sample, count=False)
    _flush_placement()
    _occupy(sample, placement, count=False)
    # Both paths in one ordered update, so two opposite moves cannot deadlock.
    deltas = {old_box: -1}
    deltas[placement[0].id] = deltas.get(placement[0].id, 0) + 1
    adjust_usage(deltas, {placement[0].id: placement[0]})
    custody.record(actor, "sample.moved", "sample", barcode, sample_barcode=barcode, container_id=sample.container_id,
                   from_location=old_path, to_location=sample.location_path, reason=reason,
                   changes={"location": [old_path, sample.location_path], "container_id": [old_box, sample.container_id]})
    return sample


def checkout_sample(actor, barcode: str, *, reason: str | None = None, request_id: int | None = None) -> Sample:
    require(actor, "samples.handle")
    sample = locked_sample(barcode)
    require_at(actor, "samples.handle", sample)
    if sample.consent_withdrawn and request_id is not None:
        raise ConsentWithdrawn(f"The donor of {barcode} withdrew consent; it cannot leave for a request.")
    if sample.status in ("in_transit", "missing"):
        raise InvalidTransition(f"Sample {barcode} is {sample.status.replace('_', ' ')} between sites; it is "
                                "received with its shipment, not checked out.", code="in_transit")
    if sample.status == "reserved" and request_id is None:
        raise InvalidTransition(f"Sample {barcode} is reserved for a request; it leaves storage only by "
                                "picking that request.", code="sample_reserved")
    old_path = sample.location_path
    old = transition(sample, "checked_out", "checked out")
    _leave_position(sample)
    custody.record(actor, "sample.checked_out", "sample", barcode, sample_barcode=barcode,
                   container_id=sample.home_container_id, request_id=request_id,
                   from_location=old_path, to_location=f"with {actor.username}", reason=reason,
                   changes={"status": [old, "checked_out"], "location": [old_path, None]})
    return sample


def return_sample(actor, barcode: str, *, thawed: bool, container_id: int | None = None,
                  position: str | None = None, reason: str | None = None) -> Sample:
    """Back into storage: to its old position unless another is given. A thaw counts."""
    require(actor, "samples.handle")
    sample = locked_sample(barcode)
    if sample.status != "checked_out":
        raise InvalidTransition(f"Sample {barcode} is {sample.status.replace('_', ' ')}; only a checked-out "
                                "sample can be returned.")
    if container_id is None:
        if sample.home_container_id is None:
            raise InvalidInput(f"Sample {barcode} has no previous position; say where it goes.",
                               code="invalid_position")
        from ..storage.positions import label
        container_id, position = sample.home_container_id, position or label(sample.home_row, sample.home_col)
    elif not position:
        raise InvalidInput("Give a position with the container, e.g. A1.", code="invalid_position")
    placement = Allocator().at(container_id, position, sample.sample_type, sample.storage_temperature)
    require_at(actor, "samples.handle", placement[0])
    old = transition(sample, "available", "returned")
    changes = {"status": [old, "available"]}
    if thawed:
        changes["freeze_thaw_count"] = [sample.freeze_thaw_count, sample.freeze_thaw_count + 1]
        sample.freeze_thaw_count += 1
    _occupy(sample, placement)
    changes["location"] = [None, sample.location_path]
    custody.record(actor, "sample.returned", "sample", barcode, sample_barcode=barcode,
                   container_id=sample.container_id, from_location=f"with {actor.username}",
                   to_location=sample.location_path, reason=reason or ("thawed" if thawed else "kept frozen"),
                   changes=changes)
    return sample


def discard_sample(actor, barcode: str, *, reason: str) -> Sample:
    require(actor, "samples.handle")
    if not (reason or "").strip():
        raise InvalidInput("Say why the sample is discarded.", code="reason_required")
    sample = locked_sample(barcode)
    require_at(actor, "samples.handle", sample)
    old_path = sample.location_path
    old = transition(sample, "discarded", "discarded")
    _leave_position(sample)
    custody.record(actor, "sample.discarded", "sample", barcode, sample_barcode=barcode,
                   container_id=sample.home_container_id, from_location=old_path, reason=reason,
                   changes={"status": [old, "discarded"], "location": [old_path, None]})
    return sample


def aliquot_sample(actor, barcode: str, *, count: int, volume, strategy: str = "spread",
                   container_id: int | None = None, positions: list | None = None) -> list[Sample]:
    """Split off `count` children of `volume` each; the parent loses count × volume."""
    require(actor, "samples.handle")
    parent = locked_sample(barcode)
    require_at(actor, "samples.handle", parent)
    if parent.status not in ("available", "checked_out"):
        raise InvalidTransition(f"Sample {barcode} is {parent.status.replace('_', ' ')}; it cannot be aliquoted.")
    if not isinstance(count, int) or not 1 <= count <= 96:
        raise InvalidInput("Make 1..96 aliquots at a time.")
    try:
        volume = Decimal(str(volume))
        if not volume.is_finite() or volume <= 0:
            raise ValueError
    except (ValueError, ArithmeticError):
        raise InvalidInput(f"'{volume}' is not a volume.") from None
    taken = volume * count
    if parent.volume is None or taken > parent.volume:
        raise InvalidInput(f"{barcode} holds {parent.volume or 0} {parent.unit or ''}; "
                           f"{count} × {volume} does not fit.".replace("  ", " "), code="insufficient_volume")
    if positions is not None and (container_id is None or len(positions) != count):
        raise InvalidInput("Give a container and one position per aliquot.", code="invalid_position")
    base = len(parent.children)
    # Aliquots stay at the parent's site (its tree), or the actor's own site.
    home = scope.site_of(parent)
    allocator = Allocator(within=f"/{home.container_id}/" if home is not None else placement_scope(actor))
    entries = []
    for i in range(count):
        number = base + i + 1
        while find_sample(child_code := f"{barcode}-{number:02d}"[-64:]) is not None:
            number += 1
        clean = {"barcode": child_code, "sample_type": parent.sample_type,
                 "storage_temperature": parent.storage_temperature, "donor": parent.donor,
                 "collected_at": parent.collected_at, "anatomical_site": parent.anatomical_site,
                 "diagnosis": parent.diagnosis, "volume": volume, "unit": parent.unit, "sprec": parent.sprec,
                 "notes": None, "parent_barcode": barcode}
        placement = (allocator.at(container_id, positions[i], parent.sample_type, parent.storage_temperature)
                     if positions else allocator.place(strategy, parent.sample_type, parent.storage_temperature,
                                                       parent.donor))
        require_at(actor, "samples.handle", placement[0])
        entries.append((clean, placement, parent.id))
        base = number - i - 1
    old_volume = parent.volume
    parent.volume = old_volume - taken
    if parent.volume == 0:
        old_status = transition(parent, "consumed", "used up")
        _leave_position(parent)
    else:
        old_status = parent.status
    db.session.flush()
    ids = insert_samples(actor, entries)
    custody.record(actor, "sample.aliquoted", "sample", barcode, sample_barcode=barcode,
                   container_id=parent.container_id, reason=f"{count} aliquot(s) of {volume} {parent.unit or ''}".strip(),
                   changes={"volume": [str(old_volume), str(parent.volume)], "status": [old_status, parent.status],
                            "children": [None, [e[0]["barcode"] for e in entries]]})
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
        raise NotPermitted(f"None of donor {donor}'s samples is at your sites; a manager where they are, or a "
                           "network manager, records the withdrawal.", code="other_site")


def withdraw_consent(actor, donor: str, *, reason: str) -> dict:
    """Block every sample of a donor from requests at once, and record it."""
    require(actor, "consent.withdraw")
    if not (reason or "").strip():
        raise InvalidInput("Record why consent was withdrawn (e.g. the form reference).", code="reason_required")
    record = db.session.execute(select(Donor).where(Donor.code == donor)).scalar_one_or_none()
    count = db.session.execute(select(db.func.count()).select_from(Sample).where(Sample.donor == donor)).scalar_one()
    if record is None and count == 0:
        raise NotFound(f"No donor {donor} is known.", code="unknown_donor")
    _require_donor_at_own_site(actor, donor, count)
    if record is None:
        record = Donor(code=donor)
        db.session.add(record)
    if record.consent_withdrawn_at is not None:
        raise InvalidTransition(f"Donor {donor} already withdrew consent on {record.consent_withdrawn_at:%Y-%m-%d}.")
    record.consent_withdrawn_at, record.consent_withdrawn_reason = utcnow(), reason
    db.session.execute(update(Sample).where(Sample.donor == donor).values(consent_withdrawn=True),
                       execution_options={"synchronize_session": "fetch"})
    custody.record(actor, "donor.consent_withdrawn", "donor", donor, reason=reason,
                   changes={"consent": ["given", "withdrawn"], "samples_blocked": [None, count]})
    return {"donor": donor, "samples_blocked": count, "withdrawn_at": record.consent_withdrawn_at}
