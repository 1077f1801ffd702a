"""A browser page that fails its test on any console error, page error or CSP violation."""
import pytest

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def _expected(message, page) -> bool:
    """Chromium logs a document answered 4xx (a form shown again with its errors, 422) as "Failed to
    load resource"; that is not the page going wrong. (/favicon.ico is served: a 404 there counts.)"""
    if not message.text.startswith("Failed to load resource"):
        return False
    url = (message.location or {}).get("url", "")
    return url.split("#")[0] == page.url.split("#")[0]


@pytest.fixture
def strict_page(browser_page):
    """browser_page, watched: at the end of the test, no console error may have happened."""
    problems = []
    browser_page.on("console", lambda message: problems.append(f"console {message.type}: {message.text} "
                                                               f"({(message.location or {}).get('url')})")
                    if message.type == "error" and not _expected(message, browser_page) else None)
    browser_page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    browser_page.problems = problems
    yield browser_page
    assert not problems, "\n".join(problems)


def fits_both_sizes(page, shots_dir=None, name="page"):
    """The page at 1280×800 and 390×844: nothing wider than the window (no sideways scrolling);
    a screenshot of each when shots_dir is given."""
    for size_name, size in SIZES.items():
        page.set_viewport_size(size)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{page.url} is {overflow}px wider than a {size_name} window"
        if shots_dir is not None:
            page.screenshot(path=str(shots_dir / f"{name}-{size_name}.png"), full_page=True)
    page.set_viewport_size({"width": 1024, "height": 800})
