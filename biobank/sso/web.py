"""/login/oidc: off to the hospital's OpenID provider, and back with a signed-in user."""
import logging

from authlib.integrations.base_client import OAuthError
from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import login_user

from ..auth import sessions
from ..auth.web import LoginForm, _safe_next
from ..core.errors import DomainError
from . import oidc, settings
from .provisioning import provision, username_from

log = logging.getLogger(__name__)
blp = Blueprint("sso_web", __name__)
NEXT_KEY = "oidc_next"


def _refused(message: str, status: int):
    return render_template("auth/login.html", form=LoginForm(), error=message), status


@blp.get("/login/oidc")
def oidc_login():
    if not settings.oidc_configured():
        abort(404, _("Sign-in through OpenID Connect is not configured here."))
    session[NEXT_KEY] = _safe_next(request.args.get("next"))
    return oidc.client().authorize_redirect(url_for("sso_web.oidc_callback", _external=True))


@blp.get("/login/oidc/callback")
def oidc_callback():
    if not settings.oidc_configured():
        abort(404, _("Sign-in through OpenID Connect is not configured here."))
    if request.args.get("error"):
        log.info("OIDC: the provider answered %s: %s", request.args["error"], request.args.get("error_description"))
        return _refused(_("The hospital sign-in was cancelled or refused (%(reason)s).",
                          reason=request.args.get("error_description") or request.args["error"]), 401)
    provider = oidc.client()
    try:
        token = provider.authorize_access_token()
        claims = dict(token.get("userinfo") or {})
        claims.update(provider.userinfo(token=token))
    except (OAuthError, ValueError) as error:   # state, code, signature, nonce or audience wrong
        log.warning("OIDC: sign-in failed: %s", error)
        return _refused(_("The hospital sign-in could not be completed; please try again."), 401)
    username, email, groups = oidc.identity(claims)
    try:
        user = provision("oidc", username_from(username), email, groups)
    except DomainError as error:
        return _refused(error.message, error.status)
    sessions.start(user)
    login_user(user)
    flash(_("Welcome, %(user)s.", user=user.username), "info")
    return redirect(session.pop(NEXT_KEY, None) or url_for("auth_web.home"))
