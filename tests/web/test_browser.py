"""The technician's web UI in real Chromium: login, scans, registration, moving
by scans only, CSV import, box maps, and what each role does not see."""
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.web.wedge import beeps, press, scan

pytestmark = pytest.mark.browser

BAD_ROWS_CSV = str(Path(__file__).resolve().parent.parent / "data" / "imports" / "samples-bad-rows.csv")


def test_login_scan_known_and_unknown_barcodes(browser_page, sign_in, make):
    box = make.box(rows=3, cols=3, name="Box Scan")
    make.sample("BR-KNOWN-1", box=box, position="B3")
    technician = make.user("technician")

    page = browser_page
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Username").fill(technician.username)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")

    sign_in(technician)
    scan_box = page.locator("[data-scan-input]")
    expect(scan_box).to_be_focused()
    scan(page, "BR-KNOWN-1")
    expect(page.get_by_test_id("location")).to_have_text(f"{box.path} / B3")
    expect(page.get_by_role("link", name="Check out")).to_be_visible()
    expect(scan_box).to_be_focused()          # ready for the next scan without touching anything

    scan(page, "NO-SUCH-TUBE")
    error = page.get_by_test_id("scan-error")
    expect(error).to_contain_text("Unknown barcode: NO-SUCH-TUBE")
    assert beeps(page).count("error") == 1
    expect(page.locator("[data-scan-input]")).to_be_focused()

    press(page, "Escape")             # put the tube down; nothing in hand
    expect(page.get_by_test_id("scan-result")).to_have_count(0)
    scan(page, box.barcode)                   # a box label opens its map
    expect(page).to_have_url(f"{page.base}/containers/{box.id}")
    expect(page.locator('td[data-position="B3"]')).to_have_attribute("data-state", "available")


def test_register_place_and_move_by_scans_only(browser_page, sign_in, make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Tank UI")
    first, second = make.boxes_of(tank)
    technician = make.user("technician")
    page = sign_in(technician)

    page.get_by_role("link", name="Register").click()
    page.get_by_label("Barcode", exact=True).fill("BR-NEW-1")
    page.get_by_label("Sample type").select_option("plasma")
    page.get_by_label("Donor pseudonym").fill("D0042")
    page.get_by_label("Volume", exact=True).fill("1.5")
    page.get_by_label("At a position I choose").check()
    page.get_by_label("Box (scan its label or type its id)").fill(first.barcode)
    page.get_by_label("Position", exact=True).fill("A2")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_test_id("location")).to_have_text(f"{first.path} / A2")
    expect(page.get_by_test_id("print-step").locator("form", has=page.get_by_role("button", name="Print label"))
           ).to_have_attribute("action", "/samples/BR-NEW-1/label.pdf")

    # Move: scan the tube, scan the target box, scan the position, Enter. No mouse.
    page.goto("/")
    scan(page, "BR-NEW-1")
    expect(page.get_by_test_id("location")).to_have_text(f"{first.path} / A2")
    scan(page, second.barcode)
    expect(page.get_by_test_id("position-step")).to_contain_text(second.path)
    expect(page.locator("#position")).to_be_focused()
    scan(page, "C1")
    expect(page.locator(".flash.success")).to_contain_text(f"Moved BR-NEW-1 to {second.path} / C1")
    expect(page.get_by_test_id("location")).to_have_text(f"{second.path} / C1")

    # The box maps show the change, with a text cue besides the colour.
    page.goto(f"/containers/{second.id}")
    cell = page.locator('td[data-position="C1"] a')
    expect(cell).to_have_attribute("aria-label", "C1, available, BR-NEW-1")
    cell.hover()
    expect(cell.locator(".cell-barcode")).to_be_visible()
    page.goto(f"/containers/{first.id}")
    expect(page.locator('td[data-position="A2"] a')).to_have_attribute("aria-label", "A2, empty")

    # The custody timeline has the registration and the move.
    page.goto("/samples/BR-NEW-1")
    expect(page.get_by_test_id("history")).to_contain_text("Registered")
    expect(page.get_by_test_id("history")).to_contain_text("Moved")


def test_return_by_scans_answers_the_thaw_question_with_one_key(browser_page, sign_in, make):
    from biobank.extensions import db
    from biobank.samples import service as samples
    box = make.box(rows=3, cols=3)
    for barcode in ("BR-BACK-1", "BR-BACK-2"):
        make.sample(barcode, box=box, position="A1" if barcode.endswith("1") else "A2")
        samples.checkout_sample(make.admin, barcode, reason="assay")
    db.session.commit()
    page = sign_in(make.user("technician"))
    page.goto("/")

    # Tube, box, position (its row letter is typed into the position box, not taken as an answer), Enter,
    # then Y: returned, and the thaw counted.
    scan(page, "BR-BACK-1")
    expect(page.get_by_test_id("location")).to_have_text("Not in storage (checked out)")
    scan(page, box.barcode)
    expect(page.get_by_test_id("position-step")).to_contain_text("Did it thaw?")
    scan(page, "b3")
    expect(page.get_by_label("No, it stayed frozen (N)")).to_be_focused()
    expect(page.locator("#position")).to_have_value("b3")
    page.keyboard.press("y")
    expect(page.locator(".flash.success")).to_contain_text(f"Returned BR-BACK-1 to {box.path} / B3. "
                                                           "Freeze–thaw count is now 1.")

    # The same with N: the count stays.
    page.goto("/")
    scan(page, "BR-BACK-2")
    expect(page.get_by_test_id("location")).to_have_text("Not in storage (checked out)")
    scan(page, box.barcode)
    expect(page.locator("#position")).to_be_focused()
    scan(page, "C1")
    page.keyboard.press("n")
    expect(page.locator(".flash.success")).to_have_text(f"Returned BR-BACK-2 to {box.path} / C1.")
    db.session.rollback()  # end this session's read snapshot: the server process wrote meanwhile
    assert [samples.get_sample(b).freeze_thaw_count for b in ("BR-BACK-1", "BR-BACK-2")] == [1, 0]


