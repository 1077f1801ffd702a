"""Printing from the browser in real Chromium: set this workstation's Zebra printer, then send
every aliquot label of a run in one job to it (a TCP listener of the test receives it); the PDF
sheet asks which label to start at. Any console error fails the test."""
import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from biobank.extensions import db
from biobank.samples import service as samples

from ..factories import PASSWORD
from ..labels.helpers import zpl_blocks
from ..labels.test_print_web import Listener
from .console import fits_both_sizes, strict_page  # noqa: F401  (fixture)

pytestmark = pytest.mark.browser
SHOTS = Path(os.environ["BIOBANK_SHOTS"]) if os.environ.get("BIOBANK_SHOTS") else None


def test_aliquot_labels_go_to_the_workstation_printer(strict_page, make):
    box = make.box(rows=4, cols=4, name="Print box")
    make.sample("PB-P1", box=box, position="A1", volume="2.0")
    children = samples.aliquot_sample(make.admin, "PB-P1", count=4, volume="0.2", strategy="compact")
    db.session.commit()
    page = strict_page
    page.goto("/login")
    page.get_by_label("Username").fill(make.user("technician").username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto("/samples/PB-P1")
    page.get_by_role("link", name="Print all 4 aliquot labels in one job").click()
    fits_both_sizes(page, SHOTS, "print-none")
    page.get_by_role("link", name="Set up the label printer").click()
    printer = Listener()
    expect(page.get_by_label("Printer address (host name or IP)")).to_be_focused()
    page.keyboard.type("127.0.0.1")
    page.keyboard.press("Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type(str(printer.port))
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name=f"Send to the printer at 127.0.0.1:{printer.port}")).to_be_focused()
    fits_both_sizes(page, SHOTS, "print-zebra")
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").first).to_contain_text("Sent 4 labels")
    assert len(zpl_blocks(printer.job())) == 4
    assert [c.barcode in page.locator("[data-print-list]").inner_text() for c in children] == [True] * 4
    expect(page.get_by_label("Start at label")).to_have_value("1")
