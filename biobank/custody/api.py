from flask.views import MethodView
from flask_smorest import Blueprint

from ..core.requests import current_actor
from ..core.schemas import ApiErrorSchema
from . import queries, service
from .schemas import EventPageSchema, EventQuerySchema, VerifySchema

blp = Blueprint("audit_api", __name__, url_prefix="/api/v1/audit", description="The chain of custody")


@blp.route("")
class Events(MethodView):
    @blp.arguments(EventQuerySchema, location="query")
    @blp.response(200, EventPageSchema)
    @blp.alt_response(403, schema=ApiErrorSchema)
    def get(self, args):
        """Custody events, newest first, filtered by sample, container, actor, action and time"""
        page, per_page = args.pop("page"), args.pop("per_page")
        return queries.events(current_actor(), args, page, per_page)


@blp.route("/verify")
class Verify(MethodView):
    @blp.response(200, VerifySchema)
    @blp.alt_response(403, schema=ApiErrorSchema)
    def get(self):
        """Recompute the hash chain; name the first event that does not match"""
        return service.verify(current_actor())
