"""The label API: formats, options, roles, errors and the OpenAPI document."""
import shutil

import pytest

from biobank.config import PROJECT_ROOT

from .helpers import pdf_pages, png, read, svg_image, texts, zpl_blocks, zpl_fields

CONTENT_TYPES = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf", "zpl": "application/x-zpl"}


@pytest.fixture
def box(make):
    box = make.box(rows=2, cols=3)
    for barcode, position in (("BX-B3", "B3"), ("BX-A2", "A2"), ("BX-B1", "B1"), ("BX-A1", "A1")):
        make.sample(barcode=barcode, box=box, position=position)
    return box


def decoded(fmt, data):
    if fmt == "png":
        return [texts(png(data))]
    if fmt == "svg":
        return [texts(svg_image(data))]
    if fmt == "pdf":
        return [texts(page) for page in pdf_pages(data)]
    return [{"code128": [], "datamatrix": zpl_fields(block)["datamatrix"]} for block in zpl_blocks(data.decode())]


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf", "zpl"])
def test_sample_label_in_every_format(api, make, fmt):
    make.sample(barcode="Az09-_.x", box=make.box(), position="A1")
    response = api("technician").get(f"/samples/Az09-_.x/label?format={fmt}&sheet=label")
    assert response.status_code == 200, response.json
    assert response.mimetype == CONTENT_TYPES[fmt]
    assert response.headers["X-Label-Count"] == "1"
    assert f'filename="label-Az09-_.x.{fmt}"' in response.headers["Content-Disposition"]
    [found] = decoded(fmt, response.data)
    assert found["datamatrix"] == ["Az09-_.x"]
    if fmt != "zpl":
        assert found["code128"] == ["Az09-_.x"]


def test_default_is_png_and_dpi_changes_zpl_dots(api, make):
    make.sample(barcode="UZB-000000", box=make.box(), position="A1")
    client = api("technician")
    default = client.get("/samples/UZB-000000/label")
    assert default.mimetype == "image/png" and png(default.data).size == (600, 300)
    at203 = zpl_fields(zpl_blocks(client.get("/samples/UZB-000000/label?format=zpl").data.decode())[0])
    at300 = zpl_fields(zpl_blocks(client.get("/samples/UZB-000000/label?format=zpl&dpi=300").data.decode())[0])
    assert (at203["pw"], at300["pw"]) == (203, 300)
    assert png(client.get("/samples/UZB-000000/label?dpi=203").data).size == (203, 102)


def test_box_labels_in_position_order(api, box):
    client = api("manager")
    order = ["BX-A1", "BX-A2", "BX-B1", "BX-B3"]
    zpl = client.get(f"/containers/{box.id}/labels?format=zpl")
    assert zpl.status_code == 200 and zpl.headers["X-Label-Count"] == "4"
    assert [zpl_fields(b)["datamatrix"][0] for b in zpl_blocks(zpl.data.decode())] == order
    pages = pdf_pages(client.get(f"/containers/{box.id}/labels?format=pdf&sheet=label").data)
    assert [texts(page)["datamatrix"] for page in pages] == [[b] for b in order]
    # PNG of a box: one picture, labels in a grid read left to right, top to bottom.
    image = png(client.get(f"/containers/{box.id}/labels?format=png").data)
    rows = [(round(top / 300), left, text) for kind, text, top, left in read(image) if kind == "code128"]
    assert [text for _, _, text in sorted(rows)] == order


def test_box_label_itself(api, box):
    response = api("technician").get(f"/containers/{box.id}/label?format=svg")
    assert response.status_code == 200
    assert texts(svg_image(response.data)) == {"code128": [box.barcode], "datamatrix": [box.barcode]}


def test_batch_of_barcodes_in_the_given_order(api, box):
    response = api("technician").post("/labels", json={"barcodes": ["BX-B3", "BX-A1", "BX-B1"], "format": "zpl"})
    assert response.status_code == 200 and response.headers["X-Label-Count"] == "3"
    assert [zpl_fields(b)["datamatrix"][0] for b in zpl_blocks(response.data.decode())] == ["BX-B3", "BX-A1", "BX-B1"]
    pdf = api("technician").post("/labels", json={"barcodes": ["BX-B3", "BX-A1"], "format": "pdf"})
    [page] = pdf_pages(pdf.data)      # both on one A4 sheet
    assert sorted(texts(page)["code128"]) == ["BX-A1", "BX-B3"]


