"""Researcher requests for samples: the request, its items, their picking and shipping."""
from datetime import datetime

from datetime import date

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
    parts: Mapped[list["RequestPart"]] = relationship(back_populates="request", order_by="RequestPart.id",
                                                      cascade="all, delete-orphan")
    criteria: Mapped[list["RequestCriterion"]] = relationship(back_populates="request",
                                                              order_by="RequestCriterion.id",
                                                              cascade="all, delete-orphan")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def live_items(self) -> list["RequestItem"]:
        """The items that are still going out: those of parts no site manager rejected."""
        return [item for item in self.items if item.part is None or item.part.status != "rejected"]

    @property
    def item_count(self) -> int:
        return len(self.live_items)

    @property
    def picked_count(self) -> int:
        return sum(1 for item in self.live_items if item.picked)

    @property
    def ready_to_ship(self) -> bool:
        """Some part is fully picked and waiting to be shipped."""
        return self.status == "picking" and any(part.ready_to_ship for part in self.parts)

    @property
    def unfilled_criteria(self) -> list["RequestCriterion"]:
        return [c for c in self.criteria if c.filled_at is None]


PART_STATUSES = ("pending", "approved", "rejected", "picking", "shipped", "cancelled")


class RequestPart(db.Model):
    """What one site holds of a request: that site's manager approves or rejects it, its
    staff pick and ship it. The request's own status follows its parts (service.settle)."""
    __tablename__ = "request_part"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("research_request.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decision_reason: Mapped[str | None] = mapped_column(Text)
    shipped_at: Mapped[datetime | None]
    shipped_by: Mapped[str | None] = mapped_column(String(64))
    courier: Mapped[str | None] = mapped_column(String(120))
    tracking: Mapped[str | None] = mapped_column(String(120))

    request: Mapped[ResearchRequest] = relationship(back_populates="parts")
    site = relationship("Site")
    items: Mapped[list["RequestItem"]] = relationship(back_populates="part", order_by="RequestItem.id")

    __table_args__ = (UniqueConstraint("request_id", "site_id", name="uq_request_part_site"),)

    @property
    def picked_count(self) -> int:
        return sum(1 for item in self.items if item.picked)

    @property
    def ready_to_ship(self) -> bool:
        return self.status == "picking" and bool(self.items) and all(item.picked for item in self.items)


class RequestCriterion(db.Model):
    """A line asking for a number of samples by criteria ("20 plasma, C50, collected in 2025"),
    filled by a manager who chooses matching available samples."""
    __tablename__ = "request_criterion"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("research_request.id"), index=True)
    count: Mapped[int]
    sample_type: Mapped[str | None] = mapped_column(String(32))
    diagnosis: Mapped[str | None] = mapped_column(String(16))
    collected_from: Mapped[date | None]
    collected_to: Mapped[date | None]
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"))
    filled_at: Mapped[datetime | None]
    filled_by: Mapped[str | None] = mapped_column(String(64))

    request: Mapped[ResearchRequest] = relationship(back_populates="criteria")
    site = relationship("Site")
    items: Mapped[list["RequestItem"]] = relationship(back_populates="criterion", order_by="RequestItem.id")

    @property
    def filled(self) -> bool:
        return self.filled_at is not None


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
    part_id: Mapped[int | None] = mapped_column(ForeignKey("request_part.id"), index=True)
    criterion_id: Mapped[int | None] = mapped_column(ForeignKey("request_criterion.id"))

    request: Mapped[ResearchRequest] = relationship(back_populates="items")
    sample: Mapped[Sample] = relationship()
    part: Mapped["RequestPart | None"] = relationship(back_populates="items")
    criterion: Mapped["RequestCriterion | None"] = relationship(back_populates="items")

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
