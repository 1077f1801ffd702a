"""Request, catalogue and pick-list shapes. Everything here is de-identified: no
donor pseudonyms, no notes; storage locations appear only in pick lists (staff)."""
from marshmallow import Schema, fields, post_dump, validate

from ..core.schemas import PageSchema

from ..samples.models import SAMPLE_TYPES
from ..samples.schemas import collected_month, sees_identified
from .models import PART_STATUSES, STATUSES
from .opaque import catalogue_id


def _catalogue_id(sample) -> str:
    return catalogue_id(sample.id)


class _HidesBarcode:
    """Researchers get the opaque catalogue id, never the barcode (it may encode the donor)."""

    @post_dump
    def hide_barcode(self, data, **kwargs):
        if not sees_identified():
            data["barcode"] = None
        return data


class CatalogueItemSchema(_HidesBarcode, Schema):
    catalogue_id = fields.Function(_catalogue_id, metadata={
        "description": "opaque, stable id of the sample (CAT-XXXX-XXXX): use it to request the sample"})
    barcode = fields.String(allow_none=True, metadata={"description": "staff only (null for researchers)"})
    sample_type = fields.String()
    collected_at = fields.DateTime(allow_none=True)
    volume = fields.Float(allow_none=True)
    unit = fields.String(allow_none=True)
    anatomical_site = fields.String(allow_none=True)
    diagnosis = fields.String(allow_none=True)
    storage_temperature = fields.String(allow_none=True)
    sprec = fields.String(allow_none=True)
    freeze_thaw_count = fields.Integer()
    collected_month = fields.String(allow_none=True, dump_only=True,
                                    metadata={"description": "YYYY-MM; researchers get only this, not the day"})

    @post_dump(pass_original=True)
    def coarsen(self, data, original, **kwargs):
        data["collected_month"] = collected_month(original)
        if not sees_identified():
            data["collected_at"] = None
        return data


class FacetValueSchema(Schema):
    value = fields.Raw()
    count = fields.Integer()


class CatalogueQuerySchema(Schema):
    sample_type = fields.String(validate=validate.OneOf(SAMPLE_TYPES))
    diagnosis = fields.String(validate=validate.Length(max=16),
                              metadata={"description": "ICD-10 code or its start, e.g. C50"})
    anatomical_site = fields.String(validate=validate.Length(max=16),
                                    metadata={"description": "ICD-O-3 topography or its start, e.g. C50"})
    collected_from = fields.Date()
    collected_to = fields.Date()
    collection_year = fields.Integer(validate=validate.Range(1900, 2999))
    min_volume = fields.Decimal(validate=validate.Range(min=0), metadata={"minimum": 0})
    max_volume = fields.Decimal(validate=validate.Range(min=0), metadata={"minimum": 0})
    unit = fields.String(validate=validate.Length(max=8))
    site = fields.String(validate=validate.Length(max=32), metadata={"description": "a site code"})
    q = fields.String(validate=validate.Length(max=64))
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class CataloguePageSchema(PageSchema):
    items = fields.List(fields.Nested(CatalogueItemSchema))
    facets = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FacetValueSchema)))


class RequestItemSchema(_HidesBarcode, Schema):
    catalogue_id = fields.Function(lambda item: catalogue_id(item.sample_id))
    barcode = fields.String(attribute="sample.barcode", allow_none=True,
                            metadata={"description": "staff only (null for researchers)"})
    site = fields.String(attribute="part.site.code", allow_none=True)
    sample_type = fields.String(attribute="sample.sample_type")
    diagnosis = fields.String(attribute="sample.diagnosis", allow_none=True)
    anatomical_site = fields.String(attribute="sample.anatomical_site", allow_none=True)
    volume = fields.Float(attribute="sample.volume", allow_none=True)
    unit = fields.String(attribute="sample.unit", allow_none=True)
    sample_status = fields.String(attribute="sample.status")
    picked = fields.Boolean()
    picked_at = fields.DateTime(allow_none=True)
    picked_by = fields.String(allow_none=True)


class RequestPartSchema(Schema):
    id = fields.Integer()
    site = fields.String(attribute="site.code", allow_none=True)
    site_name = fields.String(attribute="site.name", allow_none=True)
    status = fields.String(metadata={"enum": list(PART_STATUSES)})
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    item_count = fields.Function(lambda part: len(part.items))
    picked_count = fields.Integer()
    shipped_at = fields.DateTime(allow_none=True)
    courier = fields.String(allow_none=True)
    tracking = fields.String(allow_none=True)


class CriterionSchema(Schema):
    id = fields.Integer()
    count = fields.Integer()
    sample_type = fields.String(allow_none=True)
    diagnosis = fields.String(allow_none=True)
    collected_from = fields.Date(allow_none=True)
    collected_to = fields.Date(allow_none=True)
    site = fields.String(attribute="site.code", allow_none=True)
    filled = fields.Boolean()
    filled_at = fields.DateTime(allow_none=True)
    filled_by = fields.String(allow_none=True)
    filled_count = fields.Function(lambda line: len(line.items))


class CriterionInSchema(Schema):
    count = fields.Integer(required=True, validate=validate.Range(1, 1000))
    sample_type = fields.String(validate=validate.OneOf(SAMPLE_TYPES))
    diagnosis = fields.String(validate=validate.Length(max=16), metadata={"description": "ICD-10 or its start: C50"})
    collection_year = fields.Integer(validate=validate.Range(1900, 2999))
    collected_from = fields.Date()
    collected_to = fields.Date()
    site = fields.String(validate=validate.Length(max=32), metadata={"description": "a site code (optional)"})


class RequestSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    purpose = fields.String()
    ethics_reference = fields.String()
    status = fields.String()
    requester = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    submitted_at = fields.DateTime(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    picking_started_at = fields.DateTime(allow_none=True)
    shipped_at = fields.DateTime(allow_none=True)
    shipped_by = fields.String(allow_none=True)
    recipient = fields.String(allow_none=True)
    courier = fields.String(allow_none=True)
    tracking = fields.String(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    cancelled_at = fields.DateTime(allow_none=True)
    cancelled_by = fields.String(allow_none=True)
    cancel_reason = fields.String(allow_none=True)
    item_count = fields.Integer()
    picked_count = fields.Integer()
    ready_to_ship = fields.Boolean()
    items = fields.List(fields.Nested(RequestItemSchema))
    parts = fields.Method("_parts", metadata={"description": "one part per site: each site decides, picks and "
                                                            "ships its own"})
    criteria = fields.List(fields.Nested(CriterionSchema), metadata={"description": "lines asking by criteria"})

    def _parts(self, request):
        return RequestPartSchema(many=True).dump([p for p in request.parts if p.items])


class RequestCreateSchema(Schema):
    title = fields.String(required=True, validate=validate.Length(1, 200))
    purpose = fields.String(required=True, validate=validate.Length(1, 5000))
    ethics_reference = fields.String(required=True, validate=validate.Length(1, 120))
    samples = fields.List(fields.Raw(metadata={"type": "string"}), load_default=list,
                          metadata={"description": "catalogue ids (CAT-XXXX-XXXX) or, for staff, barcodes"})
    criteria = fields.List(fields.Nested(CriterionInSchema), load_default=list,
                           metadata={"description": "lines asking for a number of samples by criteria, for a "
                                                    "manager to fill; samples, criteria or both"})


class FillSchema(Schema):
    samples = fields.List(fields.Raw(metadata={"type": "string"}), required=True, validate=validate.Length(min=1),
                          metadata={"description": "the chosen samples (barcodes), at most the line's count"})


class ProposalSchema(Schema):
    criterion = fields.Nested(CriterionSchema)
    samples = fields.List(fields.String(), metadata={"description": "barcodes of matching available samples "
                                                                   "at the filler's sites, oldest first"})
    available = fields.Integer(metadata={"description": "how many match in all"})


class SiteChoiceSchema(Schema):
    site = fields.String(validate=validate.Length(max=32), metadata={
        "description": "a site code: only that site's part (default: every part the caller acts on)"})


class RequestQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    mine = fields.Boolean(load_default=False, metadata={"description": "staff: only my own requests"})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class RequestSummarySchema(RequestSchema):
    class Meta:
        exclude = ("items",)


class RequestPageSchema(PageSchema):
    items = fields.List(fields.Nested(RequestSummarySchema))


class ApproveSchema(SiteChoiceSchema):
    reason = fields.String(allow_none=True, validate=validate.Length(max=2000))


class RequestReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(1, 2000))


class RejectSchema(RequestReasonSchema, SiteChoiceSchema):
    pass


class CancelSchema(RequestReasonSchema):
    thawed = fields.Boolean(load_default=False, metadata={
        "description": "picked tubes going back to storage thawed (counts a freeze-thaw cycle)"})


class PickSchema(Schema):
    barcode = fields.Raw(required=True, metadata={"type": "string", "description": "the scanned tube"})


class ShipSchema(SiteChoiceSchema):
    recipient = fields.String(required=True, validate=validate.Length(1, 300))
    courier = fields.String(required=True, validate=validate.Length(1, 120))
    tracking = fields.String(allow_none=True, validate=validate.Length(max=120))


class PickLocationSchema(Schema):
    path = fields.String()
    container_id = fields.Integer()
    container_barcode = fields.String()
    position = fields.String()
    tank = fields.String(allow_none=True)
    tank_id = fields.Integer(allow_none=True)
    rack = fields.String(allow_none=True)
    box = fields.String()
    box_barcode = fields.String()
    in_storage = fields.Boolean()


class PickItemSchema(Schema):
    barcode = fields.String()
    site = fields.String(allow_none=True)
    sample_type = fields.String()
    location = fields.Nested(PickLocationSchema, allow_none=True)
    picked = fields.Boolean()
    picked_at = fields.DateTime(allow_none=True)
    picked_by = fields.String(allow_none=True)


class PicklistQuerySchema(Schema):
    site = fields.String(validate=validate.Length(max=32), metadata={"description": "a site code: that site's part"})


class PicklistSchema(Schema):
    request_id = fields.Integer()
    status = fields.String()
    items = fields.List(fields.Nested(PickItemSchema))
    tank_openings = fields.Integer()
    box_removals = fields.Integer()
    total = fields.Integer()
    picked = fields.Integer()
    remaining = fields.Integer()
    ready_to_ship = fields.Boolean()


class ManifestQuerySchema(Schema):
    format = fields.String(load_default="csv", validate=validate.OneOf(("csv", "json", "pdf")))


class ManifestRowSchema(Schema):
    request_id = fields.Integer()
    request_title = fields.String()
    barcode = fields.String()
    sample_type = fields.String()
    anatomical_site = fields.String(allow_none=True)
    diagnosis = fields.String(allow_none=True)
    collected_at = fields.String(allow_none=True)
    volume = fields.Float(allow_none=True)
    unit = fields.String(allow_none=True)
    storage_temperature = fields.String(allow_none=True)
    picked_at = fields.String(allow_none=True)
    shipped_at = fields.String(allow_none=True)
    recipient = fields.String(allow_none=True)
    courier = fields.String(allow_none=True)
    tracking = fields.String(allow_none=True)
