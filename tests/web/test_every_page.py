"""Every page of every role in real Chromium, on an empty and on a stocked database, at a desk
(1280x800) and on a phone (390x844): styled by the app's stylesheet, no console error and no
Content-Security-Policy violation (the browser_page fixture fails on either), no page wider
than a phone's screen (wide tables scroll inside their own box), error pages in the app's
own layout.

With BIOBANK_SCREENSHOTS=DIR set, a screenshot of each page at both sizes is written there.
"""
import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from biobank.core.actor import Actor
from biobank.extensions import db
from biobank.reports import service as reports
from biobank.requests import service as requests_service
from biobank.samples import service as samples

pytestmark = pytest.mark.browser

DESK = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("BIOBANK_SCREENSHOTS")
# The empty states a phone user meets first; the other pages' phone layout is checked stocked.
EMPTY_ON_PHONE = ("/", "/scan", "/catalogue", "/requests", "/samples", "/containers", "/reports/capacity", "/audit")


def stock(make, researcher) -> dict:
    """A small biobank with something on every page: tanks, samples of several types, a
    checked-out tube, aliquots, a request waiting for approval and an approved one, a full
    rack (a capacity alert), a verified chain."""
    tank = make.tank(racks=2, boxes_per_rack=2, rows=3, cols=3, name="Tank 01",
                     storage_temperature="LN2_vapor")
    full = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Tank 02")
    for position in ("A1", "A2", "B1", "B2"):   # a full tank: capacity alerts
        make.sample(f"PF-{position}", box=make.boxes_of(full)[0], position=position, sample_type="serum")
    boxes = make.boxes_of(tank)
    kinds = ["tissue_frozen", "plasma", "serum", "dna"]
    for i in range(9):                      # the first box full: an alert for its rack's fill
        make.sample(f"PG-{i:02d}", box=boxes[0], position=f"{'ABC'[i // 3]}{i % 3 + 1}",
                    sample_type=kinds[i % 4], storage_temperature="LN2_vapor", diagnosis="C50.9",
                    anatomical_site="C50.4", collected_at="2025-03-01T10:00:00Z", donor=f"D{i % 3}")
    for i in range(4):
        make.sample(f"PH-{i:02d}", box=boxes[1], position=f"A{i % 3 + 1}" if i < 3 else "B1",
                    sample_type="plasma", diagnosis="C18.7", collected_at="2024-11-01T10:00:00Z")
    samples.checkout_sample(make.admin, "PH-03", reason="assay")
    samples.aliquot_sample(make.admin, "PH-00", count=2, volume="0.2", strategy="compact")
    as_researcher = Actor.of(researcher, via="web")
    waiting = requests_service.create_request(as_researcher, title="Colon plasma", purpose="Markers",
                                              ethics_reference="EC-1", samples=["PH-01"])
    requests_service.submit_request(as_researcher, waiting.id)
    approved = requests_service.create_request(as_researcher, title="Breast tissue", purpose="Study",
                                               ethics_reference="EC-2", samples=["PG-00", "PG-04"])
    requests_service.submit_request(as_researcher, approved.id)
    requests_service.approve_request(make.actor("manager"), approved.id)
    reports.record_verification(make.actor("manager"))
    db.session.commit()
    return {"box": boxes[0], "tank": tank, "waiting": waiting.id, "approved": approved.id}


