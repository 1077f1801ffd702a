"""Label files over HTTP. A GET is a preview: it answers the file and writes
nothing, so a link on another site cannot write into the permanent log. A POST
(a bearer token, or the session cookie with its CSRF header) prints: one custody
event per label handed out."""
from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import ApiErrorSchema
from . import service
from .render import MIMETYPES
from .schemas import LabelBatchSchema, LabelOptionsSchema

blp = Blueprint("labels_api", __name__, url_prefix="/api/v1", description="Labels")

_BINARY = {"type": "string", "format": "binary"}
_ZPL = {"type": "string", "description": "one ^XA ... ^XZ block per label"}


def send(label_file: service.LabelFile) -> Response:
    disposition = "attachment" if label_file.format == "zpl" else "inline"
    return Response(label_file.content, mimetype=label_file.mimetype, headers={
        "Content-Disposition": f'{disposition}; filename="{label_file.filename}"',
        "X-Label-Count": str(label_file.count), "Cache-Control": "no-store"})


def _document(func, printing: bool = True):
    """200 in each of the four formats, and the errors."""
    func = blp.doc(responses={"200": {"content": {
        mimetype: {"schema": _ZPL if fmt == "zpl" else _BINARY} for fmt, mimetype in MIMETYPES.items()}}})(func)
    func = blp.response(200, _BINARY, content_type=MIMETYPES["png"],
                        description="The label file (format=png, svg, pdf or zpl); header X-Label-Count says "
                                    "how many labels it holds. " + (
                                        "Each label printed is a custody event." if printing else
                                        "A preview: nothing is recorded (POST prints and records)."),
                        headers={"X-Label-Count": {"schema": {"type": "integer"}}})(func)
    for status in (403, 404, 422):
        func = blp.alt_response(status, schema=ApiErrorSchema, description={
            403: "not permitted (researchers)", 404: "unknown barcode or container",
            422: "invalid options, or barcode_too_long: the barcode does not fit the label at a readable size",
        }[status])(func)
    return func


def _preview(func):
    return _document(func, printing=False)


@blp.route("/samples/<barcode>/label")
class SampleLabel(MethodView):
    @blp.arguments(LabelOptionsSchema, location="query")
    @_preview
    def get(self, args, barcode):
        """A preview of one sample's label: Code 128 and Data Matrix of its barcode, type, place and date"""
        return send(service.print_sample_labels(current_actor(), [barcode], record=False, **args))

    @blp.arguments(LabelOptionsSchema)
    @_document
    def post(self, args, barcode):
        """Print one sample's label (recorded as a custody event)"""
        return send(service.print_sample_labels(current_actor(), [barcode], **args))


@blp.route("/containers/<int:container_id>/labels")
class BoxLabels(MethodView):
    @blp.arguments(LabelOptionsSchema, location="query")
    @_preview
    def get(self, args, container_id):
        """A preview of the labels of every sample in a box, in position order (A1, A2, ..., B1, ...).

        PNG and SVG of several labels are one picture with the labels in a grid
        (at most max_image_labels of labels/settings.toml, 200 by default; 422
        too_many_labels beyond it: use PDF or ZPL)."""
        return send(service.print_box_labels(current_actor(), container_id, record=False, **args))

    @blp.arguments(LabelOptionsSchema)
    @_document
    def post(self, args, container_id):
        """Print the labels of every sample in a box (one custody event per label)"""
        return send(service.print_box_labels(current_actor(), container_id, **args))


@blp.route("/containers/<int:container_id>/label")
class ContainerLabel(MethodView):
    @blp.arguments(LabelOptionsSchema, location="query")
    @_preview
    def get(self, args, container_id):
        """A preview of the label of the box (or other container) itself, with its own barcode"""
        return send(service.print_container_label(current_actor(), container_id, record=False, **args))

    @blp.arguments(LabelOptionsSchema)
    @_document
    def post(self, args, container_id):
        """Print the label of the box (or other container) itself (recorded as a custody event)"""
        return send(service.print_container_label(current_actor(), container_id, **args))


@blp.route("/labels")
class LabelBatch(MethodView):
    @blp.arguments(LabelBatchSchema)
    @_document
    def post(self, args):
        """Labels for a list of sample barcodes (an import batch), in the order given"""
        barcodes = args.pop("barcodes")
        return send(service.print_sample_labels(current_actor(), barcodes, **args))
