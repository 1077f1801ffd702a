"""Moving a container (a box to another rack, a rack to another tank) with all it holds.

The move rewrites the materialised lineage, path, tank and inherited
restrictions of the whole subtree, moves the `capacity` and `used` counters
from the old ancestors to the new ones, and gives every tube that moved with
it (stored there, or keeping its place there while checked out) a custody
event with its old and new path. Container barcodes stay as they are.

Concurrency: every container row the move touches (old and new ancestors and
the whole subtree) is locked before anything changes, in the order every writer
takes container rows (models.leaf_first: boxes, then racks, tanks, sites), so a
concurrent store, which holds its box and takes the rows above it at commit,
waits rather than deadlocks. A store that read the box before the move committed notices
the box's new lineage after its counter update and is refused (409
`moved_meanwhile`, see service.adjust_usage).
"""
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..core.errors import Conflict, InvalidInput, NotAllowedHere
from ..core.permissions import require, require_at
from ..custody import service as custody
from ..extensions import db
from ..samples.models import Sample
from . import positions
from .models import TANK_KINDS, Container, kind_name
from .service import get_container, shift_counts

# How far down the usual tree a kind sits; a container goes only under one that
# sits higher. Kinds outside this list may go anywhere that is not a box.
LEVELS = {"site": 0, "building": 0, "room": 1, "tank": 2, "freezer": 2, "dewar": 2, "rack": 3, "tower": 3,
          "shelf": 3, "drawer": 3, "box": 4}


class InvalidMove(Conflict):
    code = "invalid_move"


def _locked(ids) -> dict[int, Container]:
    """These containers, row-locked on PostgreSQL deepest first, by id within a level
    (models.leaf_first; SQLite: the write lock serialises). PostgreSQL locks rows in the order
    the query returns them.

    FOR NO KEY UPDATE, as the counter updates take: it does not wait for the key-share
    lock a concurrent store's new sample row holds on its box (its foreign key), which
    would otherwise cross with that store's wait for our ancestors."""
    depth = func.length(Container.lineage) - func.length(func.replace(Container.lineage, "/", ""))
    rows = db.session.execute(select(Container).where(Container.id.in_(sorted(ids)))
                              .order_by(depth.desc(), Container.id)
                              .with_for_update(key_share=True).execution_options(populate_existing=True)
                              ).scalars().all()
    return {c.id: c for c in rows}


def _subtree(container: Container) -> list[Container]:
    """The container and everything under it, parents before children."""
    rows = db.session.execute(select(Container).where(Container.lineage.startswith(container.lineage))
                              ).scalars().all()
    return sorted(rows, key=lambda c: (c.lineage.count("/"), c.id))


def _check_shape(container: Container, parent: Container) -> None:
    if parent.id == container.id or parent.lineage.startswith(container.lineage):
        raise InvalidMove(_("%(path)s cannot go into %(target)s: that is itself or inside it.", path=container.path,
                            target=parent.path))
    if parent.is_grid:
        raise InvalidMove(_("%(target)s is a box; boxes hold tubes, not %(kind)ss.", target=parent.path,
                            kind=kind_name(container.kind)))
    if container.parent_id is None:
        raise InvalidMove(_("%(path)s is a top-level %(kind)s; it does not move into another container.",
                            path=container.path, kind=kind_name(container.kind)))
    mine, theirs = LEVELS.get(container.kind), LEVELS.get(parent.kind)
    if mine is not None and theirs is not None and theirs >= mine:
        raise InvalidMove(_("A %(kind)s does not go into a %(target_kind)s (%(target)s).",
                            kind=kind_name(container.kind), target_kind=kind_name(parent.kind), target=parent.path))
    if container.parent_id == parent.id:
        raise InvalidMove(_("%(path)s is already in %(target)s.", path=container.path, target=parent.path))


def _inherited(container: Container, parent: Container, subtree: list[Container]) -> dict[int, tuple]:
    """(effective temperature, effective types, tank id) of each subtree container after the move."""
    after = {parent.id: (parent.effective_temperature, parent.effective_types, parent.tank_id)}
    for node in subtree:
        up_temp, up_types, up_tank = after[node.parent_id if node.id != container.id else parent.id]
        after[node.id] = (node.storage_temperature or up_temp, node.allowed_types or up_types,
                          node.id if node.kind in TANK_KINDS else up_tank)
    return after


def _check_restrictions(container: Container, parent: Container, subtree: list[Container], after: dict) -> None:
    """The new place must take the container and every tube in it, as storing them there would."""
    temp = parent.effective_temperature
    if temp and container.storage_temperature and container.storage_temperature != temp:
        raise NotAllowedHere(_("%(path)s is kept at %(temperature)s; %(target)s is at %(target_temperature)s.",
                               path=container.path, temperature=container.storage_temperature, target=parent.path,
                               target_temperature=temp))
    types = parent.effective_types
    if types and container.allowed_types and not set(container.allowed_types) <= set(types):
        raise NotAllowedHere(_("%(path)s is for %(types)s; %(target)s takes only %(target_types)s.",
                               path=container.path, types=", ".join(container.allowed_types), target=parent.path,
                               target_types=", ".join(types)))
    boxes = {c.id: c for c in subtree if c.is_grid}
    if not boxes:
        return
    held_in = func.coalesce(Sample.container_id, Sample.home_container_id)
    kinds = db.session.execute(
        select(held_in, Sample.sample_type, Sample.storage_temperature).where(
            held_in.in_(list(boxes)), Sample.status.in_(("available", "reserved", "checked_out")))
        .group_by(held_in, Sample.sample_type, Sample.storage_temperature)).all()
    for box_id, sample_type, sample_temp in kinds:
        eff_temp, eff_types, _held = after[box_id]
        if eff_types and sample_type not in eff_types:
            raise NotAllowedHere(_("%(target)s takes only %(types)s; %(box)s holds %(type)s.", target=parent.path,
                                   types=", ".join(eff_types), box=boxes[box_id].path, type=sample_type))
        if eff_temp and sample_temp and sample_temp != eff_temp:
            raise NotAllowedHere(_("%(target)s is stored at %(temperature)s; %(box)s holds samples that need "
                                   "%(needed)s.", target=parent.path, temperature=eff_temp, box=boxes[box_id].path,
                                   needed=sample_temp))


