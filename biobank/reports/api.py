"""Reports API: capacity, custody log export and verification runs, rack-scan
reconciliation, FHIR export. Views only parse input, call one function, render."""
import json
from datetime import date

from flask import Response, stream_with_context
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import error_responses
from . import audit_export, capacity, directory, fhir, reconcile, service
from .schemas import (ApplyResultSchema, ApplySchema, AuditExportQuerySchema, CapacityQuerySchema, CapacitySchema,
                      DirectoryQuerySchema, ReconcileResultSchema, ReconcileUploadSchema, VerificationRunSchema)

blp = Blueprint("reports_api", __name__, url_prefix="/api/v1",
                description="Reports: capacity and forecast, custody log export, reconciliation, FHIR")

FHIR_JSON = "application/fhir+json"


def _errors(*statuses):
    return error_responses(blp, *statuses)


@blp.route("/capacity")
class Capacity(MethodView):
    @blp.arguments(CapacityQuerySchema, location="query")
    @blp.response(200, CapacitySchema)
    @_errors(403, 404, 422)
    def get(self, args):
        """Positions, used, free, fill fraction and forecast full date per site, tank and rack; alerts; intake"""
        return capacity.capacity(current_actor(), threshold=args.get("threshold"), by_type=args["by_type"],
                                 include_boxes=args["boxes"], within=args.get("within"))


@blp.route("/audit/export")
class AuditExport(MethodView):
    @blp.arguments(AuditExportQuerySchema, location="query")
    @blp.response(200)
    @blp.alt_response(200, content_type="text/csv", description="format=csv", success=True)
    @_errors(403, 422)
    def get(self, args):
        """Export custody events (filtered, oldest first) as CSV, JSON array or NDJSON, streamed"""
        fmt = args.pop("format")
        chunks = audit_export.export(current_actor(), args, fmt)
        name = f"custody-events-{date.today().isoformat()}.{fmt}"
        return Response(stream_with_context(chunks), mimetype=audit_export.FORMATS[fmt],
                        headers={"Content-Disposition": f"attachment; filename={name}"})


@blp.route("/audit/verifications")
class Verifications(MethodView):
    @blp.response(200, VerificationRunSchema(many=True))
    @_errors(403)
    def get(self):
        """The latest chain verifications started from the audit page or this API, newest first"""
        return audit_export.verification_runs(current_actor())

    @blp.response(201, VerificationRunSchema)
    @_errors(403)
    def post(self):
        """Verify the custody chain now and record the result"""
        return service.record_verification(current_actor())


@blp.route("/containers/<int:container_id>/reconcile")
class Reconcile(MethodView):
    @blp.arguments(ReconcileUploadSchema, location="files")
    @blp.response(200, ReconcileResultSchema)
    @_errors(403, 404, 413, 422)
    def post(self, files, container_id):
        """Compare a rack-scanner file (multipart field `file`) with the box's inventory"""
        return reconcile.reconcile(current_actor(), container_id, files["file"].read())


@blp.route("/containers/<int:container_id>/reconcile/apply")
class ReconcileApply(MethodView):
    @blp.arguments(ApplySchema)
    @blp.response(200, ApplyResultSchema)
    @_errors(403, 404, 409, 422)
    def post(self, args, container_id):
        """Apply reconciliation corrections: each tube moved to its scanned position (audited moves)"""
        return service.apply_reconciliation(current_actor(), container_id, args["corrections"])


@blp.route("/samples/<barcode>/fhir")
class SampleFhir(MethodView):
    @blp.response(200)
    @blp.alt_response(200, content_type=FHIR_JSON, description="a FHIR R4 Specimen", success=True)
    @_errors(403, 404)
    def get(self, barcode):
        """The sample as an HL7 FHIR R4 Specimen"""
        return _fhir_json(fhir.sample_specimen(current_actor(), barcode))


@blp.route("/directory")
class Directory(MethodView):
    @blp.arguments(DirectoryQuerySchema, location="query")
    @blp.response(200)
    @blp.alt_response(200, content_type="text/csv", description="format=csv: one line per collection", success=True)
    @_errors(403, 422)
    def get(self, args):
        """The biobank and its collections in MIABIS terms (by diagnosis and material type), small counts suppressed"""
        document = directory.directory(current_actor(), args.get("min_count"))
        if args["format"] == "csv":
            return Response(directory.to_csv(document), mimetype="text/csv",
                            headers={"Content-Disposition": "attachment; filename=directory-collections.csv"})
        return document


def _fhir_json(resource: dict) -> Response:
    return Response(json.dumps(resource, ensure_ascii=False), mimetype=FHIR_JSON)

