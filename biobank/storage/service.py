"""Storage layout: containers and their capacity counters."""
import re
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update

from ..core.db import is_postgres
from ..core.errors import Conflict, InvalidInput, NotFound, NotPermitted, UnknownBarcode
from ..core.permissions import require, require_at
from ..network import scope
from ..network.models import Site
from ..custody import service as custody
from ..extensions import db
from ..samples.models import SAMPLE_TYPES, TEMPERATURES, Sample
from .models import TANK_KINDS, Container, ContainerCountPending, leaf_first

MAX_GRID = 40  # rows or columns per box
_BARCODE = re.compile(r"\A[A-Za-z0-9\-_.]{3,64}\Z")


def get_container(container_id: int) -> Container:
    container = db.session.get(Container, container_id)
    if container is None:
        raise NotFound(_("There is no container %(id)s.", id=container_id), code="unknown_container")
    return container


def container_by_barcode(barcode: str) -> Container:
    container = db.session.execute(select(Container).where(Container.barcode == barcode)).scalar_one_or_none()
    if container is None:
        raise UnknownBarcode(_("No container has the barcode %(barcode)s.", barcode=barcode))
    return container


def _check_types(allowed_types):
    if allowed_types is None:
        return None
    bad = [t for t in allowed_types if t not in SAMPLE_TYPES]
    if bad:
        raise InvalidInput(_("Unknown sample type(s): %(types)s.", types=", ".join(bad)), code="invalid_sample_type")
    return list(allowed_types) or None


def _check_temperature(temperature):
    if temperature is not None and temperature not in TEMPERATURES:
        raise InvalidInput(_("Unknown storage temperature %(value)s; use one of %(classes)s.", value=temperature,
                             classes=", ".join(TEMPERATURES)),
                           code="invalid_temperature")
    return temperature


def _generated_barcode(parent: Container | None, kind: str) -> str:
    """T03 for the third tank; T03-R2 for its second rack; T03-R2-B05 for a box.

    Tanks (and top-level containers) are numbered across the whole biobank so
    their codes stay short and unique; everything else extends its parent's code.
    """
    letter = (kind[:1] or "C").upper()
    if not (letter.isascii() and letter.isalnum()):  # a kind such as "émbryo box": the code stays printable
        letter = "C"
    same_kind = select(func.count()).select_from(Container).where(Container.kind == kind)
    if kind in TANK_KINDS or parent is None or parent.kind == "site":
        prefix, width = "", 2
        number = db.session.execute(same_kind).scalar_one() + 1
    else:
        prefix, width = parent.barcode + "-", 2 if kind == "box" else 1
        number = db.session.execute(same_kind.where(Container.parent_id == parent.id)).scalar_one() + 1
    while _barcode_taken(candidate := f"{prefix}{letter}{number:0{width}d}"):
        number += 1
    return candidate


def _barcode_taken(barcode: str) -> bool:
    return bool(
        db.session.execute(select(Container.id).where(Container.barcode == barcode)).first()
        or db.session.execute(select(Sample.id).where(Sample.barcode == barcode)).first())


def _bump(column: str, deltas: dict[int, int], known: dict | None = None) -> None:
    """Add each box's delta to `column` of the box and all its ancestors, in the writers' lock
    order (models.leaf_first) so concurrent writers cannot deadlock."""
    totals, depths, _lineages = _up_the_tree((deltas,), known)
    params = [{"cid": cid, "delta": totals[cid][0]} for cid in leaf_first(depths) if totals[cid][0]]
    if not params:
        return
    table = Container.__table__
    db.session.execute(update(table).where(table.c.id == bindparam("cid"))
                       .values({column: table.c[column] + bindparam("delta")}), params)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Container) and obj.id in totals:
            db.session.expire(obj, [column])


def _up_the_tree(columns: tuple, known: dict | None):
    """Each box's deltas (one dict of box id -> delta per counter) summed onto the box and every
    container above it: (id -> [delta per counter], id -> how many containers lie above it,
    box id -> the lineage the box was read with)."""
    totals: dict[int, list[int]] = defaultdict(lambda: [0] * len(columns))
    depths: dict[int, int] = {}
    lineages: dict[int, str] = {}
    for index, deltas in enumerate(columns):
        for box_id, delta in deltas.items():
            box = (known or {}).get(box_id) or db.session.get(Container, box_id)
            lineages[box_id] = box.lineage
            for depth, ancestor_id in enumerate(box.ancestor_ids):
                totals[ancestor_id][index] += delta
                depths[ancestor_id] = depth
    return totals, depths, lineages


