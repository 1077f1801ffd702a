"""Pure rendering: every format reads back as exactly the barcode, at every length the label allows."""
import shutil

import pytest

from biobank.config import PROJECT_ROOT
from biobank.labels import layout, render as output, symbols
from biobank.labels.layout import BarcodeTooLong
from biobank.labels.templates import LabelTemplateError, UnknownTemplate, load_template

from .helpers import (ALPHABET, barcodes_up_to, pdf_pages, png, svg_image, texts, zpl_blocks, zpl_code128,
                      zpl_fields)

LABELS = PROJECT_ROOT / "labels"
CRYOVIAL = load_template(LABELS, "cryovial")
BOX = load_template(LABELS, "box")
FIELDS = {"sample_type": "tissue_frozen", "collected": "2025-07-21", "location": "T03-R2-B05-A1"}


def items(barcodes, fields=FIELDS):
    return [(barcode, dict(fields, barcode=barcode)) for barcode in barcodes]


def render(barcodes, fmt, template=CRYOVIAL, **options):
    return output.render_labels(template, items(barcodes), fmt=fmt, directory=LABELS, **options)


def max_length(template, dpi):
    return layout.limits(template, dpi)["max_length"]


def assert_reads_back(image, barcode):
    found = texts(image)
    assert found == {"code128": [barcode], "datamatrix": [barcode]}, (barcode, found)


def test_the_limits_follow_from_label_width_and_module_size():
    # 24.4 mm for Code 128 with its quiet zones; smallest module 0.125 mm: 1 dot at 203 dpi,
    # 2 dots (0.169 mm) at 300 dpi, 3 dots (0.127 mm) at 600 dpi.
    assert [max_length(CRYOVIAL, dpi) for dpi in (203, 300, 600)] == [12, 8, 12]
    assert [max_length(BOX, dpi) for dpi in (203, 300, 600)] == [30, 21, 29]
    assert layout.limits(CRYOVIAL, 300)["code128_min_module_mm"] == 0.169


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_png_reads_back_at_every_length_the_label_allows(dpi):
    barcodes = barcodes_up_to(max_length(CRYOVIAL, dpi))
    assert set("".join(barcodes)) == set(ALPHABET)
    for barcode in barcodes:
        image = png(render([barcode], "png", dpi=dpi))
        assert image.size == (layout.dots(25.4, dpi), layout.dots(12.7, dpi))
        assert image.info["dpi"][0] == pytest.approx(dpi, abs=1)
        assert_reads_back(image, barcode)


def test_pdf_reads_back_at_every_length_the_label_allows():
    barcodes = barcodes_up_to(max_length(CRYOVIAL, 600))
    pages = pdf_pages(render(barcodes, "pdf", sheet="label"))   # one label-sized page each
    assert len(pages) == len(barcodes)
    for barcode, page in zip(barcodes, pages):
        assert_reads_back(page, barcode)


def test_svg_reads_back_at_every_length_the_label_allows():
    for barcode in barcodes_up_to(max_length(CRYOVIAL, 600)):
        svg = render([barcode], "svg")
        assert b'width="25.4mm" height="12.7mm"' in svg
        assert_reads_back(svg_image(svg), barcode)


@pytest.mark.parametrize("dpi", [203, 300])
def test_zpl_code128_is_the_checked_symbol_and_reads_back(dpi):
    for barcode in barcodes_up_to(max_length(CRYOVIAL, dpi)) + ["UZB-000000", "12345", "A1234567"[:max_length(CRYOVIAL, dpi)]]:
        [block] = zpl_blocks(render([barcode], "zpl", dpi=dpi).decode())
        fields = zpl_fields(block)
        assert fields["datamatrix"] == [barcode]
        [data] = fields["code128"]
        image, modules = zpl_code128(data)
        assert modules == symbols.code128(barcode).modules      # module for module what was measured
        assert texts(image)["code128"] == [barcode]


def test_box_label_reads_back_up_to_its_limit():
    for dpi in (203, 300, 600):
        longest = (ALPHABET * 2)[:max_length(BOX, dpi)]
        for barcode in ("T03-R2-B05", longest):
            fields = {"name": "Box 5", "grid": "10x10", "parent_path": "Central / Tank 03 / Rack 2",
                      "temperature": "LN2_vapor"}
            content = output.render_labels(BOX, items([barcode], fields), fmt="png", dpi=dpi, directory=LABELS)
            assert_reads_back(png(content), barcode)
    pages = pdf_pages(output.render_labels(BOX, items([longest], {}), fmt="pdf", directory=LABELS))
    assert_reads_back(pages[0], longest)


def test_digit_runs_pack_tighter_than_the_worst_case():
    assert max_length(CRYOVIAL, 300) == 8
    for barcode in ("UZB-000000", "1234567890123456"):   # 10 and 16 characters still fit at 300 dpi
        assert_reads_back(png(render([barcode], "png", dpi=300)), barcode)


@pytest.mark.parametrize("dpi", [203, 300, 600])
def test_one_character_past_the_limit_is_refused_clearly(dpi):
    barcode = "Ab" * 40
    barcode = barcode[:max_length(CRYOVIAL, dpi) + 1]
    for fmt in ("zpl", "png", "svg", "pdf"):
        with pytest.raises(BarcodeTooLong) as refused:
            render([barcode], fmt, dpi=dpi)
        assert refused.value.status == 422 and refused.value.code == "barcode_too_long"
        assert f"too long for the cryovial label at {dpi} dpi" in refused.value.message
        assert refused.value.details["max_length"] == max_length(CRYOVIAL, dpi)


