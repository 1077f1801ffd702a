"""Labels in Russian, Uzbek and Korean: PDF and PNG draw the letters (not empty boxes), ZPL asks the
printer for a TrueType font that has them, and Western European text prints as it always has."""
import re

import pytest
from PIL import ImageChops

from biobank.config import PROJECT_ROOT
from biobank.labels import render as output
from biobank.labels.command_sheet import command_sheet_pdf
from biobank.labels.templates import LabelTemplateError, load_template

from .helpers import assert_pdf_prints, pdf_chars, png, zpl_blocks

LABELS = PROJECT_ROOT / "labels"
BOX = load_template(LABELS, "box")
RUSSIAN, UZBEK, KOREAN = "Пробирка", "Oʻzbekiston qonʼ", "검체 보관"


def box_label(name: str, fmt: str, directory=LABELS, template=BOX, **options) -> bytes:
    fields = {"barcode": "BOX-001", "name": name, "grid": "9x9", "parent_path": "Tank 1", "temperature": "-196 °C"}
    return output.render_labels(template, [("BOX-001", fields)], fmt=fmt, directory=directory, **options)


@pytest.mark.parametrize("sheet", ["a4", "label"])
def test_pdf_labels_draw_russian_uzbek_and_korean_in_embedded_fonts_that_have_them(sheet):
    for word in (RUSSIAN, UZBEK, KOREAN, f"{KOREAN} {RUSSIAN}"):
        pdf = box_label(word, "pdf", sheet=sheet)
        assert_pdf_prints(pdf, word)
        drawn = {char: font for char, font, _ in pdf_chars(pdf)}
        assert drawn["B"] == "Helvetica-Bold" and drawn["°"] == "Helvetica"   # Western European text as before


def _picture(name: str):
    return png(box_label(name, "png", dpi=300)).convert("L")


def _same(a, b) -> bool:
    return ImageChops.difference(a, b).getbbox() is None


@pytest.mark.parametrize("word", [RUSSIAN, "검체보관"])
def test_png_labels_draw_each_letter_not_the_same_empty_box(word):
    # An empty box looks the same for every letter: the word and its letters backwards would be one picture.
    assert not _same(_picture(word), _picture(word[::-1]))
    assert not _same(_picture(word), _picture("\ue000" * len(word)))   # a private-use character has no glyph


def test_png_labels_tell_the_uzbek_okina_from_the_apostrophe():
    okina, apostrophe = _picture("Oʻzbekiston"), _picture("Oʼzbekiston")
    assert not _same(okina, apostrophe)
    assert not _same(okina, _picture("O\ue000zbekiston"))


def _text_fields(zpl: str) -> list[str]:
    return re.findall(r"\^FT\d+,\d+.*?\^FS", zpl_blocks(zpl)[0])


@pytest.mark.parametrize("word", [RUSSIAN, UZBEK, KOREAN])
def test_zpl_sends_text_outside_font_0_as_utf8_in_the_printer_truetype_font(word):
    zpl = box_label(word, "zpl").decode()
    [line] = [field for field in _text_fields(zpl) if "^A@" in field]
    hexed = "".join(f"\\{byte:02X}" if byte > 127 else chr(byte) for byte in f"{word}  9x9".encode())
    assert re.fullmatch(r"\^FT\d+,\d+\^CI28\^A@N,(\d+),\1,E:ANMDJ\.TTF\^FH\\\^FD(.*)\^FS", line).group(2) == hexed
    assert "^CI28" in zpl.split(line)[0].split("^FT")[0]   # the template itself reads UTF-8 too
    others = [field for field in _text_fields(zpl) if field != line]
    assert others and all("^A0N," in field and "^A@" not in field for field in others)


def test_zpl_of_western_european_text_stays_in_font_0():
    zpl = box_label("Box Müller-Straße", "zpl").decode()
    fields = _text_fields(zpl)
    assert len(fields) == 4 and all(re.match(r"\^FT\d+,\d+\^A0N,\d+,\d+\^FH\\\^FD", field) for field in fields)
    assert "^A@" not in zpl and zpl.count("^CI28") == 1
    assert "^FT128,109^A0N,29,29^FH\\^FDBOX-001^FS" in fields


def test_a_template_names_the_printer_font_for_other_scripts(tmp_path):
    for name in ("box.zpl", "settings.toml"):
        (tmp_path / name).write_text((LABELS / name).read_text())
    toml = (LABELS / "box.toml").read_text()
    assert 'zpl_unicode_font = "E:ANMDJ.TTF"' in toml   # set where the rest of the design is
    (tmp_path / "box.toml").write_text(toml.replace('"E:ANMDJ.TTF"', '"E:NOTOSANS.TTF"'))
    template = load_template(tmp_path, "box")
    assert "^A@N,22,22,E:NOTOSANS.TTF^FH" in box_label(RUSSIAN, "zpl", directory=tmp_path, template=template).decode()

    (tmp_path / "box.toml").write_text(toml.replace('"E:ANMDJ.TTF"', '"NOTO^FS"'))
    with pytest.raises(LabelTemplateError, match="zpl_unicode_font must name a font on the printer"):
        load_template(tmp_path, "box")


def test_the_command_sheet_prints_translated_actions():
    pdf = command_sheet_pdf([("CMD:MOVE", "Переместить"), ("CMD:CHECKOUT", "검체 반출")], title="Команды станции")
    assert_pdf_prints(pdf, "Команды станции", "Переместить", "검체 반출")
    assert "CMD:MOVE" in "".join(char for char, _, _ in pdf_chars(pdf))
