"""Configuration from the environment (DESIGN.md: DATABASE_URL, BIOBANK_SECRET_KEY,
BIOBANK_INSTANCE_PATH)."""
import os
import secrets
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def instance_path() -> Path:
    path = Path(os.environ.get("BIOBANK_INSTANCE_PATH") or PROJECT_ROOT / "instance")
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def secret_key(instance: Path) -> str:
    """BIOBANK_SECRET_KEY, or a key generated once into the instance folder."""
    if os.environ.get("BIOBANK_SECRET_KEY"):
        return os.environ["BIOBANK_SECRET_KEY"]
    key_file = instance / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_hex(32))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


def database_url(instance: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'biobank.sqlite3'}"


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def build_config(instance: Path) -> dict:
    https = _flag("BIOBANK_HTTPS")
    return {
        "SECRET_KEY": secret_key(instance),
        "SQLALCHEMY_DATABASE_URI": database_url(instance),
        # A ping before each checkout notices a restarted server; a file needs none.
        "SQLALCHEMY_ENGINE_OPTIONS": {} if database_url(instance).startswith("sqlite") else {"pool_pre_ping": True},
        # A PostgreSQL streaming replica for the catalogue, reports, FHIR and exports (core/replica.py).
        "DATABASE_REPLICA_URL": os.environ.get("DATABASE_REPLICA_URL") or None,
        "MAX_CONTENT_LENGTH": int(os.environ.get("BIOBANK_MAX_UPLOAD_BYTES", 20 * 1024 * 1024)),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "TOKEN_LIFETIME_HOURS": int(os.environ.get("BIOBANK_TOKEN_HOURS", 12)),
        "WTF_CSRF_TIME_LIMIT": None,
        # Served over HTTPS (directly or behind a TLS-terminating proxy): cookies only travel encrypted.
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        # Trust one reverse proxy's X-Forwarded-* headers (biobank/core/security.py).
        "BEHIND_PROXY": _flag("BIOBANK_BEHIND_PROXY"),
        # Login throttling, shared by all workers through the database (auth/service.py).
        "LOGIN_MAX_FAILURES": int(os.environ.get("BIOBANK_LOGIN_MAX_FAILURES", 5)),
        "LOGIN_MAX_FAILURES_PER_ADDRESS": int(os.environ.get("BIOBANK_LOGIN_MAX_FAILURES_PER_ADDRESS", 20)),
        "LOGIN_WINDOW_MINUTES": int(os.environ.get("BIOBANK_LOGIN_WINDOW_MINUTES", 15)),
        "PASSWORD_RESET_HOURS": int(os.environ.get("BIOBANK_PASSWORD_RESET_HOURS", 24)),
        # flask-smorest / OpenAPI
        "API_TITLE": "Biobank inventory API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api/v1",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": None,  # served by our own /api/v1/docs (no CDN)
    }
