"""The scanner loop in real Chromium, driven by the keyboard alone (a wedge scanner types and
presses Enter): after every action started from the scan page or a command barcode, focus is
in a field that takes the next scan, and every refused scan is answered on the same page with
the error sound, saying what was scanned and what to do."""
import re

import pytest
from playwright.sync_api import expect

from biobank.core.db import write_intent
from biobank.extensions import db
from biobank.samples import service as samples
from tests.web.wedge import beeps, press, scan

pytestmark = pytest.mark.browser


@pytest.fixture
def bench(browser_page, sign_in, make):
    """A technician on the scan page, a 3x3 box with tubes at A1 (LOOP-1) and A2 (LOOP-2), another box."""
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Tank Loop")
    box, other = make.boxes_of(tank)
    make.sample("LOOP-1", box=box, position="A1", volume="1.0", unit="mL")
    make.sample("LOOP-2", box=box, position="A2")
    page = sign_in(make.user("technician"))
    expect(page.locator("[data-scan-input]")).to_be_focused()
    return page, box, other


def _checked_out(make, barcode):
    """Check a tube out from the test thread while the page is open: a writing transaction of its own
    (BEGIN IMMEDIATE waits its turn behind the live server's writes, where a read that turns into a
    write would be refused by SQLite at once)."""
    db.session.rollback()
    token = write_intent.set(True)
    try:
        samples.checkout_sample(make.admin, barcode, reason="assay")
        db.session.commit()
    finally:
        write_intent.reset(token)


def test_checkout_by_command_barcode_ends_in_the_scan_box(bench):
    page, box, _ = bench
    scan(page, "LOOP-1")
    scan(page, "CMD:CHECKOUT")
    expect(page.get_by_label("Reason (optional)")).to_be_focused()
    scan(page, "assay")
    expect(page.locator(".flash.success")).to_contain_text("Checked out LOOP-1")
    expect(page.get_by_test_id("location")).to_have_text("Not in storage (checked out)")
    expect(page.locator("[data-scan-input]")).to_be_focused()
    scan(page, "LOOP-2")                        # the next scan is taken
    expect(page.get_by_test_id("location")).to_have_text(f"{box.path} / A2")


