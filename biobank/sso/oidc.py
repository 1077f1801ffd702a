"""OpenID Connect sign-in (Authlib's Flask client): the authorization code flow with PKCE,
the ID token checked (issuer, audience, signature, nonce), then the userinfo claims.

Settings: BIOBANK_OIDC_ISSUER (discovery at {issuer}/.well-known/openid-configuration),
BIOBANK_OIDC_CLIENT_ID, BIOBANK_OIDC_CLIENT_SECRET, BIOBANK_OIDC_SCOPES ("openid email
profile"), BIOBANK_OIDC_USERNAME_CLAIM ("preferred_username"; then email, then sub),
BIOBANK_OIDC_GROUPS_CLAIM ("groups"; a list, or names separated by spaces or commas),
BIOBANK_OIDC_LABEL (the login button: "Sign in with the hospital account").
"""
import re

from authlib.integrations.flask_client import OAuth
from flask import current_app
from flask_babel import gettext as _

from . import settings

EXTENSION = "biobank_oidc"


def client():
    """The provider's client for this app, registered on first use from the settings."""
    oauth = current_app.extensions.get(EXTENSION)
    if oauth is None:
        oauth = OAuth(current_app)
        issuer = settings.get("BIOBANK_OIDC_ISSUER").rstrip("/")
        oauth.register("hospital", client_id=settings.get("BIOBANK_OIDC_CLIENT_ID"),
                       client_secret=settings.get("BIOBANK_OIDC_CLIENT_SECRET"),
                       server_metadata_url=f"{issuer}/.well-known/openid-configuration",
                       client_kwargs={"scope": settings.get("BIOBANK_OIDC_SCOPES", "openid email profile"),
                                      "code_challenge_method": "S256", "timeout": 15})
        current_app.extensions[EXTENSION] = oauth
    return oauth.hospital


def label() -> str:
    return settings.get("BIOBANK_OIDC_LABEL") or _("Sign in with the hospital account")


def identity(claims: dict) -> tuple[str, str | None, list[str]]:
    """(username, email, groups) from the ID token and userinfo claims."""
    name_claim = settings.get("BIOBANK_OIDC_USERNAME_CLAIM", "preferred_username")
    email = claims.get("email") if claims.get("email_verified", True) is not False else None
    username = claims.get(name_claim) or (email.split("@")[0] if email else None) or claims.get("sub")
    raw = claims.get(settings.get("BIOBANK_OIDC_GROUPS_CLAIM", "groups")) or []
    groups = [str(g) for g in raw] if isinstance(raw, list) else [g for g in re.split(r"[\s,]+", str(raw)) if g]
    return username, email, groups
