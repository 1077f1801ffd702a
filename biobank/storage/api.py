from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.permissions import require
from ..core.requests import current_actor
from ..core.schemas import ApiErrorSchema
from . import moves, queries, service
from .schemas import BoxMapSchema, ContainerCreateSchema, ContainerMoveSchema, ContainerSchema, LayoutSchema

blp = Blueprint("containers_api", __name__, url_prefix="/api/v1/containers",
                description="Storage: sites, tanks, racks and boxes")


@blp.route("")
class Containers(MethodView):
    @blp.arguments(ContainerCreateSchema)
    @blp.response(201, ContainerSchema)
    @blp.alt_response(403, schema=ApiErrorSchema)
    @blp.alt_response(422, schema=ApiErrorSchema)
    def post(self, args):
        """Create one container (a box when rows and cols are given)"""
        return service.create_container(current_actor(), **args)

    @blp.response(200, ContainerSchema(many=True))
    def get(self):
        """The top-level containers (sites)"""
        require(current_actor(), "samples.identified")  # the storage layout is for staff (DESIGN.md)
        return queries.roots()


@blp.route("/layout")
class Layout(MethodView):
    @blp.arguments(LayoutSchema)
    @blp.response(201, ContainerSchema)
    @blp.alt_response(403, schema=ApiErrorSchema)
    @blp.alt_response(422, schema=ApiErrorSchema)
    def post(self, args):
        """Build a whole tank: racks of boxes of rows × cols"""
        return service.build_layout(current_actor(), **args)


@blp.route("/<int:container_id>")
class ContainerItem(MethodView):
    @blp.response(200, ContainerSchema)
    @blp.alt_response(404, schema=ApiErrorSchema)
    def get(self, container_id):
        """A container with its path, capacity, used, free and children"""
        require(current_actor(), "samples.identified")  # the storage layout is for staff (DESIGN.md)
        return service.get_container(container_id)


@blp.route("/by-barcode/<barcode>")
class ContainerByBarcode(MethodView):
    @blp.response(200, ContainerSchema)
    @blp.alt_response(404, schema=ApiErrorSchema)
    def get(self, barcode):
        """The container with this barcode (a scanned box or rack label)"""
        require(current_actor(), "samples.identified")  # the storage layout is for staff (DESIGN.md)
        return service.container_by_barcode(barcode)


@blp.route("/<int:container_id>/map")
class BoxMap(MethodView):
    @blp.response(200, BoxMapSchema)
    @blp.alt_response(404, schema=ApiErrorSchema)
    def get(self, container_id):
        """A box's grid: every position with its sample or empty"""
        return queries.box_map(current_actor(), container_id)


@blp.route("/<int:container_id>/move")
class MoveContainer(MethodView):
    @blp.arguments(ContainerMoveSchema)
    @blp.response(200, ContainerSchema)
    @blp.alt_response(403, schema=ApiErrorSchema)
    @blp.alt_response(404, schema=ApiErrorSchema)
    @blp.alt_response(409, schema=ApiErrorSchema)
    @blp.alt_response(422, schema=ApiErrorSchema)
    def post(self, args, container_id):
        """Move a box to another rack, or a rack to another tank, with everything in it"""
        return moves.move_container(current_actor(), container_id, **args)
