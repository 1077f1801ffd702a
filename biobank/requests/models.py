"""Researcher requests for samples: the request, its items, their picking and shipping."""
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.time import utcnow
from ..extensions import db
from ..samples.models import Sample

STATUSES = ("draft", "submitted", "approved", "rejected", "picking", "shipped", "completed", "cancelled")
OPEN_STATUSES = ("draft", "submitted", "approved", "picking")

# Allowed request status transitions; anything else is refused.
TRANSITIONS = {
    "draft": {"submitted", "cancelled"},
    "submitted": {"approved", "rejected", "cancelled"},
    "approved": {"picking", "cancelled"},
    "picking": {"shipped", "cancelled"},
    "shipped": {"completed"},
    "rejected": set(),
    "completed": set(),
    "cancelled": set(),
}


class ResearchRequest(db.Model):
    __tablename__ = "research_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str] = mapped_column(Text)
    ethics_reference: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    requester: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    picking_started_at: Mapped[datetime | None]
    shipped_at: Mapped[datetime | None]
    shipped_by: Mapped[str | None] = mapped_column(String(64))
    recipient: Mapped[str | None] = mapped_column(String(300))
    courier: Mapped[str | None] = mapped_column(String(120))
    tracking: Mapped[str | None] = mapped_column(String(120))
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    items: Mapped[list["RequestItem"]] = relationship(back_populates="request", order_by="RequestItem.id",
                                                      cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def item_count(self) -> int:
        return len(self.items)

    @property
    def picked_count(self) -> int:
        return sum(1 for item in self.items if item.picked)

    @property
    def ready_to_ship(self) -> bool:
        return self.status == "picking" and bool(self.items) and all(item.picked for item in self.items)


class RequestItem(db.Model):
    """One requested sample. `holds` is true while the request holds the sample
    (approved → shipped); a partial unique index lets only one request hold a sample."""
    __tablename__ = "request_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("research_request.id"), index=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"), index=True)
    holds: Mapped[bool] = mapped_column(default=False)
    picked_at: Mapped[datetime | None]
    picked_by: Mapped[str | None] = mapped_column(String(64))

    request: Mapped[ResearchRequest] = relationship(back_populates="items")
    sample: Mapped[Sample] = relationship()

    __table_args__ = (
        UniqueConstraint("request_id", "sample_id", name="uq_request_item_sample"),
        Index("uq_request_item_holding", "sample_id", unique=True,
              sqlite_where=text("holds"), postgresql_where=text("holds")),
    )

    @property
    def picked(self) -> bool:
        return self.picked_at is not None

    @property
    def barcode(self) -> str:
        return self.sample.barcode


class CartItem(db.Model):
    """A sample in a user's cart, kept in the database so the cart survives logging out."""
    __tablename__ = "cart_item"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    sample_id: Mapped[int] = mapped_column(ForeignKey("sample.id"))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    sample: Mapped[Sample] = relationship()

    __table_args__ = (UniqueConstraint("user_id", "sample_id", name="uq_cart_item_user_sample"),)