def test_return_by_command_barcode_has_a_focused_field_at_every_step(bench, make):
    page, box, _ = bench
    _checked_out(make, "LOOP-1")
    scan(page, "LOOP-1")
    scan(page, "CMD:RETURN")
    expect(page.get_by_label("No, it stayed frozen (N)")).to_be_focused()
    press(page, "n")                    # answered; on to where it goes
    box_field = page.get_by_label("Box (empty: back to its old place)")
    expect(box_field).to_be_focused()
    press(page, "Enter")                # empty: back to its old place
    expect(page.locator(".flash.success")).to_have_text(f"Returned LOOP-1 to {box.path} / A1.")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_return_by_command_barcode_to_another_box(bench, make):
    page, _, other = bench
    _checked_out(make, "LOOP-1")
    scan(page, "LOOP-1")
    scan(page, "CMD:RETURN")
    expect(page.get_by_label("Yes, it thawed (Y)")).not_to_be_checked()
    expect(page.get_by_label("No, it stayed frozen (N)")).to_be_focused()
    press(page, "y")
    expect(page.get_by_label("Yes, it thawed (Y)")).to_be_checked()
    scan(page, other.barcode)
    expect(page.get_by_label("Position", exact=True)).to_be_focused()
    scan(page, "C3")
    expect(page.locator(".flash.success")).to_have_text(
        f"Returned LOOP-1 to {other.path} / C3. Freeze–thaw count is now 1.")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_aliquot_by_command_barcode_ends_in_the_scan_box(bench):
    page, _, _ = bench
    scan(page, "LOOP-1")
    scan(page, "CMD:ALIQUOT")
    count = page.get_by_label("How many aliquots")
    expect(count).to_be_focused()
    scan(page, "3")                             # replaces the suggested 2
    expect(page.get_by_label("Quantity of each")).to_be_focused()
    scan(page, "0.2")
    expect(page.locator(".flash.success")).to_contain_text("Made 3 aliquot(s) of LOOP-1")
    expect(page.locator(".flash.success")).to_contain_text("LOOP-1-03")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_discard_refuses_a_wrong_confirmation_scan_on_the_spot(bench):
    page, _, _ = bench
    scan(page, "LOOP-1")
    scan(page, "CMD:DISCARD")
    confirm = page.get_by_label("Scan the tube again to confirm")
    reason = page.get_by_label("Why is it discarded?")
    expect(confirm).to_be_focused()
    scan(page, "LOOP-2")                        # the wrong tube
    expect(page.get_by_role("alert")).to_contain_text("You scanned LOOP-2: that is not LOOP-1")
    assert beeps(page)[-1] == "error"
    expect(confirm).to_be_focused()
    expect(confirm).to_have_value("")
    expect(reason).to_have_value("")            # never typed into the reason
    scan(page, "LOOP-1")
    expect(reason).to_be_focused()
    scan(page, "cracked tube")
    expect(page.locator(".flash.success")).to_have_text("Discarded LOOP-1.")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_discard_refused_by_the_server_focuses_the_confirmation(bench, make):
    """Without the page's own check (a reason typed first, the form sent), the server's answer
    puts focus back in the confirmation field, empty, with the error sound."""
    page, _, _ = bench
    page.goto("/samples/LOOP-1/discard?from_scan=1")
    page.get_by_label("Why is it discarded?").fill("cracked tube")
    page.get_by_label("Scan the tube again to confirm").fill("LOOP-9")
    page.evaluate("document.querySelector('[data-testid=action-form]').submit()")
    confirm = page.get_by_label("Scan the tube again to confirm")
    expect(page.get_by_role("alert")).to_contain_text("You scanned LOOP-9: that is not LOOP-1")
    expect(confirm).to_be_focused()
    expect(confirm).to_have_value("")
    assert beeps(page) == ["error"]
    scan(page, "LOOP-1")
    expect(page.locator(".flash.success")).to_have_text("Discarded LOOP-1.")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_move_by_command_barcode(bench):
    page, _, other = bench
    scan(page, "LOOP-2")
    scan(page, "CMD:MOVE")
    expect(page.get_by_label("Target box (scan its label)")).to_be_focused()
    scan(page, other.barcode)
    expect(page.get_by_label("Position", exact=True)).to_be_focused()
    scan(page, "B2")
    expect(page.locator(".flash.success")).to_have_text(f"Moved LOOP-2 to {other.path} / B2.")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_refused_positions_are_answered_on_the_scan_page(bench):
    page, box, other = bench
    scan(page, "LOOP-2")
    scan(page, box.barcode)
    position = page.locator("#position")
    expect(position).to_be_focused()

    scan(page, "A1")                            # taken
    error = page.get_by_test_id("scan-error")
    expect(error).to_contain_text(f"A1 in {box.name} is taken by tube LOOP-1")
    assert beeps(page) == ["error"]
    expect(page.get_by_test_id("position-step")).to_contain_text(box.path)
    expect(position).to_be_focused()

    scan(page, "Z9")                            # outside the box: answered in place, one more error sound
    expect(error).to_contain_text(f"Z9 is outside {box.name}: its positions are A1..C3")
    assert beeps(page) == ["error", "error"]
    expect(position).to_be_focused()

    scan(page, other.barcode)                   # a box label in the position field
    expect(error).to_contain_text(f"You scanned {other.barcode}: that is a box, not a position")
    expect(error).not_to_contain_text("cannot be longer")
    expect(position).to_be_focused()

    scan(page, "LOOP-1")                        # a tube in the position field
    expect(error).to_contain_text("You scanned LOOP-1: that is a tube, not a position")

    scan(page, "C2")
    expect(page.locator(".flash.success")).to_have_text(f"Moved LOOP-2 to {box.path} / C2.")
    expect(page.locator("[data-scan-input]")).to_be_focused()


def test_escape_after_a_refused_position_puts_the_tube_down(bench):
    page, box, _ = bench
    scan(page, "LOOP-2")
    scan(page, box.barcode)
    scan(page, "A1")
    expect(page.get_by_test_id("scan-error")).to_be_visible()
    press(page, "Escape")
    expect(page.get_by_test_id("position-step")).to_have_count(0)
    expect(page.get_by_test_id("location")).to_have_text(f"{box.path} / A2")  # nothing moved
    expect(page.locator("[data-scan-input]")).to_be_focused()


def _held_answers(page) -> list:
    """Answers to the scan box that wait until the test lets each go: a slow network, made exact."""
    held = []
    page.route(re.compile(r"/scan\?"), lambda route: held.append(route))
    return held


def _until(page, condition):
    for _ in range(200):
        if condition():
            return
        page.wait_for_timeout(25)
    raise AssertionError("the page never got there")


def test_scans_typed_while_answers_are_slow_are_each_taken_in_order(bench):
    page, box, _ = bench
    held = _held_answers(page)
    scan(page, "LOOP-2")                        # its answer is held back
    scan(page, box.barcode)                     # waits its turn
    page.keyboard.type("A1")                    # the next scan, half typed, when the first answer comes
    _until(page, lambda: len(held) == 1)
    held.pop().continue_()
    _until(page, lambda: len(held) == 1)        # the box scan went out; its answer is held too
    press(page, "Enter")                # ... and A1 is ended while it is on its way
    held.pop().continue_()
    expect(page.get_by_test_id("scan-error")).to_contain_text(f"A1 in {box.name} is taken by tube LOOP-1")
    assert beeps(page) == ["error"]
    expect(page.locator("#position")).to_be_focused()


