"""Web UI fixtures: a logged-in test client, and the app served on loopback for
real Chromium (Playwright driving Debian's /usr/bin/chromium).

The browser tests run on both backends like the rest of the suite (the `app`
fixture is parametrised on SQLite and PostgreSQL): each test takes a few
seconds, so the doubled run time stays small.
"""
import os
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


@pytest.fixture(scope="session")
def chromium():
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        if IN_CI:
            pytest.fail(f"CI=true requires Chromium at {CHROMIUM}")
        pytest.skip(f"browser tests need Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium, live_server):
    """A fresh browser context (no cookies) on the live server; page.base is its URL."""
    context = chromium.new_context(base_url=live_server, viewport={"width": 1024, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.base = live_server
    yield page
    context.close()


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
