"""Sites, staff by site, and the one site check every service applies."""
import pytest

from biobank.core.errors import NotPermitted
from biobank.extensions import db
from biobank.network import scope
from biobank.samples import service as samples
from biobank.storage import service as storage


def test_a_fresh_database_has_one_default_site_and_new_containers_go_under_it(make):
    [site] = scope.default_site(), 
    assert site.code == "MAIN" and site.is_default
    tank = make.tank(name="Tank A")
    assert tank.parent_id == site.container_id
    assert tank.path == "Main site / Tank A"
    assert scope.site_of(tank).id == site.id
    assert db.session.get(type(tank), site.container_id).capacity == tank.capacity


def test_users_are_placed_at_the_default_site_unless_told(app, make, network):
    assert scope.actor_site_ids(network.actor("tech_main")) == [network.main.id]
    assert scope.actor_site_ids(network.actor("tech_reg")) == [network.regional.id]


def test_sites_api_lists_and_creates_for_network_roles_only(network):
    listed = network.api("tech_reg").get("/sites")
    assert listed.status_code == 200
    assert [s["code"] for s in listed.json] == ["MAIN", "REG"]
    assert network.api("mgr_main").post("/sites", json={"code": "NEW", "name": "New"}).status_code == 403
    made = network.api("netmgr").post("/sites", json={"code": "SAM", "name": "Samarkand", "time_zone":
                                                       "Asia/Samarkand", "address": "Registan 1"})
    assert made.status_code == 201, made.json
    assert made.json["code"] == "SAM" and made.json["time_zone"] == "Asia/Samarkand"
    container = network.api("netmgr").get(f"/containers/{made.json['container_id']}").json
    assert container["kind"] == "site" and container["path"] == "Samarkand"
    bad = network.api("netmgr").post("/sites", json={"code": "X2", "name": "X", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422 and bad.json["code"] == "invalid_time_zone"
    assert network.api("netmgr").post("/sites", json={"code": "SAM", "name": "Again"}).json["code"] == \
        "duplicate_site"


def test_technician_finds_any_tube_but_acts_only_at_own_site(network, make):
    tube = make.sample("NET-1", box=network.main_boxes[0], position="A1")
    reg = network.api("tech_reg")
    found = reg.get("/samples/NET-1")
    assert found.status_code == 200 and found.json["location"]["path"].startswith("Main site / ")
    for path, body in (("/samples/NET-1/checkout", {"reason": "x"}), ("/samples/NET-1/discard", {"reason": "x"}),
                       ("/samples/NET-1/move", {"container_id": network.main_boxes[0].id, "position": "B1"})):
        answer = reg.post(path, json=body)
        assert answer.status_code == 403 and answer.json["code"] == "other_site", (path, answer.json)
    assert samples.get_sample("NET-1").status == "available" and tube.position == "A1"
    assert network.api("tech_main").post("/samples/NET-1/checkout", json={"reason": "assay"}).status_code == 200
    # nor may a regional technician register into the central tank, or move a tube into it
    into_main = reg.post("/samples", json={"barcode": "NET-2", "sample_type": "plasma",
                                           "location": {"container_id": network.main_boxes[1].id, "position": "A1"}})
    assert into_main.status_code == 403 and samples.find_sample("NET-2") is None


def test_placement_strategies_stay_inside_the_actors_site(network):
    reg = network.api("tech_reg")
    for number in range(4):
        made = reg.post("/samples", json={"barcode": f"REGS-{number}", "sample_type": "plasma", "donor": "DN1",
                                          "location": {"strategy": "spread"}})
        assert made.status_code == 201, made.json
        assert made.json["location"]["path"].startswith("Regional Centre / Regional tank")
    main = network.api("tech_main").post("/samples", json={"barcode": "MAINS-1", "sample_type": "plasma",
                                                           "location": {"strategy": "compact"}})
    assert main.json["location"]["path"].startswith("Main site / Main tank")
    # `within` names another container explicitly: allowed only where the actor may act
    other = reg.post("/samples", json={"barcode": "REGS-X", "sample_type": "plasma",
                                       "location": {"strategy": "compact", "within": network.main_tank.id}})
    assert other.status_code == 403
    net = network.api("netmgr").post("/samples", json={"barcode": "NETS-1", "sample_type": "plasma",
                                                       "location": {"strategy": "compact",
                                                                    "within": network.reg_tank.id}})
    assert net.status_code == 201 and net.json["location"]["path"].startswith("Regional Centre / Regional tank")


def test_spread_spreads_across_the_tanks_of_the_site(app, make, network):
    storage.build_layout(make.admin, parent_id=network.regional.container_id, name="Regional tank 2", racks=1,
                         boxes_per_rack=1, rows=3, cols=3)
    db.session.commit()
    reg = network.api("tech_reg")
    tanks = set()
    for number in range(2):
        made = reg.post("/samples", json={"barcode": f"SPR-{number}", "sample_type": "plasma", "donor": "DSPREAD",
                                          "location": {"strategy": "spread"}})
        tanks.add(made.json["location"]["path"].split(" / ")[1])
    assert tanks == {"Regional tank", "Regional tank 2"}


def test_managers_approve_and_audit_their_sites_only(network, make):
    make.sample("APR-1", box=network.main_boxes[0], position="A1")
    researcher = make.api_client("researcher")
    made = researcher.post("/requests", json={"title": "t", "purpose": "p", "ethics_reference": "e",
                                              "samples": ["APR-1"]})
    researcher.post(f"/requests/{made.json['id']}/submit")
    refused = network.api("mgr_reg").post(f"/requests/{made.json['id']}/approve", json={})
    assert refused.status_code == 403 and refused.json["code"] == "other_site"
    assert network.api("mgr_main").post(f"/requests/{made.json['id']}/approve", json={}).status_code == 200
    # capacity: a regional manager reads the regional tree only
    report = network.api("mgr_reg").get("/capacity").json
    assert {i["path"].split(" / ")[0] for i in report["items"]} == {"Regional Centre"}
    assert network.api("mgr_reg").get(f"/capacity?within={network.main_tank.id}").status_code == 403
    assert {i["path"].split(" / ")[0] for i in network.api("netmgr").get("/capacity").json["items"]} == \
        {"Main site", "Regional Centre"}
    # audit: the central sample's events are not in the regional manager's log
    central = network.api("mgr_reg").get("/audit?sample=APR-1").json
    assert central["total"] == 0
    assert network.api("mgr_main").get("/audit?sample=APR-1").json["total"] >= 2


def test_reconciliation_and_consent_at_own_sites(network, make):
    make.sample("REC-1", box=network.main_boxes[0], position="A1", donor="DCONS")
    apply = network.api("mgr_reg").post(f"/containers/{network.main_boxes[0].id}/reconcile/apply",
                                        json={"corrections": [{"barcode": "REC-1", "position": "B2"}]})
    assert apply.status_code == 403
    withdraw = network.api("mgr_reg").post("/donors/DCONS/withdraw-consent", json={"reason": "letter"})
    assert withdraw.status_code == 403
    assert network.api("mgr_main").post("/donors/DCONS/withdraw-consent", json={"reason": "letter"}).status_code \
        == 200


def test_layout_only_inside_own_site(network):
    refused = network.api("mgr_reg").post("/containers/layout", json={
        "name": "Intruder", "kind": "tank", "racks": 1, "boxes_per_rack": 1, "rows": 2, "cols": 2,
        "parent_id": network.main.container_id})
    assert refused.status_code == 403
    built = network.api("mgr_reg").post("/containers/layout", json={
        "name": "Own", "kind": "tank", "racks": 1, "boxes_per_rack": 1, "rows": 2, "cols": 2,
        "parent_id": network.regional.container_id})
    assert built.status_code == 201 and built.json["path"] == "Regional Centre / Own"


def test_admin_changes_a_users_sites(network, app):
    admin = app.test_client()
    from biobank.auth.service import create_user, issue_token
    boss = create_user(network.actor("netmgr").__class__("t", "admin"), "boss", "test-password-1", "admin")
    token, _ = issue_token(boss, 1)
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    moved = admin.patch("/api/v1/users/tech_reg", json={"sites": ["MAIN", "REG"]}, headers=headers)
    assert moved.status_code == 200 and moved.json["sites"] == ["MAIN", "REG"]
    assert scope.actor_site_ids(network.actor("tech_reg")) == [network.main.id, network.regional.id]
    unknown = admin.patch("/api/v1/users/tech_reg", json={"sites": ["NOPE"]}, headers=headers)
    assert unknown.status_code == 422 and unknown.json["code"] == "unknown_site"
    assert network.api("mgr_main").patch("/users/tech_reg", json={"sites": ["MAIN"]}).status_code == 403


def test_service_check_holds_without_the_api(network, make):
    make.sample("SVC-1", box=network.main_boxes[0], position="A1")
    with pytest.raises(NotPermitted):
        samples.checkout_sample(network.actor("tech_reg"), "SVC-1", reason="x")
    db.session.rollback()


def test_cli_creates_users_at_sites_and_changes_them(runner, network, monkeypatch):
    monkeypatch.setenv("BIOBANK_PASSWORD", "cli-password-1")
    made = runner.invoke(args=["users", "create", "clitech", "--role", "technician", "--site", "REG"])
    assert made.exit_code == 0, made.output
    changed = runner.invoke(args=["users", "sites", "clitech", "MAIN", "REG"])
    assert changed.exit_code == 0 and "MAIN, REG" in changed.output
    wrong = runner.invoke(args=["users", "create", "clitech2", "--role", "technician", "--site", "NOPE"])
    assert wrong.exit_code != 0 and "NOPE" in wrong.output
    listed = runner.invoke(args=["sites", "list"])
    assert "REG" in listed.output and "(default)" in listed.output


def test_network_overview_catalogue_site_facet_and_custody_log_by_site(network, make):
    make.sample("OV-M1", box=network.main_boxes[0], position="A1")
    for number in range(2):
        make.sample(f"OV-R{number}", box=network.reg_boxes[0], position=f"A{number + 1}")
    facet = network.api("tech_main").get("/catalogue").json["facets"]["site"]
    assert facet == [{"value": "REG", "count": 2}, {"value": "MAIN", "count": 1}]
    only = network.api("tech_main").get("/catalogue?site=REG").json
    assert sorted(i["barcode"] for i in only["items"]) == ["OV-R0", "OV-R1"]
    log = network.api("netmgr").get(f"/audit?site={network.regional.id}&action=sample.registered").json
    assert sorted(e["sample_barcode"] for e in log["items"]) == ["OV-R0", "OV-R1"]
    # a manager asking for another site's log gets nothing from it
    assert network.api("mgr_main").get(f"/audit?site={network.regional.id}").json["total"] == 0
    assert network.api("tech_reg").post("/samples/OV-R1/checkout", json={"reason": "assay"}).status_code == 200
    rows = {r["site"]["code"]: r for r in network.api("netmgr").get("/network").json}
    assert rows["MAIN"]["used"] == 1 and rows["REG"]["used"] == 1 and rows["REG"]["tanks"] == 1
    assert rows["REG"]["positions"] == 4 * 9 and rows["REG"]["intake_30_days"] == 2
    # the tube that is out keeps its place: held, not free, as in the site's capacity report
    assert rows["REG"]["held"] == 1 and rows["REG"]["free"] == 4 * 9 - 2
    report = network.api("netmgr").get(f"/capacity?within={network.regional.container_id}").json
    [site_row] = [i for i in report["items"] if i["id"] == network.regional.container_id]
    assert {k: rows["REG"][k] for k in ("positions", "used", "held", "free", "fraction")} == \
        {k: site_row[k] for k in ("positions", "used", "held", "free", "fraction")}


def test_network_page_and_shipments_page_render(app, network, make):
    from ..factories import PASSWORD
    client = app.test_client()
    client.post("/login", data={"username": "netmgr", "password": PASSWORD})
    page = client.get("/network").get_data(as_text=True)
    assert 'data-site="REG"' in page and "Regional Centre" in page and "Whole network" in page
    shipments = client.get("/shipments").get_data(as_text=True)
    assert "New shipment" in shipments and "No shipments" in shipments
