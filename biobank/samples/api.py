from flask import Response, request, stream_with_context
from flask_babel import gettext as _
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.errors import InvalidInput
from ..core.requests import current_actor
from ..core.schemas import ApiErrorSchema, error_responses
from ..custody.schemas import EventSchema
from . import corrections, importer, queries, service
from .correction_schemas import CorrectionQuerySchema, CorrectionResultSchema, SampleCorrectionSchema
from .schemas import (AliquotResultSchema, AliquotSchema, CheckoutSchema, ImportResultSchema, MoveSchema,
                      RequiredReasonSchema, ReturnSchema, SampleCreateSchema, SamplePageSchema, SampleQuerySchema,
                      SampleSchema, WithdrawResultSchema, WithdrawSchema)

blp = Blueprint("samples_api", __name__, url_prefix="/api/v1/samples",
                description="Samples: register, find, move, check out, return, aliquot, discard")
donors_blp = Blueprint("donors_api", __name__, url_prefix="/api/v1/donors", description="Donors and consent")

_document_errors = error_responses(blp, 403, 404, 409, 422)


@blp.route("")
class Samples(MethodView):
    @blp.arguments(SampleCreateSchema)
    @blp.response(201, SampleSchema)
    @_document_errors
    def post(self, args):
        """Register a sample and store it (explicit position or a placement strategy)"""
        return service.register_sample(current_actor(), **args)

    @blp.arguments(SampleQuerySchema, location="query")
    @blp.response(200, SamplePageSchema)
    @blp.doc(responses={"200": {"description": "A page of samples; format=csv: the whole result as CSV",
                                "content": {"application/json": {"schema": SamplePageSchema},
                                            "text/csv": {"schema": {"type": "string"}}}}})
    def get(self, args):
        """Search samples (researchers: the de-identified catalogue); format=csv exports all"""
        actor = current_actor()
        fmt, page, per_page = args.pop("format"), args.pop("page"), args.pop("per_page")
        if fmt == "csv":
            chunks = queries.export_csv(actor, args)
            first = next(chunks)  # permission and filter errors surface before streaming starts
            return Response(stream_with_context(_prepend(first, chunks)), mimetype="text/csv",
                            headers={"Content-Disposition": "attachment; filename=samples.csv"})
        return queries.search(actor, args, page, per_page)


def _prepend(first, rest):
    yield first
    yield from rest


@blp.route("/import")
class ImportSamples(MethodView):
    @blp.response(201, ImportResultSchema)
    @_document_errors
    def post(self):
        """Import a CSV of samples (multipart field `file`, or a text/csv body); all or nothing"""
        upload = request.files.get("file")
        data = upload.read() if upload else request.get_data()
        if not data:
            raise InvalidInput(_("Send the CSV as the multipart field 'file' or as a text/csv body."),
                               code="no_file")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInput(_("The file is not UTF-8 text."), code="invalid_encoding") from None
        barcodes = importer.import_samples(current_actor(), text,
                                           strategy=request.args.get("strategy", "compact"))
        return {"imported": len(barcodes), "barcodes": barcodes}


@blp.route("/corrections")
class Corrections(MethodView):
    @blp.arguments(CorrectionQuerySchema, location="query")
    @blp.response(200, CorrectionResultSchema)
    @_document_errors
    def post(self, args):
        """Correct many records from a CSV `barcode,<columns to correct>,reason` (multipart field `file`, or a
        text/csv body); all or nothing; dry_run=true previews every change"""
        text = _uploaded_text()
        return corrections.correct_samples(current_actor(), text, dry_run=args["dry_run"])


def _uploaded_text() -> str:
    upload = request.files.get("file")
    data = upload.read() if upload else request.get_data()
    if not data:
        raise InvalidInput(_("Send the CSV as the multipart field 'file' or as a text/csv body."), code="no_file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not UTF-8 text."), code="invalid_encoding") from None


@blp.route("/<barcode>")
class SampleItem(MethodView):
    @blp.response(200, SampleSchema)
    @_document_errors
    def get(self, barcode):
        """A sample with its status and location"""
        return queries.sample_record(current_actor(), barcode)

    @blp.arguments(SampleCorrectionSchema)
    @blp.response(200, SampleSchema)
    @_document_errors
    def patch(self, args, barcode):
        """Correct recorded fields (a reason is required); the custody event keeps each before and after"""
        return corrections.correct_sample(current_actor(), barcode, **args)


@blp.route("/<barcode>/move")
class Move(MethodView):
    @blp.arguments(MoveSchema)
    @blp.response(200, SampleSchema)
    @_document_errors
    def post(self, args, barcode):
        """Move a stored sample to another position"""
        return service.move_sample(current_actor(), barcode, **args)


@blp.route("/<barcode>/checkout")
class Checkout(MethodView):
    @blp.arguments(CheckoutSchema)
    @blp.response(200, SampleSchema)
    @_document_errors
    def post(self, args, barcode):
        """Take a sample out of storage (optionally due back by a time); its position stays held"""
        return service.checkout_sample(current_actor(), barcode, **args)


@blp.route("/<barcode>/release-home")
class ReleaseHome(MethodView):
    @blp.arguments(RequiredReasonSchema)
    @blp.response(200, SampleSchema)
    @_document_errors
    def post(self, args, barcode):
        """Give up the position held for a checked-out tube (a reason is required)"""
        return service.release_home(current_actor(), barcode, **args)


@blp.route("/<barcode>/return")
class Return(MethodView):
    @blp.arguments(ReturnSchema)
    @blp.response(200, SampleSchema)
    @_document_errors
    def post(self, args, barcode):
        """Put a checked-out sample back (its old position by default); a thaw is counted"""
        return service.return_sample(current_actor(), barcode, **args)


@blp.route("/<barcode>/aliquot")
class Aliquot(MethodView):
    @blp.arguments(AliquotSchema)
    @blp.response(201, AliquotResultSchema)
    @_document_errors
    def post(self, args, barcode):
        """Split aliquots off a sample; their volume is taken from it"""
        children = service.aliquot_sample(current_actor(), barcode, **args)
        return {"parent": service.get_sample(barcode), "children": children}


@blp.route("/<barcode>/discard")
class Discard(MethodView):
    @blp.arguments(RequiredReasonSchema)
    @blp.response(200, SampleSchema)
    @_document_errors
    def post(self, args, barcode):
        """Discard a sample (a reason is required)"""
        return service.discard_sample(current_actor(), barcode, **args)


@blp.route("/<barcode>/history")
class History(MethodView):
    @blp.response(200, EventSchema(many=True))
    @_document_errors
    def get(self, barcode):
        """The sample's custody events, oldest first"""
        return queries.history(current_actor(), barcode)


@donors_blp.route("/<donor>/withdraw-consent")
class WithdrawConsent(MethodView):
    @donors_blp.arguments(WithdrawSchema)
    @donors_blp.response(200, WithdrawResultSchema)
    @donors_blp.alt_response(403, schema=ApiErrorSchema)
    @donors_blp.alt_response(404, schema=ApiErrorSchema)
    def post(self, args, donor):
        """Withdraw a donor's consent: all their samples are blocked from requests"""
        return service.withdraw_consent(current_actor(), donor, **args)