def test_a_case_only_mismatch_offers_the_stored_barcode(bench):
    page, box, _ = bench
    scan(page, "loop-1")
    error = page.get_by_test_id("scan-error")
    expect(error).to_contain_text("Unknown barcode: loop-1. Did you mean LOOP-1?")
    assert beeps(page) == ["error"]
    expect(page.locator("[data-scan-input]")).to_be_focused()
    press(page, "Enter")                # take the offer
    expect(page.get_by_test_id("location")).to_have_text(f"{box.path} / A1")
    expect(page.locator("[data-scan-input]")).to_be_focused()
    scan(page, box.barcode.lower())             # a box label too
    expect(page.get_by_test_id("scan-error")).to_contain_text(f"Did you mean {box.barcode}?")


def test_a_command_without_a_tube_says_what_to_do(bench):
    page, _, _ = bench
    scan(page, "CMD:CHECKOUT")
    expect(page.get_by_test_id("scan-error")).to_contain_text("scan a sample first, then the command")
    assert beeps(page) == ["error"]
    expect(page.locator("[data-scan-input]")).to_be_focused()


def _same_page(page):
    """Mark the page: a new page load would lose the mark, an answer shown in place keeps it."""
    page.evaluate("window.biobankSamePage = true")
    return lambda: page.evaluate("window.biobankSamePage === true")


def test_a_move_and_a_return_are_answered_in_place(bench, make):
    page, box, other = bench
    same_page = _same_page(page)
    scan(page, "LOOP-2")
    scan(page, other.barcode)
    scan(page, "B2")
    expect(page.locator(".flash.success")).to_have_text(f"Moved LOOP-2 to {other.path} / B2.")
    expect(page).to_have_url(re.compile(r"/scan\?code=LOOP-2$"))
    expect(page.locator("[data-scan-input]")).to_be_focused()
    assert same_page()
    assert beeps(page) == ["ok"]

    _checked_out(make, "LOOP-1")
    scan(page, "LOOP-1")
    scan(page, "CMD:RETURN")                    # the return's form comes in place too
    expect(page).to_have_url(re.compile(r"/samples/LOOP-1/return\?from_scan=1$"))
    expect(page.get_by_label("No, it stayed frozen (N)")).to_be_focused()
    press(page, "n")
    press(page, "Enter")                        # empty box: back to its held place
    expect(page.locator(".flash.success")).to_have_text(f"Returned LOOP-1 to {box.path} / A1.")
    expect(page.locator("[data-scan-input]")).to_be_focused()
    expect(page.locator(".mainnav a[aria-current=page]")).to_have_text("Scan")
    assert same_page()
    page.go_back()                              # Back shows the page before, loaded again
    expect(page).to_have_url(re.compile(r"/samples/LOOP-1/return\?from_scan=1$"))
    expect(page.get_by_role("heading", name="Return LOOP-1")).to_be_visible()


def test_a_scan_typed_while_a_move_is_on_its_way_is_the_next_scan(bench):
    """The position's Enter sends the move once; the tube scanned while its answer is on the way
    is looked up when the answer has come, never sent as a second move."""
    page, box, other = bench
    held = []
    page.route(re.compile(r"/samples/LOOP-2/move"), lambda route: held.append(route))
    scan(page, "LOOP-2")
    scan(page, other.barcode)
    scan(page, "C3")
    _until(page, lambda: len(held) == 1)
    scan(page, "LOOP-1")                        # lands in the position field, which has sent C3
    page.wait_for_timeout(100)
    assert len(held) == 1                       # nothing more went out
    held.pop().continue_()
    expect(page.get_by_test_id("location")).to_have_text(f"{box.path} / A1")   # LOOP-1 looked up
    expect(page.locator("[data-scan-input]")).to_be_focused()
    db.session.rollback()
    assert samples.get_sample("LOOP-2").location_path == f"{other.path} / C3"


def test_a_step_that_gets_no_answer_is_not_sent_again(bench):
    """The network drops the move: the page loads again as it was (tube and box in hand), and the
    move is sent once, never again behind the technician's back."""
    page, box, other = bench
    sent = []

    def dropped(route):
        sent.append(route.request.method)
        route.abort()
    page.route(re.compile(r"/samples/LOOP-2/move"), dropped)
    scan(page, "LOOP-2")
    scan(page, other.barcode)
    same_page = _same_page(page)
    with page.expect_event("load"):                # loaded again
        scan(page, "C1")
    assert not same_page()
    expect(page.get_by_test_id("position-step")).to_contain_text(other.path)
    expect(page.locator("#position")).to_be_focused()
    assert sent == ["POST"]
    db.session.rollback()
    assert samples.get_sample("LOOP-2").location_path == f"{box.path} / A2"
    # the dropped answer is the one console error this test causes
    page.console_problems[:] = [p for p in page.console_problems if "ERR_FAILED" not in p]
