"""Where everything goes on one label, in printer dots at one resolution (pure).

Every output is drawn from the same placement: ZPL uses the dots directly, PNG
uses one pixel per dot, SVG and PDF scale the dots to millimetres. Symbols are
snapped to whole dots, so each module of a bar code is the same width.

Module sizes and the length limit
---------------------------------
A template gives, for each symbol, the area it must fit in (quiet zones
included) and the smallest and largest module it may be printed with. At a
resolution of `dpi` dots per inch the smallest module is the least whole number
of dots that is at least `min_module_mm` (5 % slack, so 0.125 mm is one dot at
203 dpi); the symbol then gets the widest module up to `max_module_mm` that
still fits. A barcode whose Code 128 (or worst-case Data Matrix) does not fit
at the smallest module is refused with BarcodeTooLong rather than printed
unreadably small. `limits()` states the resulting capacity per template.
"""
import math
from dataclasses import dataclass

from flask_babel import gettext as _

from ..core import fonts
from ..core.errors import InvalidInput
from . import symbols
from .templates import Area, LabelTemplate, fill

MM_PER_INCH = 25.4
RESOLUTIONS = (203, 300, 600)
MAX_BARCODE = 64          # the sample/container barcode rule: 3..64 characters
ELLIPSIS = "\u2026"
SLACK = 0.05              # a module may be 5 % under the minimum to land on whole dots


class BarcodeTooLong(InvalidInput):
    code = "barcode_too_long"


@dataclass(frozen=True)
class Text:
    x: float           # dots from the left edge
    baseline: float    # dots from the top edge
    size: float        # font size (em) in dots
    max_width: float   # dots available to the right of x
    text: str
    bold: bool = False

    @property
    def width(self) -> float:
        """In dots, as the PDF sets it: Helvetica for Windows-1252 text, else the shipped faces."""
        return fonts.string_width(self.text, self.size, self.bold, standard=True)


@dataclass(frozen=True)
class PlacedLabel:
    template: LabelTemplate
    dpi: int
    barcode: str
    width: int
    height: int
    bars: tuple[tuple[int, int, int, int], ...]    # dark rectangles: x, y, w, h in dots
    texts: tuple[Text, ...]
    zpl_values: dict

    @property
    def width_mm(self) -> float:
        return self.width * MM_PER_INCH / self.dpi

    @property
    def height_mm(self) -> float:
        return self.height * MM_PER_INCH / self.dpi


def dots(mm: float, dpi: int) -> int:
    return round(mm * dpi / MM_PER_INCH)


def module_range(area: Area, dpi: int) -> tuple[int, int]:
    """(smallest, largest) module in whole dots for an area at this resolution."""
    per_mm = dpi / MM_PER_INCH
    smallest = max(1, math.ceil(area.min_module_mm * per_mm - SLACK))
    return smallest, max(smallest, math.floor(area.max_module_mm * per_mm + SLACK))


def _mm(value_dots: float, dpi: int) -> float:
    return value_dots * MM_PER_INCH / dpi


# -- limits -------------------------------------------------------------------------
def limits(template: LabelTemplate, dpi: int) -> dict:
    """What the template holds at this resolution (for the docs, the API and the tests)."""
    c_min, _ = module_range(template.code128, dpi)
    d_min, _ = module_range(template.datamatrix, dpi)
    code128_modules = dots(template.code128.width_mm, dpi) // c_min
    # Worst case: every character in Code 128 set B (11 modules each, plus start, check and stop
    # = 35) and one Data Matrix codeword per character.
    by_code128 = (code128_modules - 35 - 2 * symbols.CODE128_QUIET_ZONE) // 11
    side = dots(template.datamatrix.width_mm, dpi) // d_min - 2 * symbols.DATAMATRIX_QUIET_ZONE
    by_datamatrix = max([cap for size, cap in symbols.DATAMATRIX_SQUARE_SIZES if size <= side], default=0)
    return {"template": template.name, "dpi": dpi,
            "code128_min_module_mm": round(_mm(c_min, dpi), 3), "code128_max_modules": code128_modules,
            "datamatrix_min_module_mm": round(_mm(d_min, dpi), 3),
            "datamatrix_max_size": max([s for s, _ in symbols.DATAMATRIX_SQUARE_SIZES if s <= side], default=0),
            "max_length": max(0, min(by_code128, by_datamatrix, MAX_BARCODE))}


