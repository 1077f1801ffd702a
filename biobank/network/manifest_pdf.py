"""A shipment's manifest as a printable PDF: its particulars, one row per item with
the barcode as Code 128 to scan against, page X of Y, signature lines. It reuses
the request manifest's building blocks (fonts, barcode sizing, numbered pages)."""
from io import BytesIO

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from ..core.lazy_text import lazy_gettext as _l
from ..requests.manifest_pdf import (_BARCODE, _BODY, _HEAD, _TITLE, CELL_PADDING, MARGIN, MIN_MODULE,
                                     _numbered_canvas, _signatures, _text, barcode_symbol, module_width)
from .models import SHIPPING_CONDITIONS, status_name

COLUMNS = ((_l("Barcode"), 62 * mm), (_l("Item"), 30 * mm), (_l("Type"), 26 * mm), (_l("Volume"), 18 * mm),
           (_l("Storage temp."), 20 * mm), (_l("Status"), 24 * mm))   # 180 mm


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else _("not yet")


def _particulars(shipment, rows) -> Table:
    tubes = sum(1 for r in rows if r["kind"] == "sample")
    boxes = sum(1 for r in rows if r["kind"] == "box")
    lines = [(_("Shipment"), shipment.code), (_("From"), f"{shipment.from_site.name} ({shipment.from_site.code})"),
             (_("To"), f"{shipment.to_site.name} ({shipment.to_site.code})"),
             (_("Condition"), SHIPPING_CONDITIONS.get(shipment.condition, shipment.condition)),
             (_("Courier"), shipment.courier), (_("Tracking"), shipment.tracking),
             (_("Dispatched"), _when(shipment.dispatched_at)),
             (_("Contents"), _("%(tubes)s tube(s), %(boxes)s box(es)", tubes=tubes, boxes=boxes))]
    if shipment.excursion:
        lines.append((_("Temperature excursion"), shipment.excursion))
    table = Table([[_text(label, _HEAD), _text("—" if value in (None, "") else value, _BODY)]
                   for label, value in lines], colWidths=(40 * mm, None), hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _items(rows):
    if not rows:
        return _text(_("Nothing is packed yet."), _BODY)
    symbol_width = COLUMNS[0][1] - 2 * CELL_PADDING
    data = [[_text(name, _HEAD) for name, _width in COLUMNS]]
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING)]
    for row in rows:
        cell = [_text(row["barcode"], _BARCODE)]
        fits = module_width(row["barcode"], symbol_width) >= MIN_MODULE
        if fits:
            cell.append(barcode_symbol(row["barcode"], symbol_width))
        what = _("box") if row["kind"] == "box" else (_("in %(box)s at %(position)s", box=row["box"],
                                                         position=row["position"]) if row["box"] else _("tube"))
        volume = f"{float(row['volume']):g} {row['unit'] or ''}".strip() if row["volume"] else ""
        data.append([cell, _text(what), _text(row["sample_type"]), _text(volume), _text(row["storage_temperature"]),
                     _text(status_name(row["status"]))])
        if row["kind"] == "box":
            style.append(("BACKGROUND", (0, len(data) - 1), (-1, len(data) - 1), colors.Color(0.96, 0.96, 0.9)))
        if not fits:
            full = sum(width for _name, width in COLUMNS) - 2 * CELL_PADDING
            data.append([barcode_symbol(row["barcode"], full)] + [""] * (len(COLUMNS) - 1))
            last = len(data) - 1
            style += [("SPAN", (0, last), (-1, last)), ("NOSPLIT", (0, last - 1), (-1, last))]
    table = Table(data, colWidths=[width for _name, width in COLUMNS], repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def shipment_manifest_pdf(shipment, rows: list[dict], pagesize=A4) -> bytes:
    buffer = BytesIO()
    title = _("Shipment manifest %(code)s", code=shipment.code)
    document = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                                 topMargin=MARGIN, bottomMargin=MARGIN, title=title, author="Biobank")
    story = [_text(_("Shipment manifest"), _TITLE), _particulars(shipment, rows), Spacer(1, 6 * mm), _items(rows),
             _signatures()]
    document.build(story, canvasmaker=_numbered_canvas(title))
    return buffer.getvalue()
