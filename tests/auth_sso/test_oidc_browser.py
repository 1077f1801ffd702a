"""The hospital sign-in in real Chromium: the button on our login page, the provider's login
and consent pages, back on our pages signed in, without a console error on ours."""
import re

import pytest
from playwright.sync_api import expect

from ..web.conftest import _test_thread_reads_lightly, browser_page, live_server  # noqa: F401

pytestmark = pytest.mark.browser


def test_sign_in_with_the_hospital_account_in_a_browser(browser_page, live_server, openid_provider):
    openid_provider(base_url=live_server)
    page = browser_page
    ours = []
    # errors on the pages this feature adds to (the login page); the browser's own favicon probe aside
    page.on("console", lambda message: ours.append((message.text, message.location.get("url")))
            if message.type == "error" and "/login" in page.url and page.url.startswith(live_server)
            and "favicon" not in message.location.get("url", "") else None)

    # The provider's own pages ask for assets on the internet, which a hospital network (and this
    # test machine) does not reach: they are answered empty, so only our pages' errors count.
    page.route(lambda url: not url.startswith("http://127.0.0.1"),
               lambda route: route.fulfill(status=204, body=""))
    page.goto("/audit")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_role("link", name="Sign in with the hospital account").click()
    page.locator("input[name=login]").fill("aziza")            # the provider's own login page
    page.locator("input[name=password]").fill("hospital-password")
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()         # its consent page
    page.wait_for_url(lambda url: url.startswith(live_server) and "/login" not in url)
    assert page.url.startswith(live_server + "/audit")
    expect(page.get_by_text("Welcome, aziza.k.")).to_be_visible()
    assert ours == [], "\n".join(map(str, ours))