def _too_long(template: LabelTemplate, barcode: str, dpi: int, symbol: str, needed: int, room: int,
              smallest: int) -> BarcodeTooLong:
    fits_at = [other for other in RESOLUTIONS if other != dpi and _fits(template, barcode, other)]
    limit = limits(template, dpi)
    values = {"barcode": barcode, "template": template.title, "dpi": dpi, "symbol": symbol, "needed": needed,
              "room": room, "module": f"{_mm(smallest, dpi):.3f}", "max": limit["max_length"]}
    if symbol == "Code 128":
        message = _("The barcode %(barcode)s is too long for the %(template)s label at %(dpi)s dpi: its %(symbol)s "
                    "needs %(needed)s modules and the label has room for %(room)s at the smallest readable module "
                    "(%(module)s mm). At %(dpi)s dpi this label takes barcodes of up to %(max)s characters (longer "
                    "where digits run in fours or more).", **values)
    else:
        message = _("The barcode %(barcode)s is too long for the %(template)s label at %(dpi)s dpi: its %(symbol)s "
                    "needs %(needed)s modules a side and the label has room for %(room)s at the smallest readable "
                    "module (%(module)s mm). At %(dpi)s dpi this label takes barcodes of up to %(max)s characters "
                    "(longer where digits run in fours or more).", **values)
    if fits_at:
        message += " " + _("It fits at %(resolutions)s dpi.", resolutions=" and ".join(map(str, fits_at)))
    return BarcodeTooLong(
        message + " " + _("Use a wider label template or a shorter barcode."),
        details={"barcode": barcode, "template": template.name, "dpi": dpi, "symbol": symbol,
                 "needed_modules": needed, "room_modules": room, "max_length": limit["max_length"],
                 "fits_at_dpi": fits_at})


