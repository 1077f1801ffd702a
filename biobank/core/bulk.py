"""Bulk inserts: many rows through the driver's executemany, or COPY on PostgreSQL, there
optionally written behind the caller's back by a writer thread.

A large import spends about as long in Python (checking, placing, hashing the
custody chain) as the database spends storing what it produced. Inside
`writes_behind()`, `bulk_insert` hands its rows to one writer thread, on the
transaction's own connection, and returns; the caller prepares the next rows
while the database stores these, so on a machine with two cores the two halves
overlap. Any other statement on that connection first waits for the rows handed
over, and an error of theirs is raised there or, at the latest, when the block
ends: the transaction sees the same rows and the same errors, in the same order,
as without it.
"""
import functools
import queue
import threading
from contextlib import contextmanager

from sqlalchemy import event
from sqlalchemy.exc import DBAPIError

from ..extensions import db

_QUEUED = 2  # batches prepared ahead of the one being written: memory stays a few batches


def bulk_insert(table, rows: list[dict]) -> None:
    """INSERT many rows through the driver's executemany (COPY on PostgreSQL), in the current
    transaction.

    Each column keeps its type's own conversion (SQLAlchemy's bind processors);
    what is skipped is SQLAlchemy's generic per-row parameter handling, which for
    a large import costs as much as the database work itself. All rows must have
    the keys of the first.
    """
    if not rows:
        return
    connection = db.session.connection()
    dialect = connection.dialect
    names = list(rows[0])
    columns = [_column_values(table.c[name].type, dialect, [row[name] for row in rows]) for name in names]
    values = list(zip(*columns))
    quote = dialect.identifier_preparer.quote
    listed = ", ".join(quote(n) for n in names)
    if dialect.name != "postgresql":
        marker = "?" if dialect.paramstyle == "qmark" else "%s"
        connection.exec_driver_sql(f"INSERT INTO {quote(table.name)} ({listed}) "
                                   f"VALUES ({', '.join([marker] * len(names))})", values)
        return
    copy = functools.partial(_copy, connection.connection.driver_connection, dialect.loaded_dbapi.Error,
                             f"COPY {quote(table.name)} ({listed}) FROM STDIN", values)
    writer = db.session.info.get("writes_behind")
    if writer is not None and writer.connection is connection:
        writer.submit(copy)
    else:
        copy()


def _copy(driver, dbapi_error, sql: str, values) -> None:
    """COPY rows in (PostgreSQL): one statement whatever their number, instead of one INSERT
    each. Errors are raised as SQLAlchemy's, as an INSERT's would be."""
    try:
        with driver.cursor() as cursor, cursor.copy(sql) as copy:
            for row in values:
                copy.write_row(row)
    except dbapi_error as exc:
        raise DBAPIError.instance(sql, None, exc, dbapi_error) from exc


def _column_values(type_, dialect, values: list) -> list:
    """One column's values as the driver takes them.

    Converted column by column, and each distinct value once: the rows of a
    batch share their timestamp, so it is not formatted again for every row."""
    convert = type_._cached_bind_processor(dialect)
    if convert is None:
        return values
    if type_.hashable:
        convert = functools.cache(convert)
    return [None if value is None else convert(value) for value in values]


class _Writer:
    """One thread writing the batches handed to it, in order, on one connection."""

    def __init__(self, connection):
        self.connection = connection
        self._error: BaseException | None = None
        self._dropping = False
        self._jobs: queue.Queue = queue.Queue(maxsize=_QUEUED)
        self._thread = threading.Thread(target=self._run, name="bulk-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                if self._error is None and not self._dropping:  # after an error the transaction is lost
                    job()
            except BaseException as exc:  # raised in the caller's thread by wait() or submit()
                self._error = exc
            finally:
                self._jobs.task_done()

    def submit(self, job) -> None:
        self._raise()
        self._jobs.put(job)

    def wait(self, *_statement) -> None:
        """Until every batch handed over is written; raises the first error among them.
        (Also SQLAlchemy's before_cursor_execute hook: called with the statement's details.)"""
        if threading.current_thread() is not self._thread:
            self._jobs.join()
            self._raise()

    def _raise(self) -> None:
        if self._error is not None:
            raise self._error

    def stop(self, drop: bool) -> None:
        """End the thread; with `drop`, batches not yet written are not (the transaction is rolled back)."""
        self._dropping = drop
        self._jobs.put(None)
        self._thread.join()


@contextmanager
def writes_behind():
    """Inside, bulk_insert hands its rows to a writer thread and returns (see the module's text).

    On PostgreSQL (see _may_write_behind); elsewhere, and inside another such block,
    bulk_insert writes at once as usual."""
    connection = db.session.connection()
    if db.session.info.get("writes_behind") is not None or not _may_write_behind(connection):
        yield
        return
    writer = _Writer(connection)
    db.session.info["writes_behind"] = writer
    event.listen(connection, "before_cursor_execute", writer.wait)
    finished = False
    try:
        yield
        writer.wait()
        finished = True
    finally:
        writer.stop(drop=not finished)
        event.remove(connection, "before_cursor_execute", writer.wait)
        db.session.info.pop("writes_behind", None)


def _may_write_behind(connection) -> bool:
    """PostgreSQL only: the server stores the rows in a process of its own while the writer
    thread waits for it, without Python's lock. SQLite's driver binds every row with that lock
    held and lets go of it around each row's write, so the two threads would take turns instead."""
    return connection.dialect.name == "postgresql"
