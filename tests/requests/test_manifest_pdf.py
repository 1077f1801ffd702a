"""The printable shipping manifest: what a courier and the receiving lab see on paper,
and that the barcodes printed on it scan back to the tubes."""
from types import SimpleNamespace

import pypdfium2 as pdfium
import pytest

from biobank.extensions import db
from biobank.requests import service
from biobank.requests.manifest_pdf import manifest_pdf
from tests.labels.helpers import assert_pdf_prints, pdf_pages, texts

WANTED = ["S-B-1", "S-A-1", "S-B-2", "S-A-4", "S-A-2"]
SHIPMENT = {"recipient": "Dr Ada, Lab 4", "courier": "DHL", "tracking": "JD0001"}
IDENTIFYING = ("D-S-", "Tank 02", "Tank 10", "Rack", "Box", "secret note")


def page_texts(data: bytes) -> list[str]:
    document = pdfium.PdfDocument(data)
    try:
        return [document[i].get_textpage().get_text_range() for i in range(len(document))]
    finally:
        document.close()


def scanned(data: bytes) -> list[str]:
    """Every Code 128 read off the pages rendered at 300 dpi."""
    return [text for page in pdf_pages(data, dpi=300) for text in texts(page)["code128"]]


def _request(make, barcodes, *, pick=None, ship=True):
    """A request of the researcher's (make.actor("researcher"), the same user as api("researcher")),
    approved, with `pick` of its tubes picked (all by default), then shipped if all are."""
    researcher, technician = make.actor("researcher"), make.actor("technician")
    req = service.create_request(researcher, title="Breast cancer plasma", purpose="Biomarkers",
                                 ethics_reference="EC-2024-017", samples=barcodes)
    service.submit_request(researcher, req.id)
    service.approve_request(make.actor("manager"), req.id)
    for barcode in barcodes if pick is None else pick:
        service.pick_sample(technician, req.id, barcode)
    if ship and pick is None:
        service.ship_request(technician, req.id, **SHIPMENT)
    db.session.commit()
    return req.id


def test_researcher_downloads_the_pdf_manifest_of_a_shipped_request(api, make, stock):
    request_id = _request(make, WANTED)
    answer = api("researcher").get(f"/requests/{request_id}/manifest?format=pdf")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "application/pdf"
    assert answer.headers["Content-Disposition"] == f"attachment; filename=request-{request_id}-manifest.pdf"

    data = answer.get_data()
    pages = page_texts(data)
    assert len(pages) == 1
    text = pages[0]
    for expected in ("Shipping manifest", f"{request_id}: Breast cancer plasma", "Dr Ada, Lab 4", "DHL", "JD0001",
                     "Number of samples 5", "page 1 of 1", "Packed by", "Received by", "Date", *WANTED):
        assert expected in text
    assert "not shipped yet" not in text
    assert "S-A-1 plasma C50.1 C50.1 2021-07-01 2 mL" in text   # barcode, type, site, diagnosis, date, volume
    assert "S-A-3" not in text and "S-W-1" not in text
    for identifying in IDENTIFYING:
        assert identifying not in text
    assert sorted(scanned(data)) == sorted(WANTED)


def test_pdf_manifest_while_picking_says_not_shipped_yet(api, make, stock):
    request_id = _request(make, ["S-A-1", "S-B-2"], pick=["S-A-1"])
    answer = api("technician").get(f"/requests/{request_id}/manifest?format=pdf")
    assert answer.status_code == 200
    text = page_texts(answer.get_data())[0]
    assert "not shipped yet" in text and "S-A-1" in text and "S-B-2" in text
    assert sorted(scanned(answer.get_data())) == ["S-A-1", "S-B-2"]


def test_pdf_manifest_follows_the_csv_rules(api, make, stock, login):
    shipped = _request(make, ["S-A-1"])
    approved = _request(make, ["S-B-2"], pick=[])
    other = make.api_client(None)
    from biobank.auth.service import issue_token
    token, _ = issue_token(make.user("researcher"), 1)
    db.session.commit()
    other.headers = {"Authorization": f"Bearer {token}"}

    def same(client, path):
        csv, pdf = client.get(path), client.get(path + "?format=pdf")
        assert pdf.status_code == csv.status_code, (csv.json, pdf.json)
        assert pdf.json["code"] == csv.json["code"]
        return pdf

    refused = same(other, f"/requests/{shipped}/manifest")          # someone else's request
    assert refused.status_code in (403, 404)
    assert same(api(None), f"/requests/{shipped}/manifest").status_code == 401
    early = same(api("researcher"), f"/requests/{approved}/manifest")  # own, but picking has not started
    assert early.status_code in (409, 422) and early.json["code"] == "no_manifest"
    assert api("researcher").get(f"/requests/{approved}/manifest?format=docx").status_code == 422

    # The pages: the same answer as for the CSV (not the file).
    def same_page(client, request_id):
        csv, pdf = client.get(f"/requests/{request_id}/manifest.csv"), client.get(f"/requests/{request_id}/manifest.pdf")
        assert pdf.status_code == csv.status_code != 200 and pdf.headers.get("Location") == csv.headers.get("Location")
        assert pdf.mimetype != "application/pdf"

    same_page(login("researcher"), shipped)
    same_page(login("technician"), approved)


