"""Append custody events and verify the chain.

Every service that changes state calls record() (or record_many()) inside its
own transaction, so a change and its event land together or not at all.
Appends lock the single custody_head row, which keeps the chain linear under
concurrent writers (SQLite's write lock does the same there). On PostgreSQL a
single event, the common case, is written as pending and chained by a deferred
trigger when its transaction commits (migration 0016): the head is locked only
while the commit runs inside the server, not for the rest of the transaction or
a round trip to Python. Until then it has no sequence number or hash.
"""
import hashlib
import queue
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache

from flask_babel import gettext as _
from sqlalchemy import select, text

from ..core.bulk import bulk_insert
from ..core.db import is_postgres
from ..core.permissions import require
from ..core.time import utcnow
from ..extensions import db
from .chain import (GENESIS, SORTED_FIELDS, body_hash, canonical_json, event_text_around_seq, in_order_json,
                    timestamp_text)
from .models import CustodyEvent, CustodyHead


def _locked_head() -> CustodyHead:
    head = db.session.execute(
        select(CustodyHead).where(CustodyHead.id == 1).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if head is None:  # a database created before the head row existed
        head = CustodyHead(id=1, seq=0, hash=GENESIS)
        db.session.add(head)
    return head


def _event_fields(actor, action, subject_type, subject, *, sample_barcode=None, container_id=None,
                  request_id=None, from_location=None, to_location=None, reason=None,
                  changes=None) -> dict:
    # In SORTED_FIELDS order, with `at` and `seq` filled in by the append (see body_hash).
    return {
        "action": action, "actor": actor.username, "actor_role": actor.role, "at": None,
        "changes": canonical_json(changes or {}), "container_id": container_id, "from_location": from_location,
        "reason": reason or None, "request_id": request_id, "sample_barcode": sample_barcode, "seq": None,
        "subject": str(subject), "subject_type": subject_type, "to_location": to_location, "via": actor.via,
    }


def record(actor, action: str, subject_type: str, subject, **details) -> None:
    """Append one event; the caller's transaction commits it with the change."""
    record_many([(actor, action, subject_type, subject, details)])


def record_many(entries) -> None:
    """Append many events under one lock: [(actor, action, subject_type, subject, details), ...]."""
    db.session.flush()  # the change itself first, so a refused change never reaches the chain
    if len(entries) == 1 and is_postgres():
        actor, action, subject_type, subject, details = entries[0]
        row = _event_fields(actor, action, subject_type, subject, **details)
        row["at"] = utcnow()
        _append_at_commit(row)
        return
    with appending() as chain:
        chain.add(entries)


class _ChainAppend:
    """The head of the chain, locked, and the events appended after it so far (see appending)."""

    def __init__(self):
        if is_postgres():
            # this transaction's pending events first, so that the chain keeps the order of its events
            # (and what comes before the head at every commit, migrations 0016 and 0017, comes first here too)
            db.session.execute(text("SELECT custody_chain_pending()"))
        self.head = _locked_head()
        self.seq, self.prev = self.head.seq, self.head.hash
        self.now = utcnow()
        self._at_text = timestamp_text(self.now)

    def add(self, entries) -> None:
        """Number, hash and insert these events after the ones before them."""
        seq, prev, rows = self.seq, self.prev, []
        for actor, action, subject_type, subject, details in entries:
            seq += 1
            row = _event_fields(actor, action, subject_type, subject, **details)
            row["seq"], row["at"] = seq, self._at_text
            hashed = body_hash(row, prev)  # the row holds exactly the hashed fields here
            row["at"], row["prev_hash"], row["hash"] = self.now, prev, hashed
            prev = hashed
            rows.append(row)
        bulk_insert(CustodyEvent.__table__, rows)
        self.seq, self.prev = seq, prev

    def close(self) -> None:
        if (self.head.seq, self.head.hash) != (self.seq, self.prev):
            self.head.seq, self.head.hash = self.seq, self.prev
            db.session.flush()


@contextmanager
def appending():
    """Lock the chain's head, then add events to it batch by batch (chain.add(entries), in
    record_many's form); the head moves past them when the block ends. A bulk change adds the
    events of each batch as that batch is ready, so that they are hashed while the database
    stores what came before (core.bulk.writes_behind). The caller flushes its change first."""
    chain = _ChainAppend()
    yield chain
    chain.close()


# Written by the application into custody_pending; the rest is the trigger's (migration 0016).
_PENDING_COLUMNS = ("at", "actor", "actor_role", "via", "action", "subject_type", "subject", "sample_barcode",
                    "container_id", "request_id", "from_location", "to_location", "reason", "changes")


@cache
def _pending_statement(paramstyle: str) -> str:
    """INSERT one event into custody_pending, to be numbered, hashed and chained at COMMIT
    (the driver's own text: a single event is the hot path of every state change)."""
    names = _PENDING_COLUMNS + ("text_before", "text_after")
    marks = ", ".join(f"%({name})s" if paramstyle == "pyformat" else f":{name}" for name in names)
    return f"INSERT INTO custody_pending ({', '.join(names)}) VALUES ({marks})"


def _append_at_commit(row: dict) -> None:
    """Append one event on PostgreSQL: the transaction's commit chains it (it has no
    sequence number or hash until then), holding the head only while the commit runs."""
    before, after = event_text_around_seq(row)
    params = {name: row[name] for name in _PENDING_COLUMNS}
    params["text_before"], params["text_after"] = before, after
    connection = db.session.connection()
    connection.exec_driver_sql(_pending_statement(connection.dialect.paramstyle), params)


@dataclass
class VerifyResult:
    ok: bool
    events_checked: int
    first_bad_event: dict | None = None
    head_seq: int = 0
    problems: list = field(default_factory=list)


_INTEGER_FIELDS = ("container_id", "request_id", "seq")


def _server_text_sql() -> str:
    """PostgreSQL's own writing of an event's canonical text (chain.body_hash's), from its
    stored columns: to_json escapes a string as Python's json does with ensure_ascii=False
    (the quote, the backslash, \\b \\f \\n \\r \\t, other control characters as \\u00xx)."""
    parts = []
    for index, name in enumerate(SORTED_FIELDS):
        if name == "at":
            value = """to_json(to_char(at, 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text"""
        elif name in _INTEGER_FIELDS:
            value = f"coalesce({name}::text, 'null')"
        else:
            value = f"coalesce(to_json({name})::text, 'null')"
        parts.append(f"'{'{' if index == 0 else ','}\"{name}\":' || {value}")
    return " || ".join(parts) + " || '}'"


def _stored_chain(batch: int):
    """Every stored event as (seq, its canonical text, prev_hash, hash), in seq order.

    Keyset batches straight from the driver's cursor: no server-side cursor left
    open, memory bounded by a few batches, and none of SQLAlchemy's per-row work,
    which would cost as much as the hashing. On PostgreSQL the server writes each
    event's text (see _server_text_sql), and the next batch is fetched by a thread
    of its own while this one is hashed: the driver waits for the server without
    the GIL, so the database's work runs on the other core, behind the hashing.
    Elsewhere Python writes the text from the stored fields."""
    connection = db.session.connection()
    dialect = connection.dialect
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    postgres = dialect.name == "postgresql"
    columns = ("seq", _server_text_sql()) if postgres else SORTED_FIELDS
    sql = (f"SELECT {', '.join(columns + ('prev_hash', 'hash'))} FROM custody_event "
           f"WHERE seq >= {marker} ORDER BY seq LIMIT {marker}")
    cursor = connection.connection.cursor()

    def batches():
        next_seq = 1
        while True:
            cursor.execute(sql, (next_seq, batch))
            rows = cursor.fetchall()
            yield rows
            if len(rows) < batch:
                return
            next_seq = rows[-1][0 if postgres else SORTED_FIELDS.index("seq")] + 1

    source = _ahead(batches()) if postgres else batches()
    try:
        for rows in source:
            if postgres:
                yield from rows
                continue
            for row in rows:
                yield row[SORTED_FIELDS.index("seq")], _python_text(row[:-2], dialect), row[-2], row[-1]
    finally:
        source.close()      # the fetching thread is done before the cursor closes
        cursor.close()


def _python_text(fields: tuple, dialect) -> str:
    """The canonical text of an event from its stored fields (SORTED_FIELDS order), as it was hashed."""
    body = dict(zip(SORTED_FIELDS, fields))
    if not isinstance(body["at"], datetime):  # SQLite's driver hands the stored text
        body["at"] = CustodyEvent.__table__.c.at.type._cached_result_processor(dialect, None)(body["at"])
    body["at"] = timestamp_text(body["at"])
    return in_order_json(body)


def _stored_event(seq: int) -> tuple:
    """One event's hashed fields (SORTED_FIELDS order) as stored."""
    table = CustodyEvent.__table__
    return tuple(db.session.execute(select(*[table.c[name] for name in SORTED_FIELDS])
                                    .where(table.c.seq == seq)).one())


def _ahead(items, depth: int = 2):
    """Iterate `items` in a thread of its own, up to `depth` ahead of the reader. Closing the
    iterator early stops the thread before it returns (the connection is free again)."""
    done = object()
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce():
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put(item)
            slots.put(done)
        except BaseException as exc:  # handed to the reader, raised there
            slots.put(exc)

    worker = threading.Thread(target=produce, name="custody-verify-fetch", daemon=True)
    worker.start()
    try:
        while (item := slots.get()) is not done:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():   # let a producer blocked on a full queue see the stop
            try:
                slots.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def verify(actor=None, batch: int = 20000) -> VerifyResult:
    """Recompute the whole chain; name the first event that does not match."""
    if actor is not None:
        require(actor, "reports.read")
    prev, expected_seq, checked = GENESIS, 1, 0
    sha256 = hashlib.sha256
    for seq, body_text, stored_prev, stored_hash in _stored_chain(batch):
        problem = None
        if seq != expected_seq:
            problem = _("sequence jumps from %(last)s to %(seq)s: events are missing", last=expected_seq - 1, seq=seq)
        elif stored_prev != prev:
            problem = _("its previous-hash does not match the event before it")
        elif sha256((body_text + prev).encode()).hexdigest() != stored_hash and not _python_text_matches(seq, prev,
                                                                                                       stored_hash):
            problem = _("its content does not match its hash: it was changed after it was written")
        if problem:
            fields = dict(zip(SORTED_FIELDS, _stored_event(seq)))
            return VerifyResult(False, checked, {"seq": seq, "action": fields["action"],
                                                 "subject": fields["subject"], "problem": problem})
        prev, expected_seq, checked = stored_hash, seq + 1, checked + 1
    head = db.session.execute(select(CustodyHead.seq, CustodyHead.hash).where(CustodyHead.id == 1)).first()
    if head is not None and (head.seq != checked or head.hash != prev):
        return VerifyResult(False, checked, {"seq": checked + 1 if head.seq > checked else head.seq,
                                             "action": None, "subject": None,
                                             "problem": _("the chain head says %(head)s events but %(checked)s are "
                                                          "stored: events were removed", head=head.seq,
                                                          checked=checked)},
                            head_seq=head.seq)
    return VerifyResult(True, checked, None, head_seq=checked)


def _python_text_matches(seq: int, prev: str, stored_hash: str) -> bool:
    """The text Python writes is the one that was hashed: where the server's differs, it decides."""
    text_now = _python_text(_stored_event(seq), db.session.connection().dialect)
    return hashlib.sha256((text_now + prev).encode()).hexdigest() == stored_hash
