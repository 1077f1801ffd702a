"""Evacuation plan: where every tube of a tank (failing, or due for maintenance) can go,
using free positions elsewhere at the same site that accept its type and temperature, and
carrying the plan out scan by scan.

The plan is a greedy walk, deterministic for a given state: tubes in picking order (rack,
box, position), destination boxes in layout order, the first free accepting position for
each. Moving the first tube of the plan to its planned place leaves the rest of the plan as
it was, so the plan read again after each scan is the same plan.
"""
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import or_, select

from ..core.errors import Conflict, InvalidInput
from ..core.permissions import require
from ..extensions import db
from ..samples import service as samples
from ..samples.models import Sample
from ..storage import positions
from ..storage.models import Container
from ..storage.service import get_container

MOVABLE = ("available", "reserved")


def _site_of(tank: Container) -> Container | None:
    """The nearest `site` above the tank, else its top-level container; None when the tank is
    itself at the top (then the whole inventory outside it is the site)."""
    ancestors = tank.ancestor_ids[:-1]
    if not ancestors:
        return None
    found = {c.id: c for c in db.session.execute(select(Container).where(Container.id.in_(ancestors))).scalars()}
    for ancestor_id in reversed(ancestors):
        if found[ancestor_id].kind == "site":
            return found[ancestor_id]
    return found[ancestors[0]]


def _tubes(tank: Container) -> list:
    return db.session.execute(
        select(Sample.barcode, Sample.sample_type, Sample.storage_temperature, Sample.status, Sample.container_id,
               Sample.pos_row, Sample.pos_col, Container.path)
        .join(Container, Container.id == Sample.container_id)
        .where(Container.lineage.startswith(tank.lineage), Sample.status.in_(MOVABLE))
        .order_by(Container.lineage, Container.id, Sample.pos_row, Sample.pos_col)).all()


def _destinations(tank: Container, site: Container | None) -> list[Container]:
    query = (select(Container).where(Container.rows.is_not(None), Container.used < Container.capacity,
                                     ~Container.lineage.startswith(tank.lineage))
             .order_by(Container.id))
    if site is not None:
        query = query.where(Container.lineage.startswith(site.lineage))
    return list(db.session.execute(query).scalars())


def _taken(box_ids: list[int]) -> dict[int, set]:
    """Occupied positions, and positions held for a checked-out tube that comes back there."""
    taken: dict[int, set] = defaultdict(set)
    for start in range(0, len(box_ids), 900):
        chunk = box_ids[start:start + 900]
        rows = db.session.execute(select(Sample.container_id, Sample.pos_row, Sample.pos_col,
                                         Sample.home_container_id, Sample.home_row, Sample.home_col, Sample.status)
                                  .where(or_(Sample.container_id.in_(chunk),
                                             Sample.home_container_id.in_(chunk) & (Sample.status == "checked_out"))))
        for box_id, row, col, home_id, home_row, home_col, status in rows:
            if box_id is not None:
                taken[box_id].add((row, col))
            if status == "checked_out" and home_id is not None:
                taken[home_id].add((home_row, home_col))
    return taken


def evacuation_plan(actor, container_id: int) -> dict:
    """{tank, site, moves: [{barcode, from, to, ...}], unplaced: [{barcode, from, reason}],
    destinations: [{container_id, path, barcode, count}]} for every stored tube of the tank."""
    require(actor, "samples.identified")
    tank = get_container(container_id)
    if tank.is_grid:
        raise InvalidInput(_("%(path)s is a box; plan the evacuation of the tank, freezer or rack it is in.",
                             path=tank.path), code="not_a_tank")
    site = _site_of(tank)
    boxes = _destinations(tank, site)
    taken = _taken([box.id for box in boxes])
    free = {box.id: [(r, c) for _label, r, c in positions.grid(box.rows, box.cols) if (r, c) not in taken[box.id]]
            for box in boxes}
    cursor: dict[tuple, int] = {}
    moves, unplaced, per_box = [], [], defaultdict(int)
    for tube in _tubes(tank):
        key = (tube.sample_type, tube.storage_temperature)
        index = cursor.get(key, 0)
        while index < len(boxes) and (not free[boxes[index].id]
                                      or boxes[index].accepts(tube.sample_type, tube.storage_temperature)):
            index += 1
        cursor[key] = index
        source = f"{tube.path} / {positions.label(tube.pos_row, tube.pos_col)}"
        if index == len(boxes):
            unplaced.append({"barcode": tube.barcode, "from": source, "sample_type": tube.sample_type,
                             "reason": _("no free position at the site takes %(type)s at %(temperature)s",
                                         type=tube.sample_type, temperature=tube.storage_temperature)
                             if tube.storage_temperature else
                             _("no free position at the site takes %(type)s", type=tube.sample_type)})
            continue
        box = boxes[index]
        row, col = free[box.id].pop(0)
        per_box[box.id] += 1
        label = positions.label(row, col)
        moves.append({"barcode": tube.barcode, "from": source, "to": f"{box.path} / {label}",
                      "sample_type": tube.sample_type, "status": tube.status,
                      "from_container_id": tube.container_id,
                      "from_position": positions.label(tube.pos_row, tube.pos_col),
                      "to_container_id": box.id, "to_position": label, "to_box_barcode": box.barcode})
    by_id = {box.id: box for box in boxes}
    destinations = [{"container_id": box_id, "path": by_id[box_id].path, "barcode": by_id[box_id].barcode,
                     "count": count} for box_id, count in per_box.items()]
    return {"tank": {"id": tank.id, "barcode": tank.barcode, "path": tank.path},
            "site": {"id": site.id, "path": site.path} if site is not None else None,
            "moves": moves, "unplaced": unplaced, "destinations": destinations}


def carry_out_move(actor, container_id: int, barcode: str, *, box_barcode: str | None = None) -> dict:
    """One scanned tube of the plan: it moves to its planned position (with its custody event).
    When the destination box's label is scanned too, it must be the planned box."""
    require(actor, "samples.handle")
    plan = evacuation_plan(actor, container_id)
    barcode = (barcode or "").strip()
    move = next((m for m in plan["moves"] if m["barcode"] == barcode), None)
    if move is None:
        stuck = next((u for u in plan["unplaced"] if u["barcode"] == barcode), None)
        if stuck is not None:
            raise Conflict(_("%(barcode)s has no place in the plan: %(reason)s.", barcode=barcode,
                             reason=stuck["reason"]), code="no_free_position")
        raise InvalidInput(_("%(barcode)s is not a tube stored in %(path)s; nothing was moved.", barcode=barcode,
                             path=plan["tank"]["path"]), code="not_in_plan")
    if box_barcode and box_barcode.strip() != move["to_box_barcode"]:
        raise Conflict(_("Wrong box: %(barcode)s goes to %(to)s (box %(box)s), not box %(scanned)s. Nothing was "
                         "moved.", barcode=barcode, to=move["to"], box=move["to_box_barcode"],
                         scanned=box_barcode.strip()), code="wrong_box")
    samples.move_sample(actor, barcode, container_id=move["to_container_id"], position=move["to_position"],
                        reason=f"Evacuation of {plan['tank']['path']}",
                        from_container_id=move["from_container_id"], from_position=move["from_position"])
    return move
