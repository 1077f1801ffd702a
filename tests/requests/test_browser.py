"""Researcher and manager pages in a real Chromium (Debian's, never a downloaded one).

The app is served on loopback by werkzeug in a thread, with CSRF on as in production.
"""
import re
import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from biobank import create_app
from biobank.extensions import db
from biobank.requests.models import ResearchRequest
from biobank.requests.opaque import catalogue_id
from biobank.samples.service import find_sample
from tests.factories import PASSWORD
from tests.web.conftest import watch_console
from tests.web.wedge import beeps, scan

pytestmark = pytest.mark.browser


@pytest.fixture
def browser(chromium):
    """The run's one Chromium (tests/conftest.py)."""
    return chromium


@pytest.fixture
def live_url(database_url, app):
    served = create_app({"SQLALCHEMY_DATABASE_URI": database_url})  # CSRF on
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()
    with served.app_context():
        db.engine.dispose()


def _login(browser, base, username):
    page = browser.new_page()
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.press("input[name=password]", "Enter")
    page.wait_for_url(re.compile(r".*/(?!login).*"))
    return page


def _status(request_id):
    db.session.expire_all()
    status = db.session.get(ResearchRequest, request_id).status
    db.session.rollback()  # on SQLite the test's own transaction would hold the write lock the server needs
    return status


def _users(make, *roles):
    names = [make.user(role).username for role in roles]
    db.session.rollback()
    return names


