"""The one place where domain errors and HTTP errors become responses: JSON
with a stable `code` for the API, a flash message for the web UI."""
import logging

from flask import flash, g, jsonify, redirect, render_template, request, session
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError, OperationalError
from werkzeug.exceptions import HTTPException

from ..extensions import db
from .errors import DomainError, InvalidInput
from .redirects import same_site

log = logging.getLogger(__name__)

HTTP_CODES = {400: "bad_request", 401: "not_authenticated", 403: "not_permitted", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "too_large", 415: "unsupported_media_type",
              422: "validation_error", 429: "too_many_requests", 503: "unavailable"}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _json(status: int, code: str, message: str, details=None):
    body = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    response = jsonify(body)
    response.status_code = status
    return response


def _validation_message(messages) -> str:
    """webargs/marshmallow messages -> one readable sentence."""
    parts = []
    for location in (messages or {}).values():
        for field, errors in (location.items() if isinstance(location, dict) else []):
            text = errors if isinstance(errors, str) else "; ".join(
                str(e) if not isinstance(e, dict) else _("invalid value") for e in
                (errors if isinstance(errors, list) else [errors]))
            parts.append(f"{field}: {text}")
    if not parts:
        return _("Invalid request: check the fields.")
    return _("Invalid request: %(problems)s", problems="; ".join(parts))


def handle_domain_error(error: DomainError):
    db.session.rollback()
    if wants_json():
        return _json(error.status, error.code, error.message, error.details)
    flash(error.message, "error")
    return redirect(same_site(request.referrer, request.host_url) or "/")


def handle_http_exception(error: HTTPException):
    db.session.rollback()
    if not wants_json():
        return _html_error(error)
    status = error.code or 500
    if isinstance(error, CSRFError):
        return _json(400, "csrf_failed", _("The form or request lacks a valid CSRF token; reload and try again."))
    data = getattr(error, "data", None) or {}
    if status == 422 and data.get("messages"):
        return _json(422, "validation_error", _validation_message(data["messages"]), data["messages"])
    if status == 413:
        limit = request.max_content_length
        return _json(413, "too_large", _("The upload is larger than the %(limit)d MB limit.",
                                         limit=limit // (1024 * 1024)) if limit else _("The upload is too large."))
    message = data.get("message") or error.description or error.name
    return _json(status, HTTP_CODES.get(status, "http_error"), message)


def _html_error(error: HTTPException):
    """A 4xx/5xx in the app's own page (navigation, styles, what to do next); redirects stay as they are."""
    if not error.code or error.code < 400:
        return error
    try:
        page = render_template("error.html", error=error)
    except Exception:  # the page needs the database (who is signed in); the plain answer does not
        log.exception("error page could not be rendered")
        db.session.rollback()
        return error
    response = error.get_response()
    response.set_data(page)
    response.mimetype = "text/html"
    return response


def handle_database_unavailable(error: OperationalError):
    db.session.rollback()
    g.database_unavailable = True  # the answer's language is chosen without asking the database again
    log.error("database error: %s", error)
    if getattr(getattr(error, "orig", None), "sqlstate", None) in ("40001", "40P01"):
        # serialization failure / deadlock: another change to the same things won
        message = _("Someone changed the same records at the same moment; try again.")
        if wants_json():
            return _json(409, "concurrent_update", message)
        flash(message, "error")
        return redirect(same_site(request.referrer, request.host_url) or "/")
    if "locked" in str(error).lower():
        return _json(503, "busy", _("The database is busy; try again in a moment."))
    return _json(503, "database_unavailable", _("The database cannot be reached; try again shortly."))


def answer_failed_commit(error: OperationalError):
    """The request's change could not be committed (on PostgreSQL the counters and the custody
    chain are written at commit, where another writer's change can cross it; or the database
    went away): nothing of it stays, and the answer is the one the same error inside the
    request gets, without the success message the view had left for the next page."""
    session.pop("_flashes", None)
    return handle_database_unavailable(error)


def handle_out_of_range(error: Exception):
    """A number or text the database cannot hold (a page far beyond the end, an id of 30 digits):
    bad input, refused like any other."""
    return handle_domain_error(InvalidInput(_("A number or text in the request is out of the range the inventory "
                                              "can store."), code="out_of_range"))


def handle_too_deep(error: RecursionError):
    """JSON nested thousands of levels deep: refused, not a crash."""
    return handle_domain_error(InvalidInput(_("The request body is nested too deeply."), code="too_deeply_nested"))


def handle_unexpected(error: Exception):
    db.session.rollback()
    log.exception("unexpected error")
    if wants_json():
        return _json(500, "internal_error", _("Something went wrong on the server; it has been logged."))
    return _("Internal error; it has been logged."), 500


def register(app) -> None:
    app.register_error_handler(DomainError, handle_domain_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(OverflowError, handle_out_of_range)
    app.register_error_handler(DataError, handle_out_of_range)
    app.register_error_handler(RecursionError, handle_too_deep)
    app.register_error_handler(Exception, handle_unexpected)
