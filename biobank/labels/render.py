"""Labels to files: ZPL, PNG, SVG and PDF (pure: no database, no Flask; the only
files read are the templates, and the output is bytes in memory).

One label gives one label-sized picture (PNG, SVG) or page (PDF with
sheet=None). Many labels give one ^XA...^XZ block each in ZPL, pages of a
sheet layout in PDF, and a grid of labels in one PNG or SVG, laid out like the
sheet (columns and gaps) but as long as it needs to be.
"""
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from xml.sax.saxutils import escape

from flask_babel import gettext as _
from PIL import Image, ImageDraw
from reportlab.pdfgen import canvas

from ..core import fonts
from ..core.errors import InvalidInput
from . import layout
from .layout import MM_PER_INCH, RESOLUTIONS, BarcodeTooLong, PlacedLabel, dots
from .templates import LabelTemplate, Settings, SheetCells, UnknownTemplate, fill, load_settings, load_sheet

MIMETYPES = {"zpl": "application/x-zpl", "png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
FORMATS = tuple(MIMETYPES)
NO_SHEET = "label"   # sheet name for "one label per PDF page"
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
def _png_runs(text: str, bold: bool, size: int) -> list[tuple]:
    """(Pillow font, piece) for each run of the shipped faces."""
    return [(fonts.image_font(face, size), piece) for face, piece in fonts.runs(text, bold)]


def _draw_png(draw: ImageDraw.ImageDraw, label: PlacedLabel, ox: int, oy: int) -> None:
    for x, y, w, h in label.bars:
        draw.rectangle((ox + x, oy + y, ox + x + w - 1, oy + y + h - 1), fill=0)
    for text in label.texts:
        size = max(6, round(text.size))
        runs = _png_runs(text.text, text.bold, size)
        width = sum(font.getlength(piece) for font, piece in runs)
        if width > text.max_width:   # measured again in the faces Pillow draws with
            runs = _png_runs(text.text, text.bold, max(6, int(size * text.max_width / width)))
        x = ox + text.x
        for font, piece in runs:
            draw.text((x, oy + text.baseline), piece, font=font, fill=0, anchor="ls")
            x += font.getlength(piece)


def to_png(labels: list[PlacedLabel], grid: Grid) -> bytes:
    """Greyscale PNG with the resolution stored in the file. Bars and modules sit on whole
    pixels, so they are pure black and white; only the text is smoothed, which keeps
    small type legible at 203 dpi."""
    if len(labels) == 1:
        width, height, places = labels[0].width, labels[0].height, [(0, 0)]
    else:
        width, height, places = grid.positions(labels)
    image = Image.new("L", (width, height), 255)
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
        # textLength pins the width the PDF prints with, whatever font the viewer substitutes.
        length = text.width
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
        fonts.draw_string(pdf, ox + text.x * scale, top - text.baseline * scale, text.text, text.size * scale,
                          text.bold, standard=True)


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


# -- one file for many labels ---------------------------------------------------------------
def _check_options(fmt: str, dpi: int, skip: int) -> None:
    if fmt not in FORMATS:
        raise InvalidInput(_("'%(format)s' is not a label format; use one of %(formats)s.", format=fmt,
                             formats=", ".join(FORMATS)), code="invalid_format")
    if dpi not in RESOLUTIONS:
        raise InvalidInput(_("%(dpi)s dpi is not supported; use %(resolutions)s.", dpi=dpi,
                             resolutions=", ".join(map(str, RESOLUTIONS))), code="invalid_dpi")
    if skip < 0:
        raise InvalidInput(_("skip counts labels already used on the sheet: 0 or more."), code="invalid_skip")


def default_dpi(settings: Settings, fmt: str) -> int:
    return settings.zpl_dpi if fmt == "zpl" else settings.image_dpi


def _place_all(template: LabelTemplate, items: list[tuple[str, dict]], dpi: int) -> list:
    placed, refused = [], []
    for barcode, fields in items:
        try:
            placed.append(layout.place(template, barcode, fields, dpi))
        except BarcodeTooLong as exc:
            refused.append(exc)
    if len(refused) == 1 and len(items) == 1:
        raise refused[0]
    if refused:
        names = ", ".join(exc.details["barcode"] for exc in refused[:10]) + (", ..." if len(refused) > 10 else "")
        raise BarcodeTooLong(
            _("%(num)d of %(total)d barcodes are too long for the %(template)s label at %(dpi)s dpi (at most "
              "%(max)s characters there): %(barcodes)s. Nothing was printed.", num=len(refused), total=len(items),
              template=template.title, dpi=dpi, max=refused[0].details["max_length"], barcodes=names),
            details=[exc.details for exc in refused])
    return placed


def render_labels(template: LabelTemplate, items: list[tuple[str, dict]], *, directory: Path, fmt: str = "png",
                  dpi: int | None = None, sheet: str | None = None, skip: int = 0, settings: Settings | None = None,
                  title: str = "Labels") -> bytes:
    """The file for these labels: items are (barcode, text fields); `directory` holds the templates.

    Every label is laid out before anything is drawn, so one barcode that is too
    long refuses the whole file (BarcodeTooLong naming all of them)."""
    settings = settings or load_settings(directory)
    dpi = dpi or default_dpi(settings, fmt)
    _check_options(fmt, dpi, skip)
    if not items:
        raise InvalidInput(_("There are no labels to print."), code="nothing_to_print")
    limit = settings.max_image_labels if fmt in ("png", "svg") else settings.max_labels
    if len(items) > limit:
        hint = _("Use PDF or ZPL for more.") if fmt in ("png", "svg") else _("Print them in parts.")
        raise InvalidInput(_("%(num)d labels are more than %(limit)d in one %(format)s.", num=len(items), limit=limit,
                             format=fmt.upper()) + " " + hint,
                           code="too_many_labels", details={"count": len(items), "limit": limit})
    sheet_name = sheet or settings.sheet
    cells = page = None
    if fmt in ("pdf", "png", "svg") and sheet_name != NO_SHEET:
        try:
            layout_sheet = load_sheet(directory, sheet_name)
        except UnknownTemplate:
            if fmt == "pdf" or sheet:
                raise
            layout_sheet = None   # pictures fall back to a plain grid
        if layout_sheet is not None:
            cells, page = layout_sheet.cells.get(template.name), (layout_sheet.width_mm, layout_sheet.height_mm)
            if cells is None and fmt == "pdf":
                raise UnknownTemplate(_("The sheet '%(sheet)s' has no layout for %(template)s labels; add a "
                                        "[%(template)s] section to sheet-%(sheet)s.toml or use sheet=label.",
                                        sheet=sheet_name, template=template.name),
                                      code="unknown_sheet")
            if cells is not None and (cells.label_width_mm + 1e-6 < template.width_mm
                                      or cells.label_height_mm + 1e-6 < template.height_mm):
                raise UnknownTemplate(_("The %(width)s x %(height)s mm %(template)s label does not fit the "
                                        "%(cell_width)s x %(cell_height)s mm labels of sheet '%(sheet)s'.",
                                        width=template.width_mm, height=template.height_mm, template=template.name,
                                        cell_width=cells.label_width_mm, cell_height=cells.label_height_mm,
                                        sheet=sheet_name), code="sheet_mismatch")
    if fmt == "pdf" and cells is not None and skip >= cells.per_page:
        raise InvalidInput(_("skip must be less than the %(num)d labels on a sheet.", num=cells.per_page),
                           code="invalid_skip")
    placed = _place_all(template, items, dpi)
    if fmt == "zpl":
        return to_zpl(placed)
    if fmt == "pdf":
        return to_pdf(placed, page=page if cells else None, cells=cells, skip=skip, title=title)
    grid = Grid.from_cells(cells, dpi)
    return to_png(placed, grid) if fmt == "png" else to_svg(placed, grid)
