"""In real Chromium, every role walks the main pages in Uzbek, Russian and Korean after choosing
the language with the switcher: <html lang> says the language, no English text of the catalogue
(a message of two words or more) is left on the page, and nothing goes wrong in the console.
In English the same walk only has to stay free of console errors."""
import re

import pytest

from ..web.conftest import _test_thread_reads_lightly, browser_page, live_server, sign_in  # noqa: F401
from ..web.test_every_page import stock
from .catalogue import TRANSLATIONS, english_phrases, read_catalogue

pytestmark = pytest.mark.browser

ROLES = ("technician", "manager", "researcher", "admin")


def main_pages(data) -> list[str]:
    """Home, scan, samples, a sample, storage, a box, catalogue, requests, capacity, audit,
    monitoring, shipments, users and the account page (a role refused one sees its error page,
    which has to be in the language too)."""
    return ["/", "/scan", "/samples", "/samples/PG-01", "/containers", f"/containers/{data['box'].id}",
            "/catalogue", "/requests", "/reports/capacity", "/audit", "/monitoring", "/shipments",
            "/admin/users", "/account"]


def left_in_english(text: str, language: str) -> list[str]:
    """The catalogue's English phrases that show in the text (those translated the same way,
    names for instance, do not count)."""
    catalogue = read_catalogue(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po")
    found = []
    for phrase in english_phrases():
        entry = catalogue.get(phrase)
        if entry is not None and entry.string == phrase:
            continue
        if re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", text):
            found.append(phrase)
    return found


def choose_language(page, language):
    with page.expect_navigation():
        page.locator(f'form.language-switcher button[value="{language}"]').click()
    assert page.get_attribute("html", "lang") == language


def walk(page, data, language):
    problems = []
    for path in main_pages(data):
        response = page.goto(path)
        assert response is not None and response.status < 500, f"{path}: {response and response.status}"
        lang = page.get_attribute("html", "lang")
        if lang != language:
            problems.append(f"{path}: <html lang={lang!r}>, not {language!r}")
        if language != "en":
            english = left_in_english(page.inner_text("body"), language)
            if english:
                problems.append(f"{path} ({language}): English left: {english}")
    return problems


@pytest.mark.sqlite_only
@pytest.mark.parametrize("language", ["uz", "ru", "ko", "en"])
@pytest.mark.parametrize("role", ROLES)
def test_main_pages_in_each_language(browser_page, sign_in, make, role, language):
    researcher = make.user("researcher")
    data = stock(make, researcher)
    user = researcher if role == "researcher" else make.user(role)
    page = sign_in(user)
    choose_language(page, language)
    problems = walk(page, data, language)
    assert not problems, "\n".join(problems)
    assert not page.console_problems, "\n".join(page.console_problems)


@pytest.mark.sqlite_only
@pytest.mark.parametrize("language", ["uz", "ru", "ko"])
def test_login_page_in_each_language(browser_page, language):
    page = browser_page
    page.goto("/login")
    choose_language(page, language)
    assert not left_in_english(page.inner_text("body"), language)
