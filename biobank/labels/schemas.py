"""Request shapes of the label API (query string for GET, JSON body for a batch)."""
from marshmallow import EXCLUDE, Schema, fields, validate

from .layout import RESOLUTIONS
from .render import MIMETYPES

MAX_BATCH = 5000   # the settings' max_labels (2000 by default) gives the clear error below this


class LabelOptionsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    format = fields.String(load_default="png", validate=validate.OneOf(tuple(MIMETYPES)),
                           metadata={"description": "zpl (Zebra printers), png, svg or pdf"})
    dpi = fields.Integer(load_default=None, validate=validate.OneOf(RESOLUTIONS),
                         metadata={"description": "printer resolution the symbols are snapped to: 203, 300 or 600 "
                                                  "(default 203 for ZPL, 600 for the others)"})
    sheet = fields.String(load_default=None, metadata={
        "description": "PDF: a sheet layout of labels/ (a4, letter) or 'label' for one label per page; "
                       "default from labels/settings.toml"})
    skip = fields.Integer(load_default=0, validate=validate.Range(min=0), metadata={
        "description": "PDF on a sheet: labels already used on the first sheet"})
    template = fields.String(load_default=None, metadata={
        "description": "label template of labels/ (default cryovial for samples, box for containers)"})
    reason = fields.String(load_default=None, validate=validate.Length(max=500), metadata={
        "description": "why (for example 'label damaged'); kept in the custody event"})


class LabelBatchSchema(LabelOptionsSchema):
    class Meta:
        unknown = EXCLUDE

    barcodes = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=MAX_BATCH),
                           metadata={"description": "sample barcodes, printed in this order"})
