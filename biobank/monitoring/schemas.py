from marshmallow import EXCLUDE, Schema, fields, validate

from ..core.schemas import PageSchema
from ..extensions import db
from ..storage.models import Container
from .limits import LIMIT_FIELDS
from .models import ALARM_KIND_NAMES, ALARM_KINDS, LOG_KINDS


class ReadingInSchema(Schema):
    class Meta:
        unknown = EXCLUDE   # sensor gateways add fields of their own (battery, rssi, ...)

    at = fields.String(required=True, metadata={"description": "ISO 8601 time; no offset means UTC",
                                                "example": "2026-03-01T14:05:00Z"})
    sensor = fields.String(required=True, validate=validate.Length(1, 64))
    temperature_c = fields.Float(allow_none=True)
    ln2_level = fields.Float(allow_none=True, metadata={"description": "LN2 level, % or cm as the sensor reports"})


class ReadingSchema(Schema):
    container_id = fields.Integer()
    at = fields.DateTime()
    sensor = fields.String()
    temperature_c = fields.Float(allow_none=True)
    ln2_level = fields.Float(allow_none=True)
    source = fields.String()


class ReadingsQuerySchema(Schema):
    since = fields.String(metadata={"description": "ISO 8601; default: a day before `until`"})
    until = fields.String(metadata={"description": "ISO 8601; default: now"})


class IngestQuerySchema(Schema):
    skip_duplicates = fields.Boolean(load_default=False, metadata={
        "description": "readings already stored are skipped (and listed) instead of refusing the batch"})


class AlarmSchema(Schema):
    id = fields.Integer()
    container_id = fields.Integer()
    container_path = fields.Method("_path")
    kind = fields.String(validate=validate.OneOf(ALARM_KINDS))
    kind_name = fields.Method("_kind_name")
    message = fields.String()
    sensor = fields.String(allow_none=True)
    opened_at = fields.DateTime()
    first_value = fields.Float(allow_none=True)
    worst_value = fields.Float(allow_none=True)
    in_range = fields.Boolean()
    acknowledged_by = fields.String(allow_none=True)
    acknowledged_at = fields.DateTime(allow_none=True)
    note = fields.String(attribute="acknowledge_note", allow_none=True)
    closed_at = fields.DateTime(allow_none=True)

    def _path(self, alarm):
        container = db.session.get(Container, alarm.container_id)  # from the session's identity map
        return container.path if container else None

    def _kind_name(self, alarm):
        return str(ALARM_KIND_NAMES.get(alarm.kind, alarm.kind))


class AlarmPageSchema(PageSchema):
    items = fields.List(fields.Nested(AlarmSchema))


class AlarmQuerySchema(Schema):
    open = fields.Boolean(load_default=False)
    container_id = fields.Integer(validate=validate.Range(1, 2**31 - 1))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 100_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class AcknowledgeSchema(Schema):
    note = fields.String(required=True, validate=validate.Length(max=2000))


class IngestResultSchema(Schema):
    accepted = fields.Integer()
    readings = fields.List(fields.Nested(ReadingSchema))
    skipped_duplicates = fields.List(fields.Dict())
    alarms_opened = fields.List(fields.Nested(AlarmSchema))
    alarms_closed = fields.List(fields.Nested(AlarmSchema))


class LimitsInSchema(Schema):
    max_temperature_c = fields.Float(allow_none=True)
    min_temperature_c = fields.Float(allow_none=True)
    min_ln2_level = fields.Float(allow_none=True)
    max_silence_minutes = fields.Integer(allow_none=True, validate=validate.Range(1, 7 * 24 * 60))


class LimitsSchema(Schema):
    container_id = fields.Integer()
    storage_temperature = fields.String(allow_none=True)
    max_temperature_c = fields.Float(allow_none=True)
    min_temperature_c = fields.Float(allow_none=True)
    min_ln2_level = fields.Float(allow_none=True)
    max_silence_minutes = fields.Integer(allow_none=True)
    defaults = fields.List(fields.String(validate=validate.OneOf(LIMIT_FIELDS)),
                           metadata={"description": "the limits that are the default of the temperature class"})


class TankLogInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(LOG_KINDS))
    at = fields.String(allow_none=True, metadata={"description": "ISO 8601; default: now"})
    litres = fields.Float(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=2000))


class TankLogSchema(Schema):
    id = fields.Integer()
    container_id = fields.Integer()
    kind = fields.String()
    at = fields.DateTime()
    performed_by = fields.String()
    litres = fields.Float(allow_none=True)
    note = fields.String(allow_none=True)


class PlannedMoveSchema(Schema):
    barcode = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    to = fields.String()
    sample_type = fields.String()
    status = fields.String()
    from_container_id = fields.Integer()
    from_position = fields.String()
    to_container_id = fields.Integer()
    to_position = fields.String()
    to_box_barcode = fields.String()


class UnplacedSchema(Schema):
    barcode = fields.String()
    from_ = fields.String(data_key="from", attribute="from")
    sample_type = fields.String()
    reason = fields.String()


class EvacuationPlanSchema(Schema):
    tank = fields.Dict()
    site = fields.Dict(allow_none=True)
    moves = fields.List(fields.Nested(PlannedMoveSchema))
    unplaced = fields.List(fields.Nested(UnplacedSchema))
    destinations = fields.List(fields.Dict())


class EvacuationScanSchema(Schema):
    barcode = fields.String(required=True, validate=validate.Length(1, 64))
    box_barcode = fields.String(allow_none=True, validate=validate.Length(max=64))


class CheckResultSchema(Schema):
    opened = fields.List(fields.Nested(AlarmSchema))
