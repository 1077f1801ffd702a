"""Label links for the browser, and `biobank labels print` to a file and to a (fake) network printer."""
import socket
import threading

import pytest

from tests.factories import PASSWORD

from .helpers import png, texts, zpl_blocks, zpl_fields


@pytest.fixture
def box(make):
    box = make.box(rows=2, cols=2)
    for barcode, position in (("W-B2", "B2"), ("W-A1", "A1"), ("W-A2", "A2")):
        make.sample(barcode=barcode, box=box, position=position)
    return box


def logged_in(app, make, role):
    client = app.test_client()
    user = make.user(role)
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def label_events(api):
    return api("manager").get("/audit?action=label.printed").json["items"]


# -- web -------------------------------------------------------------------------------------
def test_staff_get_label_files_by_link(app, make, api, box):
    client = logged_in(app, make, "technician")
    one = client.get("/samples/W-A1/label.png")
    assert one.status_code == 200 and one.mimetype == "image/png"
    assert texts(png(one.data)) == {"code128": ["W-A1"], "datamatrix": ["W-A1"]}
    zpl = client.get(f"/containers/{box.id}/labels.zpl?dpi=300")
    assert zpl.mimetype == "application/x-zpl" and "attachment" in zpl.headers["Content-Disposition"]
    assert [zpl_fields(b)["datamatrix"][0] for b in zpl_blocks(zpl.data.decode())] == ["W-A1", "W-A2", "W-B2"]
    assert client.get(f"/containers/{box.id}/labels.pdf").mimetype == "application/pdf"
    assert client.get(f"/containers/{box.id}/label.svg").mimetype == "image/svg+xml"
    assert label_events(api) == []  # links only preview: a GET writes nothing
    # the pages' print buttons post a form; that is what is recorded as printed
    assert client.post("/samples/W-A1/label.pdf").mimetype == "application/pdf"
    assert client.post(f"/containers/{box.id}/labels.zpl", data={"dpi": "300"}).mimetype == "application/x-zpl"
    events = label_events(api)
    assert len(events) == 1 + 3 and {e["via"] for e in events} == {"web"}


def test_web_links_need_a_login_and_a_staff_role(app, make, api, box):
    anonymous = app.test_client().get("/samples/W-A1/label.png")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    researcher = logged_in(app, make, "researcher").get("/samples/W-A1/label.png")
    assert researcher.status_code in (302, 403) and researcher.mimetype != "image/png"
    assert label_events(api) == []
    assert app.test_client().get("/samples/W-A1/label.gif").status_code == 404


def test_web_bad_option_is_not_a_server_error(app, make, box):
    response = logged_in(app, make, "technician").get("/samples/W-A1/label.png?dpi=7",
                                                      headers={"Accept": "application/json"})
    assert response.status_code == 422


# -- CLI -------------------------------------------------------------------------------------
def test_cli_writes_a_file(runner, api, box, tmp_path):
    target = tmp_path / "box.zpl"
    result = runner.invoke(args=["labels", "print", "--box", str(box.id), "--format", "zpl", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert "3 label(s) written to" in result.output
    assert [zpl_fields(b)["datamatrix"][0] for b in zpl_blocks(target.read_text())] == ["W-A1", "W-A2", "W-B2"]
    events = label_events(api)
    assert len(events) == 3 and {(e["actor"], e["via"]) for e in events} == {("cli", "cli")}
    picture = tmp_path / "one.png"
    assert runner.invoke(args=["labels", "print", "--sample", "W-B2", "--format", "png",
                               "-o", str(picture)]).exit_code == 0
    assert texts(png(picture.read_bytes()))["datamatrix"] == ["W-B2"]


def test_cli_prints_a_batch_file(runner, api, box, tmp_path):
    batch = tmp_path / "batch.csv"
    batch.write_text("barcode,sample_type\nW-B2,plasma\n\nW-A1,plasma\n")
    target = tmp_path / "batch.zpl"
    result = runner.invoke(args=["labels", "print", "--barcodes", str(batch), "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert [zpl_fields(b)["datamatrix"][0] for b in zpl_blocks(target.read_text())] == ["W-B2", "W-A1"]


class FakePrinter:
    """A raw TCP 'printer' on 127.0.0.1 that keeps what it is sent (one connection)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(10)
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            connection, _ = self.server.accept()
        except OSError:
            return
        with connection:
            connection.settimeout(10)
            while chunk := connection.recv(65536):
                self.received += chunk

    def close(self):
        self.thread.join(timeout=10)
        self.server.close()


def test_cli_sends_zpl_to_a_network_printer(runner, api, box):
    printer = FakePrinter()
    try:
        result = runner.invoke(args=["labels", "print", "--box-label", str(box.id), "--dpi", "300",
                                     "--printer", f"127.0.0.1:{printer.port}"])
    finally:
        printer.close()
    assert result.exit_code == 0, result.output
    assert f"sent to 127.0.0.1:{printer.port}" in result.output
    [block] = zpl_blocks(printer.received.decode())
    assert zpl_fields(block)["datamatrix"] == [box.barcode] and zpl_fields(block)["pw"] == 600
    [event] = label_events(api)
    assert (event["subject_type"], event["subject"]) == ("container", box.barcode)


def test_cli_unreachable_printer_records_nothing(runner, api, box, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]          # a port nothing listens on once closed
    target = tmp_path / "kept.zpl"
    result = runner.invoke(args=["labels", "print", "--sample", "W-A1", "-o", str(target),
                                 "--printer", f"127.0.0.1:{port}"])
    assert result.exit_code == 1 and "Nothing was printed or recorded" in result.output
    assert not target.exists()
    assert label_events(api) == []


def test_cli_usage_errors(runner, box):
    assert runner.invoke(args=["labels", "print", "-o", "x.zpl"]).exit_code == 2
    assert runner.invoke(args=["labels", "print", "--sample", "W-A1"]).exit_code == 2
    result = runner.invoke(args=["labels", "print", "--sample", "W-A1", "--format", "pdf", "--printer", "h:9100"])
    assert result.exit_code == 2 and "--printer sends ZPL" in result.output
    result = runner.invoke(args=["labels", "print", "--sample", "NOPE-9", "-o", "x.zpl"])
    assert result.exit_code == 1 and "No sample has the barcode NOPE-9" in result.output


def test_cli_limits(runner):
    result = runner.invoke(args=["labels", "limits"])
    assert result.exit_code == 0
    assert "cryovial      300         0.169 mm      144" in result.output
