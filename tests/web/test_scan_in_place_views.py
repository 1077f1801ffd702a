"""Steps of an action started on the scan page, sent in place by the page's script: the answer is
the page that comes next (or its scan area alone), with its address, and what was done or
refused is in it, not left behind in a flash for some later page."""
from sqlalchemy import select

from biobank.extensions import db
from biobank.samples.models import Sample

IN_PLACE = {"X-In-Place": "1"}
IN_THE_SCAN_AREA = {"X-In-Place": "1", "X-Scan-Fragment": "1"}


def text(response):
    return response.get_data(as_text=True)


def _place(barcode):
    db.session.rollback()
    sample = db.session.execute(select(Sample).where(Sample.barcode == barcode)).scalar_one()
    return sample.location_path


def test_a_move_sent_from_the_scan_area_is_answered_with_the_scan_area(client, make, login):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Tank Place")
    box, other = make.boxes_of(tank)
    make.sample("IP-1", box=box, position="A1")
    login(make.user("technician"))
    form = {"container": other.barcode, "position": "B2", "from_scan": "1"}
    answer = client.post("/samples/IP-1/move", data=form, headers=IN_THE_SCAN_AREA)
    assert answer.status_code == 200
    assert answer.headers["X-Page-Url"] == "/scan?code=IP-1"
    page = text(answer)
    assert "<main" not in page and "data-scan-area" in page
    assert f"Moved IP-1 to {other.path} / B2." in page and 'data-beep="ok"' in page
    assert _place("IP-1") == f"{other.path} / B2"
    assert "Moved IP-1" not in text(client.get("/scan"))      # nothing was left to flash later


def test_a_return_sent_from_its_form_is_answered_with_the_main_part_of_the_scan_page(client, make, login):
    box = make.box(name="Box Back")
    make.sample("IP-2", box=box, position="C3")
    login(make.user("technician"))
    assert client.post("/samples/IP-2/checkout", data={"from_scan": "1"}).status_code == 302
    client.get("/scan")                                         # the check-out's flash is read
    answer = client.post("/samples/IP-2/return", data={"thawed": "no", "from_scan": "1"}, headers=IN_PLACE)
    assert answer.status_code == 200 and answer.headers["X-Page-Url"] == "/scan?code=IP-2"
    page = text(answer)
    assert "<main" in page and f"Returned IP-2 to {box.path} / C3." in page
    assert 'class="topbar"' not in page and "<title>" in page    # the page that asked has its header
    assert _place("IP-2") == f"{box.path} / C3"
    assert 'class="topbar"' in text(client.get("/scan?code=IP-2"))


def test_a_refused_position_in_place_is_answered_in_the_scan_area_and_changes_nothing(client, make, login):
    tank = make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3, name="Tank Taken")
    [box] = make.boxes_of(tank)
    make.sample("IP-3", box=box, position="A1")
    make.sample("IP-4", box=box, position="A2")
    login(make.user("technician"))
    answer = client.post("/samples/IP-4/move", data={"container": box.barcode, "position": "A1", "from_scan": "1"},
                         headers=IN_THE_SCAN_AREA)
    assert answer.status_code == 409 and "X-Page-Url" not in answer.headers
    assert "is taken by tube IP-3" in text(answer) and "<main" not in text(answer)
    assert _place("IP-4") == f"{box.path} / A2"


def test_an_error_left_by_a_redirect_is_shown_in_the_scan_area(client, make, login):
    """A refusal answered by a redirect (an unknown tube, or a change crossed at commit) flashes
    its message; the scan area the page asks for next says it."""
    login(make.user("technician"))
    answer = client.post("/samples/NO-SUCH/move", data={"container": "X", "position": "A1", "from_scan": "1"},
                         headers={**IN_THE_SCAN_AREA, "Referer": "http://localhost/scan"})
    assert answer.status_code == 302
    area = client.get(answer.headers["Location"], headers=IN_THE_SCAN_AREA)
    assert "<main" not in text(area) and "NO-SUCH" in text(area) and 'data-beep="error"' in text(area)