def test_request_page_links_the_pdf_manifest(make, stock, login):
    request_id = _request(make, ["S-A-1", "S-B-1"])
    technician = login("technician")
    page = technician.get(f"/requests/{request_id}").get_data(as_text=True)
    assert f"/requests/{request_id}/manifest.csv" in page and f"/requests/{request_id}/manifest.pdf" in page
    answer = technician.get(f"/requests/{request_id}/manifest.pdf")
    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert answer.headers["Content-Disposition"] == f"attachment; filename=request-{request_id}-manifest.pdf"
    assert sorted(scanned(answer.get_data())) == ["S-A-1", "S-B-1"]


def test_a_manifest_of_150_samples_spans_pages_with_every_barcode(api, make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=9, cols=9, name="Big tank")
    boxes = make.boxes_of(tank)
    barcodes = []
    for i in range(150):
        box, n = boxes[i // 81], i % 81
        barcodes.append(make.sample(f"BIG-{i:04d}", box=box, position=f"{'ABCDEFGHI'[n // 9]}{n % 9 + 1}",
                                    donor=f"DONOR-{i}").barcode)
    request_id = _request(make, barcodes, pick=barcodes[:1])   # picking started: the manifest exists

    answer = api("researcher").get(f"/requests/{request_id}/manifest?format=pdf")
    assert answer.status_code == 200
    pages = page_texts(answer.get_data())
    assert len(pages) > 1
    for number, text in enumerate(pages, 1):
        assert f"page {number} of {len(pages)}" in text
        assert "Barcode" in text and "Storage" in text   # the header row on every page
    text = "\n".join(pages)
    assert all(barcode in text for barcode in barcodes) and "DONOR-" not in text
    assert "Number of samples 150" in text and "Received by" in pages[-1]
    assert sorted(scanned(answer.get_data())) == sorted(barcodes)


# -- the document alone (no database) ---------------------------------------------------------------------
def _unsaved_request(**fields):
    return SimpleNamespace(**{**dict(id=7, title="Empty & <odd> title", ethics_reference="EC-1", requester="alice",
                                     recipient=None, courier=None, tracking=None, shipped_at=None), **fields})


def _row(barcode):
    return {"barcode": barcode, "sample_type": "serum", "anatomical_site": None, "diagnosis": None,
            "collected_at": None, "volume": None, "unit": None, "storage_temperature": None}


def test_a_manifest_without_samples_still_prints():
    text = page_texts(manifest_pdf(_unsaved_request(), []))
    assert len(text) == 1
    for expected in ("Shipping manifest", "7: Empty & <odd> title", "Number of samples 0", "not shipped yet",
                     "No samples in this request.", "Packed by", "Received by", "page 1 of 1"):
        assert expected in text[0]


@pytest.mark.parametrize("barcode", ["X" * 64, "0123456789" * 6 + "-A.b", "S-1"])
def test_short_and_longest_barcodes_scan(barcode):
    data = manifest_pdf(_unsaved_request(), [_row(barcode), _row("NEXT-1")])
    assert barcode in page_texts(data)[0].replace("\r\n", "")   # the longest wraps in its column
    assert sorted(scanned(data)) == sorted([barcode, "NEXT-1"])


def test_names_and_addresses_print_as_written():
    recipient = "Dr Łukasz Żółw, Müller-Straße 4, Αθήνα"
    assert_pdf_prints(manifest_pdf(_unsaved_request(recipient=recipient), [_row("S-1")]), recipient)


def test_russian_uzbek_and_korean_print_in_fonts_that_have_them():
    request = _unsaved_request(title="Пробирка: сыворотка", recipient="Oʻzbekiston qonʼ markazi",
                               courier="검체 보관 택배")
    row = dict(_row("S-1"), sample_type="혈장", diagnosis="Рак молочной железы", storage_temperature="≤ -150 °C")
    data = manifest_pdf(request, [row])
    assert_pdf_prints(data, "7: Пробирка: сыворотка", "Oʻzbekiston qonʼ markazi", "검체 보관 택배", "혈장", "Рак",
                      "железы", "≤ -150 °C")
    assert scanned(data) == ["S-1"]
