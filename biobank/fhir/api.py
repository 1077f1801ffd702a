"""The FHIR REST adapter: /fhir and /api/v1/fhir. Views parse the query string, call one
search or read, and answer application/fhir+json; every error is an OperationOutcome."""
import json
import logging
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlencode

from flask import Blueprint, Response, request, stream_with_context, url_for
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from ..core.errors import DomainError, NotFound
from ..core.requests import current_actor
from ..extensions import csrf, db
from . import capability, resources, search

log = logging.getLogger(__name__)
blp = Blueprint("fhir", __name__)

FHIR_JSON = "application/fhir+json"
FHIR_NDJSON = "application/fhir+ndjson"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _base() -> str:
    return url_for(f"{request.blueprint}.metadata", _external=True).rsplit("/metadata", 1)[0]


def _answer(resource: dict, status: int = 200, headers=None) -> Response:
    return Response(json.dumps(resource, ensure_ascii=False), status=status, mimetype=FHIR_JSON,
                    headers=headers)


def _strict() -> bool:
    prefer = request.headers.get("Prefer", "")
    return any(part.strip().replace(" ", "") == "handling=strict" for part in prefer.split(";") + prefer.split(","))


def _known(resource_type: str) -> None:
    if resource_type not in search.SEARCHES:
        raise NotFound(f"This server has no {resource_type} resources; it serves "
                       f"{', '.join(search.SEARCHES)} (see {_base()}/metadata).", code="unknown_resource_type")


@blp.before_request
def _csrf_for_cookies():
    """As for the API: writes riding on a browser session cookie need the CSRF token (refused
    here before anything else), bearer-token clients need none."""
    if request.method not in ("GET", "HEAD", "OPTIONS") and current_user.is_authenticated \
            and not request.headers.get("Authorization", "").startswith("Bearer "):
        csrf.protect()


@blp.route("/metadata")
def metadata():
    try:
        software = version("biobank")
    except PackageNotFoundError:
        software = "unknown"
    return _answer(capability.capability_statement(_base(), software))


@blp.route("/<resource_type>")
def search_type(resource_type):
    _known(resource_type)
    actor = current_actor(via="fhir")
    wanted = search.parse(resource_type, request.args.items(multi=True), _strict())
    if wanted.ndjson:
        if resource_type != "Specimen":
            raise search.params.SearchError("NDJSON export is offered for Specimen only.",
                                            code="unsupported_format", status=406)
        return Response(stream_with_context(search.specimen_ndjson(actor, wanted)), mimetype=FHIR_NDJSON,
                        headers={"Content-Disposition": "attachment; filename=Specimen.ndjson"})
    found = search.SEARCHES[resource_type](actor, wanted)
    return _answer(_bundle(resource_type, wanted, found))


@blp.route("/<resource_type>/<resource_id>")
def read(resource_type, resource_id):
    _known(resource_type)
    return _answer(search.READS[resource_type](current_actor(via="fhir"), resource_id))


@blp.route("/", defaults={"rest": ""}, methods=ALL_METHODS)
@blp.route("/<path:rest>", methods=ALL_METHODS)
def elsewhere(rest):
    """Anything else under the FHIR base: 405 for writes to what exists, 404 otherwise."""
    first = rest.split("/", 1)[0]
    if request.method not in ("GET", "HEAD") and (first in search.SEARCHES or first == "metadata"):
        raise DomainError(f"{request.method} is not supported: this FHIR server is read-only.",
                          code="method_not_allowed", status=405)
    raise NotFound(f"Nothing is served at {request.path}; see {_base()}/metadata.", code="not_found")


def _bundle(resource_type: str, wanted, found: dict) -> dict:
    base, total = _base(), found["total"]

    def link(relation, offset):
        query = list(wanted.used) + [("_offset", str(offset))]
        if not any(name == "_count" for name, _ in wanted.used):
            query.append(("_count", str(wanted.count)))
        return {"relation": relation, "url": f"{base}/{resource_type}?{urlencode(query)}"}

    links = [link("self", wanted.offset)]
    if wanted.count and not wanted.summary_count:
        links.append(link("first", 0))
        if wanted.offset + wanted.count < total:
            links.append(link("next", wanted.offset + wanted.count))
        if wanted.offset > 0:
            links.append(link("previous", max(0, wanted.offset - wanted.count)))
        links.append(link("last", max(0, (total - 1) // wanted.count * wanted.count)))
    entries = [{"fullUrl": f"{base}/{r['resourceType']}/{r['id']}", "resource": r, "search": {"mode": mode}}
               for mode in ("match", "include") for r in found[mode]]
    if wanted.ignored:
        entries.append({"resource": resources.operation_outcome(
            200, "Ignored search parameters: " + ", ".join(wanted.ignored) + ".", "ignored_parameters",
            severity="warning"), "search": {"mode": "outcome"}})
    bundle = {"resourceType": "Bundle", "type": "searchset", "total": total, "link": links}
    if entries:
        bundle["entry"] = entries
    return bundle


# -- errors: OperationOutcome with the HTTP status -------------------------------------------------------

def _outcome(status: int, message: str, code: str):
    db.session.rollback()
    headers = {"WWW-Authenticate": 'Bearer realm="biobank"'} if status == 401 else None
    return _answer(resources.operation_outcome(status, message, code), status, headers)


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    return _outcome(error.status, error.message, error.code)


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException):
    return _outcome(error.code or 500, error.description or error.name, "http_error")


@blp.errorhandler(OperationalError)
def _database_error(error: OperationalError):
    log.error("database error: %s", error)
    return _outcome(503, "The database cannot be reached or is busy; try again shortly.", "database_unavailable")


@blp.errorhandler(Exception)
def _unexpected(error: Exception):
    log.exception("unexpected error")
    return _outcome(500, "Something went wrong on the server; it has been logged.", "internal_error")
