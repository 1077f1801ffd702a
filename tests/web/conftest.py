"""Web UI fixtures: a logged-in test client, and the app served on loopback for
real Chromium (Playwright driving Debian's /usr/bin/chromium).

The browser tests run on both backends like the rest of the suite (the `app`
fixture is parametrised on SQLite and PostgreSQL): each test takes a few
seconds, so the doubled run time stays small.
"""
import os
import re
import shutil
import threading

import pytest
from werkzeug.serving import make_server

from ..factories import PASSWORD

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
IN_CI = os.environ.get("CI", "").lower() == "true"


@pytest.fixture(autouse=True)
def _test_thread_reads_lightly():
    """The test's own session (factories, checks) must not hold SQLite's write lock
    between statements, or the server threads (and a second app) would wait for it.
    A plain BEGIN is enough for the factories: nothing else writes while they run."""
    from biobank.core.db import write_intent
    token = write_intent.set(False)
    yield
    write_intent.reset(token)


@pytest.fixture
def login(client):
    """login(user): log the test client in through the login form."""
    def do(user):
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        return client
    return do


@pytest.fixture
def live_server(app):
    """The app on 127.0.0.1 on a free port, in a thread, for the length of one test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


# A 4xx answer is the app saying "no" on purpose (an unknown barcode, a refused page): Chromium
# logs it as a failed resource, which is not a fault of the page. Anything else logged as an error,
# an uncaught exception, or a Content-Security-Policy violation fails the test.
_EXPECTED_REFUSAL = re.compile(r"^Failed to load resource: the server responded with a status of 4\d\d\b")
_REPORT_CSP = """document.addEventListener("securitypolicyviolation", function (e) {
  console.error("CSP violation: " + e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
                " at " + e.sourceFile + ":" + e.lineNumber);
});"""


def watch_console(page) -> list[str]:
    """Collect the page's console errors, uncaught exceptions and CSP violations into a list."""
    problems = []

    def on_console(message):
        if message.type == "error" and not _EXPECTED_REFUSAL.match(message.text):
            problems.append(f"console error on {page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"uncaught exception on {page.url}: {error}"))
    page.add_init_script(_REPORT_CSP)
    return problems


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser context (no cookies) on the live server; page.base is its URL.

    The test fails if the page logged any console error or CSP violation (page.console_problems)."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1024, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base = live_server
    page.console_problems = watch_console(page)
    yield page
    problems = list(page.console_problems)
    context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def sign_in(browser_page):
    """sign_in(user): log in through the login page, as a person would."""
    def do(user):
        page = browser_page
        page.goto("/login")
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(lambda url: "/login" not in url)
        return page
    return do
