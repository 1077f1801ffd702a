"""Monitoring: sensor readings per container, its limits, alarms, and the tank log
(LN2 refills, maintenance).

Readings are measurements, not custody: a tank reporting every minute writes
43,200 a month, so they get no custody event each; what people do about them
(alarms opened, acknowledged, closed; limits changed; refills) does.
"""
from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ..core.lazy_text import lazy_gettext as _l
from ..core.time import utcnow
from ..extensions import db

ALARM_KINDS = ("temperature", "level", "silent")
ALARM_KIND_NAMES = {"temperature": _l("Temperature excursion"), "level": _l("Low LN2 level"),
                    "silent": _l("Silent sensor")}
LOG_KINDS = ("refill", "maintenance")


class Reading(db.Model):
    __tablename__ = "monitor_reading"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(db.Integer, "sqlite"), primary_key=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("container.id"))
    at: Mapped[datetime]
    sensor: Mapped[str] = mapped_column(String(64))
    temperature_c: Mapped[float | None] = mapped_column(Float)
    ln2_level: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(8), default="http")   # http, mqtt, csv
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # One reading per sensor and instant: a re-sent message is never stored twice.
        UniqueConstraint("container_id", "sensor", "at", name="uq_monitor_reading_container_sensor_at"),
        # Charts and silence checks read one container's readings by time.
        Index("ix_monitor_reading_container_at", "container_id", "at"),
    )


class ReadingHour(db.Model):
    """Per container and hour: the lowest and highest temperature and level and how many readings.
    Kept by record_readings in the transaction that stores the readings,
    so a month's chart reads 720 of these instead of 43,200 readings."""
    __tablename__ = "monitor_reading_hour"

    container_id: Mapped[int] = mapped_column(ForeignKey("container.id"), primary_key=True)
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    t_min: Mapped[float | None] = mapped_column(Float)
    t_max: Mapped[float | None] = mapped_column(Float)
    l_min: Mapped[float | None] = mapped_column(Float)
    l_max: Mapped[float | None] = mapped_column(Float)
    count: Mapped[int]


class Monitored(db.Model):
    """A container that is watched: its own limits (NULL: the default of its storage
    temperature class) and the time of its newest reading, so the silence check reads
    one small row per container instead of the readings."""
    __tablename__ = "monitor_container"

    container_id: Mapped[int] = mapped_column(ForeignKey("container.id"), primary_key=True)
    max_temperature_c: Mapped[float | None] = mapped_column(Float)
    min_temperature_c: Mapped[float | None] = mapped_column(Float)
    min_ln2_level: Mapped[float | None] = mapped_column(Float)
    max_silence_minutes: Mapped[int | None]
    last_reading_at: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]
    updated_by: Mapped[str | None] = mapped_column(String(64))


class Alarm(db.Model):
    __tablename__ = "monitor_alarm"

    id: Mapped[int] = mapped_column(primary_key=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("container.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime]
    message: Mapped[str] = mapped_column(String(400))
    sensor: Mapped[str | None] = mapped_column(String(64))
    first_value: Mapped[float | None] = mapped_column(Float)
    worst_value: Mapped[float | None] = mapped_column(Float)
    # The newest reading seen for this alarm and whether it was back in range.
    last_reading_at: Mapped[datetime | None]
    in_range: Mapped[bool] = mapped_column(default=False)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    acknowledge_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]

    __table_args__ = (
        # One open alarm per container and kind, whatever the number of readings or writers.
        Index("uq_monitor_alarm_open", "container_id", "kind", unique=True,
              sqlite_where=text("closed_at IS NULL"), postgresql_where=text("closed_at IS NULL")),
        Index("ix_monitor_alarm_closed_at", "closed_at"),
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def kind_name(self) -> str:
        return str(ALARM_KIND_NAMES.get(self.kind, self.kind))


class TankLogEntry(db.Model):
    """An LN2 refill or a maintenance visit on a tank: who, when, litres, note."""
    __tablename__ = "monitor_tank_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("container.id"))
    kind: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    performed_by: Mapped[str] = mapped_column(String(64))
    litres: Mapped[float | None] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_monitor_tank_log_container_at", "container_id", "at"),)
