"""Reading labels back: PNG directly, PDF and SVG rasterised first, then zxing-cpp."""
import ctypes
import io
import re
import string

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_raw
import resvg_py
import zxingcpp
from barcode.charsets import code128 as charsets
from PIL import Image
from reportlab.pdfbase.ttfonts import TTFontFile

from biobank.core.fonts import FONT_DIR

ALPHABET = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_."   # every allowed character
FORMATS = (zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.DataMatrix)
NAMES = {zxingcpp.BarcodeFormat.Code128: "code128", zxingcpp.BarcodeFormat.DataMatrix: "datamatrix"}


def barcodes_up_to(max_length: int, min_length: int = 3) -> list[str]:
    """For every length from min to max, barcodes that together use every allowed character."""
    found = []
    for length in range(min_length, max_length + 1):
        for start in range(0, len(ALPHABET), length):
            found.append((ALPHABET * 2)[start:start + length])
    return found


def read(image: Image.Image) -> list[tuple[str, str, int, int]]:
    """(symbology, text, top, left) of every symbol found, in reading order."""
    results = zxingcpp.read_barcodes(image.convert("L"), formats=FORMATS)
    found = [(NAMES[r.format], r.text, min(p.y for p in _corners(r)), min(p.x for p in _corners(r)))
             for r in results]
    return sorted(found, key=lambda item: (item[2], item[3]))


def _corners(result):
    pos = result.position
    return (pos.top_left, pos.top_right, pos.bottom_left, pos.bottom_right)


def texts(image: Image.Image) -> dict[str, list[str]]:
    found = {"code128": [], "datamatrix": []}
    for symbology, text, _, _ in read(image):
        found[symbology].append(text)
    return found


def png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data))


def pdf_pages(data: bytes, dpi: int = 600) -> list[Image.Image]:
    assert data[:5] == b"%PDF-"
    document = pdfium.PdfDocument(data)
    try:
        return [document[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(document))]
    finally:
        document.close()


def svg_image(data: bytes, dpi: int = 600) -> Image.Image:
    text = data.decode()
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    return Image.open(io.BytesIO(resvg_py.svg_to_bytes(svg_string=text, dpi=float(dpi), background="#ffffff")))


def zpl_blocks(zpl: str) -> list[str]:
    """The labels of a ZPL stream: each ^XA ... ^XZ."""
    assert zpl.count("^XA") == zpl.count("^XZ")
    return re.findall(r"\^XA.*?\^XZ", zpl, flags=re.S)


def zpl_fields(block: str) -> dict:
    """The Code 128 and Data Matrix field data of one label, and its ^PW/^LL/^BY numbers."""
    code128 = re.findall(r"\^BC[^\^]*\^FD(.*?)\^FS", block)
    datamatrix = re.findall(r"\^BX[^\^]*\^FD(.*?)\^FS", block)
    return {"code128": code128, "datamatrix": datamatrix,
            "pw": int(re.search(r"\^PW(\d+)", block).group(1)), "ll": int(re.search(r"\^LL(\d+)", block).group(1)),
            "by": [int(v) for v in re.findall(r"\^BY(\d+)", block)],
            "bx": [int(v) for v in re.findall(r"\^BXN,(\d+),200", block)]}


def zpl_code128_values(data: str) -> list[int]:
    """What a Zebra printer encodes for ^BC mode N data: symbol values from the invocation codes."""
    starts, switches = {">9": "A", ">:": "B", ">;": "C"}, {">7": "A", ">6": "B", ">5": "C"}
    start_values, switch_values = {"A": 103, "B": 104, "C": 105}, {"A": 101, "B": 100, "C": 99}
    charset = starts[data[:2]]
    values, i = [start_values[charset]], 2
    while i < len(data):
        if data[i] == ">":
            charset = switches[data[i:i + 2]]
            values.append(switch_values[charset])
            i += 2
        elif charset == "C":
            values.append(int(data[i:i + 2]))
            i += 2
        else:
            values.append((charsets.A if charset == "A" else charsets.B)[data[i]])
            i += 1
    return values


def zpl_code128(data: str, module_px: int = 2) -> tuple[Image.Image, str]:
    """The Code 128 a printer draws for ^BC data (check digit and stop added): picture and modules."""
    values = zpl_code128_values(data)
    check = (values[0] + sum(i * v for i, v in enumerate(values[1:], start=1))) % 103
    modules = "".join(charsets.CODES[v] for v in values + [check]) + charsets.STOP + "11"
    quiet = 10
    image = Image.new("L", ((len(modules) + 2 * quiet) * module_px, 40), 255)
    for i, bit in enumerate(modules):
        if bit == "1":
            image.paste(0, ((quiet + i) * module_px, 0, (quiet + i + 1) * module_px, 40))
    return image, modules


def pdf_chars(data: bytes) -> list[tuple[str, str | None, bool]]:
    """Every character pdfium reads off the pages: (character, the font that draws it, whether the
    PDF embeds that font); no font for the spaces and line ends pdfium adds between words."""
    found, name, flags = [], ctypes.create_string_buffer(256), ctypes.c_int()
    document = pdfium.PdfDocument(data)
    try:
        for page in document:
            textpage = page.get_textpage()
            for index in range(textpage.count_chars()):
                char = chr(pdfium_raw.FPDFText_GetUnicode(textpage.raw, index))
                text_object = pdfium_raw.FPDFText_GetTextObject(textpage.raw, index)
                if not text_object:
                    found.append((char, None, False))
                    continue
                font = pdfium_raw.FPDFTextObj_GetFont(text_object)
                pdfium_raw.FPDFText_GetFontInfo(textpage.raw, index, name, len(name), ctypes.byref(flags))
                found.append((char, name.value.decode().split("+")[-1],   # "ABCDEF+Name" for a subset
                              bool(pdfium_raw.FPDFFont_GetIsEmbedded(font))))
    finally:
        document.close()
    return found


def shipped_glyphs() -> dict[str, set[int]]:
    """PostScript name of each shipped font -> the code points it has glyphs for (its cmap)."""
    found = {}
    for path in sorted(FONT_DIR.glob("*.ttf")):
        face = TTFontFile(str(path))
        found[face.name.decode()] = {code for code, glyph in face.charToGlyph.items() if glyph}
    return found


def assert_pdf_prints(data: bytes, *words: str) -> None:
    """Each word is on the pages, every letter of it drawn in an embedded shipped font that has its glyph
    (Helvetica, or a font without the glyph, prints an empty box)."""
    chars = pdf_chars(data)
    text, glyphs = "".join(char for char, _, _ in chars), shipped_glyphs()
    for word in words:
        start = text.find(word)
        assert start >= 0, (word, text)
        for char, font, embedded in chars[start:start + len(word)]:
            if not char.isspace():
                assert ord(char) in glyphs.get(font, ()), f"{char!r} of {word!r} is drawn in {font}, which lacks it"
                assert embedded, f"{font} is not embedded"
