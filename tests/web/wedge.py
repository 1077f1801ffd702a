"""What a keyboard-wedge scanner (and the bench keyboard) does to a page, and what the page
signalled back. Each waits for the page's script to have run first: a page answered with a new
document shows its text a moment before its script takes keys and signals."""


def scan(page, code):
    """Type the code into whatever has focus, then press Enter, as a wedge scanner does."""
    page.wait_for_load_state("load")
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def press(page, key):
    """One key (Escape, Enter, a letter), once the page takes keys."""
    page.wait_for_load_state("load")
    page.keyboard.press(key)


def beeps(page) -> list[str]:
    """The sounds the page has made."""
    page.wait_for_load_state("load")
    return page.evaluate("window.biobankBeeps")