def _check_not_moved(read: dict[int, str]) -> None:
    """The counters just went up the ancestry these boxes had when they were read. If a box
    was moved meanwhile (storage/moves.py; its row was locked until the move committed),
    that ancestry is stale: refuse, and the rollback undoes the counts.

    PostgreSQL only: on SQLite a transaction reads one snapshot, and one that writes holds the
    write lock from its first read (core.db) or fails if another writer committed after it
    began; what it read is what is stored until it commits."""
    table = Container.__table__
    ids = sorted(read)
    for start in range(0, len(ids), 500):
        for box_id, lineage in db.session.execute(select(table.c.id, table.c.lineage).where(
                table.c.id.in_(ids[start:start + 500]))):
            if lineage != read[box_id]:
                raise Conflict(_("The box was moved to another place at the same moment; look again and retry."),
                               code="moved_meanwhile")


def adjust_usage(deltas: dict[int, int], known: dict | None = None) -> None:
    """Samples entered (+) or left (-) these boxes: keep `used` right up the tree."""
    adjust_counts(used=deltas, known=known)


def adjust_counts(used: dict[int, int] | None = None, held: dict[int, int] | None = None,
                  known: dict | None = None) -> None:
    """Tubes entered (+) or left (-) boxes (`used`), positions held for checked-out
    tubes were taken (+) or given up (-) (`held`): both counters up the tree.

    The boxes' own rows change at once, in the writers' lock order (models.leaf_first), so
    concurrent writers cannot deadlock; that row lock is also what keeps a move of the box out
    until this transaction ends. On PostgreSQL the rows above the boxes (rack, tank, site),
    which every writer of a site shares, change when the transaction commits (migrations 0017,
    0018), in the same order: read inside it, they do not show its own change yet."""
    totals, depths, lineages = _up_the_tree((used or {}, held or {}), known)
    changed = [{"cid": cid, "du": totals[cid][0], "dh": totals[cid][1]} for cid in leaf_first(depths)
               if totals[cid][0] or totals[cid][1]]
    at_commit = [row for row in changed if row["cid"] not in lineages] if is_postgres() else []
    now = [row for row in changed if row["cid"] in lineages] if at_commit else changed
    table = Container.__table__
    if now:
        db.session.execute(update(table).where(table.c.id == bindparam("cid"))
                           .values(used=table.c.used + bindparam("du"), held=table.c.held + bindparam("dh")), now)
    if at_commit:
        db.session.execute(insert(ContainerCountPending.__table__),
                           [{"container_id": row["cid"], "d_used": row["du"], "d_held": row["dh"]}
                            for row in at_commit])
    changed_ids = {row["cid"] for row in now}
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Container) and obj.id in changed_ids:
            db.session.expire(obj, ["used", "held"])
    if changed and is_postgres():
        _check_not_moved(lineages)  # the ancestry the counts went up is still the box's (else 409)


def shift_counts(old_ids: list[int], new_ids: list[int], capacity: int, used: int, held: int) -> None:
    """A subtree (a box or rack with all it holds) left `old_ids` and joined `new_ids`: take its
    counts (positions, tubes stored, places held for tubes that are out) off the old ancestors
    and add them to the new ones, in the writers' lock order (models.leaf_first) so concurrent
    writers cannot deadlock. Both lists run from the root down."""
    deltas: dict[int, int] = {}
    depths: dict[int, int] = {}
    for sign, ids in ((-1, old_ids), (1, new_ids)):
        for depth, cid in enumerate(ids):
            deltas[cid] = deltas.get(cid, 0) + sign
            depths[cid] = depth
    params = [{"cid": cid, "dc": deltas[cid] * capacity, "du": deltas[cid] * used, "dh": deltas[cid] * held}
              for cid in leaf_first(depths) if deltas[cid]]
    if not params or not (capacity or used or held):
        return
    table = Container.__table__
    db.session.flush()  # pending changes to these rows first: the expiry below would drop them
    db.session.execute(update(table).where(table.c.id == bindparam("cid")).values(
        capacity=table.c.capacity + bindparam("dc"), used=table.c.used + bindparam("du"),
        held=table.c.held + bindparam("dh")), params)
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, Container) and obj.id in deltas:
            db.session.expire(obj, ["capacity", "used", "held"])


def barcode_taken(barcode: str) -> bool:
    """Whether a sample or a container already has this barcode."""
    return _barcode_taken(barcode)


