"""P5 import_vs_raw: the real CSV import (samples.importer.import_samples) of N
rows against a raw executemany of the same rows into the same tables (sample,
custody_event, and the container counters), both on SQLite files of their own
with the demo layout. import_pg_vs_copy: the same on PostgreSQL databases of
their own, against a raw COPY of the same rows."""
import time

from sqlalchemy import text

from .common import TempDatabase, app_context, csv_rows, load_demo_layout

SAMPLE_COLUMNS = ("barcode", "sample_type", "storage_temperature", "status", "donor", "collected_at",
                  "anatomical_site", "diagnosis", "volume", "unit", "sprec", "notes", "parent_id",
                  "freeze_thaw_count", "consent_withdrawn", "container_id", "pos_row", "pos_col",
                  "home_container_id", "home_row", "home_col", "created_at", "created_by")
EVENT_COLUMNS = ("seq", "at", "actor", "actor_role", "via", "action", "subject_type", "subject",
                 "sample_barcode", "container_id", "request_id", "from_location", "to_location", "reason",
                 "changes", "prev_hash", "hash")


ROUNDS = 3  # best of each, each on a fresh database: the machines these run on are shared, and noisy


def _import_once(actor, data: str, backend: str):
    """Seconds of the real import, and the rows it stored (for the raw run)."""
    from biobank.extensions import db
    from biobank.samples import importer
    with TempDatabase(backend, "p5a") as tdb, app_context(tdb.url):
        load_demo_layout()
        t0 = time.perf_counter()
        importer.import_samples(actor, data)
        db.session.commit()
        seconds = time.perf_counter() - t0
        samples = [tuple(r) for r in db.session.execute(text(
            f"SELECT {', '.join(SAMPLE_COLUMNS)} FROM sample ORDER BY id"))]
        events = [tuple(r) for r in db.session.execute(text(
            f"SELECT {', '.join(EVENT_COLUMNS)} FROM custody_event WHERE action = 'sample.registered' ORDER BY seq"))]
        usage = [tuple(r) for r in db.session.execute(text("SELECT id, used FROM container WHERE used > 0"))]
        db.session.rollback()
    return seconds, (samples, events, usage)


def _raw_once(stored, backend: str) -> float:
    """Seconds of a raw DB-API executemany of the same rows into the same tables."""
    from biobank.extensions import db
    samples, events, usage = stored
    with TempDatabase(backend, "p5b") as tdb, app_context(tdb.url):
        load_demo_layout()
        db.session.close()
        raw_conn = db.engine.raw_connection()
        try:
            cur = raw_conn.cursor()
            mark = "?" if backend == "sqlite" else "%s"
            t0 = time.perf_counter()
            if backend == "sqlite":
                cur.execute("BEGIN")
            cur.executemany(f"INSERT INTO sample ({', '.join(SAMPLE_COLUMNS)}) VALUES "
                            f"({', '.join([mark] * len(SAMPLE_COLUMNS))})", samples)
            cur.executemany(f"INSERT INTO custody_event ({', '.join(EVENT_COLUMNS)}) VALUES "
                            f"({', '.join([mark] * len(EVENT_COLUMNS))})", events)
            cur.executemany(f"UPDATE container SET used = {mark} WHERE id = {mark}", [(u, i) for i, u in usage])
            raw_conn.commit()
            return time.perf_counter() - t0
        finally:
            raw_conn.close()


def _raw_copy_once(stored, backend: str) -> float:
    """Seconds of a raw psycopg COPY of the same rows into the same tables (PostgreSQL), and the
    counters set by one executemany."""
    from biobank.extensions import db
    samples, events, usage = stored
    with TempDatabase(backend, "p5c") as tdb, app_context(tdb.url):
        load_demo_layout()
        db.session.close()
        raw_conn = db.engine.raw_connection()
        try:
            driver = raw_conn.driver_connection
            t0 = time.perf_counter()
            with driver.cursor() as cur:
                for table, columns, rows in (("sample", SAMPLE_COLUMNS, samples),
                                             ("custody_event", EVENT_COLUMNS, events)):
                    with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                cur.executemany("UPDATE container SET used = %s WHERE id = %s", [(u, i) for i, u in usage])
            driver.commit()
            return time.perf_counter() - t0
        finally:
            raw_conn.close()


def run(n: int, backend: str = "sqlite") -> dict:
    from biobank.core.actor import system_actor
    actor = system_actor("bench")
    data = csv_rows(n, prefix="IM")
    import_runs, raw_runs = [], []
    raw_once = _raw_once if backend == "sqlite" else _raw_copy_once
    for _ in range(ROUNDS):  # interleaved
        seconds, stored = _import_once(actor, data, backend)
        import_runs.append(seconds)
        raw_runs.append(raw_once(stored, backend))
        del stored
    imported, raw = min(import_runs), min(raw_runs)
    ratio = imported / raw
    target = 2 if backend == "sqlite" else 1.5
    raw_what = ("DB-API executemany" if backend == "sqlite" else "psycopg COPY (counters: one executemany)")
    return {"ratio": ratio, "target": f"<= {target}", "ok": ratio <= target,
            "inputs": {"rows": n, "backend": backend, "layout": "demo (41,600 positions)", "strategy": "compact",
                       "raw": f"{raw_what} of the imported rows into sample, custody_event, container",
                       "rounds": f"best of {ROUNDS} each"},
            "detail": {"import_s": round(imported, 3), "raw_s": round(raw, 3),
                       "import_runs_s": [round(x, 3) for x in import_runs],
                       "raw_runs_s": [round(x, 3) for x in raw_runs],
                       "import_rows_per_s": round(n / imported), "raw_rows_per_s": round(n / raw)}}
