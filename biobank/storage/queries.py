"""Read side of storage: box maps."""
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..extensions import db
from ..samples.models import Sample
from . import positions
from ..network.models import Site
from .models import Container, kind_name
from .service import get_container


# The box map is read on every scan of a box label: statements built once, plain rows.
_samples, _containers = Sample.__table__, Container.__table__
_BOX = select(*(_containers.c[name] for name in ("id", "barcode", "name", "kind", "rows", "cols", "capacity",
                                                 "used", "held", "path"))).where(_containers.c.id == bindparam("box_id"))
# A sample's place (home_*) is its position while stored and the position held
# for it while it is checked out: one indexed lookup finds both.
_OCCUPANTS = select(_samples.c.home_row, _samples.c.home_col, _samples.c.barcode, _samples.c.sample_type,
                    _samples.c.status, _samples.c.container_id, _samples.c.due_back,
                    _samples.c.consent_withdrawn).where(
    _samples.c.home_container_id == bindparam("box_id"))


def box_map(actor, container_id: int) -> dict:
    """Every position of a box, with its sample (barcode, type, status) or None;
    a position held for a checked-out tube has `held`: {barcode, due_back}."""
    require(actor, "samples.identified")
    connection = db.session.connection()
    box = connection.execute(_BOX, {"box_id": container_id}).mappings().first()
    if box is None:
        get_container(container_id)  # raises the usual unknown-container error
    if box["rows"] is None or box["cols"] is None:
        raise InvalidInput(_("%(path)s is a %(kind)s; only boxes have a map.", path=box["path"],
                             kind=kind_name(box["kind"])), code="not_a_box")
    occupied, held = {}, {}
    for row, col, barcode, sample_type, status, stored_in, due_back, withdrawn in connection.execute(
            _OCCUPANTS, {"box_id": container_id}).all():
        if stored_in is not None:
            occupied[(row, col)] = {"barcode": barcode, "sample_type": sample_type, "status": status,
                                     "consent_withdrawn": bool(withdrawn)}
        else:
            held[(row, col)] = {"barcode": barcode, "sample_type": sample_type, "status": status,
                                "due_back": due_back.isoformat() + "Z" if due_back else None}
    cells = [{"position": position, "row": r, "col": c, "sample": occupied.get((r, c)), "held": held.get((r, c))}
             for position, r, c in positions.grid(box["rows"], box["cols"])]
    container = dict(box, free=box["capacity"] - box["used"] - box["held"])
    return {"container": container, "path": box["path"], "rows": box["rows"], "cols": box["cols"],
            "positions": cells}


def roots() -> list[Container]:
    """The sites' top containers (a box travelling between sites hangs under none: not listed)."""
    return db.session.execute(select(Container).where(Container.parent_id.is_(None),
                                                      Container.id.in_(select(Site.container_id)))
                              .order_by(Container.id)).scalars().all()


def barcode_differing_in_case(code: str) -> str | None:
    """The stored container barcode equal to `code` but for case, if any."""
    return db.session.execute(select(Container.barcode).where(func.lower(Container.barcode) == code.lower())
                              .limit(1)).scalar_one_or_none()


def occupant(box_id: int, row: int, col: int) -> str | None:
    """The barcode of the tube stored at a position, if any."""
    return db.session.execute(select(Sample.barcode).where(
        Sample.container_id == box_id, Sample.pos_row == row, Sample.pos_col == col)).scalar_one_or_none()
