"""Acknowledging an alarm and reading a tank's chart in real Chromium, with no console error
or CSP violation."""
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.monitoring import service

from ..web.conftest import browser_page, live_server, sign_in  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _test_thread_reads_lightly():
    from biobank.core.db import write_intent
    token = write_intent.set(False)
    yield
    write_intent.reset(token)


def _watch_console(page) -> list:
    problems = []

    def on_console(message):
        # the browser's own favicon probe is not the page's doing
        if message.type == "error" and not (message.location or {}).get("url", "").endswith("/favicon.ico"):
            problems.append(f"console {message.type}: {message.text} at {(message.location or {}).get('url')}")
    page.on("console", on_console)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    return problems


def test_acknowledge_an_alarm_and_read_the_chart(browser_page, sign_in, make, tank):  # noqa: F811
    base = utcnow().replace(microsecond=0) - timedelta(hours=12)
    items = [{"at": (base + timedelta(minutes=5 * i)).isoformat() + "Z", "sensor": "probe-1",
              "temperature_c": -110.0 if i >= 130 else -192.0, "ln2_level": 55.0} for i in range(140)]
    service.record_readings(make.actor("technician"), tank.id, items)
    db.session.commit()
    technician = make.user("technician")
    page = browser_page
    problems = _watch_console(page)
    sign_in(technician)

    banner = page.locator("[data-alarm-banner]")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("1 open")
    expect(banner).to_contain_text("Temperature excursion")
    page.wait_for_function("window.biobankAlarmSounds && window.biobankAlarmSounds.includes('alarm')")

    banner.get_by_role("link", name="Open the alarms").click()
    card = page.locator("[data-alarm]").first
    expect(card).to_contain_text("NOT ACKNOWLEDGED")
    card.get_by_label("What did you find or do? (required)").fill("Lid was ajar; closed it, watching")
    card.get_by_role("button", name="Acknowledge alarm").click()
    expect(page.locator(".flash.success")).to_contain_text("acknowledged")
    expect(page.locator("[data-alarm]").first).to_contain_text("Lid was ajar")
    expect(page.locator("[data-alarm-banner]")).to_contain_text("0 not acknowledged")

    page.get_by_role("link", name="charts and limits").click()
    charts = page.locator("[data-chart] svg")
    expect(charts).to_have_count(2)
    expect(charts.first).to_contain_text("limit -135 °C")
    expect(charts.first).to_contain_text("ALARM")
    page.get_by_role("link", name="Last 7 days").click()
    expect(page.locator("[data-chart] svg").first).to_be_visible()
    assert not problems, problems
