"""Moving a box and correcting a record in real Chromium, by keyboard (and scanner) alone."""
import re

import pytest
from playwright.sync_api import expect

from tests.web.wedge import beeps, scan

pytestmark = pytest.mark.browser


@pytest.fixture
def console_errors(browser_page):
    """Console errors and CSP violations of the page; the test fails on any. Chromium also logs
    every 4xx answer as "Failed to load resource": pages answer a refused scan or form with
    their 4xx status on purpose (and a missing favicon is not ours to judge); a static file
    that fails to load still counts."""
    errors = []

    def seen(message):
        url = message.location.get("url", "")
        deliberate = message.text.startswith("Failed to load resource") and "/static/" not in url
        if message.type == "error" and not deliberate:
            errors.append(f"{message.text} ({url})")
    browser_page.on("console", seen)
    browser_page.on("pageerror", lambda e: errors.append(str(e)))
    yield errors
    assert errors == [], errors


def test_move_a_box_to_another_rack_by_scans_only(browser_page, sign_in, make, console_errors):
    old_tank = make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3, name="Tank Old")
    new_tank = make.tank(racks=2, boxes_per_rack=1, rows=3, cols=3, name="Tank New")
    box = make.boxes_of(old_tank)[0]
    other_box = make.boxes_of(new_tank)[0]
    make.sample("BM-1", box=box, position="B2")
    rack = new_tank.children[1]
    page = sign_in(make.user("technician"))
    page.goto("/scan")
    expect(page.locator("[data-scan-input]")).to_be_focused()

    scan(page, box.barcode)                              # the box label opens its map ...
    expect(page).to_have_url(f"{page.base}/containers/{box.id}")
    move_field = page.get_by_label(re.compile("Move this box"))
    expect(move_field).to_be_focused()                   # ... ready for the next scan

    scan(page, other_box.barcode)                        # a box does not go into a box
    expect(page.get_by_test_id("scan-error")).to_contain_text("boxes hold tubes")
    assert "error" in beeps(page)
    expect(page.locator("[data-scan-input]")).to_be_focused()   # the box is still in hand

    scan(page, rack.barcode)                             # the new rack: the step asks to confirm
    step = page.get_by_test_id("container-move-step")
    expect(step).to_contain_text(f"{rack.path} / {box.name}")
    expect(step).to_contain_text("1 tube moves with it")
    expect(page.get_by_label(re.compile("Reason"))).to_be_focused()
    page.keyboard.type("tank defrost")
    page.keyboard.press("Enter")

    expect(page.get_by_role("status").filter(has_text="Moved")).to_contain_text(rack.path)
    expect(page.locator("[data-scan-input]")).to_be_focused()
    scan(page, "BM-1")
    expect(page.get_by_test_id("location")).to_have_text(f"{rack.path} / {box.name} / B2")


def test_correct_a_diagnosis_by_keyboard_alone(browser_page, sign_in, make, console_errors):
    make.sample("BC-1", box=make.box(name="Box Correct"), position="A1", diagnosis="C50.9")
    page = sign_in(make.user("manager"))
    page.goto("/scan")
    scan(page, "BC-1")
    expect(page.get_by_test_id("scan-result")).to_be_visible()
    scan(page, "CMD:CORRECT")                            # the command barcode opens the form
    expect(page).to_have_url(re.compile(r"/samples/BC-1/correct(\?from_scan=1)?$"))
    expect(page.get_by_label("Reason for the correction")).to_be_focused()
    page.keyboard.press("Enter")                         # no reason: refused, nothing changes
    expect(page.get_by_text("Say why the record is corrected")).to_be_visible()
    expect(page.get_by_label("Reason for the correction")).to_be_focused()
    page.keyboard.type("pathology review")
    while page.evaluate("document.activeElement.name") != "diagnosis":
        page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("C50.1")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/samples/BC-1$"))
    expect(page.get_by_test_id("correction")).to_have_text("diagnosis C50.9 → C50.1")
    expect(page.get_by_test_id("history")).to_contain_text("Reason: pathology review")


def test_what_is_typed_before_the_page_script_runs_is_kept(browser_page, sign_in, make, console_errors):
    """A refused form comes back with the focus in the field to fix as soon as the page is shown,
    and the page's script (which selects that field's text so that a scan replaces it) runs a
    moment later: a scan typed in between is kept whole, not selected and overwritten by its own
    next characters."""
    make.sample("BC-2", box=make.box(name="Box Early"), position="A1", diagnosis="C50.9")
    page = sign_in(make.user("manager"))
    holding, held = [], []

    def script(route):
        if holding:
            held.append(route)  # let through below, once the first characters are in
        else:
            route.continue_()

    page.route("**/static/app.js", script)
    page.goto("/samples/BC-2/correct")
    reason = page.get_by_label("Reason for the correction")
    expect(reason).to_be_focused()
    holding.append(True)
    page.keyboard.press("Enter")                         # no reason: the form comes back refused
    expect(page.get_by_text("Say why the record is corrected")).to_be_visible()
    expect(reason).to_be_focused()
    page.keyboard.type("pathol")
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    page.wait_for_load_state("load")
    page.keyboard.type("ogy review")
    expect(reason).to_have_value("pathology review")
