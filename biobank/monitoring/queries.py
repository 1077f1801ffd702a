"""Read side of monitoring: readings by time, chart series downsampled in the database,
alarms, the tank log, and the open-alarm summary for page headers and home pages."""
from datetime import datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..core.time import utcnow
from ..extensions import db
from ..network import scope
from ..storage.models import Container
from ..storage.service import get_container
from . import hours
from . import limits as limit_rules
from .models import Alarm, Monitored, Reading, TankLogEntry
from .service import parse_time

MAX_READINGS = 50_000   # one answer; a month of one-minute readings is 43,200


def period(since, until, default_days: int = 1) -> tuple[datetime, datetime]:
    """since/until as sent (ISO 8601 or empty) -> naive UTC; default: the last day."""
    try:
        end = parse_time(until, of_reading=False) if until else utcnow()
        start = parse_time(since, of_reading=False) if since else end - timedelta(days=default_days)
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(str(exc) + ".", code="invalid_time") from None
    if start >= end:
        raise InvalidInput(_("since must be before until."), code="invalid_period")
    if end - start > timedelta(days=400):
        raise InvalidInput(_("Ask for at most 400 days at once."), code="invalid_period")
    return start, end


def readings(actor, container_id: int, since=None, until=None, limit: int = MAX_READINGS) -> list[dict]:
    """A container's readings in [since, until], oldest first."""
    require(actor, "monitoring.read")
    get_container(container_id)
    start, end = period(since, until)
    table = Reading.__table__
    rows = db.session.execute(
        select(table.c.id, table.c.at, table.c.sensor, table.c.temperature_c, table.c.ln2_level, table.c.source)
        .where(table.c.container_id == container_id, table.c.at >= start, table.c.at <= end)
        .order_by(table.c.at, table.c.sensor).limit(max(1, min(limit, MAX_READINGS)))).mappings()
    return [dict(row, container_id=container_id) for row in rows]


def chart_series(container_id: int, start: datetime, end: datetime, buckets: int = 360,
                 through_now: bool = False) -> list[dict]:
    """Per time bucket: the lowest and highest temperature and level and how many readings, so a
    month of one-minute readings reaches the chart as a few hundred rows (its extremes kept).
    With buckets of an hour or more, the whole hours come from the hourly extremes, and the
    partial hours at the two ends from the readings. `through_now`: the period ends now, and the
    hour now running comes from its extremes so far too (so a period that begins on the hour
    reads the hourly extremes alone)."""
    seconds = max(1.0, (end - start).total_seconds() / buckets)
    first, last = hours.whole_hours(start, end)
    if seconds < 3600 or first >= last:
        return _raw_series(container_id, seconds, start, (start, end, True))
    spans = [(start, first, False)] if start < first else []
    if through_now:
        last += hours.HOUR
    else:
        spans.append((last, end, True))
    edges = _raw_series(container_id, seconds, start, *spans) if spans else []
    return hours.merge(edges + hours.buckets_of(container_id, first, last, start, seconds))


def _raw_series(container_id: int, seconds: float, start: datetime, *spans) -> list[dict]:
    """chart_series from the readings in the given spans (from, to, whether `to` is in it)."""
    table = Reading.__table__
    bucket = hours.bucket_number(table.c.at, start, seconds).label("bucket")
    within = [(table.c.at >= low) & ((table.c.at <= high) if closed else (table.c.at < high))
              for low, high, closed in spans]
    rows = db.session.execute(
        select(bucket, func.min(table.c.temperature_c), func.max(table.c.temperature_c),
               func.min(table.c.ln2_level), func.max(table.c.ln2_level), func.count())
        .where(table.c.container_id == container_id, or_(*within))
        .group_by(bucket).order_by(bucket)).all()
    return hours.as_buckets(rows)


