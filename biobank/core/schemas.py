"""Schemas shared by every API: errors and pages."""
from datetime import datetime, timezone

from marshmallow import Schema, fields


class ApiErrorSchema(Schema):
    code = fields.String(required=True, metadata={"description": "stable machine-readable code"})
    message = fields.String(required=True, metadata={"description": "what went wrong, for a person"})
    details = fields.Raw(allow_none=True)


def _iso_utc(value: datetime) -> str:
    """Stored datetimes are naive UTC (core/time.py): say so, as RFC 3339 requires an offset."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.isoformat()


# Every DateTime field of every API schema answers RFC 3339 date-times ("...+00:00").
fields.DateTime.SERIALIZATION_FUNCS = {**fields.DateTime.SERIALIZATION_FUNCS, "iso": _iso_utc, "iso8601": _iso_utc}
