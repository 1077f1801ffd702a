"""Printing from the browser: the workstation's Zebra printer (a real TCP listener started here
receives the ZPL, which is decoded), one job for every aliquot of a run, and a PDF sheet that
starts at any label of a part-used sheet."""
import re
import socket
import threading

import pypdfium2
import pytest

from biobank.samples import service as samples
from biobank.extensions import db

from ..factories import PASSWORD
from .helpers import pdf_pages, read, zpl_blocks, zpl_code128, zpl_fields


class Listener:
    """A one-job stand-in for a Zebra printer's raw port: accepts one connection, reads it to the end."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        self.server.settimeout(30)
        connection, _ = self.server.accept()
        with connection:
            while chunk := connection.recv(65536):
                self.received += chunk
        self.server.close()

    def job(self) -> str:
        self.thread.join(timeout=30)
        return self.received.decode("utf-8")


@pytest.fixture
def staff(app, make):
    user = make.user("technician")
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    return client


@pytest.fixture
def aliquots(make):
    box = make.box(rows=4, cols=4, name="Print box")
    make.sample("PR-P1", box=box, position="A1", volume="2.0")
    children = samples.aliquot_sample(make.admin, "PR-P1", count=3, volume="0.5", strategy="compact")
    db.session.commit()
    return [c.barcode for c in children]


def test_every_aliquot_label_goes_to_the_zebra_printer_in_one_job(staff, aliquots):
    detail = staff.get("/samples/PR-P1").get_data(as_text=True)
    link = re.search(r'data-print-aliquots href="([^"]+)"', detail).group(1).replace("&amp;", "&")
    assert "Print all 3 aliquot labels in one job" in detail
    page = staff.get(link).get_data(as_text=True)
    assert "No printer is set up" in page
    printer = Listener()
    assert staff.post("/printer", data={"host": "127.0.0.1", "port": printer.port}).status_code == 302
    assert f"127.0.0.1:{printer.port}" in staff.get(link).get_data(as_text=True)
    sent = staff.post("/print/zebra", data={"barcodes": ",".join(aliquots)}, follow_redirects=True)
    assert "Sent 3 labels to the printer" in sent.get_data(as_text=True)
    blocks = zpl_blocks(printer.job())
    assert len(blocks) == 3                                          # one job, three labels, in order
    decoded = []
    for block in blocks:
        (data,) = zpl_fields(block)["code128"]
        image, _ = zpl_code128(data)
        decoded.append([text for kind, text, _, _ in read(image) if kind == "code128"])
    assert decoded == [[barcode] for barcode in aliquots]


def test_an_unreachable_printer_says_so_and_prints_nothing(staff, aliquots):
    with socket.create_server(("127.0.0.1", 0)) as probe:
        dead_port = probe.getsockname()[1]          # closed when the block ends: nothing listens there
    staff.post("/printer", data={"host": "127.0.0.1", "port": dead_port})
    answer = staff.post("/print/zebra", data={"barcodes": aliquots[0]}, follow_redirects=True)
    assert "did not take the job" in answer.get_data(as_text=True)


def _where(pdf: bytes, barcode: str) -> tuple[int, int]:
    """(top, left) of the barcode's Code 128 on the first page of the PDF, decoded with zxing-cpp."""
    image = pdf_pages(pdf, dpi=300)[0]
    spots = [(top, left) for kind, text, top, left in read(image) if kind == "code128" and text == barcode]
    assert spots, f"{barcode} is not on the page"
    return spots[0]


def test_a_pdf_sheet_starts_at_any_label(staff, aliquots):
    first = staff.get("/print/labels.pdf", query_string={"barcodes": ",".join(aliquots), "start": "1"})
    later = staff.get("/print/labels.pdf", query_string={"barcodes": ",".join(aliquots), "start": "8"})
    assert first.status_code == later.status_code == 200 and first.mimetype == "application/pdf"
    assert first.headers["X-Label-Count"] == "3"
    top_first, left_first = _where(first.data, aliquots[0])
    top_later, left_later = _where(later.data, aliquots[0])
    assert top_later > top_first + 20          # the first label moved down the part-used sheet
    assert len(pypdfium2.PdfDocument(later.data)) == 1
    bad = staff.get("/print/labels.pdf", query_string={"barcodes": aliquots[0], "start": "0"})
    assert bad.status_code in (302, 422)