def alarms_in(container_id: int, start: datetime, end: datetime) -> list[Alarm]:
    """Alarms of a container that were open at some time in [start, end]."""
    return list(db.session.execute(
        select(Alarm).where(Alarm.container_id == container_id, Alarm.opened_at <= end,
                            (Alarm.closed_at.is_(None)) | (Alarm.closed_at >= start))
        .order_by(Alarm.opened_at)).scalars())


def alarms(actor, *, open_only: bool = False, container_id: int | None = None, page: int = 1,
           per_page: int = 50) -> tuple[list[Alarm], int]:
    require(actor, "monitoring.read")
    query = select(Alarm)
    here = scope.at_visible_sites(actor, Alarm.container_id)  # staff see their sites' alarms
    if here is not None:
        query = query.where(here)
    if open_only:
        query = query.where(Alarm.closed_at.is_(None))
    if container_id is not None:
        query = query.where(Alarm.container_id == container_id)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    rows = db.session.execute(query.order_by(Alarm.closed_at.is_not(None), Alarm.opened_at.desc(), Alarm.id.desc())
                              .limit(per_page).offset((max(1, page) - 1) * per_page)).scalars()
    return list(rows), total


def open_alarm_summary(actor=None) -> dict:
    """For every staff page header and the manager's home page: how many alarms are open, how many
    nobody has acknowledged yet, and the newest few with their container's path. One small query
    on the open-alarm index; the caller decides who may see it. With an actor: only the alarms
    of their sites (network roles: all)."""
    query = (select(Alarm.id, Alarm.kind, Alarm.opened_at, Alarm.acknowledged_at, Alarm.message, Alarm.container_id,
                    Container.path).join(Container, Container.id == Alarm.container_id)
             .where(Alarm.closed_at.is_(None)))
    here = scope.at_visible_sites(actor, Alarm.container_id) if actor is not None else None
    if here is not None:
        query = query.where(here)
    rows = db.session.execute(query.order_by(Alarm.acknowledged_at.is_not(None), Alarm.opened_at.desc())
                              .limit(200)).all()
    items = [{"id": r.id, "kind": r.kind, "opened_at": r.opened_at, "acknowledged": r.acknowledged_at is not None,
              "message": r.message, "container_id": r.container_id, "path": r.path} for r in rows]
    return {"open": len(items), "unacknowledged": sum(1 for i in items if not i["acknowledged"]),
            "items": items[:5]}


def watched(actor) -> list[dict]:
    """Every watched container with its limits and newest reading time (the monitoring page)."""
    require(actor, "monitoring.read")
    rows = db.session.execute(select(Monitored, Container).join(Container, Container.id == Monitored.container_id)
                              .order_by(Container.path)).all()
    now = utcnow()
    result = []
    for watch, container in rows:
        rules = limit_rules.effective(watch, container.effective_temperature)
        silent_for = (now - watch.last_reading_at) if watch.last_reading_at else None
        result.append({"container": container, "limits": rules, "last_reading_at": watch.last_reading_at,
                       "silent_minutes": int(silent_for.total_seconds() // 60) if silent_for else None})
    return result


def latest_reading(container_id: int) -> dict | None:
    table = Reading.__table__
    row = db.session.execute(select(table.c.at, table.c.sensor, table.c.temperature_c, table.c.ln2_level)
                             .where(table.c.container_id == container_id)
                             .order_by(table.c.at.desc()).limit(1)).mappings().first()
    return dict(row) if row else None


def limits_of(container: Container) -> limit_rules.EffectiveLimits:
    return limit_rules.effective(db.session.get(Monitored, container.id), container.effective_temperature)


def tank_log(actor, container_id: int, limit: int = 100) -> list[TankLogEntry]:
    require(actor, "monitoring.read")
    get_container(container_id)
    return list(db.session.execute(select(TankLogEntry).where(TankLogEntry.container_id == container_id)
                                   .order_by(TankLogEntry.at.desc(), TankLogEntry.id.desc())
                                   .limit(limit)).scalars())


