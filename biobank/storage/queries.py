"""Read side of storage: box maps."""
from sqlalchemy import bindparam, select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..extensions import db
from ..samples.models import Sample
from . import positions
from .models import Container
from .service import get_container


_samples = Sample.__table__
_OCCUPANTS = select(_samples.c.pos_row, _samples.c.pos_col, _samples.c.barcode, _samples.c.sample_type,
                    _samples.c.status).where(_samples.c.container_id == bindparam("box_id"))


def box_map(actor, container_id: int) -> dict:
    """Every position of a box, with its sample (barcode, type, status) or None."""
    require(actor, "samples.identified")
    box = get_container(container_id)
    if not box.is_grid:
        raise InvalidInput(f"{box.path} is a {box.kind}; only boxes have a map.", code="not_a_box")
    rows = db.session.connection().execute(_OCCUPANTS, {"box_id": box.id})
    occupied = {(row, col): {"barcode": barcode, "sample_type": sample_type, "status": status}
                for row, col, barcode, sample_type, status in rows}
    cells = [{"position": positions.label(r, c), "row": r, "col": c, "sample": occupied.get((r, c))}
             for r in range(1, box.rows + 1) for c in range(1, box.cols + 1)]
    return {"container": box, "path": box.path, "rows": box.rows, "cols": box.cols, "positions": cells}


def roots() -> list[Container]:
    return db.session.execute(select(Container).where(Container.parent_id.is_(None))
                              .order_by(Container.id)).scalars().all()
