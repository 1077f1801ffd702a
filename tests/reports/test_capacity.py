"""Capacity: counters per site, tank and rack, alerts, intake and the fill forecast.

The fixture adds a site of its own, so the readers here are network managers (a manager reads their
own sites: tests/network/test_sites.py)."""
from datetime import date, timedelta

import pytest
from sqlalchemy import event

from biobank.core.errors import NotPermitted
from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.reports import capacity, forecast
from biobank.samples import service as samples
from biobank.storage import service as storage


@pytest.fixture
def site(make):
    """Site A > Tank 1 (2 racks x 2 boxes of 3 x 3 = 36 positions) and Tank 2 (1 x 1 x 3 x 3 = 9)."""
    site = storage.create_container(make.admin, name="Site A", kind="site")
    db.session.commit()
    one = make.tank(racks=2, boxes_per_rack=2, rows=3, cols=3, name="Tank 1", parent_id=site.id)
    two = make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3, name="Tank 2", parent_id=site.id)
    return site, one, two


def _item(report, container):
    return next(i for i in report["items"] if i["id"] == container.id)


def test_capacity_counts_positions_used_free_and_fraction_per_level(make, site):
    site_, one, two = site
    box = make.boxes_of(one)[0]
    for i, sample_type in enumerate(["plasma", "plasma", "serum", "dna", "plasma"]):
        make.sample(f"CAP-{i}", box=box, position=f"{'ABC'[i // 3]}{i % 3 + 1}", sample_type=sample_type)
    make.sample("CAP-T2", box=make.boxes_of(two)[0], position="A1")
    report = capacity.capacity(make.actor("network_manager"))

    # the default site (empty here) comes first, then Site A's tree
    assert [i["kind"] for i in report["items"]] == ["site", "site", "tank", "rack", "rack", "tank", "rack"]
    assert {k: _item(report, one)[k] for k in ("positions", "used", "free", "fraction")} == {
        "positions": 36, "used": 5, "free": 31, "fraction": round(5 / 36, 4)}
    assert {k: _item(report, site_)[k] for k in ("positions", "used", "free")} == {
        "positions": 45, "used": 6, "free": 39}
    first_rack = one.children[0]
    assert (_item(report, first_rack)["used"], _item(report, first_rack)["positions"]) == (5, 18)
    assert _item(report, one)["path"] == "Site A / Tank 1"
    assert "by_type" not in _item(report, one)

    typed = capacity.capacity(make.actor("network_manager"), by_type=True)
    assert _item(typed, one)["by_type"] == {"dna": 1, "plasma": 3, "serum": 1}
    assert _item(typed, site_)["by_type"] == {"dna": 1, "plasma": 4, "serum": 1}
    assert typed["by_type_totals"] == {"dna": 1, "plasma": 4, "serum": 1}

    samples.checkout_sample(make.admin, "CAP-0", reason="assay")
    db.session.commit()
    assert _item(capacity.capacity(make.actor("network_manager")), one)["used"] == 4


def test_capacity_reads_containers_not_samples_unless_types_are_asked_for(make, site):
    site_, one, two = site
    make.sample("CNT-1", box=make.boxes_of(one)[0], position="A1")
    statements = []

    def capture(conn, cursor, statement, *args):
        statements.append(" ".join(statement.lower().split()))
    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        capacity.capacity(make.actor("network_manager"))
        plain = list(statements)
        statements.clear()
        capacity.capacity(make.actor("network_manager"), by_type=True)
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    assert plain and not any(" from sample" in s or "join sample" in s for s in plain)
    assert any(" from sample" in s for s in statements)


def test_alerts_above_the_configured_threshold(app, make, site, monkeypatch):
    site_, one, two = site
    box = make.boxes_of(two)[0]
    for i in range(8):
        make.sample(f"AL-{i}", box=box, position=f"{'ABC'[i // 3]}{i % 3 + 1}")
    report = capacity.capacity(make.actor("network_manager"))
    assert report["threshold"] == 0.9 and report["alerts"] == []  # 8/9 = 0.889
    monkeypatch.setenv("BIOBANK_FILL_ALERT", "0.8")
    report = capacity.capacity(make.actor("network_manager"))
    assert report["threshold"] == 0.8
    assert [a["id"] for a in report["alerts"]] == [two.id, two.children[0].id]
    assert "89%" in report["alerts"][0]["message"] and _item(report, two)["alert"]
    app.config["BIOBANK_FILL_ALERT"] = "95"
    assert capacity.capacity(make.actor("network_manager"))["threshold"] == 0.95
    assert [a["id"] for a in capacity.capacity(make.actor("network_manager"), threshold=0.1)["alerts"]][:2] == [
        two.id, two.children[0].id]


def test_forecast_is_never_when_intake_is_flat_and_a_date_when_it_grows(make, site):
    site_, one, two = site
    box = make.boxes_of(one)[0]
    for i in range(6):
        make.sample(f"FC-{i}", box=box, position=f"{'ABC'[i // 3]}{i % 3 + 1}")
    now = utcnow()
    soon = capacity.capacity(make.actor("network_manager"), now=now + timedelta(days=1))
    tank = _item(soon, one)
    # 6 tubes in the last week of a 12-week window: the fitted line rises, the date is in the future.
    assert tank["forecast_full_date"] != "never"
    assert date.fromisoformat(tank["forecast_full_date"]) > (now + timedelta(days=1)).date()
    assert tank["forecast_rate_per_week"] > 0 and "positions/week" in tank["forecast_method"]
    assert _item(soon, two)["forecast_full_date"] == "never"  # nothing ever went into Tank 2
    later = capacity.capacity(make.actor("network_manager"), now=now + timedelta(weeks=30))
    assert _item(later, one)["forecast_full_date"] == "never"  # no intake in the last 12 weeks
    assert "flat" in _item(later, one)["forecast_method"]
    assert "Least-squares" in later["forecast"]["method"]


