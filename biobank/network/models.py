"""Sites of the network, who works where, and shipments between sites.

A site is a record (code, name, address, time zone) tied to the container at
the top of its storage tree; everything under that container is at the site.
A container's site is therefore read from the first id of its lineage, and a
container moved to another site's tree changes site with it.
"""
from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.lazy_text import lazy_gettext as _l
from ..core.time import utcnow
from ..extensions import db

user_site = Table(
    "user_site", db.metadata,
    Column("user_id", Integer, ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", Integer, ForeignKey("site.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Site(db.Model):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(Text)
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    container_id: Mapped[int] = mapped_column(ForeignKey("container.id"), unique=True)
    is_default: Mapped[bool] = mapped_column(default=False)
    language: Mapped[str | None] = mapped_column(String(8))  # its staff's language when nothing else says
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


SHIPPING_CONDITIONS = {"dry_ice": _l("Dry ice"), "LN2_dry_shipper": _l("LN2 dry shipper"), "2to8": _l("2–8 °C"),
                       "ambient": _l("Ambient")}
SHIPMENT_STATUSES = ("draft", "in_transit", "closed", "cancelled")
ITEM_STATUSES = ("packed", "in_transit", "received", "stored", "missing", "unexpected")
# What a person reads for each status of a shipment or of an item on it.
STATUS_NAMES = {"draft": _l("draft"), "in_transit": _l("in transit"), "closed": _l("closed"),
                "cancelled": _l("cancelled"), "packed": _l("packed"), "received": _l("received"),
                "stored": _l("stored"), "missing": _l("missing"), "unexpected": _l("unexpected")}


def status_name(status: str) -> str:
    return str(STATUS_NAMES.get(status, status.replace("_", " ")))


class Shipment(db.Model):
    __tablename__ = "shipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    from_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    to_site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    condition: Mapped[str] = mapped_column(String(24))
    courier: Mapped[str | None] = mapped_column(String(120))
    tracking: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    excursion: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    dispatched_at: Mapped[datetime | None]
    dispatched_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(64))

    from_site: Mapped[Site] = relationship(foreign_keys=[from_site_id])
    to_site: Mapped[Site] = relationship(foreign_keys=[to_site_id])
    items: Mapped[list["ShipmentItem"]] = relationship(back_populates="shipment", order_by="ShipmentItem.id",
                                                       cascade="all, delete-orphan")

    @property
    def code(self) -> str:
        return f"SH-{self.id:05d}"


class ShipmentItem(db.Model):
    """A tube or a box on a shipment; a box's tubes are items too (box_item_id names their box)."""
    __tablename__ = "shipment_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipment.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))           # sample or box
    barcode: Mapped[str] = mapped_column(String(64))
    sample_id: Mapped[int | None] = mapped_column(ForeignKey("sample.id"), index=True)
    container_id: Mapped[int | None] = mapped_column(ForeignKey("container.id"), index=True)
    box_item_id: Mapped[int | None] = mapped_column(ForeignKey("shipment_item.id"))
    status: Mapped[str] = mapped_column(String(16), default="packed")
    condition: Mapped[str | None] = mapped_column(String(16))   # ok or damaged, at receipt
    # Where it was packed from (a tube: its box and position), checked again at dispatch.
    from_container_id: Mapped[int | None]
    from_row: Mapped[int | None]
    from_col: Mapped[int | None]
    from_location: Mapped[str | None] = mapped_column(String(900))
    to_location: Mapped[str | None] = mapped_column(String(900))
    received_at: Mapped[datetime | None]
    received_by: Mapped[str | None] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)

    shipment: Mapped[Shipment] = relationship(back_populates="items")
