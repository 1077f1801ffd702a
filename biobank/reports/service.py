"""State changes of the reports package: reconciliation corrections and the
record of chain verifications. Like every service, they take the acting user,
check permissions, append custody events and never commit."""
from flask_babel import gettext as _
from sqlalchemy import select

from ..core.errors import Conflict, InvalidInput, NoFreePosition
from ..core.permissions import require, require_at
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from ..samples import service as samples
from ..samples.models import Sample
from ..storage import positions
from ..storage.placement import Allocator
from ..storage.service import get_container
from .models import VerificationRun

RECONCILIATION_REASON = "inventory reconciliation"
MAX_CORRECTIONS = 2000


def apply_reconciliation(actor, container_id: int, corrections: list[dict]) -> dict:
    """Put each scanned tube where the scanner saw it: one audited move per tube.

    corrections: [{"barcode", "position"}, ...] for one box. All moves happen in
    the caller's transaction, so either every correction lands or none does.
    Moves are ordered so a tube only goes into a position already emptied; a
    swap (a cycle of tubes) parks one tube in a free position first, which is
    an audited move as well.
    """
    require(actor, "reports.act")
    box = get_container(container_id)
    require_at(actor, "reports.act", box)
    if not box.is_grid:
        raise InvalidInput(_("%(path)s is a %(kind)s; corrections go into a box.", path=box.path, kind=box.kind),
                           code="not_a_box")
    targets = _checked_corrections(box, corrections)

    occupant = {(r.pos_row, r.pos_col): r.barcode for r in db.session.execute(
        select(Sample.pos_row, Sample.pos_col, Sample.barcode).where(Sample.container_id == box.id))}
    where = {barcode: pos for pos, barcode in occupant.items()}
    pending = {b: pos for b, pos in targets.items() if where.get(b) != pos}
    unchanged = sorted(b for b in targets if b not in pending)
    moved = []

    def move(barcode, target_box, pos, reason=RECONCILIATION_REASON):
        sample = samples.move_sample(actor, barcode, container_id=target_box.id,
                                     position=positions.label(*pos), reason=reason)
        old = where.pop(barcode, None)
        if old is not None:
            occupant.pop(old, None)
        if target_box.id == box.id:
            occupant[pos], where[barcode] = barcode, pos
        moved.append({"barcode": barcode, "to": sample.location_path})

    while pending:
        ready = [b for b, pos in pending.items() if pos not in occupant]
        for barcode in ready:
            move(barcode, box, pending.pop(barcode))
        if ready:
            continue
        barcode, pos = next(iter(pending.items()))
        holder = occupant[pos]
        if holder not in pending:
            raise Conflict(_("%(place)s holds %(barcode)s in the inventory, and %(barcode)s is not among the "
                             "corrections; move, check out or discard it first.",
                             place=f"{box.path} / {positions.label(*pos)}", barcode=holder),
                           code="position_held", details={"position": positions.label(*pos), "barcode": holder})
        park_box, park_pos = _parking_place(box, occupant, pending, holder)
        move(holder, park_box, park_pos, reason=f"{RECONCILIATION_REASON} (temporary position for a swap)")
    return {"container_id": box.id, "path": box.path, "moved": moved, "unchanged": unchanged}


def _checked_corrections(box, corrections) -> dict[str, tuple[int, int]]:
    if not isinstance(corrections, list) or not corrections:
        raise InvalidInput(_("Choose at least one correction to apply."), code="no_corrections")
    if len(corrections) > MAX_CORRECTIONS:
        raise InvalidInput(_("At most %(num)s corrections at a time.", num=MAX_CORRECTIONS),
                           code="too_many_corrections")
    targets: dict[str, tuple[int, int]] = {}
    taken: dict[tuple, str] = {}
    for item in corrections:
        barcode = str((item or {}).get("barcode") or "").strip()
        samples.get_sample(barcode)  # unknown or malformed barcodes are refused by name
        pos = positions.parse((item or {}).get("position"), box.rows, box.cols)
        if barcode in targets:
            raise InvalidInput(_("%(barcode)s appears twice among the corrections.", barcode=barcode),
                               code="invalid_corrections")
        if pos in taken:
            raise InvalidInput(_("Both %(first)s and %(second)s are to go to %(position)s.", first=taken[pos],
                                 second=barcode, position=positions.label(*pos)), code="invalid_corrections")
        targets[barcode], taken[pos] = pos, barcode
    return targets


def _parking_place(box, occupant, pending, holder):
    """A free position for one tube of a swap: in the box if it has one, else anywhere it fits."""
    wanted = set(pending.values())
    for r in range(1, box.rows + 1):
        for c in range(1, box.cols + 1):
            if (r, c) not in occupant and (r, c) not in wanted:
                return box, (r, c)
    sample = samples.get_sample(holder)
    try:
        other, row, col = Allocator().place("compact", sample.sample_type, sample.storage_temperature)
    except NoFreePosition:
        raise Conflict(_("These corrections swap tubes in a full box and no free position is left to swap "
                         "through; free one position and try again."), code="no_free_position") from None
    return other, (row, col)


def record_verification(actor) -> VerificationRun:
    """Verify the custody chain now and keep the result (shown on the audit page)."""
    require(actor, "reports.read")
    result = custody.verify(actor)
    bad = result.first_bad_event or {}
    run = VerificationRun(at=utcnow(), actor=actor.username, via=actor.via, ok=result.ok,
                          events_checked=result.events_checked, first_bad_seq=bad.get("seq"),
                          problem=bad.get("problem"))
    db.session.add(run)
    db.session.flush()
    custody.record(actor, "audit.verified", "audit", f"verification {run.id}",
                   reason=None if result.ok else f"chain broken at event {bad.get('seq')}: {bad.get('problem')}",
                   changes={"ok": [None, result.ok], "events_checked": [None, result.events_checked],
                            "first_bad_seq": [None, bad.get("seq")]})
    return run

