"""Placed labels to files: ZPL, PNG, SVG and PDF (pure: bytes in memory, no I/O).

One label gives one label-sized picture (PNG, SVG) or page (PDF with
sheet=None). Many labels give one ^XA...^XZ block each in ZPL, pages of a
sheet layout in PDF, and a grid of labels in one PNG or SVG, laid out like the
sheet (columns and gaps) but as long as it needs to be.
"""
from dataclasses import dataclass
from functools import lru_cache
from io import BytesIO
from xml.sax.saxutils import escape

from PIL import Image, ImageDraw, ImageFont
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen import canvas

from .layout import MM_PER_INCH, PlacedLabel, dots
from .templates import SheetCells, fill

MIMETYPES = {"zpl": "application/x-zpl", "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
EXTENSIONS = {"zpl": "zpl", "png": "png", "svg": "svg", "pdf": "pdf"}
PT_PER_MM = 72 / MM_PER_INCH


@dataclass(frozen=True)
class Grid:
    """Where many labels go on one picture, in dots: columns, the distance from one label's
    top-left corner to the next one's (at least the label plus a millimetre), and the margin."""
    columns: int
    pitch_x: int
    pitch_y: int
    margin: int

    @classmethod
    def from_cells(cls, cells: SheetCells | None, dpi: int) -> "Grid":
        if cells is None:
            return cls(4, 0, 0, dots(2.0, dpi))
        return cls(cells.columns, dots(cells.label_width_mm + cells.gap_x_mm, dpi),
                   dots(cells.label_height_mm + cells.gap_y_mm, dpi), dots(2.0, dpi))

    def positions(self, labels: list[PlacedLabel]) -> tuple[int, int, list[tuple[int, int]]]:
        """(width, height, top-left corner of each label)."""
        w, h, gap = labels[0].width, labels[0].height, dots(1.0, labels[0].dpi)
        pitch_x, pitch_y = max(self.pitch_x, w + gap), max(self.pitch_y, h + gap)
        columns = min(self.columns, len(labels))
        rows = -(-len(labels) // columns)
        places = [(self.margin + (i % columns) * pitch_x, self.margin + (i // columns) * pitch_y)
                  for i in range(len(labels))]
        return (2 * self.margin + (columns - 1) * pitch_x + w, 2 * self.margin + (rows - 1) * pitch_y + h, places)


# -- ZPL --------------------------------------------------------------------------------
def to_zpl(labels: list[PlacedLabel]) -> bytes:
    return "".join(fill(label.template.zpl_for(label.dpi), label.zpl_values) for label in labels).encode()


# -- PNG --------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _font(size: int):
    return ImageFont.load_default(size=size)


def _draw_png(draw: ImageDraw.ImageDraw, label: PlacedLabel, ox: int, oy: int) -> None:
    for x, y, w, h in label.bars:
        draw.rectangle((ox + x, oy + y, ox + x + w - 1, oy + y + h - 1), fill=0)
    for text in label.texts:
        size = max(6, round(text.size))
        font = _font(size)
        if isinstance(font, ImageFont.FreeTypeFont):
            width = font.getlength(text.text)
            if width > text.max_width:   # Pillow's own font is measured again
                font = _font(max(6, int(size * text.max_width / width)))
            draw.text((ox + text.x, oy + text.baseline), text.text, font=font, fill=0, anchor="ls",
                      stroke_width=1 if text.bold and size >= 24 else 0, stroke_fill=0)
        else:  # a Pillow without FreeType: bitmap font, no baseline anchor
            draw.text((ox + text.x, oy + text.baseline - size), text.text, font=font, fill=0)


def to_png(labels: list[PlacedLabel], grid: Grid) -> bytes:
    """Bilevel PNG (what a thermal printer prints), with the resolution stored in the file."""
    if len(labels) == 1:
        width, height, places = labels[0].width, labels[0].height, [(0, 0)]
    else:
        width, height, places = grid.positions(labels)
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    for label, (ox, oy) in zip(labels, places):
        _draw_png(draw, label, ox, oy)
    out = BytesIO()
    dpi = labels[0].dpi
    image.save(out, "PNG", dpi=(dpi, dpi), optimize=False)
    return out.getvalue()


# -- SVG --------------------------------------------------------------------------------
def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _svg_label(label: PlacedLabel, ox: int, oy: int) -> str:
    path = "".join(f"M{x} {y}h{w}v{h}h-{w}z" for x, y, w, h in label.bars)
    parts = [f'<g transform="translate({ox} {oy})">',
             f'<title>{escape(label.barcode)}</title>',
             f'<path fill="#000" shape-rendering="crispEdges" d="{path}"/>']
    for text in label.texts:
        # textLength pins the width measured with Helvetica, whatever font the viewer substitutes.
        length = stringWidth(text.text, text.font, text.size)
        weight = ' font-weight="bold"' if text.bold else ""
        parts.append(f'<text x="{_num(text.x)}" y="{_num(text.baseline)}" font-family="Helvetica, Arial, '
                     f'sans-serif" font-size="{_num(text.size)}"{weight} textLength="{_num(length)}" '
                     f'lengthAdjust="spacingAndGlyphs">{escape(text.text)}</text>')
    parts.append("</g>")
    return "".join(parts)


def to_svg(labels: list[PlacedLabel], grid: Grid) -> bytes:
    """Coordinates in printer dots; width and height in millimetres, so it prints at true size."""
    if len(labels) == 1:
        width, height, places = labels[0].width, labels[0].height, [(0, 0)]
    else:
        width, height, places = grid.positions(labels)
    dpi = labels[0].dpi
    body = "\n".join(_svg_label(label, ox, oy) for label, (ox, oy) in zip(labels, places))
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" version="1.1" '
            f'width="{_num(width * MM_PER_INCH / dpi)}mm" height="{_num(height * MM_PER_INCH / dpi)}mm" '
            f'viewBox="0 0 {width} {height}">\n'
            f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>\n{body}\n</svg>\n').encode()


# -- PDF --------------------------------------------------------------------------------
def _draw_pdf(pdf: canvas.Canvas, label: PlacedLabel, left_mm: float, top_mm: float, page_height_mm: float):
    scale = 72 / label.dpi
    ox, top = left_mm * PT_PER_MM, (page_height_mm - top_mm) * PT_PER_MM
    path = pdf.beginPath()
    for x, y, w, h in label.bars:
        path.rect(ox + x * scale, top - (y + h) * scale, w * scale, h * scale)
    pdf.drawPath(path, stroke=0, fill=1)
    for text in label.texts:
        pdf.setFont(text.font, text.size * scale)
        pdf.drawString(ox + text.x * scale, top - text.baseline * scale, text.text)


def to_pdf(labels: list[PlacedLabel], *, page: tuple[float, float] | None = None, cells: SheetCells | None = None,
           skip: int = 0, title: str = "Labels") -> bytes:
    """Sheet pages (page size in mm and its cells) or, without them, one label-sized page per label."""
    out = BytesIO()
    first = labels[0]
    page_w, page_h = page or (first.width_mm, first.height_mm)
    pdf = canvas.Canvas(out, pagesize=(page_w * PT_PER_MM, page_h * PT_PER_MM), invariant=1, pageCompression=1)
    pdf.setTitle(title)
    pdf.setCreator("Biobank inventory")
    page_index = 0
    for index, label in enumerate(labels):
        if cells is None:
            if index:
                pdf.showPage()
            _draw_pdf(pdf, label, 0, 0, page_h)
            continue
        slot = index + skip
        if slot // cells.per_page != page_index:
            pdf.showPage()
            page_index = slot // cells.per_page
        left, top = cells.origin_mm(slot)
        left += (cells.label_width_mm - label.width_mm) / 2   # a smaller design sits in the middle of its cell
        top += (cells.label_height_mm - label.height_mm) / 2
        _draw_pdf(pdf, label, left, top, page_h)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