def test_forecast_uses_net_intake_so_removals_count(make, site):
    site_, one, two = site
    box = make.boxes_of(one)[0]
    other_tank_box = make.boxes_of(two)[0]
    for i in range(3):
        make.sample(f"NET-{i}", box=box, position=f"A{i + 1}")
        samples.checkout_sample(make.admin, f"NET-{i}", reason="used")
    make.sample("NET-M", box=box, position="B1")
    samples.move_sample(make.admin, "NET-M", container_id=other_tank_box.id, position="A1", reason="space")
    db.session.commit()
    report = capacity.capacity(make.actor("network_manager"), now=utcnow() + timedelta(hours=1))
    assert _item(report, one)["recent_net_per_week"][-1] == 0
    assert _item(report, one)["forecast_full_date"] == "never"
    assert _item(report, two)["recent_net_per_week"][-1] == 1
    assert _item(report, two)["forecast_full_date"] != "never"


def test_fill_forecast_arithmetic():
    today = date(2025, 1, 1)
    assert forecast.fill_forecast(10, [0] * 12, today).full_date == "never"
    assert forecast.fill_forecast(10, [-3] * 12, today).full_date == "never"
    steady = forecast.fill_forecast(10, [2] * 12, today)
    assert steady.rate_per_week == pytest.approx(2) and steady.full_date == "2025-02-05"  # 10 / 2 weeks = 35 days
    assert forecast.fill_forecast(0, [0] * 12, today).full_date == "2025-01-01"
    assert forecast.fill_forecast(10 ** 9, [0.001] * 12, today).full_date == "never"


def test_intake_per_week_covers_a_year_with_this_week_last(make, site):
    site_, one, two = site
    for i in range(3):
        make.sample(f"IN-{i}", box=make.boxes_of(one)[1], position=f"A{i + 1}")
    weeks = capacity.capacity(make.actor("network_manager"))["intake_per_week"]
    assert len(weeks) == 52 and weeks[-1]["partial"]
    assert weeks[-1]["registered"] == 3 and sum(w["registered"] for w in weeks) == 3
    assert date.fromisoformat(weeks[-1]["week_start"]).weekday() == 0


def test_capacity_roles(make, api, site):
    with pytest.raises(NotPermitted):
        capacity.capacity(make.actor("researcher"))
    assert api("researcher").get("/capacity").status_code == 403
    assert api(None).get("/capacity").status_code == 401
    response = api("network_manager").get("/capacity?by_type=true&threshold=0.5")
    assert response.status_code == 200
    body = response.json
    assert body["threshold"] == 0.5
    first = body["items"][0]
    assert set(first) >= {"id", "barcode", "name", "kind", "path", "positions", "used", "free", "fraction",
                          "forecast_full_date", "forecast_method", "by_type"}
    assert isinstance(body["alerts"], list) and len(body["intake_per_week"]) == 52
    assert api("manager").get("/capacity?threshold=2").status_code == 422


def test_capacity_within_one_site_reads_only_its_part_and_its_intake(make, api, site):
    site_a, one, two = site
    site_b = storage.create_container(make.admin, name="Site B", kind="site")
    db.session.commit()
    three = make.tank(racks=1, boxes_per_rack=1, rows=1, cols=2, name="Tank 3", parent_id=site_b.id)
    make.sample("IN-A", box=make.boxes_of(one)[0], position="A1", sample_type="serum")
    for i in range(2):
        make.sample(f"IN-B{i}", box=make.boxes_of(three)[0], position=f"A{i + 1}")

    report = capacity.capacity(make.actor("network_manager"), within=site_b.id, by_type=True)
    assert report["within"] == {"id": site_b.id, "name": "Site B", "kind": "site", "path": "Site B"}
    assert [(i["path"], i["used"], i["positions"]) for i in report["items"]] == [
        ("Site B", 2, 2), ("Site B / Tank 3", 2, 2), ("Site B / Tank 3 / Rack 1", 2, 2)]
    assert [a["path"] for a in report["alerts"]] == ["Site B", "Site B / Tank 3", "Site B / Tank 3 / Rack 1"]
    assert sum(w["registered"] for w in report["intake_per_week"]) == 2
    assert report["by_type_totals"] == {"plasma": 2}

    whole = capacity.capacity(make.actor("network_manager"))
    assert whole["within"] is None and {"Site A", "Site B"} <= {i["path"] for i in whole["items"]}
    assert sum(w["registered"] for w in whole["intake_per_week"]) == 3

    tank_only = api("network_manager").get(f"/capacity?within={one.id}").json
    assert [i["path"] for i in tank_only["items"]] == ["Site A / Tank 1", "Site A / Tank 1 / Rack 1",
                                                       "Site A / Tank 1 / Rack 2"]
    missing = api("manager").get("/capacity?within=999999")
    assert missing.status_code == 404 and missing.json["code"] == "unknown_container"
