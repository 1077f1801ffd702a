"""catalogue_replica_vs_primary: researchers' catalogue searches per second under gunicorn
(2 sync workers) while a writer keeps the primary busy, read from the primary alone and
then with a streaming replica (DATABASE_REPLICA_URL) answering the catalogue.

Both databases are a private pair on this machine (biobank.core.pg_clusters): a fresh
primary and its pg_basebackup hot standby. On one machine the replica shares the CPUs
with the primary, so the ratio shows the cost of routing (one replay-position check per
request) rather than the relief a replica on its own host brings."""
import threading

import psycopg

from biobank.core import databases, pg_clusters

from .common import app_context, csv_rows, load_demo_layout
from .http import _load, gunicorn


def _writer(dsn: str, stop: threading.Event, counter: list) -> None:
    """Corrections on the primary, one short transaction each, until told to stop."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        ids = [row[0] for row in conn.execute("SELECT id FROM sample ORDER BY id LIMIT 500")]
        while not stop.is_set():
            conn.execute("UPDATE sample SET notes = %s WHERE id = %s", (f"bench {counter[0]}", ids[counter[0] % len(ids)]))
            counter[0] += 1


def _rate(url: str, replica: str | None, token: str, paths: list[str], requests: int, threads: int,
          dsn: str) -> tuple[float, int]:
    stop, writes = threading.Event(), [0]
    writer = threading.Thread(target=_writer, args=(dsn, stop, writes))
    with gunicorn(url, 2, **({"DATABASE_REPLICA_URL": replica} if replica else {})) as port:
        headers = {"Authorization": f"Bearer {token}"}
        _load(port, paths, headers, min(100, requests), threads)
        writer.start()
        try:
            rate = _load(port, paths, headers, requests, threads)
        finally:
            stop.set()
            writer.join()
    return rate, writes[0]


def run(samples: int, requests: int, threads: int = 4) -> dict:
    from biobank.auth.service import create_user, issue_token
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    from biobank.samples import importer
    reason = pg_clusters.unavailable()
    if reason:
        return {"skipped": reason}
    pair = pg_clusters.ReplicaPair().start()
    try:
        pair.create_database("bench")
        primary, replica = pair.url("primary", "bench"), pair.url("replica", "bench")
        databases.migrate(primary)
        actor = system_actor("bench")
        with app_context(primary):
            load_demo_layout()
            importer.import_samples(actor, csv_rows(samples, prefix="RP"))
            token, _ = issue_token(create_user(actor, "benchresearcher", "bench-password-1", "researcher"), 12)
            db.session.commit()
        pair.wait_for_replay(timeout=300)
        paths = [f"/api/v1/catalogue?sample_type={t}&page={p}&per_page=50"
                 for t in ("plasma", "serum", "dna") for p in range(1, 8)]
        dsn = pair.url("primary", "bench", "postgresql")
        alone, writes_alone = _rate(primary, None, token, paths, requests, threads, dsn)
        before = _replica_transactions(pair)
        routed, writes_routed = _rate(primary, replica, token, paths, requests, threads, dsn)
        answered_there = _replica_transactions(pair) - before
    finally:
        pair.stop()
    ratio = routed / alone
    return {"ratio": ratio, "target": "reported (one machine: >= 0.8 means routing costs little)", "ok": ratio >= 0.8,
            "inputs": {"server": "gunicorn, 2 sync workers, loopback", "database": "PostgreSQL primary + streaming replica, same machine",
                       "stored_samples": samples, "requests": requests, "client_threads": threads,
                       "concurrent_writer": "one UPDATE per transaction on the primary, as fast as it goes"},
            "detail": {"primary_req_per_s": round(alone), "replica_req_per_s": round(routed),
                       "writes_during_primary_run": writes_alone, "writes_during_replica_run": writes_routed,
                       "transactions_on_the_replica": answered_there}}


def _replica_transactions(pair) -> int:
    """Transactions the replica has run in the bench database (its statistics, read there)."""
    with pair.connect("replica") as conn:
        return conn.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'bench'").fetchone()[0]
