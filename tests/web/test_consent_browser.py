"""Consent withdrawal in real Chromium: the manager withdraws with a reason and a confirmation,
works through the donor's tubes; the technician's scan of one of them says so. Any console error
fails the test."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from ..factories import PASSWORD
from .console import fits_both_sizes, strict_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["BIOBANK_SHOTS"]) if os.environ.get("BIOBANK_SHOTS") else None


def _log_in(page, username):
    page.goto("/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_manager_withdraws_consent_and_closes_the_worklist(strict_page, make):
    box = make.box(rows=3, cols=3, name="Consent box")
    make.sample("CB-1", box=box, position="A1", donor="DB7")
    make.sample("CB-2", box=box, position="A2", donor="DB7")
    manager = make.user("manager")
    page = strict_page
    _log_in(page, manager.username)
    page.get_by_role("link", name="Consent").click()
    expect(page.get_by_label("Donor pseudonym")).to_be_focused()
    page.keyboard.type("DB7")
    page.keyboard.press("Tab")
    page.keyboard.type("Withdrawal form WF-2026-031")
    page.get_by_role("button", name="Continue").click()
    expect(page.locator("[data-held]")).to_have_text("2")
    fits_both_sizes(page, SHOTS, "consent-confirm")
    page.get_by_role("button", name="Withdraw consent of DB7").click()
    expect(page.get_by_role("status").first).to_contain_text("2 tubes blocked")
    expect(page.locator("[data-worklist] tbody tr")).to_have_count(2)
    fits_both_sizes(page, SHOTS, "consent-worklist")
    page.get_by_role("button", name="Discard CB-1").click()
    expect(page.locator("[data-worklist] tbody tr")).to_have_count(1)
    page.locator('tr[data-barcode="CB-2"]').get_by_label("Returned to").fill("Bukhara regional centre")
    page.keyboard.press("Enter")
    expect(page.locator("p[data-remaining]")).to_contain_text("Nothing left")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Consent").click()
    expect(page.get_by_text("None: every tube of a withdrawn donor")).to_be_visible()


def test_the_scan_page_and_box_map_say_consent_is_withdrawn(strict_page, make):
    from biobank.extensions import db
    from biobank.samples.service import withdraw_consent
    box = make.box(rows=3, cols=3, name="Consent box 2")
    make.sample("CS-1", box=box, position="B2", donor="DS1")
    withdraw_consent(make.actor("manager"), "DS1", reason="letter")
    db.session.commit()
    page = strict_page
    _log_in(page, make.user("technician").username)
    page.goto("/scan")
    expect(page.locator("[data-scan-input]")).to_be_focused()
    page.keyboard.type("CS-1")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("scan-result").locator(".consent-alert")).to_contain_text("withdrew consent")
    fits_both_sizes(page, SHOTS, "consent-scan")
    page.goto(f"/containers/{box.id}")
    expect(page.locator('td[data-position="B2"]')).to_have_attribute("data-consent", "withdrawn")
    fits_both_sizes(page, SHOTS, "consent-boxmap")
