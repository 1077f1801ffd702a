"""Request and answer shapes of record corrections (PATCH /samples/{barcode},
POST /samples/corrections)."""
from marshmallow import Schema, fields

from .models import SAMPLE_TYPES, TEMPERATURES

_text = {"allow_none": True}


class SampleCorrectionSchema(Schema):
    """The fields to correct (only those given change; null clears one) and the reason."""
    reason = fields.String(allow_none=True, metadata={"description": "required: why the record is corrected"})
    sample_type = fields.String(allow_none=True, metadata={"enum": list(SAMPLE_TYPES)})
    donor = fields.String(**_text)
    collected_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    anatomical_site = fields.String(**_text)
    diagnosis = fields.String(**_text)
    volume = fields.Raw(allow_none=True, metadata={"type": "number"})
    unit = fields.String(**_text)
    sprec = fields.String(**_text)
    storage_temperature = fields.String(allow_none=True, metadata={"enum": list(TEMPERATURES)})
    notes = fields.String(**_text)
    barcode = fields.Raw(metadata={"description": "refused: a barcode is immutable", "type": "string"})


class CorrectionQuerySchema(Schema):
    dry_run = fields.Boolean(load_default=False, metadata={"description": "check and preview, change nothing"})


class FieldChangeSchema(Schema):
    field = fields.String()
    before = fields.Raw(allow_none=True)
    after = fields.Raw(allow_none=True)


class CorrectionRowSchema(Schema):
    line = fields.Integer(allow_none=True)
    barcode = fields.String()
    cascaded_from = fields.String(allow_none=True, metadata={
        "description": "an aliquot whose donor follows the corrected ancestor"})
    reason = fields.String()
    summary = fields.String()
    changes = fields.List(fields.Nested(FieldChangeSchema))


class CorrectionResultSchema(Schema):
    dry_run = fields.Boolean()
    applied = fields.Boolean()
    count = fields.Integer()
    rows = fields.List(fields.Nested(CorrectionRowSchema))

