"""Exporting the custody log (CSV, JSON array or NDJSON), streamed.

Events are read in batches by keyset on `seq` (WHERE seq > last ORDER BY seq
LIMIT n), as plain rows, so exporting a million events holds one batch in
memory at a time. CSV cells are made safe for spreadsheets (a value starting
with = + - @ is prefixed with '), so the CSV is for reading; the JSON forms carry
the stored values exactly (with prev_hash and hash, so the chain can be checked
outside the application).
"""
import csv
import io
import json
from datetime import date, datetime, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..core.time import iso_utc, to_naive_utc
from ..custody.models import CustodyEvent
from ..extensions import db
from ..samples.queries import spreadsheet_safe
from .models import VerificationRun

FORMATS = {"csv": "text/csv", "json": "application/json", "ndjson": "application/x-ndjson"}
COLUMNS = ("seq", "at", "actor", "actor_role", "via", "action", "subject_type", "subject", "sample_barcode",
           "container_id", "request_id", "from_location", "to_location", "reason", "changes", "prev_hash", "hash")
BATCH = 1000


def _bound(value, end: bool):
    """A date means the whole day: `until` 2025-03-01 includes that day."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return to_naive_utc(value)
    if isinstance(value, date):
        start = datetime(value.year, value.month, value.day)
        return start + timedelta(days=1) if end else start
    raise InvalidInput(_("'%(value)s' is not a date.", value=value), code="invalid_date")


def filtered(filters: dict):
    """The conditions of a custody log search: sample, container, actor, action, since/until."""
    conditions = []
    if filters.get("sample"):
        conditions.append(CustodyEvent.sample_barcode == filters["sample"])
    if filters.get("container_id"):
        conditions.append(CustodyEvent.container_id == filters["container_id"])
    if filters.get("actor"):
        conditions.append(CustodyEvent.actor == filters["actor"])
    if filters.get("action"):
        conditions.append(CustodyEvent.action == filters["action"])
    since, until = time_bounds(filters.get("since"), filters.get("until"))
    if since is not None:
        conditions.append(CustodyEvent.at >= since)
    if until is not None:
        conditions.append(CustodyEvent.at < until)
    return conditions


def time_bounds(since, until) -> tuple[datetime | None, datetime | None]:
    """Dates or datetimes -> naive UTC [since, until); a date `until` includes that day."""
    since, until = _bound(since, False), _bound(until, True)
    if since is not None and until is not None and until <= since:
        raise InvalidInput(_("The date range ends before it starts."), code="invalid_date_range")
    return since, until


def _rows(conditions, batch: int):
    columns = [getattr(CustodyEvent, name) for name in COLUMNS]
    last = 0
    while True:
        rows = db.session.execute(select(*columns).where(CustodyEvent.seq > last, *conditions)
                                  .order_by(CustodyEvent.seq).limit(batch)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]
        if len(rows) < batch:
            return


def _record(row) -> dict:
    record = dict(zip(COLUMNS, row))
    record["at"] = iso_utc(record["at"])
    record["changes"] = json.loads(record["changes"] or "{}")
    return record


def export(actor, filters: dict, fmt: str = "csv", batch: int = BATCH):
    """Check permission and filters now; return a generator of text chunks (oldest event first)."""
    require(actor, "reports.read")
    if fmt not in FORMATS:
        raise InvalidInput(_("Unknown format '%(format)s'; use csv, json or ndjson.", format=fmt),
                           code="invalid_format")
    conditions = filtered(filters)
    return {"csv": _csv, "json": _json_array, "ndjson": _ndjson}[fmt](conditions, batch)


def _csv(conditions, batch):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    for rows in _rows(conditions, batch):
        buffer.seek(0)
        buffer.truncate()
        for row in rows:
            values = dict(zip(COLUMNS, row))
            values["at"] = iso_utc(values["at"])
            writer.writerow([spreadsheet_safe(values[c]) for c in COLUMNS])
        yield buffer.getvalue()


def _json_array(conditions, batch):
    yield "["
    first = True
    for rows in _rows(conditions, batch):
        parts = [json.dumps(_record(row), ensure_ascii=False) for row in rows]
        yield ("\n" if first else ",\n") + ",\n".join(parts)
        first = False
    yield "\n]\n"


def _ndjson(conditions, batch):
    for rows in _rows(conditions, batch):
        yield "".join(json.dumps(_record(row), ensure_ascii=False) + "\n" for row in rows)


def verification_runs(actor, limit: int = 10) -> list[VerificationRun]:
    """The latest chain verifications started from the audit page or the API, newest first."""
    require(actor, "reports.read")
    return db.session.execute(select(VerificationRun).order_by(VerificationRun.id.desc())
                              .limit(limit)).scalars().all()
