"""Per-request plumbing: who is acting, the write intent, the one commit point."""
from flask import g, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import OperationalError

from ..auth.service import user_for_token
from ..extensions import csrf, db, login_manager
from .actor import Actor
from .db import READ_FIRST_ENDPOINTS, write_intent
from .error_mapping import answer_failed_commit
from .errors import NotAuthenticated
from .text_input import check_request_text

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def current_actor(via: str | None = None) -> Actor:
    """The logged-in user (session or bearer token) as an Actor, or 401."""
    if "actor" not in g:
        if not current_user.is_authenticated:
            raise NotAuthenticated(_("Log in or send a bearer token."))
        g.actor = Actor.of(current_user, via or ("api" if request.path.startswith("/api/") else "web"))
    return g.actor


def optional_actor() -> Actor | None:
    return current_actor() if current_user.is_authenticated else None


def _before_request():
    # Flask reuses an application context that is already pushed (tests, embedded
    # servers), and `g` lives there: drop per-request identity explicitly.
    g.pop("actor", None)
    g.pop("_login_user", None)
    write_intent.set(request.method not in SAFE_METHODS and request.endpoint not in READ_FIRST_ENDPOINTS)
    check_request_text()
    # API calls with a bearer token need no CSRF token; API calls riding on a
    # browser session cookie do (X-CSRFToken header), like the forms. A call that
    # sends a bearer header is authenticated by that token alone: the session
    # cookie next to it is ignored, so a made-up header cannot carry the cookie's
    # user past the CSRF check.
    if not request.path.startswith("/api/"):
        return
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        g._login_user = user_for_token(header[7:].strip()) or login_manager.anonymous_user()
    elif request.method not in SAFE_METHODS and request.endpoint != "auth_api.Token":
        if current_user.is_authenticated:
            csrf.protect()


def _after_request(response):
    if response.status_code < 400:
        try:
            db.session.commit()
        except OperationalError as error:
            return answer_failed_commit(error)
    else:
        db.session.rollback()
    return response


def register(app) -> None:
    app.before_request(_before_request)
    app.after_request(_after_request)
