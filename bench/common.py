"""Shared plumbing for the benchmarks: temporary databases, an app per database,
timers, and the demo layout."""
import os
import shutil
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

PG_ADMIN_URL = os.environ.get("BIOBANK_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")

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


def migrate(url: str) -> None:
    from flask_migrate import upgrade
    from biobank.extensions import db
    app = make_app(url)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _pg_admin():
    import psycopg
    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)


def postgres_available() -> str | None:
    try:
        with _pg_admin():
            return None
    except Exception as exc:  # any connection problem: not available
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"


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
            base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
            self.url = f"{base}/{self.name}"
        migrate(self.url)

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


def load_demo_layout() -> None:
    """The demo layout (biobank.demo: 26 tanks x 4 racks x 4 boxes x 10x10), no samples, and an admin."""
    from biobank import demo
    from biobank.core.actor import system_actor
    from biobank.extensions import db
    from biobank.storage import service as storage
    actor = system_actor("bench")
    site = storage.create_container(actor, name="Central Biobank", kind="site", barcode=demo.SITE_BARCODE)
    for number in range(1, demo.TANKS + 1):
        storage.build_layout(actor, parent_id=site.id, name=f"Tank {number:02d}", kind="tank", racks=demo.RACKS,
                             boxes_per_rack=demo.BOXES, rows=demo.ROWS, cols=demo.COLS,
                             storage_temperature="LN2_vapor")
    site_id = site.id
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
