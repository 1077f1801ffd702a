from marshmallow import Schema, fields, validate

from ..samples.models import SAMPLE_TYPES, TEMPERATURES
from .models import occupied_fraction

_types = fields.List(fields.String(validate=validate.OneOf(SAMPLE_TYPES)), allow_none=True)
_temperature = fields.String(validate=validate.OneOf(TEMPERATURES), allow_none=True)


class ContainerCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    kind = fields.String(required=True, validate=validate.Length(1, 32))
    parent_id = fields.Integer(allow_none=True)
    rows = fields.Integer(allow_none=True)
    cols = fields.Integer(allow_none=True)
    barcode = fields.String(allow_none=True)
    storage_temperature = _temperature
    allowed_types = _types


class LayoutSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(1, 120))
    kind = fields.String(load_default="tank", validate=validate.Length(1, 32))
    parent_id = fields.Integer(allow_none=True)
    racks = fields.Integer(required=True)
    boxes_per_rack = fields.Integer(required=True)
    rows = fields.Integer(required=True)
    cols = fields.Integer(required=True)
    storage_temperature = _temperature
    allowed_types = _types


class ChildSchema(Schema):
    id = fields.Integer()
    barcode = fields.String()
    name = fields.String()
    kind = fields.String()
    rows = fields.Integer(allow_none=True)
    cols = fields.Integer(allow_none=True)
    capacity = fields.Integer()
    used = fields.Integer()
    held = fields.Integer(metadata={"description": "positions held for checked-out tubes: neither used nor free"})
    free = fields.Integer()


class ContainerSchema(ChildSchema):
    parent_id = fields.Integer(allow_none=True)
    path = fields.String()
    storage_temperature = fields.String(allow_none=True)
    allowed_types = fields.List(fields.String(), allow_none=True)
    fraction = fields.Method("_fraction")
    children = fields.List(fields.Nested(ChildSchema))

    def _fraction(self, obj):
        return occupied_fraction(obj.used, obj.held, obj.capacity)


class MapCellSchema(Schema):
    position = fields.String()
    row = fields.Integer()
    col = fields.Integer()
    sample = fields.Dict(allow_none=True)
    held = fields.Dict(allow_none=True, metadata={
        "description": "the position is held for this checked-out tube: {barcode, sample_type, status, due_back}"})


class BuiltList(fields.List):
    """A list that the query already built as plain JSON values: documented by its
    item schema, passed through as it is. (A 10 x 10 box map would otherwise be
    100 nested dumps, the larger part of the map's cost.)"""

    def _serialize(self, value, attr, obj, **kwargs):
        return value


class BoxMapSchema(Schema):
    container = fields.Nested(ChildSchema)
    path = fields.String()
    rows = fields.Integer()
    cols = fields.Integer()
    positions = BuiltList(fields.Nested(MapCellSchema))


class ContainerMoveSchema(Schema):
    parent_id = fields.Integer(required=True, metadata={"description": "the rack, tank or freezer it goes into"})
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))
    from_parent_id = fields.Integer(allow_none=True, metadata={
        "description": "where it was seen; the move is refused (409 moved_meanwhile) if it is elsewhere now"})
