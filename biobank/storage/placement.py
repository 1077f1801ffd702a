"""Choosing positions: explicit, or by a named strategy.

An Allocator lives for one unit of work and remembers what it has handed out,
so a bulk import can place thousands of samples before anything is flushed.
Neither strategy reads more than one box's positions at a time, so finding a
free position costs the same in an empty biobank and in a full one.

A position is taken when a sample has it as its place (`home_*`): stored
there, or checked out with the position held for its return.

Nobody chose an automatic position, so nobody may be told it was taken. On
PostgreSQL a strategy claims a box before it reads that box's free positions:
it locks the box's row (SELECT ... FOR UPDATE SKIP LOCKED, held to the end of
the transaction) and passes over a box another transaction holds, so concurrent
placements fill different boxes side by side and each reads its box after the
one before it there committed. Compact order is kept by each box, not across
boxes filled at the same moment. On SQLite a writing transaction already runs
alone (BEGIN IMMEDIATE).
"""
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import select

from ..core.db import is_postgres
from ..core.errors import InvalidInput, InvalidPosition, NoFreePosition, NotAllowedHere, SlotOccupied
from ..core.permissions import require_at
from ..extensions import db
from ..samples.models import Sample
from ..network import scope
from . import positions
from .models import TANK_KINDS, Container, kind_name
from .service import get_container

STRATEGIES = ("compact", "spread")
_BATCH = 32


def _taken_message(box: Container, row: int, col: int) -> str:
    """Why a position cannot be given: occupied, or held for a tube that is out."""
    where = f"{box.path} / {positions.label(row, col)}"
    holder = db.session.execute(select(Sample.barcode, Sample.container_id).where(
        Sample.home_container_id == box.id, Sample.home_row == row, Sample.home_col == col)).first()
    if holder is not None and holder.container_id is None:
        return _("%(place)s is held for %(barcode)s, which is checked out; it goes back there. "
                 "Choose another position, or release that tube's place first.", place=where, barcode=holder.barcode)
    return _("%(place)s is already occupied.", place=where)


def placement_scope(actor, within: int | None = None) -> str | None:
    """The lineage prefix automatic placement stays inside: `within` (a site, tank or any
    container, which the actor must be allowed to act at), else the actor's home site. An
    actor at no site (the CLI's system actor) places across the whole network."""
    if within is not None:
        container = get_container(within)
        require_at(actor, "samples.handle", container)
        return container.lineage
    site_ids = scope.actor_site_ids(actor)
    if not site_ids:
        return None
    [prefix] = scope.lineage_prefixes(site_ids[:1])
    return prefix


