"""Whole databases: migrate one by URL, and create or drop PostgreSQL databases
through an administrative connection. Used by the test suite and the benchmarks,
which each work in fresh databases of their own."""
import psycopg

DEFAULT_PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema (the Alembic migrations)."""
    from flask_migrate import upgrade

    from .. import create_app
    from ..extensions import db
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def pg_admin(admin_url: str):
    """An autocommit connection for CREATE/DROP DATABASE."""
    return psycopg.connect(admin_url, autocommit=True, connect_timeout=3)


def postgres_unreachable(admin_url: str) -> str | None:
    """None when PostgreSQL answers at `admin_url`, else a one-line reason."""
    try:
        with pg_admin(admin_url):
            return None
    except Exception as exc:  # any connection problem means: not here
        return f"PostgreSQL not reachable at {admin_url}: {str(exc).splitlines()[0]}"


def pg_database_url(admin_url: str, name: str) -> str:
    """The SQLAlchemy URL of database `name` on the admin URL's server."""
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return f"{base}/{name}"
