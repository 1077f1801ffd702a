"""Read side of storage: box maps."""
from sqlalchemy import select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..extensions import db
from . import positions
from .models import Container
from .service import get_container


def box_map(actor, container_id: int) -> dict:
    """Every position of a box, with its sample (barcode, type, status) or None."""
    from ..samples.models import Sample
    require(actor, "samples.identified")
    box = get_container(container_id)
    if not box.is_grid:
        raise InvalidInput(f"{box.path} is a {box.kind}; only boxes have a map.", code="not_a_box")
    rows = db.session.execute(select(Sample.pos_row, Sample.pos_col, Sample.barcode, Sample.sample_type,
                                     Sample.status).where(Sample.container_id == box.id))
    occupied = {(r.pos_row, r.pos_col): {"barcode": r.barcode, "sample_type": r.sample_type, "status": r.status}
                for r in rows}
    cells = [{"position": positions.label(r, c), "row": r, "col": c, "sample": occupied.get((r, c))}
             for r in range(1, box.rows + 1) for c in range(1, box.cols + 1)]
    return {"container": box, "path": box.path, "rows": box.rows, "cols": box.cols, "positions": cells}


def roots() -> list[Container]:
    return db.session.execute(select(Container).where(Container.parent_id.is_(None))
                              .order_by(Container.id)).scalars().all()
