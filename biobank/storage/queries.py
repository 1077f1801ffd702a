"""Read side of storage: box maps."""
from sqlalchemy import bindparam, select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..extensions import db
from ..samples.models import Sample
from . import positions
from .models import Container
from .service import get_container


# The box map is read on every scan of a box label: statements built once, plain rows.
_samples, _containers = Sample.__table__, Container.__table__
_BOX = select(*(_containers.c[name] for name in ("id", "barcode", "name", "kind", "rows", "cols", "capacity",
                                                 "used", "path"))).where(_containers.c.id == bindparam("box_id"))
_OCCUPANTS = select(_samples.c.pos_row, _samples.c.pos_col, _samples.c.barcode, _samples.c.sample_type,
                    _samples.c.status, _samples.c.consent_withdrawn).where(_samples.c.container_id == bindparam("box_id"))


def box_map(actor, container_id: int) -> dict:
    """Every position of a box, with its sample (barcode, type, status) or None."""
    require(actor, "samples.identified")
    connection = db.session.connection()
    box = connection.execute(_BOX, {"box_id": container_id}).mappings().first()
    if box is None:
        get_container(container_id)  # raises the usual unknown-container error
    if box["rows"] is None or box["cols"] is None:
        raise InvalidInput(f"{box['path']} is a {box['kind']}; only boxes have a map.", code="not_a_box")
    occupied = {(row, col): {"barcode": barcode, "sample_type": sample_type, "status": status,
                             "consent_withdrawn": bool(withdrawn)}
                for row, col, barcode, sample_type, status, withdrawn in connection.execute(
                    _OCCUPANTS, {"box_id": container_id}).all()}
    cells = [{"position": position, "row": r, "col": c, "sample": occupied.get((r, c))}
             for position, r, c in positions.grid(box["rows"], box["cols"])]
    container = dict(box, free=box["capacity"] - box["used"])
    return {"container": container, "path": box["path"], "rows": box["rows"], "cols": box["cols"],
            "positions": cells}


def roots() -> list[Container]:
    return db.session.execute(select(Container).where(Container.parent_id.is_(None))
                              .order_by(Container.id)).scalars().all()
