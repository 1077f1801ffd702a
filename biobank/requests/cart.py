"""The request cart of each user, kept in the database: it survives logging out and follows the
user to another workstation. A cart is the user's own working list, not inventory: changing it
writes no custody event (the request made from it does)."""
from sqlalchemy import delete, func, select

from ..core.permissions import require
from ..core.time import utcnow
from ..extensions import db
from ..samples.models import Sample
from .models import CartItem
from .service import MAX_ITEMS as LIMIT


def _owner(actor) -> int:
    require(actor, "catalogue.search")
    return actor.user_id


def barcodes(actor) -> list[str]:
    """The cart's barcodes, in the order they were added."""
    if actor.user_id is None:
        return []
    return list(db.session.execute(select(Sample.barcode).join(CartItem, CartItem.sample_id == Sample.id)
                                   .where(CartItem.user_id == _owner(actor)).order_by(CartItem.id)).scalars())


def size(actor) -> int:
    return db.session.execute(select(func.count()).select_from(CartItem)
                              .where(CartItem.user_id == _owner(actor))).scalar_one()


def add(actor, sample_ids: list[int]) -> tuple[int, int]:
    """Add samples (already checked as requestable by the caller) up to LIMIT: (added, left out)."""
    owner = _owner(actor)
    present = set(db.session.execute(select(CartItem.sample_id).where(CartItem.user_id == owner)).scalars())
    new = [sid for sid in dict.fromkeys(sample_ids) if sid not in present]
    room = max(0, LIMIT - len(present))
    now = utcnow()
    db.session.add_all([CartItem(user_id=owner, sample_id=sid, added_at=now) for sid in new[:room]])
    db.session.flush()
    return min(len(new), room), max(0, len(new) - room)


def remove(actor, barcode: str) -> None:
    owner = _owner(actor)
    sample_id = select(Sample.id).where(Sample.barcode == barcode).scalar_subquery()
    db.session.execute(delete(CartItem).where(CartItem.user_id == owner, CartItem.sample_id == sample_id))


def clear(actor) -> None:
    db.session.execute(delete(CartItem).where(CartItem.user_id == _owner(actor)))
