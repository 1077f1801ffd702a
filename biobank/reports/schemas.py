from datetime import date, datetime

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate


class DateOrDateTime(fields.Field):
    """2025-03-01 (the whole day) or 2025-03-01T10:00:00Z."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            return datetime.fromisoformat(text.replace("z", "Z"))
        except ValueError:
            raise ValidationError(_("Use a date (2025-03-01) or an ISO 8601 date-time.")) from None


class CapacityQuerySchema(Schema):
    threshold = fields.Float(metadata={"description": "alert threshold (fraction); default BIOBANK_FILL_ALERT "
                                                      "or 0.9"})
    by_type = fields.Boolean(load_default=False, metadata={
        "description": "add counts per sample type (one GROUP BY over stored samples: O(samples))"})
    boxes = fields.Boolean(load_default=False, metadata={"description": "list boxes as well"})
    within = fields.Integer(metadata={"description": "a container id (a site, say): only it and what it holds, "
                                                     "and the intake into it"})


class CapacityItemSchema(Schema):
    id = fields.Integer()
    barcode = fields.String()
    name = fields.String()
    kind = fields.String()
    parent_id = fields.Integer(allow_none=True)
    depth = fields.Integer()
    path = fields.String()
    positions = fields.Integer()
    used = fields.Integer()
    held = fields.Integer(metadata={"description": "positions held for checked-out tubes: neither used nor free"})
    free = fields.Integer()
    fraction = fields.Float()
    alert = fields.Boolean()
    forecast_full_date = fields.String(metadata={"description": "ISO date, or \"never\""})
    forecast_rate_per_week = fields.Float()
    forecast_method = fields.String()
    recent_net_per_week = fields.List(fields.Integer())
    by_type = fields.Dict(keys=fields.String(), values=fields.Integer())


class AlertSchema(Schema):
    id = fields.Integer()
    barcode = fields.String()
    kind = fields.String()
    path = fields.String()
    fraction = fields.Float()
    used = fields.Integer()
    held = fields.Integer()
    positions = fields.Integer()
    threshold = fields.Float()
    message = fields.String()


class WeekSchema(Schema):
    week_start = fields.String()
    registered = fields.Integer()
    partial = fields.Boolean()


class CapacityScopeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    kind = fields.String()
    path = fields.String()


class CapacitySchema(Schema):
    generated_at = fields.DateTime()
    threshold = fields.Float()
    within = fields.Nested(CapacityScopeSchema, allow_none=True, metadata={
        "description": "the container the report is limited to; null for the whole layout"})
    items = fields.List(fields.Nested(CapacityItemSchema))
    alerts = fields.List(fields.Nested(AlertSchema))
    intake_per_week = fields.List(fields.Nested(WeekSchema))
    forecast = fields.Dict()
    by_type_note = fields.String()
    by_type_totals = fields.Dict(keys=fields.String(), values=fields.Integer())


class AuditExportQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "json", "ndjson")))
    sample = fields.String()
    container_id = fields.Integer(validate=validate.Range(0, 2**31 - 1))
    actor = fields.String()
    action = fields.String()
    since = DateOrDateTime(metadata={"description": "from this date or time (UTC)"})
    until = DateOrDateTime(metadata={"description": "before this time, or up to and including this date"})


class VerificationRunSchema(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    via = fields.String()
    ok = fields.Boolean()
    events_checked = fields.Integer()
    first_bad_seq = fields.Integer(allow_none=True)
    problem = fields.String(allow_none=True)


class ReconcileUploadSchema(Schema):
    file = fields.Raw(metadata={"type": "string", "format": "binary"}, required=True)


class CorrectionSchema(Schema):
    barcode = fields.String(required=True)
    position = fields.String(required=True)


class ApplySchema(Schema):
    corrections = fields.List(fields.Nested(CorrectionSchema), required=True, validate=validate.Length(min=1))


class ApplyResultSchema(Schema):
    container_id = fields.Integer()
    path = fields.String()
    moved = fields.List(fields.Dict())
    unchanged = fields.List(fields.String())


class ReconcileResultSchema(Schema):
    container = fields.Dict()
    rack_barcode = fields.String(allow_none=True)
    warnings = fields.List(fields.String())
    lines = fields.Integer()
    matched = fields.List(fields.Dict(), metadata={"description": "[{position, barcode}]"})
    missing = fields.List(fields.Dict(), metadata={"description": "[{position, barcode, scanned_as}]"})
    unexpected = fields.List(fields.Dict(), metadata={
        "description": "[{position, barcode, known, status, system_location, correctable, why}]"})
    misplaced = fields.List(fields.Dict(), metadata={"description": "[{position, barcode, expected_position}]"})
    no_read = fields.List(fields.Dict(), metadata={"description": "[{position, expected_barcode}]"})
    summary = fields.Dict()
    corrections = fields.List(fields.Nested(CorrectionSchema))




class DirectoryQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
    min_count = fields.Integer(validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "suppress counts under this (at least BIOBANK_DIRECTORY_MIN_COUNT, 10)"})
