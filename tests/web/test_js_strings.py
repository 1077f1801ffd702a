"""The browser script's texts travel in a JSON data block of every page, so they follow the
reader's language; the block is data, so the Content-Security-Policy still refuses inline scripts."""
import json
import re

from biobank.core.js_strings import strings


def _block(html: str):
    match = re.search(r'<script type="application/json" id="i18n-strings">(.*?)</script>', html, re.S)
    assert match, "no i18n-strings block"
    return json.loads(match.group(1))


def test_every_page_carries_the_script_texts_as_data(client, make, login):
    login(make.user("technician"))
    response = client.get("/scan")
    texts = _block(response.get_data(as_text=True))
    assert texts == strings()
    assert "%(scanned)s" in texts["wrong_scan"] and "%(expected)s" in texts["wrong_scan"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"].split("script-src", 1)[1].split(";")[0]

    # and on a page before login
    client.post("/logout")
    assert _block(client.get("/login").get_data(as_text=True))["wrong_scan"] == texts["wrong_scan"]


def test_script_texts_cannot_close_their_block(client, make, login, monkeypatch):
    """A translation holding </script> stays inside the JSON block."""
    monkeypatch.setattr("biobank.core.js_strings.strings", lambda: {"wrong_scan": "</script><b>x</b>"})
    login(make.user("technician"))
    html = client.get("/scan").get_data(as_text=True)
    assert _block(html)["wrong_scan"] == "</script><b>x</b>"
