"""Staff see their own sites: the alarm banner and the alarm list, and the manager's home
page sections (requests to decide, alarms, capacity, overdue tubes). Both databases."""
from datetime import timedelta

from biobank.core.time import utcnow
from biobank.extensions import db
from biobank.monitoring import service as monitoring
from biobank.reports import dashboard
from biobank.requests import service as requests

from ..factories import PASSWORD


def _alarm_at(network, tank):
    base = utcnow().replace(microsecond=0) - timedelta(minutes=30)
    monitoring.set_limits(network.actor("netmgr"), tank.id, max_temperature_c=-150)
    monitoring.record_readings(network.actor("netmgr"), tank.id, [
        {"at": (base + timedelta(minutes=i)).isoformat() + "Z", "sensor": "p", "temperature_c": -100.0}
        for i in range(3)])
    db.session.commit()


def _page(app, username, path="/"):
    client = app.test_client()
    assert client.post("/login", data={"username": username, "password": PASSWORD}).status_code == 302
    return client.get(path).get_data(as_text=True)


def test_alarm_banner_and_list_only_for_staff_of_the_alarms_site(app, network):
    _alarm_at(network, network.reg_tank)
    assert 'data-alarm-open>1<' in _page(app, "tech_reg", "/catalogue")
    assert 'data-alarm-open>1<' in _page(app, "netmgr", "/catalogue")
    main_page = _page(app, "tech_main", "/catalogue")
    assert 'data-alarm-open>0<' in main_page and "Regional tank" not in main_page
    assert network.api("tech_main").get("/alarms?open=true").json["total"] == 0
    assert network.api("tech_reg").get("/alarms?open=true").json["total"] == 1


def test_manager_home_sections_hold_their_own_sites(network, make):
    _alarm_at(network, network.reg_tank)
    make.sample("HM-1", box=network.main_boxes[0], position="A1")
    make.sample("HR-1", box=network.reg_boxes[0], position="A1")
    researcher = make.actor("researcher")
    for barcode in ("HM-1", "HR-1"):
        made = requests.create_request(researcher, title=barcode, purpose="p", ethics_reference="e",
                                       samples=[barcode])
        requests.submit_request(researcher, made.id)
    db.session.commit()

    main = dict(dashboard.sections(network.actor("mgr_main")))
    assert [r.title for r in main["requests"]["items"]] == ["HM-1"]
    assert main["alarms"]["open"] == 0
    regional = dict(dashboard.sections(network.actor("mgr_reg")))
    assert [r.title for r in regional["requests"]["items"]] == ["HR-1"]
    assert regional["alarms"]["open"] == 1
    assert all(a["path"].startswith("Regional Centre") for a in regional["capacity"]["alerts"])
    everything = dict(dashboard.sections(network.actor("netmgr")))
    assert {r.title for r in everything["requests"]["items"]} == {"HM-1", "HR-1"}