def test_printing_records_one_event_per_label(api, box):
    client = api("technician")
    assert client.post(f"/containers/{box.id}/labels", json={"format": "zpl"}).status_code == 200
    client.post("/labels", json={"barcodes": ["BX-A1"], "format": "png", "reason": "smudged"})
    events = client.get("/audit?action=label.printed").json["items"]
    assert sorted((e["subject"], e["changes"]["label_prints"][1]) for e in events) == [
        ("BX-A1", 1), ("BX-A1", 2), ("BX-A2", 1), ("BX-B1", 1), ("BX-B3", 1)]
    assert {e["via"] for e in events} == {"api"}
    assert client.get("/audit/verify").json["ok"] is True


def test_researchers_get_403(api, box):
    researcher = api("researcher")
    for response in (researcher.get("/samples/BX-A1/label"), researcher.get(f"/containers/{box.id}/labels"),
                     researcher.get(f"/containers/{box.id}/label?format=zpl"),
                     researcher.post("/labels", json={"barcodes": ["BX-A1"], "format": "zpl"})):
        assert response.status_code == 403 and response.json["code"] == "not_permitted"
    assert api("technician").get("/audit?action=label.printed").json["items"] == []
    assert api(None).get("/samples/BX-A1/label").status_code == 401


def test_too_long_is_a_clear_422(api, make):
    make.sample(barcode="ThisBarcodeIsMuchTooLong", box=make.box(), position="A1")
    response = api("technician").get("/samples/ThisBarcodeIsMuchTooLong/label?format=zpl")
    assert response.status_code == 422 and response.json["code"] == "barcode_too_long"
    assert "too long for the cryovial label at 203 dpi" in response.json["message"]
    assert response.json["details"]["max_length"] == 12
    assert api("technician").get("/audit?action=label.printed").json["items"] == []


def test_bad_options_and_unknowns(api, box):
    client = api("technician")
    assert client.get("/samples/BX-A1/label?format=gif").json["code"] == "validation_error"
    assert client.get("/samples/BX-A1/label?dpi=150").status_code == 422
    assert client.get("/samples/BX-A1/label?format=pdf&sheet=a5").json["code"] == "unknown_sheet"
    assert client.get("/samples/BX-A1/label?template=box").json["code"] == "unknown_label_template"
    assert client.get("/samples/NOPE-1/label").status_code == 404
    assert client.get("/containers/99999/labels").status_code == 404
    assert client.post("/labels", json={"barcodes": [], "format": "zpl"}).status_code == 422
    response = client.post("/labels", json={"barcodes": ["BX-A1", "NOPE-1"], "format": "zpl"})
    assert response.status_code == 404 and response.json["details"] == {"unknown": ["NOPE-1"]}


def test_too_many_labels_for_one_picture(app, api, box, tmp_path):
    directory = tmp_path / "labels"
    shutil.copytree(PROJECT_ROOT / "labels", directory)
    (directory / "settings.toml").write_text("max_image_labels = 3\nmax_labels = 10\n")
    app.config["BIOBANK_LABELS_PATH"] = str(directory)
    client = api("technician")
    response = client.get(f"/containers/{box.id}/labels?format=png")
    assert response.status_code == 422 and response.json["code"] == "too_many_labels"
    assert "Use PDF or ZPL" in response.json["message"]
    assert client.get(f"/containers/{box.id}/labels?format=pdf").status_code == 200


def test_openapi_documents_the_label_files(api):
    spec = api("technician").get("/openapi.json").json
    for path, method in (("/api/v1/samples/{barcode}/label", "get"), ("/api/v1/containers/{container_id}/labels", "get"),
                         ("/api/v1/containers/{container_id}/label", "get"), ("/api/v1/labels", "post")):
        operation = spec["paths"][path][method]
        assert set(operation["responses"]["200"]["content"]) == set(CONTENT_TYPES.values())
        assert {"403", "404", "422"} <= set(operation["responses"])
    parameters = {p["name"] for p in spec["paths"]["/api/v1/samples/{barcode}/label"]["get"]["parameters"]}
    assert {"format", "dpi", "sheet"} <= parameters