def create_container(actor, *, name: str, kind: str, parent_id: int | None = None, rows: int | None = None,
                     cols: int | None = None, storage_temperature: str | None = None,
                     allowed_types: list | None = None, barcode: str | None = None,
                     record: bool = True) -> Container:
    require(actor, "storage.layout")
    name, kind = (name or "").strip(), (kind or "").strip().lower()
    if not name or not kind:
        raise InvalidInput(_("A container needs a name and a kind."))
    new_site = parent_id is None and kind == "site"
    if parent_id is None and not new_site:
        default = scope.default_site()  # containers other than sites go under the default site
        parent_id = default.container_id if default is not None else None
    if new_site and not scope.is_network_actor(actor):
        raise NotPermitted(_("Only an admin or a network manager adds a site to the network."), code="other_site")
    if (rows is None) != (cols is None):
        raise InvalidInput(_("Give both rows and cols for a box, or neither."))
    if rows is not None and not (1 <= rows <= MAX_GRID and 1 <= cols <= MAX_GRID):
        raise InvalidInput(_("A box has 1..%(max)d rows and columns.", max=MAX_GRID))
    parent = get_container(parent_id) if parent_id is not None else None
    if parent is not None:
        require_at(actor, "storage.layout", parent)
    if parent is not None and parent.is_grid:
        raise InvalidInput(_("%(path)s is a box; boxes hold samples, not containers.", path=parent.path))
    allowed_types = _check_types(allowed_types)
    _check_temperature(storage_temperature)
    if barcode:
        if not _BARCODE.fullmatch(barcode):
            raise InvalidInput(_("A barcode is 3..64 characters of A-Z a-z 0-9 - _ ."), code="invalid_barcode")
        if _barcode_taken(barcode):
            raise Conflict(_("The barcode %(barcode)s is already in use.", barcode=barcode), code="duplicate_barcode")
    else:
        barcode = _generated_barcode(parent, kind)
    container = Container(
        barcode=barcode, name=name, kind=kind, parent_id=parent.id if parent else None,
        rows=rows, cols=cols, storage_temperature=storage_temperature, allowed_types=allowed_types,
        effective_temperature=storage_temperature or (parent.effective_temperature if parent else None),
        effective_types=allowed_types or (parent.effective_types if parent else None),
        capacity=0, used=0, lineage="", path=(f"{parent.path} / {name}" if parent else name))
    db.session.add(container)
    db.session.flush()
    container.lineage = f"{parent.lineage if parent else '/'}{container.id}/"
    container.tank_id = container.id if kind in TANK_KINDS else (parent.tank_id if parent else None)
    if container.is_grid:
        _bump("capacity", {container.id: rows * cols}, {container.id: container})
    if new_site:
        db.session.add(Site(code=barcode[:32], name=name, time_zone="UTC", container_id=container.id,
                            is_default=scope.default_site() is None))
        db.session.flush()
    if record:
        custody.record(actor, "container.created", "container", container.barcode, container_id=container.id,
                       to_location=container.path,
                       changes={"name": [None, name], "kind": [None, kind], "rows": [None, rows],
                                "cols": [None, cols], "storage_temperature": [None, storage_temperature],
                                "allowed_types": [None, allowed_types]})
    return container


def build_layout(actor, *, name: str, kind: str = "tank", racks: int, boxes_per_rack: int, rows: int, cols: int,
                 parent_id: int | None = None, storage_temperature: str | None = None,
                 allowed_types: list | None = None, rack_kind: str = "rack", box_kind: str = "box") -> Container:
    """A whole tank (or freezer) with its racks and boxes, one custody event."""
    require(actor, "storage.layout")
    if not (1 <= racks <= 100 and 1 <= boxes_per_rack <= 100):
        raise InvalidInput(_("A layout has 1..100 racks and 1..100 boxes per rack."))
    top = create_container(actor, name=name, kind=kind, parent_id=parent_id,
                           storage_temperature=storage_temperature, allowed_types=allowed_types, record=False)
    for r in range(1, racks + 1):
        rack = create_container(actor, name=f"Rack {r}", kind=rack_kind, parent_id=top.id, record=False)
        for b in range(1, boxes_per_rack + 1):
            create_container(actor, name=f"Box {b}", kind=box_kind, parent_id=rack.id, rows=rows, cols=cols,
                             record=False)
    custody.record(actor, "container.layout_built", "container", top.barcode, container_id=top.id,
                   to_location=top.path,
                   changes={"racks": [None, racks], "boxes_per_rack": [None, boxes_per_rack],
                            "grid": [None, f"{rows}x{cols}"], "positions": [None, racks * boxes_per_rack * rows * cols]})
    return top
