"""Monitoring API: readings in and out, alarms, limits, the tank log, evacuation plans."""
import math

from flask import request
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..core.requests import current_actor
from ..core.schemas import error_responses
from . import evacuation, queries, readings_csv, service
from .schemas import (AcknowledgeSchema, AlarmPageSchema, AlarmQuerySchema, AlarmSchema, CheckResultSchema,
                      EvacuationPlanSchema, EvacuationScanSchema, IngestQuerySchema, IngestResultSchema,
                      LimitsInSchema, LimitsSchema, PlannedMoveSchema, ReadingInSchema, ReadingSchema,
                      ReadingsQuerySchema, TankLogInSchema, TankLogSchema)

blp = Blueprint("monitoring_api", __name__, url_prefix="/api/v1",
                description="Monitoring: readings, alarms, limits, LN2 refills, evacuation plans")

_errors = error_responses(blp, 403, 404, 409, 422)


def _ingest_answer(result: service.IngestResult) -> dict:
    return {"accepted": result.accepted, "readings": result.readings,
            "skipped_duplicates": result.skipped_duplicates, "alarms_opened": result.alarms_opened,
            "alarms_closed": result.alarms_closed}


@blp.route("/containers/<int:container_id>/readings")
class Readings(MethodView):
    @blp.arguments(ReadingInSchema(many=True))
    @blp.arguments(IngestQuerySchema, location="query")
    @blp.response(201, IngestResultSchema)
    @_errors
    def post(self, items, query, container_id):
        """Store many readings at once; a bad one refuses the batch and names each bad reading"""
        return _ingest_answer(service.record_readings(current_actor(), container_id, items, source="http",
                                                      skip_duplicates=query["skip_duplicates"]))

    @blp.arguments(ReadingsQuerySchema, location="query")
    @blp.response(200, ReadingSchema(many=True))
    @_errors
    def get(self, args, container_id):
        """A container's readings between since and until, oldest first"""
        return queries.readings(current_actor(), container_id, args.get("since"), args.get("until"))


@blp.route("/containers/<int:container_id>/readings/import")
class ReadingsImport(MethodView):
    @blp.arguments(IngestQuerySchema, location="query")
    @blp.response(201, IngestResultSchema)
    @_errors
    def post(self, query, container_id):
        """A data logger's CSV export (multipart field `file`, or a text/csv body); all or nothing"""
        upload = request.files.get("file")
        data = upload.read() if upload else request.get_data()
        if not data:
            raise InvalidInput(_("Send the logger's CSV file (multipart field `file`)."), code="no_file")
        items = readings_csv.parse(data, default_sensor=request.args.get("sensor"))
        return _ingest_answer(service.record_readings(current_actor(), container_id, items, source="csv",
                                                      skip_duplicates=query["skip_duplicates"]))


@blp.route("/alarms")
class Alarms(MethodView):
    @blp.arguments(AlarmQuerySchema, location="query")
    @blp.response(200, AlarmPageSchema)
    @_errors
    def get(self, args):
        """Alarms, newest first (open=true: only those still open)"""
        items, total = queries.alarms(current_actor(), open_only=args["open"], container_id=args.get("container_id"),
                                      page=args["page"], per_page=args["per_page"])
        return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"],
                "pages": max(1, math.ceil(total / args["per_page"]))}


@blp.route("/alarms/<int:alarm_id>")
class AlarmItem(MethodView):
    @blp.response(200, AlarmSchema)
    @_errors
    def get(self, alarm_id):
        """One alarm"""
        require(current_actor(), "monitoring.read")
        return service.get_alarm(alarm_id)


@blp.route("/alarms/<int:alarm_id>/acknowledge")
class Acknowledge(MethodView):
    @blp.arguments(AcknowledgeSchema)
    @blp.response(200, AlarmSchema)
    @_errors
    def post(self, args, alarm_id):
        """Acknowledge an alarm with a note; it closes when the readings are back in range"""
        return service.acknowledge_alarm(current_actor(), alarm_id, note=args["note"])


@blp.route("/alarms/check")
class Check(MethodView):
    @blp.response(200, CheckResultSchema)
    @_errors
    def post(self):
        """Look for silent sensors now (the monitor command does this every minute)"""
        require(current_actor(), "monitoring.read")
        return {"opened": service.check_silence(service.MONITOR)}


def _limits_answer(container_id: int) -> dict:
    container = service.get_container(container_id)
    rules = queries.limits_of(container)
    return dict(rules.as_dict(), container_id=container.id, storage_temperature=container.effective_temperature)


@blp.route("/containers/<int:container_id>/limits")
class Limits(MethodView):
    @blp.response(200, LimitsSchema)
    @_errors
    def get(self, container_id):
        """A container's alarm limits (its own, else the default of its temperature class)"""
        require(current_actor(), "monitoring.read")
        return _limits_answer(container_id)

    @blp.arguments(LimitsInSchema)
    @blp.response(200, LimitsSchema)
    @_errors
    def patch(self, args, container_id):
        """Set limits (managers); null puts a limit back to its default"""
        service.set_limits(current_actor(), container_id, **args)
        return _limits_answer(container_id)


@blp.route("/containers/<int:container_id>/tank-log")
class TankLog(MethodView):
    @blp.response(200, TankLogSchema(many=True))
    @_errors
    def get(self, container_id):
        """LN2 refills and maintenance of a tank, newest first"""
        return queries.tank_log(current_actor(), container_id)

    @blp.arguments(TankLogInSchema)
    @blp.response(201, TankLogSchema)
    @_errors
    def post(self, args, container_id):
        """Record an LN2 refill (litres) or a maintenance visit (note) by the acting user"""
        return service.record_tank_work(current_actor(), container_id, **args)


@blp.route("/containers/<int:container_id>/evacuation-plan")
class EvacuationPlan(MethodView):
    @blp.response(200, EvacuationPlanSchema)
    @_errors
    def get(self, container_id):
        """Where every tube of a tank can go at the same site: moves in picking order, and those without a place"""
        return evacuation.evacuation_plan(current_actor(), container_id)


@blp.route("/containers/<int:container_id>/evacuation-plan/moves")
class EvacuationMove(MethodView):
    @blp.arguments(EvacuationScanSchema)
    @blp.response(200, PlannedMoveSchema)
    @_errors
    def post(self, args, container_id):
        """Carry out the plan for one scanned tube (and, if given, the scanned destination box)"""
        return evacuation.carry_out_move(current_actor(), container_id, args["barcode"],
                                         box_barcode=args.get("box_barcode"))
