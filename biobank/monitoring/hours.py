"""Hourly extremes of the readings (ReadingHour): written with every batch of readings, read by
long charts. A chart with buckets of an hour or more takes the whole hours of its period from
here and only the partial hours at its two ends from the readings themselves."""
from datetime import datetime, timedelta

from sqlalchemy import Integer, cast, func, literal, select
from sqlalchemy.dialects import postgresql, sqlite

from ..core.db import is_postgres
from ..extensions import db
from .models import ReadingHour

HOUR = timedelta(hours=1)


def hour_of(at: datetime) -> datetime:
    return at.replace(minute=0, second=0, microsecond=0)


def _low(values):
    present = [v for v in values if v is not None]
    return min(present) if present else None


def _high(values):
    present = [v for v in values if v is not None]
    return max(present) if present else None


def add(container_id: int, rows: list[dict]) -> None:
    """Fold stored readings into their hours (in the caller's transaction; the caller holds the
    container's lock, so two batches of one container never fold into the same hour at once)."""
    by_hour: dict[datetime, list[dict]] = {}
    for row in rows:
        by_hour.setdefault(hour_of(row["at"]), []).append(row)
    values = [{"container_id": container_id, "hour": hour,
               "t_min": _low(r["temperature_c"] for r in group), "t_max": _high(r["temperature_c"] for r in group),
               "l_min": _low(r["ln2_level"] for r in group), "l_max": _high(r["ln2_level"] for r in group),
               "count": len(group)}
              for hour, group in by_hour.items()]
    if not values:
        return
    table = ReadingHour.__table__
    if is_postgres():
        insert, least, greatest = postgresql.insert(table), func.least, func.greatest
    else:  # SQLite's two-argument min/max are NULL when either is; coalesce keeps the other one
        insert = sqlite.insert(table)

        def least(a, b):
            return func.coalesce(func.min(a, b), a, b)

        def greatest(a, b):
            return func.coalesce(func.max(a, b), a, b)
    new, c = insert.excluded, table.c
    db.session.execute(insert.on_conflict_do_update(
        index_elements=[c.container_id, c.hour],
        set_={"t_min": least(c.t_min, new.t_min), "t_max": greatest(c.t_max, new.t_max),
              "l_min": least(c.l_min, new.l_min), "l_max": greatest(c.l_max, new.l_max),
              "count": c.count + new.count}), values)


def whole_hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The whole hours inside [start, end]: [first, last) (first >= last: none)."""
    first = hour_of(start) + (HOUR if start != hour_of(start) else timedelta(0))
    return first, hour_of(end)


def buckets_of(container_id: int, first: datetime, last: datetime, start: datetime, seconds: float) -> list[dict]:
    """The hours in [first, last) as chart buckets from `start` of `seconds` each, grouped in the
    database; an hour goes to the bucket its middle falls in (a reading is drawn at most half an
    hour from its time)."""
    table = ReadingHour.__table__
    bucket = bucket_number(table.c.hour, start - HOUR / 2, seconds).label("bucket")
    rows = db.session.execute(
        select(bucket, func.min(table.c.t_min),
               func.max(table.c.t_max), func.min(table.c.l_min), func.max(table.c.l_max), func.sum(table.c.count))
        .where(table.c.container_id == container_id, table.c.hour >= first, table.c.hour < last)
        .group_by(bucket).order_by(bucket)).all()
    return as_buckets(rows)


def bucket_number(column, start: datetime, seconds: float):
    """Which of the equal time buckets from `start` a timestamp falls in, computed by the database."""
    if is_postgres():
        return func.floor(func.extract("epoch", column - literal(start)) / seconds)
    return cast((func.julianday(column) - func.julianday(literal(start.isoformat(sep=" ")))) * 86400.0 / seconds,
                Integer)


def as_buckets(rows) -> list[dict]:
    """(bucket, t_min, t_max, l_min, l_max, count) rows as the chart's dicts."""
    return [{"bucket": int(b), "t_min": t_min, "t_max": t_max, "l_min": l_min, "l_max": l_max, "count": int(n)}
            for b, t_min, t_max, l_min, l_max, n in rows]


def merge(parts: list[dict]) -> list[dict]:
    """Buckets of the same number folded into one, in bucket order."""
    merged: dict[int, dict] = {}
    for part in parts:
        into = merged.get(part["bucket"])
        if into is None:
            merged[part["bucket"]] = dict(part)
            continue
        for low, high in (("t_min", "t_max"), ("l_min", "l_max")):
            into[low] = _low((into[low], part[low]))
            into[high] = _high((into[high], part[high]))
        into["count"] += part["count"]
    return [merged[b] for b in sorted(merged)]
