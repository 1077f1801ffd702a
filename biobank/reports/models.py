"""Report bookkeeping (tables of migration 0003)."""
from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.time import utcnow
from ..extensions import db


class VerificationRun(db.Model):
    """One run of the custody chain check started from the audit page or the API."""
    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    via: Mapped[str] = mapped_column(String(8))
    ok: Mapped[bool]
    events_checked: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    first_bad_seq: Mapped[int | None] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"))
    problem: Mapped[str | None] = mapped_column(Text)
