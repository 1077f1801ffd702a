from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import error_responses
from . import queries, shipments
from .schemas import (CloseSchema, ItemAddSchema, ShipmentManifestQuerySchema, ShipmentManifestSchema, NetworkRowSchema,
                      ShipmentCancelSchema, ReceiptSchema, ReceiveSchema, ShipmentCreateSchema, ShipmentListSchema,
                      ShipmentQuerySchema, ShipmentSchema)

blp = Blueprint("shipments_api", __name__, url_prefix="/api/v1/shipments",
                description="Shipments between sites")
network_blp = Blueprint("network_api", __name__, url_prefix="/api/v1/network", description="The network overview")


def _view(shipment):
    return queries.shipment_view(shipment)


@blp.route("")
class Shipments(MethodView):
    @blp.arguments(ShipmentQuerySchema, location="query")
    @blp.response(200, ShipmentListSchema)
    @error_responses(blp, 403)
    def get(self, args):
        """Shipments from or to your sites, newest first"""
        found = shipments.list_shipments(current_actor(), **args)
        return {"items": [queries.shipment_view(s, with_items=False) for s in found]}

    @blp.arguments(ShipmentCreateSchema)
    @blp.response(201, ShipmentSchema)
    @error_responses(blp, 403, 422)
    def post(self, args):
        """A draft shipment from one site to another (site ids)"""
        return _view(shipments.create_shipment(current_actor(), **args))


@blp.route("/<int:shipment_id>")
class OneShipment(MethodView):
    @blp.response(200, ShipmentSchema)
    @error_responses(blp, 403, 404)
    def get(self, shipment_id):
        """A shipment with every item and its status"""
        return _view(shipments.visible_shipment(current_actor(), shipment_id))


@blp.route("/<int:shipment_id>/items")
class Items(MethodView):
    @blp.arguments(ItemAddSchema)
    @blp.response(200, ShipmentSchema)
    @error_responses(blp, 403, 404, 409, 422)
    def post(self, args, shipment_id):
        """Pack a scanned tube, or a box with its tubes in place"""
        return _view(shipments.add_item(current_actor(), shipment_id, args["barcode"]))


@blp.route("/<int:shipment_id>/items/<barcode>")
class PackedItem(MethodView):
    @blp.response(200, ShipmentSchema)
    @error_responses(blp, 403, 404, 409)
    def delete(self, shipment_id, barcode):
        """Take a tube or box off a draft shipment"""
        return _view(shipments.remove_item(current_actor(), shipment_id, barcode))


@blp.route("/<int:shipment_id>/dispatch")
class Dispatch(MethodView):
    @blp.response(200, ShipmentSchema)
    @error_responses(blp, 403, 404, 409, 422)
    def post(self, shipment_id):
        """Everything leaves the sender's storage: in transit"""
        return _view(shipments.dispatch(current_actor(), shipment_id))


@blp.route("/<int:shipment_id>/cancel")
class Cancel(MethodView):
    @blp.arguments(ShipmentCancelSchema)
    @blp.response(200, ShipmentSchema)
    @error_responses(blp, 403, 404, 409)
    def post(self, args, shipment_id):
        """Call off a draft shipment"""
        return _view(shipments.cancel_shipment(current_actor(), shipment_id, **args))


@blp.route("/<int:shipment_id>/receive")
class Receive(MethodView):
    @blp.arguments(ReceiveSchema)
    @blp.response(200, ReceiptSchema)
    @error_responses(blp, 403, 404, 409, 422)
    def post(self, args, shipment_id):
        """One scanned arrival; with parent_id (a box) or location (a tube) it is stored too"""
        result = shipments.receive(current_actor(), shipment_id, **args)
        item = next(r for r in queries.item_rows(result["shipment"]) if r["id"] == result["item"].id)
        return {"outcome": result["outcome"], "item": item, "shipment": _view(result["shipment"])}


@blp.route("/<int:shipment_id>/close")
class Close(MethodView):
    @blp.arguments(CloseSchema)
    @blp.response(200, ShipmentSchema)
    @error_responses(blp, 403, 404, 409, 422)
    def post(self, args, shipment_id):
        """Close the receipt, naming every missing and unexpected item"""
        return _view(shipments.close(current_actor(), shipment_id, **args))


MANIFEST_FILES = {"csv": (queries.manifest_csv, "text/csv"), "pdf": (queries.manifest_pdf, "application/pdf")}


@blp.route("/<int:shipment_id>/manifest")
class Manifest(MethodView):
    @blp.arguments(ShipmentManifestQuerySchema, location="query")
    @blp.response(200, ShipmentManifestSchema)
    @blp.doc(responses={"200": {"description": "The manifest: format=json (default), csv or pdf", "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/ShipmentManifest"}},
        "text/csv": {"schema": {"type": "string"}},
        "application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
    @error_responses(blp, 403, 404, 422)
    def get(self, args, shipment_id):
        """The manifest of a shipment (JSON, CSV, or a PDF with a Code 128 per item)"""
        if args["format"] == "json":
            shipment, rows = queries.manifest(current_actor(), shipment_id)
            return {"shipment": queries.shipment_view(shipment, with_items=False), "items": rows}
        build, mimetype = MANIFEST_FILES[args["format"]]
        shipment, content = build(current_actor(), shipment_id)
        return Response(content, mimetype=mimetype, headers={
            "Content-Disposition": f"attachment; filename={shipment.code}-manifest.{args['format']}"})


@network_blp.route("")
class Network(MethodView):
    @network_blp.response(200, NetworkRowSchema(many=True))
    @error_responses(network_blp, 403)
    def get(self):
        """A row per site: capacity, tanks, intake in the last 30 days, shipments on the way"""
        return queries.network_overview(current_actor())