def _module(area: Area, dpi: int, width_modules: int) -> tuple[int, int, int]:
    """(module, smallest, room) in dots for a symbol this many modules wide (quiet zones included);
    it does not fit when module < smallest."""
    smallest, largest = module_range(area, dpi)
    room = dots(area.width_mm, dpi)
    return min(largest, room // width_modules), smallest, room


def _datamatrix_side(barcode: str) -> int:
    return symbols.datamatrix_worst_size(barcode) + 2 * symbols.DATAMATRIX_QUIET_ZONE


def _fits(template: LabelTemplate, barcode: str, dpi: int) -> bool:
    return all(module >= smallest for module, smallest, _ in (
        _module(template.code128, dpi, symbols.code128(barcode).width_modules),
        _module(template.datamatrix, dpi, _datamatrix_side(barcode))))


def _checked_module(template: LabelTemplate, barcode: str, dpi: int, symbol: str) -> int:
    area, needed = ((template.code128, symbols.code128(barcode).width_modules) if symbol == "Code 128"
                    else (template.datamatrix, _datamatrix_side(barcode)))
    module, smallest, room = _module(area, dpi, needed)
    if module < smallest:
        raise _too_long(template, barcode, dpi, symbol, needed, room // smallest, smallest)
    return module


# -- placement --------------------------------------------------------------------
def fit_text(text: str, bold: bool, size: float, max_width: float, min_size: float) -> tuple[str, float]:
    """Shrink the font down to min_size to fit max_width, then cut the text with an ellipsis."""
    def measure(value: str, at: float) -> float:
        return fonts.string_width(value, at, bold, standard=True)

    width = measure(text, size)
    if width > max_width:
        size = max(min_size, size * max_width / width * 0.999)   # 0.999: no rounding past the edge
    while len(text) > 1 and measure(text, size) > max_width:
        text = text.removesuffix(ELLIPSIS)[:-1].rstrip() + ELLIPSIS
    return text, size


def place(template: LabelTemplate, barcode: str, fields: dict, dpi: int) -> PlacedLabel:
    """Lay one label out at `dpi`; BarcodeTooLong when a symbol would be too small to read."""
    bars = []
    code = symbols.code128(barcode)
    module = _checked_module(template, barcode, dpi, "Code 128")
    area = template.code128
    room = dots(area.width_mm, dpi)
    c_x = dots(area.x_mm, dpi) + (room - module * code.width_modules) // 2 + module * symbols.CODE128_QUIET_ZONE
    c_y, c_h = dots(area.y_mm, dpi), dots(area.height_mm, dpi)
    bars += [(c_x + start * module, c_y, length * module, c_h) for start, length in symbols.runs(code.modules)]

    d_module = _checked_module(template, barcode, dpi, "Data Matrix")
    matrix = symbols.datamatrix(barcode)
    d_x = dots(template.datamatrix.x_mm, dpi) + d_module * symbols.DATAMATRIX_QUIET_ZONE
    d_y = dots(template.datamatrix.y_mm, dpi) + d_module * symbols.DATAMATRIX_QUIET_ZONE
    for r, row in enumerate(matrix.rows):
        bars += [(d_x + start * d_module, d_y + r * d_module, length * d_module, d_module)
                 for start, length in symbols.runs(row)]

    per_mm = dpi / MM_PER_INCH
    max_width = template.text_width_mm * per_mm
    texts = []
    for line in template.lines:
        content = fill(line.text, fields).strip()
        if not content:
            continue
        content, size = fit_text(content, line.bold, line.size_mm * per_mm, max_width,
                                 template.text_min_size_mm * per_mm)
        texts.append(Text(template.text_x_mm * per_mm, line.baseline_mm * per_mm, size, max_width, content,
                          line.bold))

    zpl_values = {name: zpl_escape(value) for name, value in fields.items()}
    zpl_values.update(
        dpi=dpi, width=dots(template.width_mm, dpi), height=dots(template.height_mm, dpi),
        code128_x=c_x, code128_y=c_y, code128_module=module, code128_height=c_h, code128_data=code.zpl_data,
        datamatrix_x=d_x, datamatrix_y=d_y, datamatrix_module=d_module, datamatrix_data=barcode,
        text="\n".join(zpl_text(t, template.zpl_unicode_font) for t in texts))
    return PlacedLabel(template, dpi, barcode, dots(template.width_mm, dpi), dots(template.height_mm, dpi),
                       tuple(bars), tuple(texts), zpl_values)


# -- ZPL text ---------------------------------------------------------------------------
def zpl_escape(value) -> str:
    """Text for a ^FH\\ field: ^, ~, \\ and anything outside printable ASCII as \\XX (UTF-8 bytes, ^CI28)."""
    out = []
    for char in str(value):
        if char in "^~\\" or not 32 <= ord(char) < 127:
            out.append("".join(f"\\{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append(char)
    return "".join(out)


def zpl_text(text: Text, unicode_font: str) -> str:
    """One text line: ^FT puts the baseline at y; font 0 (a condensed sans) is never wider than Helvetica.
    A line font 0 cannot print (outside Windows-1252: Cyrillic, Hangul, Uzbek ʻ ʼ) is UTF-8 (^CI28) in
    the printer's TrueType font `unicode_font` (^A@), which must hold its characters."""
    size = max(1, round(text.size))
    font = f"^A0N,{size},{size}" if fonts.windows_1252(text.text) else f"^CI28^A@N,{size},{size},{unicode_font}"
    return f"^FT{round(text.x)},{round(text.baseline)}{font}^FH\\^FD{zpl_escape(text.text)}^FS"