def test_box_map_click_empty_position_to_store(browser_page, sign_in, make):
    box = make.box(rows=2, cols=2, name="Box Click")
    make.sample("BR-CLICK-1", box=box, position="A1")
    page = sign_in(make.user("technician"))
    page.goto(f"/containers/{box.id}")
    page.locator('td[data-position="B2"] a').click()
    expect(page.get_by_label("Sample barcode")).to_be_focused()
    scan(page, "BR-CLICK-1")
    expect(page.locator('td[data-position="B2"]')).to_have_attribute("data-state", "available")
    expect(page.locator('td[data-position="A1"]')).to_have_attribute("data-state", "empty")
    page.locator('td[data-position="B2"] a').click()
    expect(page).to_have_url(page.base + "/samples/BR-CLICK-1")


def test_csv_import_with_a_bad_row_stores_nothing(browser_page, sign_in, make):
    make.tank(racks=1, boxes_per_rack=3, rows=9, cols=9)
    page = sign_in(make.user("technician"))
    page.get_by_role("link", name="Import").click()
    page.get_by_label("CSV file").set_input_files(BAD_ROWS_CSV)
    page.get_by_role("button", name="Check the file").click()
    rejected = page.get_by_test_id("import-rejected")
    expect(rejected).to_contain_text("Nothing was imported")
    expect(rejected).to_contain_text("line 12")
    expect(rejected).to_contain_text("BAD BARCODE!")
    page.get_by_role("link", name="Samples").click()
    expect(page.get_by_text("No samples yet")).to_be_visible()


def test_csv_import_good_file_then_print_labels(browser_page, sign_in, make, tmp_path):
    make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3)
    csv_file = tmp_path / "good.csv"
    csv_file.write_text("barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode\n"
                        + "".join(f"BR-IMP-{i},plasma,D1,2025-03-01T10:00:00Z,1.0,mL,,C50.9,\n" for i in range(12)))
    page = sign_in(make.user("technician"))
    page.goto("/samples/import")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_test_id("import-preview")).to_contain_text("All 12 rows")
    page.goto("/samples")
    expect(page.get_by_text("No samples yet")).to_be_visible()      # the preview stored nothing
    page.go_back()
    page.get_by_role("button", name="Import 12 samples").click()
    expect(page.get_by_role("heading", name="Imported 12 samples")).to_be_visible()
    expect(page.get_by_test_id("print-step").get_by_role("button", name="Print labels of this box")).to_have_count(2)
    page.goto("/samples")
    expect(page.get_by_test_id("sample-list")).to_contain_text("BR-IMP-11")


def test_researcher_sees_no_move_or_discard(browser_page, sign_in, make):
    box = make.box()
    make.sample("BR-RES-1", box=box, position="A1", donor="D-HIDDEN")
    page = sign_in(make.user("researcher"))
    expect(page.locator("[data-scan-input]")).to_have_count(0)
    expect(page.get_by_role("link", name="Samples", exact=True)).to_have_count(0)
    page.goto("/samples/BR-RES-1")
    expect(page.get_by_role("heading", name="Sample BR-RES-1")).to_be_visible()
    expect(page.get_by_role("link", name="Move")).to_have_count(0)
    expect(page.get_by_role("link", name="Discard")).to_have_count(0)
    expect(page.get_by_text("D-HIDDEN")).to_have_count(0)
    expect(page.get_by_text(box.path)).to_have_count(0)


def test_technician_sees_no_layout_builder_but_manager_builds_a_tank(browser_page, sign_in, make):
    technician, manager = make.user("technician"), make.user("manager")
    page = sign_in(technician)
    expect(page.get_by_role("link", name="Layout builder")).to_have_count(0)
    page.get_by_role("button", name="Log out").click()
    sign_in(manager)
    page.get_by_role("link", name="Layout builder").click()
    page.get_by_label("Name").fill("Tank Z")
    page.get_by_label("Racks").fill("2")
    page.get_by_label("Boxes per rack").fill("2")
    page.get_by_label("Rows per box").fill("3")
    page.get_by_label("Columns per box").fill("3")
    page.get_by_role("button", name="Build").click()
    expect(page.get_by_role("heading", name="Tank Z")).to_be_visible()
    expect(page.locator(".child")).to_have_count(2)
    expect(page.get_by_text("0 / 36 used").first).to_be_visible()