def test_researcher_requests_and_manager_approves(browser, live_url, make, stock):
    researcher, manager = _users(make, "researcher", "manager")

    page = _login(browser, live_url, researcher)
    page.goto(live_url + "/catalogue")
    page.select_option("select[name=sample_type]", "plasma")
    page.fill("input[name=diagnosis]", "C50")
    page.click("button:has-text('Search')")
    rows = page.locator("table[data-catalogue] tbody tr")
    ids = {b: catalogue_id(find_sample(b).id) for b in ("S-A-1", "S-B-1", "S-B-2", "S-W-1")}
    db.session.rollback()
    assert sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.catalogueId)")) == sorted(ids.values())
    assert "D-S-A-1" not in page.content() and "Tank 02" not in page.content() and "S-A-1" not in page.content()
    # A facet link narrows the search and shows its count.
    facet = page.locator("[data-facet=anatomical_site] a", has_text="C50")
    assert facet.count() == 1
    for barcode in ("S-A-1", "S-B-2"):
        page.click(f"button[aria-label='Add {ids[barcode]} to cart']")
        expect(page.locator(".flash.success")).to_contain_text("Added " + ids[barcode])  # waits for the answer
    expect(page.locator("[data-cart-count]")).to_have_text("2")

    page.click("[data-cart-link]")
    page.fill("input[name=title]", "Breast plasma")
    page.fill("textarea[name=purpose]", "Marker validation")
    page.fill("input[name=ethics_reference]", "EC-2024-017")
    page.click("button:has-text('Create request')")
    page.wait_for_url(re.compile(r".*/requests/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("[data-status]").inner_text() == "submitted"
    assert page.locator("text=Approve and reserve").count() == 0
    page.goto(live_url + "/requests")
    assert page.locator("table[data-requests] tbody tr").count() == 1
    assert _status(request_id) == "submitted"
    page.close()

    page = _login(browser, live_url, manager)
    page.goto(f"{live_url}/requests/{request_id}")
    page.click("button:has-text('Reject')")  # the reason is required: the browser keeps the form
    assert _status(request_id) == "submitted"
    page.locator("input[name=approve-reason]").fill("Fits the biobank's access policy")
    page.click("button:has-text('Approve and reserve')")
    assert "approved" in page.locator(".flash.success").inner_text()
    assert page.locator("[data-status]").inner_text() == "approved"
    assert _status(request_id) == "approved"
    statuses = page.locator("table[data-items] .status").all_inner_texts()
    assert statuses == ["reserved", "reserved"]


def test_technician_scans_to_pick(browser, live_url, make, stock):
    from biobank.requests import service
    researcher = make.actor("researcher")
    req = service.create_request(researcher, title="t", purpose="p", ethics_reference="e",
                                 samples=["S-B-1", "S-A-1"])
    service.submit_request(researcher, req.id)
    service.approve_request(make.actor("manager"), req.id)
    db.session.commit()
    request_id = req.id
    [technician] = _users(make, "technician")

    page = _login(browser, live_url, technician)
    page.goto(f"{live_url}/requests/{request_id}/pick")
    scan = page.locator("input[name=barcode]")
    assert page.evaluate("document.activeElement.name") == "barcode"
    assert "Tank 02 / Rack 1 / Box 1 / B2" in page.locator("[data-next]").inner_text()

    scan.fill("S-A-3")
    scan.press("Enter")
    error = page.locator("[data-testid=pick-error]")
    expect(error).to_contain_text("S-A-3")
    expect(error).to_contain_text("not on the pick list")
    assert _status(request_id) == "approved"
    assert page.evaluate("document.activeElement.name") == "barcode"

    for barcode in ("S-A-1", "S-B-1"):
        page.locator("input[name=barcode]").fill(barcode)
        page.locator("input[name=barcode]").press("Enter")
        expect(page.locator(".flash.success")).to_contain_text(f"Picked {barcode}")  # waits for the answer
    expect(page.locator("body")).to_contain_text("Everything is picked")
    assert _status(request_id) == "picking"
    page.click("main a:has-text('Ship')")  # the page's Ship link, not the Shipments menu entry
    page.fill("input[name=recipient]", "Dr Ada, Lab 4")
    page.fill("input[name=courier]", "DHL")
    page.click("button:has-text('Record shipment')")
    assert page.locator("[data-status]").inner_text() == "shipped"
    assert _status(request_id) == "shipped"


def test_criteria_request_filled_approved_and_picked_by_keyboard(browser, live_url, make, stock):
    """A researcher asks for 2 plasma C50 by criteria, a manager fills the line from the proposal
    and approves, a technician picks with one wrong scan: keyboard only, no console error."""
    researcher, manager, technician = _users(make, "researcher", "manager", "technician")

    page = _login(browser, live_url, researcher)
    problems = watch_console(page)
    page.goto(live_url + "/catalogue")
    page.locator("select[name=sample_type]").focus()
    page.keyboard.type("plasma")  # a select takes the typed name
    page.locator("input[name=diagnosis]").focus()
    page.keyboard.type("C50")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*diagnosis=C50.*"))
    page.locator("[data-ask-criteria] summary").focus()
    page.keyboard.press("Enter")
    page.locator("#ask-count").focus()
    page.keyboard.type("2")
    for text in ("Plasma for a marker study", "Marker validation", "EC-2025-003"):
        page.keyboard.press("Tab")
        page.keyboard.type(text)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/requests/\d+$"))
    request_id = int(page.url.rsplit("/", 1)[1])
    assert page.locator("[data-status]").inner_text() == "submitted"
    assert "a biobank manager chooses the samples" in page.locator("[data-criteria]").inner_text()
    assert _status(request_id) == "submitted"
    page.close()

    page = _login(browser, live_url, manager)
    problems += watch_console(page)
    page.goto(f"{live_url}/requests/{request_id}")
    assert page.locator("[data-fill-first]").count() == 1  # no decision before the line is filled
    page.locator("a:has-text('Fill this line')").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/fill$"))
    offered = page.locator("table[data-proposal] tbody tr").evaluate_all("rs => rs.map(r => r.dataset.barcode)")
    assert offered == ["S-B-1", "S-A-1"]  # the oldest matching plasma
    assert page.evaluate("document.activeElement.dataset.confirmFill") == ""
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/requests/\d+$"))
    assert "Line filled with 2 samples" in page.locator(".flash.success").inner_text()
    page.locator("input[name=approve-reason]").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("text=approved; its samples are reserved")
    assert _status(request_id) == "approved"
    page.close()

    page = _login(browser, live_url, technician)
    problems += watch_console(page)
    page.goto(f"{live_url}/requests/{request_id}/pick")
    assert page.evaluate("document.activeElement.name") == "barcode"
    page.keyboard.type("S-A-3")
    page.keyboard.press("Enter")
    error = page.locator("[data-testid=pick-error]")
    expect(error).to_contain_text("Scanned S-A-3")
    expect(error).to_contain_text("Nothing was changed")
    assert "error" in beeps(page)
    assert page.evaluate("document.activeElement.name") == "barcode"
    assert _status(request_id) == "approved"  # the wrong scan changed nothing
    for barcode in ("S-B-1", "S-A-1"):
        scan(page, barcode)
        expect(page.locator(".flash.success")).to_contain_text(f"Picked {barcode}")  # waits for the answer
    expect(page.locator("body")).to_contain_text("Everything is picked")
    assert _status(request_id) == "picking"
    assert page.evaluate("fetch('/favicon.ico').then(r => r.status)") == 200
    page.close()
    assert not problems, problems
