from marshmallow import Schema, fields, validate

from .models import ITEM_STATUSES, SHIPMENT_STATUSES, SHIPPING_CONDITIONS


class SiteSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    address = fields.String(allow_none=True)
    time_zone = fields.String()
    language = fields.String(allow_none=True, metadata={"description": "its staff's language when neither "
                                                        "their own setting nor their browser says (en, uz, ru, ko)"})
    container_id = fields.Integer()
    is_default = fields.Boolean()


class SiteCreateSchema(Schema):
    code = fields.String(required=True, validate=validate.Length(2, 32))
    name = fields.String(required=True, validate=validate.Length(1, 120))
    address = fields.String(allow_none=True, validate=validate.Length(0, 2000))
    time_zone = fields.String(allow_none=True, validate=validate.Length(1, 64))
    language = fields.String(allow_none=True, validate=validate.Length(0, 8),
                             metadata={"description": "en, uz, ru or ko; none: its staff's browsers decide"})


# -- shipments ----------------------------------------------------------------------------
class ShipmentCreateSchema(Schema):
    from_site = fields.Integer(required=True)
    to_site = fields.Integer(required=True)
    condition = fields.String(required=True, validate=validate.OneOf(list(SHIPPING_CONDITIONS)))
    courier = fields.String(allow_none=True, validate=validate.Length(0, 120))
    tracking = fields.String(allow_none=True, validate=validate.Length(0, 120))


class ItemAddSchema(Schema):
    barcode = fields.String(required=True, validate=validate.Length(1, 64))


class ReceiveLocationSchema(Schema):
    container_id = fields.Integer(allow_none=True)
    position = fields.String(allow_none=True, validate=validate.Length(1, 8))
    strategy = fields.String(allow_none=True, validate=validate.OneOf(["compact", "spread"]))
    within = fields.Integer(allow_none=True)


class ReceiveSchema(Schema):
    barcode = fields.String(required=True, validate=validate.Length(1, 64))
    condition = fields.String(allow_none=True, validate=validate.OneOf(["ok", "damaged"]))
    parent_id = fields.Integer(allow_none=True)
    location = fields.Nested(ReceiveLocationSchema, allow_none=True)
    excursion = fields.String(allow_none=True, validate=validate.Length(0, 2000),
                              metadata={"description": "a temperature excursion seen at receipt (logger reading)"})
    note = fields.String(allow_none=True, validate=validate.Length(0, 2000))


class CloseSchema(Schema):
    missing = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list)
    unexpected = fields.List(fields.String(validate=validate.Length(1, 64)), load_default=list)
    excursion = fields.String(allow_none=True, validate=validate.Length(0, 2000))


class ShipmentQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(list(SHIPMENT_STATUSES)))
    site = fields.Integer()


class ItemSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    barcode = fields.String()
    box_barcode = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    status = fields.String(validate=validate.OneOf(list(ITEM_STATUSES)))
    condition = fields.String(allow_none=True)
    sample_type = fields.String(allow_none=True)
    from_location = fields.String(allow_none=True)
    to_location = fields.String(allow_none=True)
    received_at = fields.DateTime(allow_none=True)
    received_by = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


class ShipmentSummarySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    from_site = fields.Nested(SiteSchema)
    to_site = fields.Nested(SiteSchema)
    condition = fields.String()
    condition_name = fields.String()
    courier = fields.String(allow_none=True)
    tracking = fields.String(allow_none=True)
    status = fields.String()
    excursion = fields.String(allow_none=True)
    created_at = fields.DateTime()
    created_by = fields.String()
    dispatched_at = fields.DateTime(allow_none=True)
    dispatched_by = fields.String(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_by = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class ShipmentSchema(ShipmentSummarySchema):
    items = fields.List(fields.Nested(ItemSchema))


class ShipmentListSchema(Schema):
    items = fields.List(fields.Nested(ShipmentSummarySchema))


class ShipmentManifestQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(("csv", "json", "pdf")))


class ShipmentManifestRowSchema(Schema):
    barcode = fields.String()
    kind = fields.String()
    box = fields.String(allow_none=True)
    position = fields.String(allow_none=True)
    sample_type = fields.String(allow_none=True)
    storage_temperature = fields.String(allow_none=True)
    volume = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    status = fields.String()
    condition = fields.String(allow_none=True)
    from_location = fields.String(allow_none=True)
    to_location = fields.String(allow_none=True)


class ShipmentManifestSchema(Schema):
    shipment = fields.Nested(ShipmentSummarySchema)
    items = fields.List(fields.Nested(ShipmentManifestRowSchema))


class ReceiptSchema(Schema):
    outcome = fields.String(metadata={"description": "received, stored or unexpected"})
    item = fields.Nested(ItemSchema)
    shipment = fields.Nested(ShipmentSchema)


class ShipmentCancelSchema(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(0, 2000))


class NetworkRowSchema(Schema):
    site = fields.Nested(SiteSchema)
    positions = fields.Integer()
    used = fields.Integer()
    held = fields.Integer(metadata={"description": "positions kept for checked-out tubes: neither used nor free"})
    free = fields.Integer()
    fraction = fields.Float(metadata={"description": "(used + held) / positions"})
    tanks = fields.Integer()
    intake_30_days = fields.Integer()
    incoming = fields.Integer()
    outgoing = fields.Integer()
