"""In real Chromium, keyboard only: a tube checked out by scans keeps its place;
moving another tube there is refused; the box map shows the held position; the
return by scans goes back home."""
import pytest
from playwright.sync_api import expect

from .test_browser import scan

pytestmark = pytest.mark.browser


def test_checked_out_tube_keeps_its_place_and_returns_home_by_scans(browser_page, sign_in, make):
    home = make.box(rows=1, cols=2, name="Box Home")
    elsewhere = make.box(rows=1, cols=1, name="Box Else")
    make.sample("BH-OUT", box=home, position="A1")
    make.sample("BH-OTHER", box=elsewhere, position="A1")
    page = sign_in(make.user("technician"))
    page.goto("/")

    # Check out by scans: the tube, then the command; the reason, Enter.
    scan(page, "BH-OUT")
    expect(page.get_by_test_id("location")).to_have_text(f"{home.path} / A1")
    scan(page, "CMD:CHECKOUT")
    expect(page.locator("#reason")).to_be_focused()
    page.keyboard.type("sectioning")
    page.keyboard.press("Enter")
    expect(page.locator(".flash.success")).to_contain_text(f"Its place {home.path} / A1 is held.")
    expect(page.get_by_test_id("home")).to_contain_text(f"{home.path} / A1")

    # Another tube cannot be put into the held position.
    page.goto("/")
    scan(page, "BH-OTHER")
    expect(page.get_by_test_id("location")).to_have_text(f"{elsewhere.path} / A1")
    scan(page, home.barcode)
    expect(page.locator("#position")).to_be_focused()
    scan(page, "A1")
    expect(page.get_by_text("held for BH-OUT, which is checked out")).to_be_visible()
    page.goto(f"/containers/{home.id}")
    held = page.locator('td[data-position="A1"] a')
    expect(held).to_have_attribute("data-held", "BH-OUT")
    expect(held).to_have_attribute("aria-label", "A1, held for checked out, BH-OUT")

    # The return step shows its place and goes back there: tube, box, position, Enter, N.
    page.goto("/")
    scan(page, "BH-OUT")
    expect(page.get_by_test_id("home")).to_contain_text(f"Its place is held: {home.path} / A1")
    scan(page, home.barcode)
    step = page.get_by_test_id("position-step")
    expect(step.get_by_test_id("home")).to_contain_text(f"{home.path} / A1")
    expect(page.locator("#position")).to_have_attribute("placeholder", "its place: A1")
    expect(page.locator("#position")).to_be_focused()
    scan(page, "A1")
    expect(page.get_by_label("No, it stayed frozen (N)")).to_be_focused()
    page.keyboard.press("n")
    expect(page.locator(".flash.success")).to_have_text(f"Returned BH-OUT to {home.path} / A1.")
    page.goto(f"/containers/{home.id}")
    expect(page.locator('td[data-position="A1"] a')).to_have_attribute("aria-label", "A1, available, BH-OUT")
