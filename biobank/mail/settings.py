"""SMTP settings from the app config, else the environment:
BIOBANK_SMTP_HOST (no host: mail stays in the outbox), BIOBANK_SMTP_PORT (587 with
STARTTLS, else 25), BIOBANK_SMTP_USER, BIOBANK_SMTP_PASSWORD, BIOBANK_SMTP_FROM,
BIOBANK_SMTP_STARTTLS (1/true), BIOBANK_SMTP_TIMEOUT (seconds, 20),
BIOBANK_MAIL_AFTER_COMMIT (1: send right after the commit that queued mail; 0: only
`biobank mail send`), BIOBANK_PUBLIC_URL (links in messages)."""
import os
from dataclasses import dataclass

from flask import current_app

_TRUE = ("1", "true", "yes", "on")


def _get(name: str, default=None):
    value = current_app.config.get(name)
    return value if value is not None else os.environ.get(name, default)


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    user: str | None
    password: str | None
    sender: str
    starttls: bool
    timeout: float


def smtp() -> Smtp | None:
    host = _get("BIOBANK_SMTP_HOST")
    if not host:
        return None
    starttls = str(_get("BIOBANK_SMTP_STARTTLS", "")).lower() in _TRUE
    return Smtp(host=host, port=int(_get("BIOBANK_SMTP_PORT", 587 if starttls else 25)),
                user=_get("BIOBANK_SMTP_USER") or None, password=_get("BIOBANK_SMTP_PASSWORD") or None,
                sender=_get("BIOBANK_SMTP_FROM", "biobank@localhost"), starttls=starttls,
                timeout=float(_get("BIOBANK_SMTP_TIMEOUT", 20)))


def send_after_commit() -> bool:
    return str(_get("BIOBANK_MAIL_AFTER_COMMIT", "1")).lower() in _TRUE


def public_url() -> str | None:
    url = _get("BIOBANK_PUBLIC_URL")
    return url.rstrip("/") if url else None
