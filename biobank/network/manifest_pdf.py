"""A shipment's manifest as a printable PDF: its particulars, one row per item with
the barcode as Code 128 to scan against, page X of Y, signature lines. It reuses
the request manifest's building blocks (fonts, barcode sizing, numbered pages)."""
from io import BytesIO

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.platypus import SimpleDocTemplate, Spacer, Table, TableStyle

from ..requests.manifest_pdf import (_BARCODE, _BODY, _HEAD, _TITLE, CELL_PADDING, MARGIN, MIN_MODULE,
                                     _numbered_canvas, _signatures, _text, barcode_symbol, module_width)
from .models import SHIPPING_CONDITIONS

COLUMNS = (("Barcode", 62 * mm), ("Item", 30 * mm), ("Type", 26 * mm), ("Volume", 18 * mm),
           ("Storage temp.", 20 * mm), ("Status", 24 * mm))   # 180 mm


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "not yet"


def _particulars(shipment, rows) -> Table:
    tubes = sum(1 for r in rows if r["kind"] == "sample")
    boxes = sum(1 for r in rows if r["kind"] == "box")
    lines = [("Shipment", shipment.code), ("From", f"{shipment.from_site.name} ({shipment.from_site.code})"),
             ("To", f"{shipment.to_site.name} ({shipment.to_site.code})"),
             ("Condition", SHIPPING_CONDITIONS.get(shipment.condition, shipment.condition)),
             ("Courier", shipment.courier), ("Tracking", shipment.tracking),
             ("Dispatched", _when(shipment.dispatched_at)), ("Contents", f"{tubes} tube(s), {boxes} box(es)")]
    if shipment.excursion:
        lines.append(("Temperature excursion", shipment.excursion))
    table = Table([[_text(label, _HEAD), _text("—" if value in (None, "") else value, _BODY)]
                   for label, value in lines], colWidths=(40 * mm, None), hAlign="LEFT")
    table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("LEFTPADDING", (0, 0), (-1, -1), 0),
                               ("BOTTOMPADDING", (0, 0), (-1, -1), 1), ("TOPPADDING", (0, 0), (-1, -1), 1)]))
    return table


def _items(rows):
    if not rows:
        return _text("Nothing is packed yet.", _BODY)
    symbol_width = COLUMNS[0][1] - 2 * CELL_PADDING
    data = [[_text(name, _HEAD) for name, _ in COLUMNS]]
    style = [("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
             ("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)), ("VALIGN", (0, 0), (-1, -1), "TOP"),
             ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING), ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING)]
    for row in rows:
        cell = [_text(row["barcode"], _BARCODE)]
        fits = module_width(row["barcode"], symbol_width) >= MIN_MODULE
        if fits:
            cell.append(barcode_symbol(row["barcode"], symbol_width))
        what = "box" if row["kind"] == "box" else (f"in {row['box']} at {row['position']}" if row["box"] else "tube")
        volume = f"{float(row['volume']):g} {row['unit'] or ''}".strip() if row["volume"] else ""
        data.append([cell, _text(what), _text(row["sample_type"]), _text(volume), _text(row["storage_temperature"]),
                     _text(row["status"].replace("_", " "))])
        if row["kind"] == "box":
            style.append(("BACKGROUND", (0, len(data) - 1), (-1, len(data) - 1), colors.Color(0.96, 0.96, 0.9)))
        if not fits:
            full = sum(width for _, width in COLUMNS) - 2 * CELL_PADDING
            data.append([barcode_symbol(row["barcode"], full)] + [""] * (len(COLUMNS) - 1))
            last = len(data) - 1
            style += [("SPAN", (0, last), (-1, last)), ("NOSPLIT", (0, last - 1), (-1, last))]
    table = Table(data, colWidths=[width for _, width in COLUMNS], repeatRows=1)
    table.setStyle(TableStyle(style))
    return table


def shipment_manifest_pdf(shipment, rows: list[dict], pagesize=A4) -> bytes:
    buffer = BytesIO()
    title = f"Shipment manifest {shipment.code}"
    document = SimpleDocTemplate(buffer, pagesize=pagesize, leftMargin=MARGIN, rightMargin=MARGIN,
                                 topMargin=MARGIN, bottomMargin=MARGIN, title=title, author="Biobank")
    story = [_text("Shipment manifest", _TITLE), _particulars(shipment, rows), Spacer(1, 6 * mm), _items(rows),
             _signatures()]
    document.build(story, canvasmaker=_numbered_canvas(title))
    return buffer.getvalue()
