"""The shipping manifest as a printable PDF (no database; its texts in the reader's language).

A courier and the receiving lab get the shipment's particulars, one table row per
tube with its barcode printed as Code 128 to scan the tubes against, "page X of Y"
on every page, and lines to sign for packing and receipt. The rows are the
de-identified ones of queries.manifest: no donor, no storage location.
"""
from io import BytesIO

from flask_babel import gettext as _
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from ..core import fonts
from ..core.lazy_text import lazy_gettext as _l

MARGIN = 15 * mm
COLUMNS = ((_l("Barcode"), 62 * mm), (_l("Type"), 24 * mm), (_l("Anatomical site"), 21 * mm), (_l("Diagnosis"), 19 * mm),
           (_l("Collected"), 20 * mm), (_l("Volume"), 17 * mm), (_l("Storage temp."), 17 * mm))   # 180 mm: A4 less margins
CELL_PADDING = 3
BAR_HEIGHT = 7 * mm
MAX_MODULE = 0.8      # points; Code 128's narrowest bar, at most ~0.28 mm ...
MIN_MODULE = 0.5      # ... and at least ~0.18 mm, or the symbol gets a row of its own across the table
QUIET_MODULES = 10    # white space either side of a symbol, in modules

FONT, BOLD = fonts.SANS, fonts.SANS_BOLD   # Latin, Greek, Cyrillic; Hangul from the Korean face (core.fonts)
_styles = getSampleStyleSheet()
_TITLE = ParagraphStyle("manifest-title", parent=_styles["Title"], fontName=BOLD)
_BODY = ParagraphStyle("manifest-body", parent=_styles["BodyText"], fontName=FONT, fontSize=9, leading=11)
_CELL = ParagraphStyle("manifest-cell", parent=_BODY, fontSize=8, leading=9.5)
_HEAD = ParagraphStyle("manifest-head", parent=_CELL, fontName=BOLD)
_BARCODE = ParagraphStyle("manifest-barcode", parent=_HEAD, wordWrap="CJK")  # long ones break anywhere


def _text(value, style=_CELL) -> Paragraph:
    return Paragraph(fonts.markup("" if value is None else str(value), bold=style.fontName == BOLD), style)


def module_width(value: str, width: float) -> float:
    """The narrowest bar, in points, with which the Code 128 of `value` fits in `width` points."""
    modules = Code128(value, barWidth=1, quiet=0).width + 2 * QUIET_MODULES
    return min(MAX_MODULE, width / modules)


def barcode_symbol(value: str, width: float) -> Code128:
    """Code 128 of `value`, its bars as wide as fit in `width` points (quiet zones included)."""
    module = module_width(value, width)
    return Code128(value, barWidth=module, barHeight=BAR_HEIGHT, humanReadable=False, quiet=1,
                   lquiet=QUIET_MODULES * module, rquiet=QUIET_MODULES * module)


def _volume(row: dict) -> str:
    if row["volume"] is None:
        return ""
    return f"{float(row['volume']):g} {row['unit'] or ''}".strip()


def _day(iso: str | None) -> str:
    return iso[:10] if iso else ""


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else _("not shipped yet")


def _particulars(request, count: int) -> Table:
    lines = [(_("Request"), f"{request.id}: {request.title}"), (_("Ethics reference"), request.ethics_reference),
             (_("Requester"), request.requester), (_("Recipient"), request.recipient), (_("Courier"), request.courier),
             (_("Tracking"), request.tracking), (_("Shipped"), _when(request.shipped_at)),
             (_("Number of samples"), count)]
    table = Table([[_text(label, _HEAD), _text("—" if value in (None, "") else value, _BODY)]
                   for label, value in lines],
                  colWidths=(40 * mm, None), hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _samples(rows: list[dict]) -> Table | Paragraph:
    if not rows:
        return _text(_("No samples in this request."), _BODY)
    symbol_width = COLUMNS[0][1] - 2 * CELL_PADDING
    data = [[_text(name, _HEAD) for name, _ in COLUMNS]]
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)),
             ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING)]
    for row in rows:
        barcode = [_text(row["barcode"], _BARCODE)]
        fits = module_width(row["barcode"], symbol_width) >= MIN_MODULE
        if fits:
            barcode.append(barcode_symbol(row["barcode"], symbol_width))
        data.append([barcode, _text(row["sample_type"]), _text(row["anatomical_site"]), _text(row["diagnosis"]),
                     _text(_day(row["collected_at"])), _text(_volume(row)), _text(row["storage_temperature"])])
        if not fits:  # a long barcode: its symbol across the whole table, kept on the page of its row
            full_width = sum(width for _name, width in COLUMNS) - 2 * CELL_PADDING
            data.append([barcode_symbol(row["barcode"], full_width)] + [""] * (len(COLUMNS) - 1))
            last = len(data) - 1
            style += [("SPAN", (0, last), (-1, last)), ("NOSPLIT", (0, last - 1), (-1, last))]
    table = Table(data, colWidths=[width for _name, width in COLUMNS], repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def _signatures() -> KeepTogether:
    data = [[_text(role, _HEAD), _text(_("Name") + " " + "_" * 26, _BODY), _text(_("Signature") + " " + "_" * 16, _BODY),
             _text(_("Date") + " " + "_" * 12, _BODY)] for role in (_("Packed by"), _("Received by"))]
    table = Table(data, colWidths=(25 * mm, 62 * mm, 52 * mm, None), hAlign="LEFT")
    table.setStyle(TableStyle([("TOPPADDING", (0, 0), (-1, -1), 14), ("LEFTPADDING", (0, 0), (-1, -1), 0)]))
    return KeepTogether([Spacer(1, 8 * mm), table])


def _numbered_canvas(footer: str):
    """A canvas that holds its pages back until the end, to print "page X of Y" on each."""
    class NumberedCanvas(canvas.Canvas):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._pages = []

        def showPage(self):
            self._pages.append(dict(self.__dict__))
            self._startPage()

        def save(self):
            for number, state in enumerate(self._pages, 1):
                self.__dict__.update(state)
                width, _height = self._pagesize
                fonts.draw_string(self, MARGIN, MARGIN / 2, footer, 8)
                fonts.draw_string(self, width - MARGIN, MARGIN / 2, _("page %(number)s of %(total)s", number=number, total=len(self._pages)), 8,
                                  right=True)
                super().showPage()
            super().save()
    return NumberedCanvas


def manifest_pdf(request, rows: list[dict], pagesize=A4) -> bytes:
    """The manifest of `request` (a ResearchRequest) with its de-identified `rows`, as PDF bytes."""
    buffer = BytesIO()
    title = _("Shipping manifest, request %(id)s", id=request.id)
    document = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                                 topMargin=MARGIN, bottomMargin=MARGIN, title=title, author="Biobank")
    story = [_text(_("Shipping manifest"), _TITLE), _particulars(request, len(rows)),
             Spacer(1, 6 * mm), _samples(rows), _signatures()]
    document.build(story, canvasmaker=_numbered_canvas(title))
    return buffer.getvalue()
