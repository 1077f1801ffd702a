"""The chain of custody: append-only events, each hashed with its predecessor."""
from datetime import datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db


class CustodyEvent(db.Model):
    __tablename__ = "custody_event"

    seq: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"),
                                     primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_role: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(48), index=True)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    sample_barcode: Mapped[str | None] = mapped_column(String(64), index=True)
    container_id: Mapped[int | None] = mapped_column(index=True)
    request_id: Mapped[int | None] = mapped_column(index=True)
    from_location: Mapped[str | None] = mapped_column(String(900))
    to_location: Mapped[str | None] = mapped_column(String(900))
    reason: Mapped[str | None] = mapped_column(Text)
    # Canonical JSON text of {"field": [before, after], ...}; kept as text so the
    # bytes that were hashed are the bytes that are stored, on every database.
    changes: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class CustodyHead(db.Model):
    """One row: the last sequence number and hash. Locking it serialises appends."""
    __tablename__ = "custody_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), default=0)
    hash: Mapped[str] = mapped_column(String(64))


class CustodyPending(db.Model):
    """PostgreSQL only (migration 0016): an event written by a transaction that has not
    committed yet. A deferred trigger moves it into custody_event when the transaction
    commits, numbered and hashed after the chain's head; no row outlives its transaction."""
    __tablename__ = "custody_pending"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(16))
    via: Mapped[str] = mapped_column(String(8))
    action: Mapped[str] = mapped_column(String(48))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(64))
    sample_barcode: Mapped[str | None] = mapped_column(String(64))
    container_id: Mapped[int | None]
    request_id: Mapped[int | None]
    from_location: Mapped[str | None] = mapped_column(String(900))
    to_location: Mapped[str | None] = mapped_column(String(900))
    reason: Mapped[str | None] = mapped_column(Text)
    changes: Mapped[str] = mapped_column(Text)
    # The canonical text of the event cut where its sequence number goes (chain.event_text_around_seq).
    text_before: Mapped[str] = mapped_column(Text)
    text_after: Mapped[str] = mapped_column(Text)
