from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import error_responses
from . import service
from .schemas import SiteCreateSchema, SiteSchema

blp = Blueprint("sites_api", __name__, url_prefix="/api/v1/sites", description="Sites of the network")


@blp.route("")
class Sites(MethodView):
    @blp.response(200, SiteSchema(many=True))
    @error_responses(blp, 401)
    def get(self):
        """Every site of the network"""
        return service.list_sites(current_actor())

    @blp.arguments(SiteCreateSchema)
    @blp.response(201, SiteSchema)
    @error_responses(blp, 403, 409, 422)
    def post(self, args):
        """Add a site with its own storage tree (admin, network manager)"""
        return service.create_site(current_actor(), **args)
