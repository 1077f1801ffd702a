import json

from marshmallow import Schema, fields, validate

from ..core.schemas import PageSchema


class EventSchema(Schema):
    seq = fields.Integer()
    at = fields.DateTime()
    actor = fields.String()
    actor_role = fields.String()
    via = fields.String()
    action = fields.String()
    subject_type = fields.String()
    subject = fields.String()
    sample_barcode = fields.String(allow_none=True)
    container_id = fields.Integer(allow_none=True)
    request_id = fields.Integer(allow_none=True)
    from_location = fields.String(allow_none=True)
    to_location = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    changes = fields.Function(lambda e: json.loads(e.changes or "{}"))
    prev_hash = fields.String()
    hash = fields.String()


class EventQuerySchema(Schema):
    sample = fields.String()
    site = fields.Integer(metadata={"description": "a site id: only events at that site"})
    container_id = fields.Integer()
    actor = fields.String()
    action = fields.String()
    since = fields.DateTime()
    until = fields.DateTime()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class EventPageSchema(PageSchema):
    items = fields.List(fields.Nested(EventSchema))


class VerifySchema(Schema):
    ok = fields.Boolean()
    events_checked = fields.Integer()
    first_bad_event = fields.Dict(allow_none=True)
