"""Fixtures: a fresh database per test, on SQLite and on PostgreSQL.

The schema comes from the Alembic migrations (run once into a template, then
copied per test), so the tests exercise the same schema users get.
PostgreSQL tests skip with a reason when no server is reachable, except under
CI=true, where they fail instead.
"""
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest

_TMP = Path(tempfile.mkdtemp(prefix="biobank-tests-"))
os.environ["BIOBANK_INSTANCE_PATH"] = str(_TMP / "instance")
os.environ["BIOBANK_SECRET_KEY"] = "test-secret"
os.environ.pop("DATABASE_URL", None)

from biobank import create_app  # noqa: E402
from biobank.core import databases  # noqa: E402
from biobank.extensions import db  # noqa: E402

from .factories import Factory  # noqa: E402

PG_ADMIN_URL = os.environ.get("BIOBANK_TEST_POSTGRES", databases.DEFAULT_PG_ADMIN_URL)
IN_CI = os.environ.get("CI", "").lower() == "true"
_templates: dict[str, str] = {}


def _pg_admin():
    return databases.pg_admin(PG_ADMIN_URL)


def _pg_url(name: str) -> str:
    return databases.pg_database_url(PG_ADMIN_URL, name)


def new_database(backend: str) -> tuple[str, callable]:
    """A fresh migrated database: (url, drop)."""
    if backend == "sqlite":
        if "sqlite" not in _templates:
            path = _TMP / "template.sqlite3"
            databases.migrate(f"sqlite:///{path}")
            _templates["sqlite"] = str(path)
        target = _TMP / f"db-{uuid.uuid4().hex}.sqlite3"
        shutil.copy(_templates["sqlite"], target)
        return f"sqlite:///{target}", lambda: [p.unlink(missing_ok=True) for p in
                                              _TMP.glob(target.name + "*")]
    reason = databases.postgres_unreachable(PG_ADMIN_URL)
    if reason:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {reason}")
        pytest.skip(reason)
    with _pg_admin() as conn:
        if "postgres" not in _templates:
            name = f"biobank_tmpl_{os.getpid()}"
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
            databases.migrate(_pg_url(name))
            _templates["postgres"] = name
        name = f"biobank_t_{uuid.uuid4().hex[:12]}"
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{_templates["postgres"]}"')

    def drop():
        with _pg_admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return _pg_url(name), drop


def pytest_sessionfinish(session, exitstatus):
    if "postgres" in _templates:
        try:
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{_templates["postgres"]}" WITH (FORCE)')
        except Exception:
            pass
    shutil.rmtree(_TMP, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request):
    marks = {m.name for m in request.node.iter_markers()}
    if "postgres" in marks and request.param != "postgres":
        pytest.skip("PostgreSQL-only test")
    if "sqlite_only" in marks and request.param != "sqlite":
        pytest.skip("SQLite-only test")
    return request.param


@pytest.fixture
def database_url(backend):
    url, drop = new_database(backend)
    yield url
    drop()


@pytest.fixture
def app(database_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "WTF_CSRF_ENABLED": False})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make(app):
    """Test data factories (tests/factories.py)."""
    return Factory(app)


@pytest.fixture
def api(app, make):
    """An API client per role: api("technician").post("/samples", json=...)."""
    return make.api_client


@pytest.fixture(scope="session")
def chromium():
    """One Chromium (and one Playwright) for every browser test of the run: Playwright's sync API
    refuses to start a second one while the first is running."""
    from .web.conftest import CHROMIUM, CHROMIUM_ARGS
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        if IN_CI:
            pytest.fail(f"CI=true requires Chromium at {CHROMIUM}")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=10_000)  # as long as a page action may take (browser_page's context)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
