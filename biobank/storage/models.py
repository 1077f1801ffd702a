"""Containers form a tree (site > tank > rack > box by default; kinds are data).

Capacity, usage and held positions are counters kept on every container for its whole subtree,
updated by the services in the same transaction as the placement, so reading
them costs nothing however many samples there are.
"""
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import JSON, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core import display as names
from ..core.time import utcnow
from ..extensions import db

# Kinds whose subtree counts as one "tank" for the spread strategy and pick lists.
TANK_KINDS = ("tank", "freezer")



def lineage_ids(lineage: str) -> list[int]:
    """The container ids of a lineage ("/1/5/9/"), from the root down."""
    return [int(part) for part in lineage.strip("/").split("/") if part]


def occupied_fraction(used: int, held: int, positions: int) -> float:
    """How full: positions taken (stored, or held for a tube that is out) over positions, to 4
    places; 0 where there are none. The one formula of every capacity figure."""
    return round((used + held) / positions, 4) if positions else 0.0


def leaf_first(depths: dict[int, int]) -> list[int]:
    """Container ids in the order every writer locks container rows: the deepest first (boxes,
    then racks, tanks, sites), by id within a level.

    A writer holds its box from the change on and takes the rows above it at commit (migration
    0018), so the one order that keeps two writers from waiting for each other crosswise runs
    from the leaves up. `depths`: id -> how many containers lie above it."""
    return sorted(depths, key=lambda cid: (-depths[cid], cid))


def kind_name(kind: str) -> str:
    """A container kind as it reads inside a sentence ("box", "tank"), in the reader's language."""
    return str(names.display(kind, "kind")).lower()


class Container(db.Model):
    __tablename__ = "container"

    id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("container.id"), index=True)
    # Materialised ancestry: "/1/5/9/" (ids from the root down to this one), and
    # the readable path "Site / Tank 03 / Rack 2 / Box 5".
    lineage: Mapped[str] = mapped_column(String(400))
    path: Mapped[str] = mapped_column(String(800))
    # Nearest tank (or freezer) at or above this container, for spread placement.
    tank_id: Mapped[int | None] = mapped_column(ForeignKey("container.id"), index=True)
    rows: Mapped[int | None]
    cols: Mapped[int | None]
    storage_temperature: Mapped[str | None] = mapped_column(String(16))
    allowed_types: Mapped[list | None] = mapped_column(JSON)
    # Effective restrictions: own, else inherited from the nearest ancestor.
    effective_temperature: Mapped[str | None] = mapped_column(String(16))
    effective_types: Mapped[list | None] = mapped_column(JSON)
    capacity: Mapped[int] = mapped_column(default=0)
    used: Mapped[int] = mapped_column(default=0)
    # Positions held for checked-out tubes (they go back there): neither used nor free.
    held: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped["Container | None"] = relationship(remote_side=[id], foreign_keys=[parent_id])
    children: Mapped[list["Container"]] = relationship(
        foreign_keys=[parent_id], order_by="Container.id", viewonly=True)

    __table_args__ = (
        # Boxes that still have room, in fill order: compact placement reads the
        # first entry, so its cost does not grow with how full the biobank is.
        Index("ix_container_open_boxes", "id",
              sqlite_where=text("rows IS NOT NULL AND used + held < capacity"),
              postgresql_where=text("rows IS NOT NULL AND used + held < capacity")),
    )

    @property
    def is_grid(self) -> bool:
        return self.rows is not None and self.cols is not None

    @property
    def free(self) -> int:
        return self.capacity - self.used - self.held

    @property
    def ancestor_ids(self) -> list[int]:
        """Ids from the root down to and including this container."""
        return lineage_ids(self.lineage)

    def accepts(self, sample_type: str, temperature: str | None) -> str | None:
        """Why a sample may not be stored here, or None when it may."""
        if self.effective_types and sample_type not in self.effective_types:
            return _("%(path)s takes only %(types)s, not %(type)s.", path=self.path,
                     types=", ".join(self.effective_types), type=sample_type)
        if self.effective_temperature and temperature and temperature != self.effective_temperature:
            return _("%(path)s is stored at %(temperature)s; this sample needs %(needed)s.", path=self.path,
                     temperature=self.effective_temperature, needed=temperature)
        return None


class ContainerCountPending(db.Model):
    """PostgreSQL only (migration 0017): a change to `used` and `held` of a container above a
    box (rack, tank, site), written by a transaction that has not committed yet. A deferred
    trigger sums this transaction's rows and applies them, in container id order, when it
    commits; no row outlives its transaction."""
    __tablename__ = "container_count_pending"

    id: Mapped[int] = mapped_column(db.BigInteger, primary_key=True)
    container_id: Mapped[int]
    d_used: Mapped[int]
    d_held: Mapped[int]