def test_too_long_names_the_resolutions_where_it_fits():
    with pytest.raises(BarcodeTooLong) as refused:
        render(["BB0001T-01"], "zpl", dpi=300)
    assert refused.value.details["fits_at_dpi"] == [203, 600]
    assert "It fits at 203 and 600 dpi" in refused.value.message


def test_a_batch_with_long_barcodes_names_them_all_and_renders_nothing():
    with pytest.raises(BarcodeTooLong) as refused:
        render(["OK-1", "A" * 20, "B" * 30], "zpl")
    assert [d["barcode"] for d in refused.value.details] == ["A" * 20, "B" * 30]


def test_zpl_structure_one_block_per_label_and_dpi_in_dots():
    barcodes = ["abc", "UZB-000000", "Zz-_.9"]
    zpl203, zpl300 = render(barcodes, "zpl", dpi=203).decode(), render(barcodes, "zpl", dpi=300).decode()
    for zpl, dpi in ((zpl203, 203), (zpl300, 300)):
        blocks = zpl_blocks(zpl)
        assert len(blocks) == zpl.count("^XA") == zpl.count("^XZ") == 3
        for barcode, block in zip(barcodes, blocks):
            fields = zpl_fields(block)
            assert fields["datamatrix"] == [barcode] and len(fields["code128"]) == 1
            assert (fields["pw"], fields["ll"]) == (layout.dots(25.4, dpi), layout.dots(12.7, dpi))
            assert "{" not in block and "}" not in block          # every placeholder filled
            assert "^FH\\^FDT03-R2-B05-A1^FS" in block              # the short location line
    one203, one300 = zpl_fields(zpl_blocks(zpl203)[0]), zpl_fields(zpl_blocks(zpl300)[0])
    assert (one203["pw"], one300["pw"]) == (203, 300)
    assert one203["by"] != one300["by"] and one203["bx"] != one300["bx"]


def test_zpl_text_is_escaped():
    fields = {"name": "Box ^5 ~ü\\", "grid": "9x9", "parent_path": "", "temperature": ""}
    zpl = output.render_labels(BOX, items(["T01-R1-B01"], fields), fmt="zpl", directory=LABELS).decode()
    assert "^FDBox \\5E5 \\7E\\C3\\BC\\5C  9x9^FS" in zpl
    assert "Box ^5" not in zpl and "~" not in zpl      # no stray ZPL command from a container name


def test_many_labels_as_one_picture_in_order():
    barcodes = [f"S-{n:03d}" for n in range(1, 10)]
    for image in (png(render(barcodes, "png")), svg_image(render(barcodes, "svg"))):
        found = texts(image)
        assert sorted(found["code128"]) == sorted(barcodes) and sorted(found["datamatrix"]) == sorted(barcodes)


def test_pdf_sheet_pages_and_skip():
    barcodes = [f"S-{n:03d}" for n in range(1, 142)]                # 141 labels, 140 per A4 sheet
    assert len(pdf_pages(render(barcodes, "pdf", sheet="a4"), dpi=20)) == 2
    assert len(pdf_pages(render(barcodes[:139], "pdf", sheet="a4", skip=1), dpi=20)) == 1
    assert len(pdf_pages(render(barcodes[:140], "pdf", sheet="letter", skip=1), dpi=20)) == 2
    [page] = pdf_pages(render(barcodes[:2], "pdf", sheet="letter", skip=3))
    found = texts(page)
    assert found["code128"] == barcodes[:2] and found["datamatrix"] == barcodes[:2]
    with pytest.raises(Exception) as refused:
        render(barcodes[:1], "pdf", sheet="a4", skip=140)
    assert refused.value.code == "invalid_skip"


def test_text_lines_shrink_then_cut():
    placed = layout.place(CRYOVIAL, "abc", {"barcode": "abc", "sample_type": "tissue_frozen",
                                            "collected": "2025-07-21", "location": "X" * 80}, 600)
    lines = [t.text for t in placed.texts]
    assert lines[:2] == ["abc", "tissue_frozen 2025-07-21"]
    assert lines[2].endswith("\u2026") and len(lines[2]) < 80


def test_template_errors_are_clear(tmp_path):
    directory = tmp_path / "labels"
    shutil.copytree(LABELS, directory)
    (directory / "cryovial.toml").write_text((LABELS / "cryovial.toml").read_text().replace(
        'text = "{location}"', 'text = "{locaton}"'))
    with pytest.raises(LabelTemplateError) as broken:
        load_template(directory, "cryovial")
    assert "{locaton}" in broken.value.message and broken.value.code == "label_template_invalid"
    with pytest.raises(UnknownTemplate):
        load_template(directory, "../etc")
    with pytest.raises(UnknownTemplate):
        load_template(directory, "nosuch")


def test_a_resolution_specific_zpl_file_wins(tmp_path):
    directory = tmp_path / "labels"
    shutil.copytree(LABELS, directory)
    (directory / "cryovial-300.zpl").write_text("^XA\n^FXthree hundred\n^FO{code128_x},{code128_y}^BY"
                                                "{code128_module}^BCN,{code128_height},N,N,N,N^FD{code128_data}^FS\n"
                                                "^FO{datamatrix_x},{datamatrix_y}^BXN,{datamatrix_module},200"
                                                "^FD{barcode}^FS\n^XZ\n")
    template = load_template(directory, "cryovial")
    at300 = output.render_labels(template, items(["abc"]), fmt="zpl", dpi=300, directory=directory).decode()
    at203 = output.render_labels(template, items(["abc"]), fmt="zpl", dpi=203, directory=directory).decode()
    assert "three hundred" in at300 and "three hundred" not in at203
