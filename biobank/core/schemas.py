"""Schemas shared by every API: errors and pages."""
from marshmallow import Schema, fields


class ApiErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    details = fields.Raw(allow_none=True)
