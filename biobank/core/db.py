"""Database plumbing: SQLite pragmas, write transactions, and the one commit point.

SQLite: a transaction that first reads and then writes can fail with "database is
locked" instead of waiting when another writer commits in between. Write
transactions therefore start with BEGIN IMMEDIATE (they wait in the busy
handler, then run alone); read-only requests use a plain BEGIN so readers never
queue behind writers. PostgreSQL needs none of this.
"""
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ..extensions import db

# True unless an adapter says the unit of work only reads (GET requests).
write_intent: ContextVar[bool] = ContextVar("write_intent", default=True)


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


# SQLite errors after which a connection is of no more use: one opened while the file could not be
# written was opened read-only for good, and one that lost its file keeps failing. Treated as a
# disconnect, SQLAlchemy drops the pool's connections and the next request opens fresh ones, so the
# app recovers by itself once the file is back.
_SQLITE_STALE = ("readonly database", "unable to open database", "disk i/o error",
                 "database disk image is malformed")


@event.listens_for(Engine, "handle_error")
def _sqlite_stale_connection(context):
    if context.engine is not None and context.engine.dialect.name == "sqlite" \
            and any(text in str(context.original_exception).lower() for text in _SQLITE_STALE):
        context.is_disconnect = True


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intent.get() else "BEGIN")


# Endpoints whose work first reads a lot and may end without writing (a large import that does not
# fit): their transaction starts as a reader; `read_before_writing` ends the read and the writing
# transaction that follows takes SQLite's write lock (BEGIN IMMEDIATE) only then.
READ_FIRST_ENDPOINTS = {"samples_api.ImportSamples", "samples_web.import_confirm"}


@event.listens_for(Session, "after_flush")
def _wrote(session, flush_context):
    session.info["wrote"] = True


@event.listens_for(Session, "after_transaction_end")
def _transaction_ended(session, transaction):
    if transaction.parent is None:
        session.info.pop("wrote", None)


@contextmanager
def read_before_writing():
    """Run a check that only reads without holding SQLite's write lock, then go on as a writer.

    At the start of a unit of work that has written nothing, the transaction so far (it only read:
    who is asking) ends, the check runs in a reading transaction (BEGIN) that ends with it, and
    what follows starts a writing transaction. Inside a savepoint, after a write, or on PostgreSQL
    (whose writers lock rows, not the database) the check simply runs where it is."""
    session = db.session()  # the request's Session itself (the scoped proxy lacks some of its methods)
    if db.engine.dialect.name != "sqlite" or session.in_nested_transaction() \
            or session.info.get("wrote") or session.new or session.dirty or session.deleted:
        yield
        return
    session.rollback()
    token = write_intent.set(False)
    try:
        yield
    finally:
        session.rollback()
        write_intent.reset(token)
        write_intent.set(True)


@contextmanager
def unit_of_work():
    """Commit once at the end, or roll back everything on any error (CLI adapters)."""
    try:
        yield db.session
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


def is_postgres() -> bool:
    return db.engine.dialect.name == "postgresql"
