"""In real Chromium: a regional technician packs a box and dispatches it; a technician at the
centre receives it and stores it in a rack with the scanner alone."""
import pytest
from playwright.sync_api import expect

from biobank.extensions import db
from biobank.network.models import Shipment
from biobank.samples.service import get_sample
from tests.web.wedge import scan

pytestmark = pytest.mark.browser


def _watch_console(page) -> list:
    """Console errors and CSP violations of the pages (the browser's own favicon probe aside)."""
    problems = []

    def note(message):
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{message.text} ({message.location.get('url')})")
    page.on("console", note)
    page.on("pageerror", lambda error: problems.append(str(error)))
    return problems


def test_ship_a_box_from_a_regional_centre_and_receive_it_by_scanner_alone(browser_page, sign_in, network, make):
    box = network.reg_boxes[0]
    make.sample("BRW-1", box=box, position="A1")
    make.sample("BRW-2", box=box, position="C3")
    rack = network.main_tank.children[0]
    page = browser_page
    problems = _watch_console(page)

    # the sender: a new shipment to the centre, then scans only
    sign_in(network.users["tech_reg"])
    page.goto("/shipments")
    form = page.get_by_role("form", name="New shipment")
    form.get_by_label("To").select_option(label=f"{network.main.name} ({network.main.code})")
    form.get_by_label("Shipping condition").select_option("dry_ice")
    form.get_by_label("Courier").fill("UzPost Medical")
    form.get_by_role("button", name="Create and start packing").click()
    expect(page.get_by_role("status")).to_contain_text("created")
    scan_box = page.locator("#barcode")
    expect(scan_box).to_be_focused()
    scan(page, box.barcode)
    expect(page.get_by_role("status")).to_contain_text(f"Packed {box.barcode}")
    expect(page.locator('[data-barcode="BRW-2"]')).to_contain_text(f"in {box.barcode} at C3")
    expect(scan_box).to_be_focused()
    scan(page, "CMD:DISPATCH")
    expect(page.locator("[data-status]")).to_have_text("in transit")
    shipment_url = page.url.split("?")[0]
    page.get_by_role("button", name="Log out").click()

    # the receiver at the centre: the box, the rack, close; nothing but scans
    sign_in(network.users["tech_main"])
    page.goto(shipment_url)
    expect(page.locator("#barcode")).to_be_focused()
    scan(page, box.barcode)
    expect(page.get_by_role("status")).to_contain_text(f"Received {box.barcode}")
    expect(page.locator("[data-prompt]")).to_contain_text("scan the rack")
    expect(page.locator("#barcode")).to_be_focused()
    scan(page, rack.barcode)
    expect(page.get_by_role("status")).to_contain_text(f"stored in {rack.path}")
    scan(page, "NOT-ON-IT")   # a wrong scan is loud and changes nothing that was received
    expect(page.get_by_role("alert")).to_contain_text("not on this shipment")
    page.get_by_label("I checked").check()
    page.get_by_role("button", name="Close with these discrepancies").click()
    expect(page.locator("[data-status]")).to_have_text("closed")
    assert problems == []

    db.session.rollback()
    shipment = db.session.query(Shipment).one()
    assert shipment.status == "closed"
    tube = get_sample("BRW-2")
    assert tube.status == "available" and tube.location_path == f"{rack.path} / {box.name} / C3"
