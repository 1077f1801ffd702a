from collections.abc import Mapping

from flask import g
from marshmallow import Schema, fields, post_dump, validate

from ..core.schemas import PageSchema

from ..core.permissions import allowed
from .models import SAMPLE_TYPES, STATUSES

# What a researcher may see (DESIGN.md: no donor, location or notes).
DEIDENTIFIED_FIELDS = ("barcode", "sample_type", "status", "collected_at", "volume", "unit",
                       "anatomical_site", "diagnosis", "storage_temperature", "parent_barcode", "children",
                       "freeze_thaw_count", "sprec")


def collected_month(sample) -> str | None:
    """The month a sample was collected, as a researcher may see it."""
    at = sample.get("collected_at") if isinstance(sample, Mapping) else getattr(sample, "collected_at", None)
    return at.strftime("%Y-%m") if at is not None else None


def sees_identified() -> bool:
    actor = g.get("actor")
    return actor is not None and allowed(actor, "samples.identified")


class LocationSchema(Schema):
    container_id = fields.Integer()
    container_barcode = fields.String()
    position = fields.String()
    path = fields.String()


class SampleSchema(Schema):
    barcode = fields.String()
    sample_type = fields.String()
    status = fields.String()
    donor = fields.String(allow_none=True)
    collected_at = fields.DateTime(allow_none=True)
    volume = fields.Float(allow_none=True)
    unit = fields.String(allow_none=True)
    anatomical_site = fields.String(allow_none=True)
    diagnosis = fields.String(allow_none=True)
    storage_temperature = fields.String(allow_none=True)
    sprec = fields.String(allow_none=True)
    parent_barcode = fields.String(allow_none=True)
    children = fields.List(fields.String(), attribute="child_barcodes")
    freeze_thaw_count = fields.Integer()
    consent_withdrawn = fields.Boolean()
    notes = fields.String(allow_none=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    home = fields.Nested(LocationSchema, allow_none=True, metadata={
        "description": "its place: where it is stored, or the position held for it while it is checked out"})
    due_back = fields.DateTime(allow_none=True)
    checked_out_at = fields.DateTime(allow_none=True)
    checked_out_by = fields.String(allow_none=True)
    created_at = fields.DateTime()

    collected_month = fields.String(allow_none=True, dump_only=True,
                                    metadata={"description": "YYYY-MM; researchers get only this, not the day"})

    @post_dump(pass_original=True)
    def deidentify(self, data, original, **kwargs):
        """Researchers get the de-identified subset only, the collection date coarsened to its month."""
        data["collected_month"] = collected_month(original)
        if sees_identified():
            return data
        data["collected_at"] = None
        return {k: v for k, v in data.items() if k in DEIDENTIFIED_FIELDS + ("collected_month",)}


class LocationInSchema(Schema):
    container_id = fields.Integer(allow_none=True)
    position = fields.String(allow_none=True)
    strategy = fields.String(validate=validate.OneOf(("compact", "spread")), allow_none=True)
    within = fields.Integer(allow_none=True, metadata={
        "description": "a container (site, tank, ...) the strategy stays inside; default: your own site"})


class SampleCreateSchema(Schema):
    barcode = fields.Raw(required=True, metadata={"type": "string"})
    sample_type = fields.String(required=True)
    donor = fields.String(allow_none=True)
    collected_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    volume = fields.Raw(allow_none=True, metadata={"type": "number"})
    unit = fields.String(allow_none=True)
    anatomical_site = fields.String(allow_none=True)
    diagnosis = fields.String(allow_none=True)
    storage_temperature = fields.String(allow_none=True)
    sprec = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    parent_barcode = fields.String(allow_none=True)
    location = fields.Nested(LocationInSchema, allow_none=True)


class MoveSchema(Schema):
    container_id = fields.Integer(required=True)
    position = fields.String(required=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))
    from_container_id = fields.Integer(allow_none=True, metadata={
        "description": "where the sample was seen; the move is refused (409 moved_meanwhile) if it is elsewhere now"})
    from_position = fields.String(allow_none=True)


class ReasonSchema(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class RequiredReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class CheckoutSchema(Schema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))
    due_back = fields.String(allow_none=True, metadata={"format": "date-time",
                                                        "description": "when the tube should be back"})


class ReturnSchema(Schema):
    thawed = fields.Boolean(required=True)
    container_id = fields.Integer(allow_none=True)
    position = fields.String(allow_none=True)
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class AliquotSchema(Schema):
    count = fields.Integer(required=True, validate=validate.Range(1, 96))
    volume = fields.Raw(allow_none=True, metadata={
        "type": "number", "description": "each child's quantity, in `unit`; optional when the parent's is unknown"})
    unit = fields.String(allow_none=True, validate=validate.Length(max=8),
                         metadata={"description": "the children's unit (default: the parent's)"})
    strategy = fields.String(load_default="spread", validate=validate.OneOf(("compact", "spread")))
    container_id = fields.Integer(allow_none=True)
    positions = fields.List(fields.String(), allow_none=True)


class AliquotResultSchema(Schema):
    parent = fields.Nested(SampleSchema)
    children = fields.List(fields.Nested(SampleSchema))


class SampleQuerySchema(Schema):
    sample_type = fields.String(validate=validate.OneOf(SAMPLE_TYPES))
    status = fields.String(validate=validate.OneOf(STATUSES))
    donor = fields.String()
    container_id = fields.Integer()
    diagnosis = fields.String()
    anatomical_site = fields.String()
    q = fields.String(metadata={"description": "text in barcode, diagnosis, site or notes"})
    overdue = fields.Boolean(metadata={"description": "true: checked-out tubes past their due-back time"})
    format = fields.String(load_default="json", validate=validate.OneOf(("json", "csv")))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class SamplePageSchema(PageSchema):
    items = fields.List(fields.Nested(SampleSchema))


class WithdrawSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class WithdrawResultSchema(Schema):
    donor = fields.String()
    samples_blocked = fields.Integer()
    withdrawn_at = fields.DateTime()


class ImportResultSchema(Schema):
    imported = fields.Integer()
    barcodes = fields.List(fields.String())
