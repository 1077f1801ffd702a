"""Samples (MIABIS-style fields), their lineage and their donors' consent."""
from datetime import datetime
from decimal import Decimal

from sqlalchemy import ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.time import utcnow
from ..extensions import db
from ..storage.models import Container
from ..storage.positions import label

SAMPLE_TYPES = ("tissue_frozen", "tissue_ffpe", "plasma", "serum", "buffy_coat", "whole_blood",
                "dna", "rna", "pbmc", "urine", "other")
TEMPERATURES = ("RT", "2to10", "-18to-35", "-60to-85", "LN2_vapor", "LN2_liquid")
STATUSES = ("available", "reserved", "checked_out", "shipped", "consumed", "discarded", "in_transit", "missing")

# Allowed status transitions; anything else is refused.
TRANSITIONS = {
    "available": {"reserved", "checked_out", "consumed", "discarded", "in_transit"},
    "reserved": {"available", "checked_out"},
    "checked_out": {"available", "reserved", "shipped", "consumed", "discarded"},
    "shipped": {"consumed"},
    "consumed": set(),
    "discarded": set(),
    # Between sites (network shipments): received in a box (available) or by hand (checked out),
    # or named missing when the receipt is closed; a missing tube found later is received again.
    "in_transit": {"available", "checked_out", "missing"},
    "missing": {"available", "checked_out", "discarded"},
}


class Sample(db.Model):
    __tablename__ = "sample"

    id: Mapped[int] = mapped_column(primary_key=True)
    barcode: Mapped[str] = mapped_column(String(64), unique=True)
    sample_type: Mapped[str] = mapped_column(String(32), index=True)
    storage_temperature: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="available", index=True)
    donor: Mapped[str | None] = mapped_column(String(64), index=True)
    collected_at: Mapped[datetime | None]
    anatomical_site: Mapped[str | None] = mapped_column(String(16))
    diagnosis: Mapped[str | None] = mapped_column(String(16))
    volume: Mapped[Decimal | None] = mapped_column(Numeric(12, 4))
    unit: Mapped[str | None] = mapped_column(String(8))
    sprec: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"), index=True)
    freeze_thaw_count: Mapped[int] = mapped_column(default=0)
    consent_withdrawn: Mapped[bool] = mapped_column(default=False)
    # Where it is now (all NULL when out of storage) ...
    container_id: Mapped[int | None] = mapped_column(ForeignKey("container.id"))
    pos_row: Mapped[int | None]
    pos_col: Mapped[int | None]
    # ... and its place: where it is stored, or, while it is checked out, the
    # position held for it (a return goes back there). Cleared when the place
    # is given up; unique, so the database refuses a second occupant.
    home_container_id: Mapped[int | None] = mapped_column(ForeignKey("container.id"))
    home_row: Mapped[int | None]
    home_col: Mapped[int | None]
    due_back: Mapped[datetime | None] = mapped_column(index=True)
    checked_out_at: Mapped[datetime | None]
    checked_out_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))

    container: Mapped[Container | None] = relationship(foreign_keys=[container_id])
    home_container: Mapped[Container | None] = relationship(foreign_keys=[home_container_id])
    parent: Mapped["Sample | None"] = relationship(remote_side=[id], foreign_keys=[parent_id])
    children: Mapped[list["Sample"]] = relationship(foreign_keys=[parent_id], order_by="Sample.id",
                                                    viewonly=True)

    __table_args__ = (
        # One sample per position (one position per sample: a sample has one location).
        UniqueConstraint("container_id", "pos_row", "pos_col", name="uq_sample_position"),
        # One place per position, held or occupied.
        UniqueConstraint("home_container_id", "home_row", "home_col", name="uq_sample_home"),
    )

    @property
    def position(self) -> str | None:
        return label(self.pos_row, self.pos_col) if self.container_id else None

    @property
    def location_path(self) -> str | None:
        return f"{self.container.path} / {self.position}" if self.container_id else None

    @property
    def location(self) -> dict | None:
        if not self.container_id:
            return None
        return location_of(self.container_id, self.container.barcode, self.container.path,
                           self.pos_row, self.pos_col)

    @property
    def home(self) -> dict | None:
        """The place held for it (its location while it is stored)."""
        if not self.home_container_id:
            return None
        return location_of(self.home_container_id, self.home_container.barcode, self.home_container.path,
                           self.home_row, self.home_col)

    @property
    def home_path(self) -> str | None:
        return self.home["path"] if self.home_container_id else None

    @property
    def overdue(self) -> bool:
        return self.status == "checked_out" and self.due_back is not None and self.due_back < utcnow()

    @property
    def parent_barcode(self) -> str | None:
        return self.parent.barcode if self.parent_id else None

    @property
    def child_barcodes(self) -> list[str]:
        return [child.barcode for child in self.children]


def location_of(container_id: int, container_barcode: str, container_path: str, row: int, col: int) -> dict:
    """Where a sample is, as the API shows it."""
    position = label(row, col)
    return {"container_id": container_id, "container_barcode": container_barcode, "position": position,
            "path": f"{container_path} / {position}"}


class Donor(db.Model):
    """A donor pseudonym and the state of their consent."""
    __tablename__ = "donor"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    consent_withdrawn_at: Mapped[datetime | None]
    consent_withdrawn_reason: Mapped[str | None] = mapped_column(Text)
