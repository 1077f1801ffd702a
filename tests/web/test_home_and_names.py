"""A home page per role, human names for codes, one rounding of percentages, readable refusals."""
import re

from biobank.core import display
from biobank.core.actor import Actor
from biobank.extensions import db
from biobank.requests import service as requests_service


def text(response):
    return response.get_data(as_text=True)


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def section(html: str, name: str) -> str:
    match = re.search(rf'<section[^>]*data-section="{name}".*?</section>', html, re.S)
    assert match, name
    return plain(match.group(0))


def test_manager_home_shows_what_needs_a_manager(client, make, login):
    tank = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Tank Full")
    box = make.boxes_of(tank)[0]
    for position in ("A1", "A2", "B1", "B2"):
        make.sample(f"HOME-{position}", box=box, position=position)
    researcher = make.user("researcher")
    as_researcher = Actor.of(researcher, via="web")
    waiting = requests_service.create_request(as_researcher, title="Liver serum", purpose="Study",
                                              ethics_reference="EC-9", samples=["HOME-A1"])
    requests_service.submit_request(as_researcher, waiting.id)
    db.session.commit()

    login(make.user("manager"))
    html = text(client.get("/"))
    assert "data-scan-input" not in html
    requests = section(html, "requests")
    assert f"Request {waiting.id}: Liver serum" in requests and researcher.username in requests
    capacity = section(html, "capacity")
    assert "Tank Full is 100% full (4 of 4 positions used; alert at 90%)" in capacity
    assert "No tube is out past its due-back time" in section(html, "overdue")
    assert "No tube is waiting to be destroyed or returned" in section(html, "consent")
    assert "has not been verified" in section(html, "chain")

    client.post("/audit/verify")
    assert "✔ Intact" in section(text(client.get("/")), "chain")


def test_manager_home_on_an_empty_database_says_what_each_section_will_hold(client, make, login):
    login(make.user("admin"))
    html = text(client.get("/"))
    assert "No request is waiting for a decision" in section(html, "requests")
    assert "No site, tank or rack is at or above 90% full" in section(html, "capacity")


def test_each_role_lands_on_its_own_home(client, make, login):
    login(make.user("technician"))
    assert "data-scan-input" in text(client.get("/"))
    client.post("/logout")
    login(make.user("researcher"))
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/catalogue")


def test_codes_read_as_human_names(client, make, login):
    box = make.box(rows=3, cols=3, storage_temperature="LN2_vapor")
    make.sample("NAME-1", box=box, position="A1", sample_type="tissue_frozen", storage_temperature="LN2_vapor")
    login(make.user("manager"))
    detail = plain(text(client.get("/samples/NAME-1")))
    assert "Frozen tissue" in detail and "LN2 vapour phase" in detail
    assert "tissue_frozen" not in detail and "LN2_vapor" not in detail
    assert "Registered" in detail
    register = text(client.get("/samples/new"))
    assert '<option value="2to10">2–10 °C</option>' in register
    assert '<option value="tissue_frozen">Frozen tissue</option>' in register
    audit = text(client.get("/audit"))
    assert '<select name="action">' in audit and '<option value="sample.moved">Moved</option>' in audit
    tank = make.tank(racks=1, boxes_per_rack=1, storage_temperature="2to10")
    assert "Stored at 2–10 °C" in plain(text(client.get(f"/containers/{tank.id}")))


def test_percentages_agree_between_pages(client, make, login):
    tank = make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3, name="Tank Pct")
    box = make.boxes_of(tank)[0]
    for i in range(2):
        make.sample(f"PCT-{i}", box=box, position=f"A{i + 1}")
    login(make.user("manager"))
    # 2 of 9 is 22.2%: every page says 22%
    assert "(22%)" in text(client.get(f"/containers/{tank.id}"))
    capacity = text(client.get("/reports/capacity"))
    assert ">22%<" in capacity and "2/9 (22%)" in capacity
    assert ">22.2%<" not in capacity
    assert display.percent(2, 3) == 67 and display.percent(1, 200) == 1 and display.percent(199, 200) == 99
    assert display.percent(1, 8) == 13      # half up, not to even


def test_capacity_at_national_size_is_in_parts_a_page(client, make, login):
    from biobank.reports import web as reports_web
    for i in range(reports_web.GROUPS_PER_PAGE + 2):
        make.tank(racks=2, boxes_per_rack=1, rows=1, cols=1, name=f"Tank {i:02d}")
    login(make.user("manager"))
    first = text(client.get("/reports/capacity"))
    assert first.count("<details class=\"cap-group") == reports_web.GROUPS_PER_PAGE
    part = '<span class="cap-name">{}</span>'
    assert "Page 1 of 2" in first and part.format("Tank 00") in first and part.format("Tank 21") not in first
    second = text(client.get("/reports/capacity?page=2"))
    assert second.count("<details class=\"cap-group") == 2 and part.format("Tank 21") in second


def test_refusals_name_what_is_refused_in_words(client, make, login):
    login(make.user("technician"))
    page = plain(text(client.get("/containers/layout", follow_redirects=True)))
    assert "A technician may not build or change the storage layout." in page
    assert "storage.layout" not in page
    client.post("/logout")
    login(make.user("researcher"))
    refused = client.get("/reports/capacity")
    assert refused.status_code == 403
    html = text(refused)
    assert "Not for your role" in html and "app.css" in html     # the app's own page, styled
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Nothing here" in text(missing)
