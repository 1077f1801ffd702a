"""Sign-in settings from the app config, else the environment (see README, Configuration)."""
import os

from flask import current_app

_TRUE = ("1", "true", "yes", "on")


def get(name: str, default=None):
    value = current_app.config.get(name)
    return value if value is not None else os.environ.get(name, default)


def flag(name: str) -> bool:
    return str(get(name, "")).lower() in _TRUE


def ldap_configured() -> bool:
    return bool(get("BIOBANK_LDAP_URL"))


def oidc_configured() -> bool:
    return bool(get("BIOBANK_OIDC_ISSUER") and get("BIOBANK_OIDC_CLIENT_ID"))
