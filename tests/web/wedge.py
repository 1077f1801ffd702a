"""What a keyboard-wedge scanner does to a page, and what the page signalled back."""


def scan(page, code):
    """Type the code into whatever has focus, then press Enter, as a wedge scanner does."""
    page.keyboard.type(code)
    page.keyboard.press("Enter")


def beeps(page) -> list[str]:
    """The sounds the page has made, read once its scripts have run: a refused form answers with
    a new page, whose text can be on screen a moment before its script signals."""
    page.wait_for_load_state("load")
    return page.evaluate("window.biobankBeeps")
