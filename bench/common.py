"""Shared plumbing for the benchmarks: temporary databases, an app per database,
timers, and the demo layout."""
import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from biobank.core import databases

PG_ADMIN_URL = os.environ.get("BIOBANK_BENCH_POSTGRES", databases.DEFAULT_PG_ADMIN_URL)

_TMP = Path(tempfile.mkdtemp(prefix="biobank-bench-"))
os.environ.setdefault("BIOBANK_INSTANCE_PATH", str(_TMP / "instance"))
os.environ.setdefault("BIOBANK_SECRET_KEY", "bench-secret")
os.environ.pop("DATABASE_URL", None)


def tmp_dir() -> Path:
    return _TMP


def cleanup() -> None:
    shutil.rmtree(_TMP, ignore_errors=True)


def make_app(url: str):
    from biobank import create_app
    return create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})


def _pg_admin():
    return databases.pg_admin(PG_ADMIN_URL)


def postgres_available() -> str | None:
    """None when PostgreSQL answers, else why not."""
    return databases.postgres_unreachable(PG_ADMIN_URL)


def pg_dsn(url: str) -> str:
    """A psycopg DSN for an SQLAlchemy URL."""
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


class TempDatabase:
    """A fresh, migrated database of its own; drop() removes it."""

    def __init__(self, backend: str, label: str = "db"):
        self.backend = backend
        if backend == "sqlite":
            self.path = _TMP / f"{label}-{uuid.uuid4().hex[:8]}.sqlite3"
            self.url = f"sqlite:///{self.path}"
        else:
            self.name = f"biobank_bench_{label}_{uuid.uuid4().hex[:8]}"
            with _pg_admin() as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = databases.pg_database_url(PG_ADMIN_URL, self.name)
        databases.migrate(self.url)

    def drop(self) -> None:
        if self.backend == "sqlite":
            for p in _TMP.glob(self.path.name + "*"):
                p.unlink(missing_ok=True)
        else:
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.drop()


@contextmanager
def app_context(url: str):
    from biobank.extensions import db
    app = make_app(url)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


class Timer:
    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def load_demo_layout() -> int:
    """The demo layout (biobank.demo: 26 tanks x 4 racks x 4 boxes x 10x10), no samples; the site's id."""
    from biobank.core.actor import system_actor
    from biobank.demo import build_demo_layout
    from biobank.extensions import db
    site_id = build_demo_layout(system_actor("bench")).id
    db.session.commit()
    return site_id


def csv_rows(n: int, prefix: str = "BN", start: int = 0) -> str:
    """n sample rows in the import format (no positions: placed by strategy)."""
    lines = ["barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode"]
    types = ("plasma", "serum", "tissue_frozen", "dna", "buffy_coat")
    for i in range(start, start + n):
        t = types[i % len(types)]
        lines.append(f"{prefix}{i:08d},{t},D{i // 3:06d},2025-03-{1 + i % 28:02d}T09:30:00Z,"
                     f"{'1.0' if t != 'tissue_frozen' else '0.5'},{'mg' if t == 'tissue_frozen' else 'mL'},"
                     f"{'C50.9' if t == 'tissue_frozen' else ''},C50.9,")
    return "\n".join(lines) + "\n"
