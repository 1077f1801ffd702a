"""The request cart of each user, kept in the database: it survives logging out and follows the
user to another workstation. A cart is the user's own working list, not inventory: changing it
writes no custody event (the request made from it does)."""
from flask_babel import gettext as _
from sqlalchemy import delete, func, select

from ..core.errors import UnknownBarcode
from ..core.permissions import require
from ..core.time import utcnow
from ..extensions import db
from ..samples.models import Sample
from ..samples.queries import sample_for
from .models import CartItem
from .opaque import sample_id_of
from .service import MAX_ITEMS as LIMIT


def _owner(actor) -> int:
    require(actor, "catalogue.search")
    return actor.user_id


def samples(actor) -> list[Sample]:
    """The cart's samples, in the order they were added."""
    if actor.user_id is None:
        return []
    return list(db.session.execute(select(Sample).join(CartItem, CartItem.sample_id == Sample.id)
                                   .where(CartItem.user_id == _owner(actor)).order_by(CartItem.id)).scalars())


def sample_ids(actor) -> list[int]:
    return [s.id for s in samples(actor)]


def barcodes(actor) -> list[str]:
    """The cart's barcodes, in the order they were added."""
    return [s.barcode for s in samples(actor)]


def catalogue_sample(actor, name: str) -> Sample:
    """The sample a cart form names: a catalogue id, or (staff) a barcode; a clear error otherwise."""
    sample_id = sample_id_of(name)
    if sample_id is None:
        return sample_for(actor, name)
    sample = db.session.get(Sample, sample_id)
    if sample is None:
        raise UnknownBarcode(_("No catalogue sample has the id %(id)s.", id=name))
    return sample


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


def remove(actor, name: str) -> None:
    """Take a sample (catalogue id or barcode) out of the cart."""
    owner = _owner(actor)
    by_id = sample_id_of(name)
    sample_id = by_id if by_id is not None else select(Sample.id).where(Sample.barcode == name).scalar_subquery()
    db.session.execute(delete(CartItem).where(CartItem.user_id == owner, CartItem.sample_id == sample_id))


def clear(actor) -> None:
    db.session.execute(delete(CartItem).where(CartItem.user_id == _owner(actor)))
