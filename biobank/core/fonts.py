"""The fonts of every PDF and label picture, shipped in biobank/fonts (licences and
how they were made beside them): nothing is taken from the system, so a page
prints the same wherever the server runs.

Noto Sans holds Latin (Uzbek ʻ and ʼ included), Greek and Cyrillic; Biobank
Gothic KR (a subset of Nanum Gothic) holds Hangul. A text is cut into runs, each
set in the first face that has its characters, so one line may mix scripts.
With `standard=True` a text that Helvetica prints whole (Windows-1252) stays one
Helvetica run: PDF's built-in font, which labels have always been measured with,
so their layout and their ZPL do not change.
"""
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.sax.saxutils import escape

from PIL import ImageFont
from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"


@dataclass(frozen=True)
class Face:
    name: str               # the name reportlab knows it by
    file: str | None = None  # in FONT_DIR; None for a font built into every PDF reader


REGULAR = (Face("NotoSans", "NotoSans-Regular.ttf"), Face("BiobankGothicKR", "BiobankGothicKR-Regular.ttf"))
BOLD = (Face("NotoSans-Bold", "NotoSans-Bold.ttf"), Face("BiobankGothicKR-Bold", "BiobankGothicKR-Bold.ttf"))
HELVETICA, HELVETICA_BOLD = Face("Helvetica"), Face("Helvetica-Bold")
SANS, SANS_BOLD = REGULAR[0].name, BOLD[0].name   # for reportlab styles: the first face of each chain


def windows_1252(text: str) -> bool:
    """Whether the text is all in Windows-1252: what Helvetica in a PDF and a Zebra printer's
    font 0 print without another font."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=None)
def coverage() -> dict[str, frozenset[int]]:
    """Registers the shipped faces with reportlab (once) and returns the code points each holds."""
    held = {}
    for regular, bold in zip(REGULAR, BOLD):
        for face in (regular, bold):
            font = TTFont(face.name, str(FONT_DIR / face.file))
            pdfmetrics.registerFont(font)
            held[face.name] = frozenset(font.face.charToGlyph)
        for is_bold, is_italic, face in ((0, 0, regular), (1, 0, bold), (0, 1, regular), (1, 1, bold)):
            addMapping(regular.name, is_bold, is_italic, face.name)   # <b> in a paragraph finds the bold face
    return held


def runs(text: str, bold: bool = False, *, standard: bool = False) -> list[tuple[Face, str]]:
    """The text as (face, piece) runs: each character in the first face that holds it
    (the first face when none does)."""
    if standard and windows_1252(text):
        return [(HELVETICA_BOLD if bold else HELVETICA, text)] if text else []
    chain = BOLD if bold else REGULAR
    held = coverage()
    found: list[tuple[Face, str]] = []
    for char in text:
        face = next((f for f in chain if ord(char) in held[f.name]), chain[0])
        if found and found[-1][0] == face:
            found[-1] = (face, found[-1][1] + char)
        else:
            found.append((face, char))
    return found


def string_width(text: str, size: float, bold: bool = False, *, standard: bool = False) -> float:
    """Width in points of the text at `size` points, as draw_string sets it."""
    coverage()
    return sum(pdfmetrics.stringWidth(piece, face.name, size) for face, piece in runs(text, bold, standard=standard))


def draw_string(canvas, x: float, y: float, text: str, size: float, bold: bool = False, *,
                standard: bool = False, right: bool = False) -> None:
    """Draw the text on a reportlab canvas, run by run, from x (or ending at x with right=True)."""
    if right:
        x -= string_width(text, size, bold, standard=standard)
    for face, piece in runs(text, bold, standard=standard):
        canvas.setFont(face.name, size)
        canvas.drawString(x, y, piece)
        x += pdfmetrics.stringWidth(piece, face.name, size)


def markup(text: str, bold: bool = False) -> str:
    """Paragraph markup for plain text in a SANS (or SANS_BOLD) style: escaped, the runs
    another face holds in <font> tags."""
    chain = BOLD if bold else REGULAR
    return "".join(escape(piece) if face == chain[0] else f'<font face="{face.name}">{escape(piece)}</font>'
                   for face, piece in runs(text, bold))


@lru_cache(maxsize=128)
def image_font(face: Face, size: int) -> ImageFont.FreeTypeFont:
    """The face for Pillow at `size` pixels; Helvetica, which ships with no file, is drawn as Noto Sans."""
    if face.file is None:
        face = BOLD[0] if face == HELVETICA_BOLD else REGULAR[0]
    return ImageFont.truetype(str(FONT_DIR / face.file), size)
