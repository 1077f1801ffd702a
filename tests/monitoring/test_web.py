"""Monitoring pages through the Flask test client, on both databases."""
import io
from datetime import timedelta

import pytest

from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.monitoring import service

from ..factories import PASSWORD
from .conftest import reading


@pytest.fixture
def login(client):
    def do(user):
        response = client.post("/login", data={"username": user.username, "password": PASSWORD})
        assert response.status_code == 302
        return client
    return do


def _alarm(make, tank):
    result = service.record_readings(make.actor("technician"), tank.id, [reading(3, -100), reading(2, -95)])
    db.session.commit()
    return result.alarms_opened[0]


def test_staff_see_open_alarms_in_every_page_header_researchers_do_not(make, tank, login, client):
    alarm = _alarm(make, tank)
    login(make.user("technician"))
    page = client.get("/samples").get_data(as_text=True)
    assert "data-alarm-banner" in page and 'data-unacknowledged="1"' in page and "Temperature excursion" in page
    assert "monitoring.js" in page
    summary = client.get("/monitoring/summary.json").json
    assert summary["open"] == 1 and summary["items"][0]["id"] == alarm.id
    client.post("/logout")
    login(make.user("researcher"))
    page = client.get("/catalogue").get_data(as_text=True)
    assert "data-alarm-banner" not in page
    assert client.get("/monitoring").status_code == 403


def test_acknowledge_from_the_monitoring_page(make, tank, login, client):
    alarm = _alarm(make, tank)
    login(make.user("technician"))
    page = client.get("/monitoring").get_data(as_text=True)
    assert f"ALARM {alarm.id}" in page and "NOT ACKNOWLEDGED" in page
    refused = client.post(f"/monitoring/alarms/{alarm.id}/acknowledge", data={"note": ""}, follow_redirects=True)
    assert "a note is required" in refused.get_data(as_text=True)
    done = client.post(f"/monitoring/alarms/{alarm.id}/acknowledge", data={"note": "Lid closed"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "acknowledged; it closes when readings are back in range" in text and "Lid closed" in text


def test_the_monitoring_page_opens_silent_sensor_alarms(make, tank, login, client):
    service.record_readings(make.actor("technician"), tank.id, [reading(50)])
    db.session.commit()
    login(make.user("manager"))
    page = client.get("/monitoring").get_data(as_text=True)
    assert "Silent sensor" in page and "no reading for 50 minutes" in page


def test_chart_page_marks_limit_and_alarms(make, tank, login, client):
    base = utcnow().replace(microsecond=0) - timedelta(hours=20)
    items = [{"at": (base + timedelta(minutes=10 * i)).isoformat() + "Z", "sensor": "p",
              "temperature_c": -120.0 if 30 <= i < 33 else -190.0, "ln2_level": 60.0} for i in range(100)]
    service.record_readings(make.actor("technician"), tank.id, items)
    db.session.commit()
    login(make.user("technician"))
    page = client.get(f"/containers/{tank.id}/monitoring").get_data(as_text=True)
    assert page.count("<svg") == 2                     # temperature and LN2 level
    assert "limit -135 °C" in page and "ALARM 1 (temperature, open)" in page
    assert "lowest allowed 10" in page and "100 readings" in page
    svg = client.get(f"/containers/{tank.id}/monitoring/temperature.svg?period=week")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and "<desc>" in svg.get_data(as_text=True)
    assert client.get(f"/containers/{tank.id}/monitoring/nothing.svg").status_code == 404
    assert "Save limits" not in page                   # technicians read limits, managers edit them
    assert 'name="litres"' in page


def test_manager_edits_limits_and_technician_records_a_refill(make, tank, login, client):
    login(make.user("manager"))
    client.post(f"/containers/{tank.id}/monitoring/limits", data={"max_temperature_c": "-150", "min_ln2_level": ""})
    page = client.get(f"/containers/{tank.id}/monitoring").get_data(as_text=True)
    assert 'value="-150"' in page and "Save limits" in page
    client.post(f"/containers/{tank.id}/monitoring/log", data={"kind": "refill", "litres": "40", "note": "top-up"})
    page = client.get(f"/containers/{tank.id}/monitoring").get_data(as_text=True)
    assert "LN2 refill" in page and "top-up" in page


def test_csv_upload_form(make, tank, login, client):
    login(make.user("technician"))
    base = utcnow().replace(microsecond=0) - timedelta(hours=2)
    csv_text = "time,temp\n" + "".join(f"{(base + timedelta(minutes=m)).isoformat()},-190\n" for m in range(5))
    ok = client.post(f"/containers/{tank.id}/monitoring/import", follow_redirects=True,
                     data={"file": (io.BytesIO(csv_text.encode()), "logger.csv"), "sensor": "logger-1"})
    assert "Imported 5 reading(s)" in ok.get_data(as_text=True)
    again = client.post(f"/containers/{tank.id}/monitoring/import", follow_redirects=True,
                        data={"file": (io.BytesIO(csv_text.encode()), "logger.csv"), "sensor": "logger-1"})
    assert "nothing was stored" in again.get_data(as_text=True)


def test_evacuation_by_scanning(make, login, client):
    failing = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Failing W")
    spare = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Spare W")
    (source,), (target,) = make.boxes_of(failing), make.boxes_of(spare)
    make.sample("EW-1", box=source, position="A1")
    login(make.user("technician"))
    page = client.get(f"/containers/{failing.id}/evacuation").get_data(as_text=True)
    assert "EW-1" in page and f"{target.path} / A1" in page
    found = client.get(f"/containers/{failing.id}/evacuation?barcode=EW-1").get_data(as_text=True)
    assert "data-target" in found and f"Scan the label of box {target.barcode}" in found
    wrong = client.post(f"/containers/{failing.id}/evacuation", data={"barcode": "EW-1", "box_barcode": source.barcode})
    assert wrong.status_code == 409
    moved = client.post(f"/containers/{failing.id}/evacuation", data={"barcode": "EW-1", "box_barcode": target.barcode})
    assert moved.status_code == 200 and "Moved EW-1" in moved.get_data(as_text=True)
    assert "nothing to move" in moved.get_data(as_text=True)


def test_acknowledging_never_redirects_off_the_site(make, tank, login, client):
    alarm = _alarm(make, tank)
    other_tank = make.tank(name="Tank N", storage_temperature="LN2_vapor")
    other = _alarm(make, other_tank)
    login(make.user("technician"))
    answer = client.post(f"/monitoring/alarms/{alarm.id}/acknowledge",
                         data={"note": "On it", "next": "//evil.example/phish"})
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/monitoring", "http://localhost/monitoring")
    back = client.post(f"/monitoring/alarms/{other.id}/acknowledge",
                       data={"note": "Seen", "next": f"/containers/{other_tank.id}/monitoring"})
    assert back.headers["Location"].endswith(f"/containers/{other_tank.id}/monitoring")


def test_the_managers_home_shows_open_alarms_first(make, tank, login, client):
    login(make.user("manager"))
    page = client.get("/").get_data(as_text=True)
    assert "No tank alarm is open" in page
    _alarm(make, tank)
    page = client.get("/").get_data(as_text=True)
    section = page[page.index('data-section="alarms"'):]
    section = section[:section.index("</section>")]
    assert "Tank M" in section and "NOT ACKNOWLEDGED" in section and "1 of 1 not acknowledged" in section
    assert page.index('data-section="alarms"') < page.index('data-section="requests"')
