"""Schemas shared by every API: errors and pages."""
from datetime import datetime, timezone

from marshmallow import Schema, fields


class ApiErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    details = fields.Raw(allow_none=True)


class PageSchema(Schema):
    """The paging fields of every list answer; each list schema adds its `items`."""
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()
    pages = fields.Integer()


def error_responses(blp, *statuses):
    """A decorator documenting these error statuses of a view with the API's error shape."""
    def decorate(func):
        for status in statuses:
            func = blp.alt_response(status, schema=ApiErrorSchema)(func)
        return func
    return decorate


def _iso_utc(value: datetime) -> str:
    """Stored datetimes are naive UTC (core/time.py): say so, as RFC 3339 requires an offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


# Every DateTime field of every API schema answers RFC 3339 date-times ("...+00:00").
fields.DateTime.SERIALIZATION_FUNCS = {**fields.DateTime.SERIALIZATION_FUNCS, "iso": _iso_utc, "iso8601": _iso_utc}
