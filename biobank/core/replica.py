"""Reads at scale from a PostgreSQL streaming replica (DATABASE_REPLICA_URL).

The catalogue, the reports, FHIR and the exports only read. With a replica
configured, their SELECTs go to it; every write, and every read of any other
page, goes to the primary. A reader who has just written reads their own
writes: after each committed write the primary's WAL position is kept in the
writer's session (and, for bearer-token clients, per user in this process);
a replica that has not replayed that far yet is passed over for the primary.
A replica that does not answer is passed over too.

SQLite has no replicas: there the setting is ignored.
"""
import logging

from flask import current_app, g, has_request_context, request, session as cookie_session
from flask_login import current_user
from flask_sqlalchemy.session import Session as FlaskSession
from sqlalchemy import Select, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

# The endpoints that only read and may be answered by the replica.
REPLICA_ENDPOINTS = frozenset({
    "requests_web.catalogue", "requests_api.Catalogue",
    "reports_web.capacity", "reports_web.capacity_chart", "reports_api.Capacity",
    "reports_api.AuditExport", "reports_api.Directory", "reports_api.SampleFhir",
    "network_web.network", "network_api.Network",
    "fhir.metadata", "fhir.search_type", "fhir.read",
    "fhir_api.metadata", "fhir_api.search_type", "fhir_api.read",
})

_WAL_KEY = "wal_lsn"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
_last_write_by_user: dict[int, str] = {}  # bearer-token clients carry no session cookie


class RoutingSession(FlaskSession):
    """db.session: a plain SELECT of a replica-served request goes to the replica."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        if bind is None and isinstance(clause, Select) and clause._for_update_arg is None \
                and not self._flushing and not self.info.get("wrote") and g_reads_from_replica():
            return current_app.extensions["replica_engine"]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


def g_reads_from_replica() -> bool:
    return has_request_context() and g.get("read_from_replica", False)


def register(app) -> None:
    url = app.config.get("DATABASE_REPLICA_URL")
    if not url or not url.startswith("postgresql"):
        return
    app.extensions["replica_engine"] = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1),
                                                     pool_pre_ping=True)
    app.before_request(_choose_database)  # after the request's identity is known (core.requests)
    # After-request functions run last-registered first: at index 0 this one runs after the
    # request's commit (core.requests), when the write is in the primary's WAL.
    app.after_request_funcs.setdefault(None, []).insert(0, _remember_write)


def _choose_database():
    g.read_from_replica = False
    if request.endpoint not in REPLICA_ENDPOINTS or request.method != "GET":
        return
    user_id = getattr(current_user, "id", None) if current_user.is_authenticated else None  # from the primary
    needed = cookie_session.get(_WAL_KEY) or (user_id is not None and _last_write_by_user.get(user_id))
    try:
        with current_app.extensions["replica_engine"].connect() as connection:
            if needed:
                caught_up = connection.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:lsn AS pg_lsn)"),
                                               {"lsn": needed}).scalar()
            else:
                caught_up = connection.execute(text("SELECT pg_is_in_recovery() IS NOT NULL")).scalar()
    except SQLAlchemyError as exc:
        log.warning("read replica not answering, reading from the primary: %s", str(exc).splitlines()[0])
        return
    g.read_from_replica = bool(caught_up)


@event.listens_for(RoutingSession, "after_commit")
def _note_commit(session):
    if has_request_context() and request.method not in SAFE_METHODS:
        g.committed_write = True


def _remember_write(response):
    """After a request that wrote: the primary's WAL position, for this writer's next reads."""
    if not g.pop("committed_write", False) or response.status_code >= 400:
        return response
    with current_app.extensions["sqlalchemy"].engine.connect() as connection:
        lsn = connection.execute(text("SELECT CAST(pg_current_wal_lsn() AS text)")).scalar()
    if request.headers.get("Authorization", "").startswith("Bearer "):
        if current_user.is_authenticated:
            _last_write_by_user[current_user.id] = lsn
    else:
        cookie_session[_WAL_KEY] = lsn
    return response