def pages_of(role: str, data: dict | None) -> list[tuple[str, int, bool]]:
    """(path, status the page answers with, also looked at on a phone) of everything this role
    can reach from the navigation, error pages included."""
    common = [("/", 200, True), ("/catalogue", 200, True), ("/requests", 200, True), ("/no-such-page", 404, True)]
    if role == "researcher":
        found = common + [("/cart", 200, True), ("/reports/capacity", 403, True), ("/audit", 403, False),
                          ("/reports/reconcile", 403, False)]
        if data:
            found += [("/samples/PG-01", 200, True), (f"/requests/{data['waiting']}", 200, True)]
        return found
    staff = common + [("/scan", 200, True), ("/samples", 200, True), ("/samples/new", 200, True),
                      ("/samples/import", 200, False), ("/containers", 200, True), ("/reports/capacity", 200, True),
                      ("/audit", 200, True), ("/reports/reconcile", 200, False),
                      ("/scan?code=NO-SUCH-TUBE", 404, True),
                      # a technician is refused with a message on the home page
                      ("/containers/layout", 200, role != "technician")]
    if data:
        staff += [("/samples/PG-01", 200, True), ("/samples/PH-00", 200, False), ("/scan?code=PG-01", 200, True),
                  (f"/scan?sample=PG-01&code={data['box'].barcode}", 200, True),
                  (f"/containers/{data['box'].id}", 200, True), (f"/containers/{data['tank'].id}", 200, True),
                  ("/samples/PG-01/move", 200, False), ("/samples/PG-01/checkout", 200, False),
                  ("/samples/PH-03/return", 200, True), ("/samples/PG-01/aliquot", 200, False),
                  ("/samples/PG-01/discard", 200, True), ("/reports/capacity?by_type=1&boxes=1", 200, False),
                  (f"/requests/{data['approved']}", 200, True), (f"/requests/{data['approved']}/picklist", 200, True),
                  (f"/requests/{data['approved']}/pick", 200, True), ("/audit?action=sample.checked_out", 200, False)]
    return staff


def shot(page, role, state, path, size):
    if not SHOTS:
        return
    name = re.sub(r"[^A-Za-z0-9]+", "_", path).strip("_") or "home"
    folder = Path(SHOTS)
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{role}-{state}-{name}-{size}.png"), full_page=True)


def visit(page, path, status):
    response = page.goto(path)
    assert response is not None and response.status == status, f"{path}: {response and response.status}"
    # Styled by app.css: its layout rules apply (an inline <style> would have been refused).
    assert page.evaluate("getComputedStyle(document.querySelector('main')).maxWidth") == "1150px", path
    assert page.evaluate("document.styleSheets.length") >= 1, path


# Rendering does not depend on the database engine (every query behind these pages runs on both
# in test_views and the other browser tests); one engine keeps this long walk affordable.
@pytest.mark.sqlite_only
# An admin's pages are a manager's (user administration has its own tests): stocked only.
@pytest.mark.parametrize("role, state", [(role, state) for role in ("technician", "manager", "researcher")
                                         for state in ("empty", "stocked")] + [("admin", "stocked")])
def test_every_page_renders_clean_at_desk_and_phone_size(browser_page, sign_in, make, role, state):
    researcher = make.user("researcher")
    data = stock(make, researcher) if state == "stocked" else None
    user = researcher if role == "researcher" else make.user(role)
    page = sign_in(user)
    for path, status, on_phone in pages_of(role, data):
        page.set_viewport_size(DESK)
        visit(page, path, status)
        if status >= 400:
            expect(page.locator(".topbar")).to_be_visible()      # the app's own error page, with navigation
        shot(page, role, state, path, "desk")
        if not on_phone or (state == "empty" and path not in EMPTY_ON_PHONE):
            continue
        page.set_viewport_size(PHONE)
        visit(page, path, status)
        shot(page, role, state, path, "phone")
        wide = page.evaluate("document.documentElement.scrollWidth")
        assert wide <= PHONE["width"], f"{path} is {wide}px wide on a {PHONE['width']}px phone"
    assert not page.console_problems, "\n".join(page.console_problems)


def test_signed_out_pages_render_clean(browser_page):
    page = browser_page
    for size in (DESK, PHONE):
        page.set_viewport_size(size)
        response = page.goto("/login")
        assert response.status == 200
        assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
        response = page.goto("/no-such-page")
        assert response.status == 404
        expect(page.get_by_test_id("error-page")).to_contain_text("Nothing here")
