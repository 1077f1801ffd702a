"""Label templates read as a Zebra printer reads them, and `template=` names only label templates."""
import shutil

import pytest

from biobank.config import PROJECT_ROOT
from biobank.labels import render as output, zpl
from biobank.labels.templates import LabelTemplateError, load_template, template_names

LABELS = PROJECT_ROOT / "labels"


def test_the_reader_splits_commands_as_a_printer_does():
    leading, commands = zpl.tokenize("^XA\n^FX a note (see ^FH).\n^FO10,20^FDhi^FS\n~JA^XZ")
    assert leading == ""
    assert [(c.kind, c.code, c.params) for c in commands] == [
        ("^", "XA", "\n"), ("^", "FX", " a note (see "), ("^", "FH", ").\n"), ("^", "FO", "10,20"),
        ("^", "FD", "hi"), ("^", "FS", "\n"), ("~", "JA", ""), ("^", "XZ", "")]
    assert [c.line for c in commands] == [1, 2, 2, 3, 3, 3, 4, 4]
    # ^CC changes the caret from the next character on, as on the printer
    _, changed = zpl.tokenize("^XA^CC+ +FO1,1+FD^ is data now+FS+XZ")
    assert [(c.code, c.params) for c in changed] == [("XA", ""), ("CC", "+"), ("FO", "1,1"),
                                                     ("FD", "^ is data now"), ("FS", ""), ("XZ", "")]


@pytest.mark.parametrize("text,expected", [
    ("^XA\n^FX see ^FH).\n^XZ", "the ^FX comment ends at the '^'"),
    ("^XA\n^FX costs ~5 minutes\n^XZ", "the ^FX comment ends at the '~'"),
    ("^XA\n^QQ1\n^XZ", "'^QQ' is not a ZPL command"),
    ("^XA\n^FDloose^FS\n^XZ", "belongs inside a field"),
    ("^XA\n^FO1,1^FDopen\n^XZ", "ends inside a field"),
    ("hello ^XA^XZ", "comes before any command"),
    ("^XA^FO1,1^FDa^FS", "has no ^XZ"),
])
def test_the_reader_names_what_a_printer_would_misread(text, expected):
    found = zpl.problems(text)
    assert any(expected in problem for problem in found), found


def test_every_shipped_template_reads_cleanly_and_so_does_every_label_it_prints():
    names = template_names(LABELS)
    assert {"cryovial", "box"} <= set(names)
    for path in sorted(LABELS.glob("*.zpl")):
        assert zpl.problems(path.read_text()) == [], path.name
    hostile = {"barcode": "H-1", "sample_type": "^FX~JA^XZ", "collected": "2025-07-21", "location": "^XA~~^FS",
               "name": "^XZ^XA", "path": "~JR", "kind": "box", "parent_path": "", "grid": "", "temperature": ""}
    for name in names:
        template = load_template(LABELS, name)
        for dpi in (203, 300, 600):
            printed = output.render_labels(template, [("H-1", dict(hostile, barcode="H-1"))] * 2, fmt="zpl",
                                           directory=LABELS, dpi=dpi).decode()
            assert zpl.problems(printed) == [], (name, dpi, zpl.problems(printed))


def test_a_template_a_printer_would_misread_is_refused_with_a_clear_message(tmp_path):
    directory = tmp_path / "labels"
    shutil.copytree(LABELS, directory)
    zpl_file = directory / "cryovial.zpl"
    zpl_file.write_text(zpl_file.read_text().replace("^FX Code 128 in mode N", "^FX Code 128 (^BC) in mode N"))
    with pytest.raises(LabelTemplateError) as broken:
        load_template(directory, "cryovial")
    message = broken.value.message
    assert "cryovial.zpl" in message and "line 10" in message and "^BC" in message, message


@pytest.mark.parametrize("name", ["settings", "sheet-a4", "sheet-letter", "../labels/settings", "settings.toml",
                                  "SETTINGS", "..", ".", "/etc/passwd", "cryovial\n", "box%00", "a" * 200,
                                  "readme", "README"])
def test_template_names_only_label_templates_over_the_api(api, make, box, name):
    make.sample("TPL-1", box=box, position="A1")
    tech = api("technician")
    for response in (tech.get("/samples/TPL-1/label", query_string={"template": name}),
                     tech.post("/samples/TPL-1/label", json={"template": name}),
                     tech.get(f"/containers/{box.id}/label", query_string={"template": name}),
                     tech.post("/labels", json={"barcodes": ["TPL-1"], "template": name})):
        assert response.status_code == 422 and response.json["code"] == "unknown_label_template", \
            (name, response.status_code, response.get_data()[:300])


def test_a_toml_file_that_is_not_a_label_is_not_a_template(tmp_path):
    directory = tmp_path / "labels"
    shutil.copytree(LABELS, directory)
    (directory / "notes.toml").write_text('title = "our label notes"\n')
    from biobank.labels.templates import UnknownTemplate
    with pytest.raises(UnknownTemplate) as unknown:
        load_template(directory, "notes")
    assert "not a label template" in unknown.value.message
