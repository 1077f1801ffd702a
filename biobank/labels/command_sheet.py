"""A printable sheet of the scan station's command barcodes (CMD:MOVE, ...), to
tape to the bench: with a tube scanned, scanning one starts that action."""
from io import BytesIO

from flask_babel import gettext as _
from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

from ..core import fonts

BAR_WIDTH = 0.42 * mm     # one module: read easily by handheld scanners at arm's length
BAR_HEIGHT = 16 * mm
ROW_HEIGHT = 30 * mm     # eight commands to an A4 page
MARGIN = 18 * mm


def command_sheet_pdf(commands: list[tuple[str, str]], *, title: str | None = None) -> bytes:
    """One row per (code, what it does): the Code 128 symbol, the action in large type, the code."""
    title = title or _("Scan station commands")
    out = BytesIO()
    width, height = A4
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(title)
    top = height - MARGIN
    fonts.draw_string(pdf, MARGIN, top, title, 16, bold=True)
    fonts.draw_string(pdf, MARGIN, top - 5 * mm, _("Scan the tube first, then one of these. Cancel (or Esc) clears."), 9)
    y = top - 12 * mm
    for code, action in commands:
        if y - ROW_HEIGHT < MARGIN:
            pdf.showPage()
            y = height - MARGIN
        symbol = Code128(code, barWidth=BAR_WIDTH, barHeight=BAR_HEIGHT, humanReadable=False)
        symbol.drawOn(pdf, MARGIN, y - BAR_HEIGHT - 4 * mm)
        text_x = MARGIN + symbol.width + 10 * mm
        fonts.draw_string(pdf, text_x, y - 12 * mm, action, 20, bold=True)
        pdf.setFont("Courier", 11)
        pdf.drawString(text_x, y - 19 * mm, code)
        pdf.setDash(1, 2)
        pdf.line(MARGIN, y - ROW_HEIGHT + 6 * mm, width - MARGIN, y - ROW_HEIGHT + 6 * mm)
        pdf.setDash()
        y -= ROW_HEIGHT
    pdf.save()
    return out.getvalue()