def preview_move(actor, container_id: int, parent_id: int) -> dict:
    """Check a move without making it: {container, parent, new_path, tubes} or the refusal."""
    require(actor, "containers.move")
    container, parent = get_container(container_id), get_container(parent_id)
    require_at(actor, "containers.move", container)
    require_at(actor, "containers.move", parent)
    _check_shape(container, parent)
    subtree = _subtree(container)
    _check_restrictions(container, parent, subtree, _inherited(container, parent, subtree))
    return {"container": container, "parent": parent, "new_path": f"{parent.path} / {container.name}",
            "tubes": len(_tubes(subtree))}


def move_container(actor, container_id: int, *, parent_id: int, reason: str | None = None,
                   from_parent_id: int | None = None) -> Container:
    """Move a container and everything in it under another parent.

    from_parent_id: where the technician saw it; if it has moved since, 409 moved_meanwhile."""
    require(actor, "containers.move")
    if reason is not None and len(reason) > 2000:
        raise InvalidInput(_("A reason is at most %(num)d characters.", num=2000))
    container, parent = get_container(container_id), get_container(parent_id)
    _check_shape(container, parent)
    subtree = _subtree(container)
    old_ancestors = container.ancestor_ids[:-1]
    new_ancestors = parent.ancestor_ids
    locked = _locked(set(old_ancestors) | set(new_ancestors) | {c.id for c in subtree})
    container, parent = locked.get(container_id), locked.get(parent_id)
    if container is None or parent is None:
        raise Conflict(_("The container or its new place was changed meanwhile; try again."), code="moved_meanwhile")
    if from_parent_id is not None and container.parent_id != from_parent_id:
        raise Conflict(_("%(name)s is no longer where you saw it: it is now in %(path)s.", name=container.name,
                         path=container.path),
                       code="moved_meanwhile")
    if container.ancestor_ids[:-1] != old_ancestors or parent.ancestor_ids != new_ancestors:
        raise Conflict(_("%(path)s or %(target)s was moved meanwhile; look again and retry.", path=container.path,
                         target=parent.path),
                       code="moved_meanwhile")
    _check_shape(container, parent)
    subtree = _subtree(container)
    after = _inherited(container, parent, subtree)
    _check_restrictions(container, parent, subtree, after)

    old_path, old_parent_id = container.path, container.parent_id
    old_lineage = container.lineage
    new_path = f"{parent.path} / {container.name}"
    new_lineage = f"{parent.lineage}{container.id}/"
    tubes = _tubes(subtree)
    for node in subtree:
        node.path = new_path + node.path[len(old_path):]
        node.lineage = new_lineage + node.lineage[len(old_lineage):]
        node.effective_temperature, node.effective_types, node.tank_id = after[node.id]
    container.parent_id = parent.id
    db.session.flush()
    shift_counts(old_ancestors, new_ancestors, container.capacity, container.used, container.held)
    custody.record_many(
        [(actor, "container.moved", "container", container.barcode,
          {"container_id": container.id, "from_location": old_path, "to_location": new_path, "reason": reason,
           "changes": {"parent_id": [old_parent_id, parent.id], "path": [old_path, new_path],
                       "tubes": [None, len(tubes)]}})]
        + [(actor, "sample.moved_with_container", "sample", barcode,
            {"sample_barcode": barcode, "container_id": box_id, "reason": reason or f"moved with {container.barcode}",
             "from_location": f"{old_box_path} / {where}", "to_location": f"{new_path + old_box_path[len(old_path):]} / {where}",
             "changes": {"location": [f"{old_box_path} / {where}", f"{new_path + old_box_path[len(old_path):]} / {where}"],
                         "with_container": [None, container.barcode]}})
           for barcode, box_id, old_box_path, where in tubes])
    db.session.refresh(container)
    return container


def _tubes(subtree: list[Container]) -> list[tuple]:
    """(barcode, box id, box path before the move, position) of every tube stored in the subtree
    or keeping its place there while checked out."""
    boxes = {c.id: c.path for c in subtree if c.is_grid}
    if not boxes:
        return []
    found = []
    ids = list(boxes)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        rows = db.session.execute(
            select(Sample.barcode, Sample.container_id, Sample.pos_row, Sample.pos_col, Sample.home_container_id,
                   Sample.home_row, Sample.home_col)
            .where((Sample.container_id.in_(chunk)) | (Sample.container_id.is_(None)
                                                       & Sample.home_container_id.in_(chunk)
                                                       & (Sample.status == "checked_out")))
            .order_by(Sample.id))
        for r in rows:
            if r.container_id is not None:
                found.append((r.barcode, r.container_id, boxes[r.container_id], positions.label(r.pos_row, r.pos_col)))
            else:
                found.append((r.barcode, r.home_container_id, boxes[r.home_container_id],
                              positions.label(r.home_row, r.home_col) + " (its place while checked out)"))
    return found