class Allocator:
    def __init__(self, within: str | None = None, expected: int = 1):
        self.within = within  # lineage prefix: strategies choose only boxes under it
        self._expected = max(expected, 1)  # placements still to come by strategy (a bulk import's rows)
        self._free: dict[int, list[tuple[int, int]]] = {}   # box id -> free positions not yet handed out
        self._taken: dict[int, set] = defaultdict(set)       # box id -> positions handed out here
        self._cursor: dict[tuple, int] = defaultdict(int)    # fill order cursor per accepted type
        self._donor_tanks: dict[str, set] = {}
        self._tank_delta: dict[int, int] = defaultdict(int)
        self._boxes: dict[int, Container] = {}
        self._candidates: dict[tuple, list[Container]] = {}  # open boxes fetched, not yet passed, per key
        self._filling: dict[tuple, tuple] = {}               # key -> (box, its id, its tank's id) being filled
        self._accepted: dict[tuple, bool] = {}               # (box id, type, temperature) -> may go there
        self._claimed: set[int] = set()                      # boxes this unit of work holds (PostgreSQL)
        self._passed: dict[int, Container] = {}              # boxes passed over: another transaction held them
        self._claims = is_postgres()                         # boxes are claimed (row locks) before use

    # -- what is where -------------------------------------------------------
    def _free_positions(self, box: Container) -> list:
        free = self._free.get(box.id)
        if free is None:
            self._read_free([box])
            free = self._free[box.id]
        return free

    def _read_free(self, boxes: list[Container]) -> None:
        """Learn the free positions of these boxes from one query, not one per box."""
        occupied: dict[int, set] = defaultdict(set)
        rows = db.session.execute(select(Sample.home_container_id, Sample.home_row, Sample.home_col)
                                  .where(Sample.home_container_id.in_([box.id for box in boxes])))
        for box_id, row, col in rows:
            occupied[box_id].add((row, col))
        for box in boxes:
            taken = occupied[box.id] | self._taken[box.id]
            self._free[box.id] = [(r, c) for _, r, c in positions.grid(box.rows, box.cols) if (r, c) not in taken]

    def _take(self, box: Container, row: int, col: int) -> tuple[Container, int, int]:
        return self._take_at(box, box.id, box.tank_id, row, col)

    def _take_at(self, box: Container, box_id: int, tank_id: int | None, row: int,
                 col: int) -> tuple[Container, int, int]:
        """_take with the box's ids already read: mapped attributes cost a call each."""
        self._taken[box_id].add((row, col))
        free = self._free.get(box_id)
        if free is not None:
            try:
                free.remove((row, col))
            except ValueError:
                pass
        if tank_id:
            self._tank_delta[tank_id] += 1
        return box, row, col

    def _take_next(self, key: tuple) -> tuple[Container, int, int] | None:
        """The next free position of the box this key was last given a position in, if it has one:
        the one the walk through the open boxes would choose, without walking. That box is still
        first among the key's candidates (a box leaves them only once it is full), accepts the key
        and is held; its free positions are read (the walk reads them afresh where a box's are
        dropped, as `release` does)."""
        filling = self._filling.get(key)
        if filling is None:
            return None
        box, box_id, tank_id = filling
        free = self._free.get(box_id)
        if not free:
            return None
        return self._take_at(box, box_id, tank_id, *free[0])

    def release(self, box_id: int, row: int, col: int) -> None:
        """A position emptied in this unit of work (a move away) is free again."""
        self._taken[box_id].discard((row, col))
        self._free.pop(box_id, None)
        self._candidates.clear()
        self._filling.clear()

    # -- explicit ------------------------------------------------------------
    def at(self, container_id: int, position: str, sample_type: str, temperature: str | None,
           occupant_ok: str | None = None) -> tuple[Container, int, int]:
        box = get_container(container_id)
        if not box.is_grid:
            raise InvalidPosition(_("%(path)s is a %(kind)s, not a box with positions.", path=box.path,
                                    kind=kind_name(box.kind)))
        row, col = positions.parse(position, box.rows, box.cols)
        self._check_accepts(box, sample_type, temperature)
        if (row, col) not in self._free_positions(box):
            raise SlotOccupied(_taken_message(box, row, col))
        return self._take(box, row, col)

    @staticmethod
    def _check_accepts(box: Container, sample_type: str, temperature: str | None) -> None:
        reason = box.accepts(sample_type, temperature)
        if reason:
            raise NotAllowedHere(reason)

    # -- strategies ----------------------------------------------------------
    def place(self, strategy: str, sample_type: str, temperature: str | None,
              donor: str | None = None) -> tuple[Container, int, int]:
        found = self._place(strategy, sample_type, temperature, donor)
        self._expected = max(self._expected - 1, 1)
        return found

    def _place(self, strategy, sample_type, temperature, donor):
        if strategy == "compact":
            return self.compact(sample_type, temperature)
        if strategy == "spread":
            return self.spread(donor, sample_type, temperature)
        raise InvalidInput(_("Unknown placement strategy '%(strategy)s'; use %(strategies)s.", strategy=strategy,
                             strategies=" or ".join(STRATEGIES)),
                           code="invalid_strategy")

    def _claim(self, box: Container, *, wait: bool = False, ahead=None) -> bool:
        """May this unit of work place into the box? On PostgreSQL: it locks the box's row,
        unless another transaction holds it (then the box is passed over; with `wait`, it waits
        for that transaction to end), and reads the box's free positions afresh once it holds it.

        `ahead`: a callable giving the boxes that come next in fill order. As many of them as the
        placements still expected need are claimed and read along with this one (one query each,
        not two per box)."""
        if not self._claims or box.id in self._claimed:
            return True
        group = [box] + (self._needed_next(box, ahead()) if ahead is not None else [])
        held = set(db.session.execute(select(Container.id).where(Container.id.in_([b.id for b in group]))
                                      .order_by(Container.id).with_for_update(skip_locked=not wait)).scalars())
        for each in group:
            if each.id in held:
                self._claimed.add(each.id)
                self._free.pop(each.id, None)  # read after the lock: what the box's last holder stored
            else:
                self._passed[each.id] = each
        self._read_free([each for each in group if each.id in held])
        return box.id in held

    def _needed_next(self, box: Container, ahead) -> list[Container]:
        """Boxes after `box` with the room the placements still expected need, beyond its own."""
        room = box.capacity - box.used - box.held
        chosen = []
        for other in ahead:
            if room >= self._expected or len(chosen) >= _BATCH:
                break
            if other.id not in self._claimed and other.id not in self._passed:
                chosen.append(other)
                room += other.capacity - other.used - other.held
        return chosen

    def _open_boxes(self, after_id: int, tank_id: int | None = None):
        query = (select(Container).where(Container.rows.is_not(None),
                                         Container.used + Container.held < Container.capacity,
                                         Container.id > after_id)
                 .order_by(Container.id).limit(_BATCH))
        if tank_id is not None:
            query = query.where(Container.tank_id == tank_id)
        elif self.within:
            query = query.where(Container.lineage.like(self.within + "%"))
        return db.session.execute(query).scalars().all()

    def _first_free(self, sample_type, temperature, tank_id=None):
        key = (sample_type, temperature, tank_id)
        found = self._take_next(key)
        if found is not None:
            return found
        while True:
            # One query per batch of open boxes, not one per placement: a bulk
            # import walks the boxes it has already fetched.
            boxes = self._candidates.get(key)
            if not boxes:
                boxes = self._candidates[key] = list(self._open_boxes(self._cursor[key], tank_id))
                unread = [box for box in boxes if box.id not in self._free
                          and self._accepts(box, sample_type, temperature)]
                if unread and not self._claims:  # where boxes are claimed, each is read once it is
                    self._read_free(unread)
            if not boxes:
                return self._after_waiting(sample_type, temperature, tank_id)
            while boxes:
                box = boxes[0]
                if self._accepts(box, sample_type, temperature) and self._claim(box, ahead=lambda: (
                        b for b in boxes[1:] if self._accepts(b, sample_type, temperature))):
                    free = self._free_positions(box)
                    if free:
                        self._filling[key] = (box, box.id, box.tank_id)
                        return self._take(box, *free[0])
                self._cursor[key] = box.id  # full (as far as this unit of work knows) or not for this type
                boxes.pop(0)

    def _after_waiting(self, sample_type, temperature, tank_id=None):
        """No box was free for the taking: wait for those passed over because another transaction
        held them (it may not fill them), in fill order, before saying there is no room."""
        for box_id in sorted(self._passed):
            box = self._passed[box_id]
            if tank_id is not None and box.tank_id != tank_id:
                continue
            del self._passed[box_id]
            if self._accepts(box, sample_type, temperature) and self._claim(box, wait=True):
                free = self._free_positions(box)
                if free:
                    return self._take(box, *free[0])
        return None

    def _accepts(self, box: Container, sample_type: str, temperature: str | None) -> bool:
        """box.accepts, remembered: a bulk import asks the same box once per sample."""
        key = (box.id, sample_type, temperature)
        if key not in self._accepted:
            self._accepted[key] = box.accepts(sample_type, temperature) is None
        return self._accepted[key]

    def compact(self, sample_type, temperature):
        """The first box with room, positions in row order."""
        found = self._first_free(sample_type, temperature)
        if found is None:
            raise NoFreePosition(self._no_room(sample_type, temperature))
        return found

    def _no_room(self, sample_type: str, temperature: str | None) -> str:
        """Why no position was found: for this type (at this temperature), in this scope."""
        values = {"type": sample_type, "temperature": temperature}
        if self.within:
            values["scope"] = self._scope_name()
            if temperature:
                return _("No box has room for a %(type)s sample at %(temperature)s in %(scope)s.", **values)
            return _("No box has room for a %(type)s sample in %(scope)s.", **values)
        if temperature:
            return _("No box has room for a %(type)s sample at %(temperature)s.", **values)
        return _("No box has room for a %(type)s sample.", **values)

    def _scope_name(self) -> str:
        top = db.session.get(Container, int(self.within.strip("/").split("/")[-1]))
        return top.path if top is not None else _("this site")

    def _tanks_of(self, donor: str) -> set:
        if donor not in self._donor_tanks:
            rows = db.session.execute(select(Container.tank_id).join(Sample, Sample.container_id == Container.id)
                                      .where(Sample.donor == donor).distinct())
            self._donor_tanks[donor] = {r[0] for r in rows if r[0] is not None}
        return self._donor_tanks[donor]

    def spread(self, donor, sample_type, temperature):
        """A tank that holds none of this donor's material yet (the emptiest such
        tank), else the emptiest tank; compact within it."""
        query = select(Container.id, Container.used, Container.capacity).where(
            Container.kind.in_(TANK_KINDS), Container.capacity > 0)
        if self.within:
            query = query.where(Container.lineage.like(self.within + "%"))
        tanks = db.session.execute(query).all()
        holding = self._tanks_of(donor) if donor else set()

        def fill(t):
            return (t.used + self._tank_delta[t.id]) / t.capacity

        ordered = sorted(tanks, key=lambda t: (t.id in holding, fill(t), t.id))
        for tank in ordered:
            if fill(tank) >= 1:
                continue
            found = self._first_free(sample_type, temperature, tank_id=tank.id)
            if found is not None:
                if donor:
                    holding.add(tank.id)
                return found
        return self.compact(sample_type, temperature)
