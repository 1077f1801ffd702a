"""Requests API: the de-identified catalogue, researcher requests, picking and shipping."""
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import error_responses
from . import queries, service
from .schemas import (ApproveSchema, CancelSchema, CatalogueQuerySchema, CataloguePageSchema, FillSchema,
                      ManifestQuerySchema, ManifestRowSchema, PickSchema, PicklistQuerySchema, PicklistSchema,
                      ProposalSchema, RejectSchema, RequestCreateSchema, RequestPageSchema, RequestQuerySchema,
                      RequestReasonSchema, RequestSchema, ShipSchema)

# Prefix /api/v1 (not /api/v1/requests) because the catalogue lives here too.
blp = Blueprint("requests_api", __name__, url_prefix="/api/v1",
                description="Catalogue and researcher requests: approval, picking, shipping")


def _errors(*statuses):
    return error_responses(blp, *statuses)


@blp.route("/catalogue")
class Catalogue(MethodView):
    @blp.arguments(CatalogueQuerySchema, location="query")
    @blp.response(200, CataloguePageSchema)
    @_errors(403, 422)
    def get(self, args):
        """Search available samples (de-identified) with counts per facet"""
        page, per_page = args.pop("page"), args.pop("per_page")
        return queries.catalogue(current_actor(), args, page, per_page)


@blp.route("/requests")
class Requests(MethodView):
    @blp.arguments(RequestCreateSchema)
    @blp.response(201, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args):
        """Create a draft request for catalogue samples (by catalogue id) and/or lines by criteria"""
        return service.create_request(current_actor(), **args)

    @blp.arguments(RequestQuerySchema, location="query")
    @blp.response(200, RequestPageSchema)
    @_errors(403)
    def get(self, args):
        """Requests: researchers see their own, staff all; filter by status"""
        return queries.list_requests(current_actor(), **args)


@blp.route("/requests/<int:request_id>")
class RequestItem(MethodView):
    @blp.response(200, RequestSchema)
    @_errors(404)
    def get(self, request_id):
        """One request with its items"""
        return queries.request_for(current_actor(), request_id)


@blp.route("/requests/<int:request_id>/submit")
class Submit(MethodView):
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409)
    def post(self, request_id):
        """Submit a draft for a manager's decision"""
        return service.submit_request(current_actor(), request_id)


@blp.route("/requests/<int:request_id>/approve")
class Approve(MethodView):
    @blp.arguments(ApproveSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409)
    def post(self, args, request_id):
        """Approve your sites' parts of a submitted request, reserving their samples (409 if any is taken);
        the request is approved once every site's part is decided"""
        return service.approve_request(current_actor(), request_id, **args)


@blp.route("/requests/<int:request_id>/reject")
class Reject(MethodView):
    @blp.arguments(RejectSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, request_id):
        """Reject your sites' parts of a submitted request (a reason is required); rejected when every part is"""
        return service.reject_request(current_actor(), request_id, **args)


@blp.route("/requests/<int:request_id>/cancel")
class Cancel(MethodView):
    @blp.arguments(CancelSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, request_id):
        """Cancel an open request: reservations are released, picked tubes go back to their positions"""
        return service.cancel_request(current_actor(), request_id, **args)


@blp.route("/requests/<int:request_id>/items/<barcode>/remove")
class RemoveItem(MethodView):
    @blp.arguments(RequestReasonSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, request_id, barcode):
        """Take one sample off an open request (a reason is required); what the request held is released"""
        return service.remove_item(current_actor(), request_id, barcode, **args)


@blp.route("/requests/<int:request_id>/complete")
class Complete(MethodView):
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409)
    def post(self, request_id):
        """Confirm that a shipped request was received"""
        return service.complete_request(current_actor(), request_id)


@blp.route("/requests/<int:request_id>/picklist")
class Picklist(MethodView):
    @blp.arguments(PicklistQuerySchema, location="query")
    @blp.response(200, PicklistSchema)
    @_errors(403, 404)
    def get(self, args, request_id):
        """Your sites' part of the pick list in tank → rack → box → position order, with tank openings and box removals"""
        return queries.picklist(current_actor(), request_id, **args)


@blp.route("/requests/<int:request_id>/pick")
class Pick(MethodView):
    @blp.arguments(PickSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, request_id):
        """Scan one tube: picked if it is on the list; anything else changes nothing (409 not_on_picklist ...)"""
        return service.pick_sample(current_actor(), request_id, args["barcode"])


@blp.route("/requests/<int:request_id>/ship")
class Ship(MethodView):
    @blp.arguments(ShipSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, request_id):
        """Ship your sites' fully picked parts: their samples become shipped; the request is shipped with the last part"""
        return service.ship_request(current_actor(), request_id, **args)


@blp.route("/requests/<int:request_id>/criteria/<int:criterion_id>/proposal")
class Proposal(MethodView):
    @blp.response(200, ProposalSchema)
    @_errors(403, 404)
    def get(self, request_id, criterion_id):
        """Matching available samples at your sites for a line by criteria, for you to confirm"""
        return queries.proposal(current_actor(), request_id, criterion_id)


@blp.route("/requests/<int:request_id>/criteria/<int:criterion_id>/fill")
class Fill(MethodView):
    @blp.arguments(FillSchema)
    @blp.response(200, RequestSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, request_id, criterion_id):
        """Fill a line by criteria with the chosen samples (at most its count; each must match and be available)"""
        return service.fill_criterion(current_actor(), request_id, criterion_id, args["samples"])


MANIFEST_FILES = {"csv": (queries.manifest_csv, "text/csv"), "pdf": (queries.manifest_pdf, "application/pdf")}


def send_manifest(request_id: int, fmt: str) -> Response:
    """The manifest as a file to download: request-<id>-manifest.csv or .pdf."""
    build, mimetype = MANIFEST_FILES[fmt]
    request, content = build(current_actor(), request_id)
    return Response(content, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=request-{request.id}-manifest.{fmt}"})


@blp.route("/requests/<int:request_id>/manifest")
class Manifest(MethodView):
    @blp.arguments(ManifestQuerySchema, location="query")
    @blp.response(200, ManifestRowSchema(many=True))
    @blp.doc(responses={"200": {"description": "The manifest: format=csv (default), json or pdf", "content": {
        "text/csv": {"schema": {"type": "string", "description": "one row per sample, columns as the JSON rows"}},
        "application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/ManifestRow"}}},
        "application/pdf": {"schema": {"type": "string", "format": "binary",
                                       "description": "printable: particulars, a Code 128 per tube, "
                                                      "page X of Y, signature lines"}}}}})
    @_errors(404, 422)
    def get(self, args, request_id):
        """The shipping manifest (CSV by default, JSON rows, or a printable PDF), de-identified"""
        if args["format"] == "json":
            return queries.manifest(current_actor(), request_id)[1]
        return send_manifest(request_id, args["format"])
