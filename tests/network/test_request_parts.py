"""Requests across sites: one part per site, each decided, picked and shipped by its own site's
staff; the researcher sees one request. And lines by criteria filled by a manager. Both databases."""
import pytest

from biobank.core.errors import Conflict, InvalidInput, NotPermitted
from biobank.extensions import db
from biobank.requests import queries, service
from biobank.requests.opaque import catalogue_id
from biobank.samples.service import find_sample

SHIP = {"recipient": "Dr Ada, Lab 4", "courier": "DHL"}


@pytest.fixture
def two_site_request(network, make):
    """Plasma at MAIN (M-1, M-2) and at REG (R-1), requested by a researcher and submitted."""
    for barcode, box, position in (("M-1", network.main_boxes[0], "A1"), ("M-2", network.main_boxes[0], "A2"),
                                   ("R-1", network.reg_boxes[0], "A1")):
        make.sample(barcode, box=box, position=position, diagnosis="C50.9", collected_at="2025-03-01T10:00:00Z")
    researcher = make.actor("researcher")
    req = service.create_request(researcher, title="t", purpose="p", ethics_reference="e",
                                 samples=[catalogue_id(find_sample(b).id) for b in ("M-1", "R-1", "M-2")])
    service.submit_request(researcher, req.id)
    db.session.commit()
    return req.id


def _parts(request_id):
    db.session.expire_all()
    req = service.get_request(request_id)
    return req.status, {p.site.code: p.status for p in req.parts}


def test_each_site_approves_picks_and_ships_its_own_part(network, two_site_request, make):
    rid = two_site_request
    assert _parts(rid) == ("submitted", {"MAIN": "pending", "REG": "pending"})

    service.approve_request(network.actor("mgr_reg"), rid)
    db.session.commit()
    # the regional part is reserved; the request waits for the centre's decision
    assert _parts(rid) == ("submitted", {"MAIN": "pending", "REG": "approved"})
    assert find_sample("R-1").status == "reserved" and find_sample("M-1").status == "available"
    with pytest.raises(NotPermitted) as refused:  # what is left to decide is the centre's
        service.approve_request(network.actor("mgr_reg"), rid)
    assert refused.value.code == "other_site"
    db.session.rollback()
    with pytest.raises(NotPermitted):
        service.reject_request(network.actor("mgr_reg"), rid, reason="no", site="MAIN")
    db.session.rollback()

    service.approve_request(network.actor("mgr_main"), rid)
    db.session.commit()
    assert _parts(rid) == ("approved", {"MAIN": "approved", "REG": "approved"})

    # each site's pick list is its own part; a scan of the other site's tube changes nothing
    main_list = queries.picklist(network.actor("tech_main"), rid)
    assert [i["barcode"] for i in main_list["items"]] == ["M-1", "M-2"] and main_list["other_sites"] == 1
    with pytest.raises(NotPermitted):
        service.pick_sample(network.actor("tech_main"), rid, "R-1")
    db.session.rollback()
    assert find_sample("R-1").status == "reserved"

    for barcode in ("M-1", "M-2"):
        service.pick_sample(network.actor("tech_main"), rid, barcode)
    service.ship_request(network.actor("tech_main"), rid, **SHIP)
    db.session.commit()
    assert _parts(rid) == ("picking", {"MAIN": "shipped", "REG": "approved"})
    assert find_sample("M-1").status == "shipped"

    with pytest.raises(NotPermitted):  # the centre's part left already: what is left is the region's
        service.ship_request(network.actor("tech_main"), rid, **SHIP)
    db.session.rollback()
    service.pick_sample(network.actor("tech_reg"), rid, "R-1")
    service.ship_request(network.actor("tech_reg"), rid, **SHIP)
    db.session.commit()
    assert _parts(rid) == ("shipped", {"MAIN": "shipped", "REG": "shipped"})

    # the researcher sees one request with each part's state, and no barcodes
    theirs = make.api_client("researcher").get("/requests").json
    assert theirs["total"] == 1
    assert {p["site"]: p["status"] for p in theirs["items"][0]["parts"]} == {"MAIN": "shipped", "REG": "shipped"}


def test_a_rejected_part_leaves_the_rest_going_and_all_rejected_rejects(network, two_site_request):
    rid = two_site_request
    service.reject_request(network.actor("mgr_reg"), rid, reason="kept for a local study")
    db.session.commit()
    assert _parts(rid) == ("submitted", {"MAIN": "pending", "REG": "rejected"})
    service.approve_request(network.actor("mgr_main"), rid)
    db.session.commit()
    assert _parts(rid) == ("approved", {"MAIN": "approved", "REG": "rejected"})
    req = service.get_request(rid)
    assert req.item_count == 2  # the rejected part's tube does not go
    with pytest.raises(Conflict) as wrong:  # nor can it be picked
        service.pick_sample(network.actor("netmgr"), rid, "R-1")
    assert wrong.value.code == "not_on_picklist"
    db.session.rollback()
    assert find_sample("R-1").status == "available"


def test_network_manager_decides_every_part_at_once(network, two_site_request):
    service.approve_request(network.actor("netmgr"), two_site_request)
    db.session.commit()
    assert _parts(two_site_request) == ("approved", {"MAIN": "approved", "REG": "approved"})


def test_a_line_by_criteria_is_filled_by_a_manager_then_approved(network, make):
    for number in range(4):
        make.sample(f"CP-{number}", box=network.main_boxes[0], position=f"B{number + 1}" if number < 3 else "C1",
                    diagnosis="C50.1", collected_at=f"2025-0{number + 1}-10T10:00:00Z")
    make.sample("CP-OLD", box=network.main_boxes[1], position="A1", diagnosis="C50.1",
                collected_at="2019-05-10T10:00:00Z")
    make.sample("CP-REG", box=network.reg_boxes[0], position="B1", diagnosis="C50.1",
                collected_at="2025-02-10T10:00:00Z")
    make.sample("CP-SER", box=network.main_boxes[1], position="A2", sample_type="serum", diagnosis="C50.1",
                collected_at="2025-02-10T10:00:00Z")
    researcher = make.actor("researcher")
    with pytest.raises(InvalidInput):
        service.create_request(researcher, title="t", purpose="p", ethics_reference="e",
                               criteria=[{"count": 0, "sample_type": "plasma"}])
    req = service.create_request(researcher, title="t", purpose="p", ethics_reference="e",
                                 criteria=[{"count": 3, "sample_type": "plasma", "diagnosis": "c50",
                                            "collection_year": 2025}])
    service.submit_request(researcher, req.id)
    db.session.commit()
    line = req.criteria[0]
    with pytest.raises(Conflict) as early:
        service.approve_request(network.actor("mgr_main"), req.id)
    assert early.value.code == "criteria_unfilled"
    db.session.rollback()

    # the centre's manager is offered the oldest matching plasma of 2025 at their own site
    offered = queries.proposal(network.actor("mgr_main"), req.id, line.id)
    assert offered["samples"] == ["CP-0", "CP-1", "CP-2"] and offered["available"] == 4
    assert queries.proposal(network.actor("netmgr"), req.id, line.id)["available"] == 5  # every site
    with pytest.raises(InvalidInput) as misfit:  # serum, or 2019: not what was asked for
        service.fill_criterion(network.actor("mgr_main"), req.id, line.id, ["CP-0", "CP-SER"])
    assert misfit.value.code == "not_matching"
    db.session.rollback()
    with pytest.raises(InvalidInput):
        service.fill_criterion(network.actor("mgr_main"), req.id, line.id, ["CP-0", "CP-1", "CP-2", "CP-3"])
    db.session.rollback()
    with pytest.raises(NotPermitted):  # another site's tube is that site's manager's to give
        service.fill_criterion(network.actor("mgr_main"), req.id, line.id, ["CP-REG"])
    db.session.rollback()

    service.fill_criterion(network.actor("mgr_main"), req.id, line.id, ["CP-0", "CP-1", "CP-3"])
    db.session.commit()
    db.session.expire_all()
    req = service.get_request(req.id)
    assert req.criteria[0].filled and [i.sample.barcode for i in req.items] == ["CP-0", "CP-1", "CP-3"]
    with pytest.raises(Conflict):
        service.fill_criterion(network.actor("mgr_main"), req.id, line.id, ["CP-2"])
    db.session.rollback()
    service.approve_request(network.actor("mgr_main"), req.id)
    db.session.commit()
    assert find_sample("CP-3").status == "reserved" and service.get_request(req.id).status == "approved"


def test_criteria_through_the_api(network, make):
    make.sample("API-1", box=network.main_boxes[0], position="C2", diagnosis="C50.1",
                collected_at="2025-06-10T10:00:00Z")
    researcher = make.api_client("researcher")
    bad = researcher.post("/requests", json={"title": "t", "purpose": "p", "ethics_reference": "e",
                                             "criteria": [{"count": 2, "sample_type": "blood"}]})
    assert bad.status_code == 422
    made = researcher.post("/requests", json={"title": "t", "purpose": "p", "ethics_reference": "e",
                                              "criteria": [{"count": 2, "sample_type": "plasma",
                                                            "collected_from": "2025-01-01",
                                                            "collected_to": "2025-12-31", "site": "MAIN"}]})
    assert made.status_code == 201, made.json
    rid, line = made.json["id"], made.json["criteria"][0]
    assert line["count"] == 2 and line["site"] == "MAIN" and line["filled"] is False
    assert researcher.post(f"/requests/{rid}/submit").status_code == 200
    assert researcher.get(f"/requests/{rid}/criteria/{line['id']}/proposal").status_code == 403
    manager = network.api("mgr_main")
    offered = manager.get(f"/requests/{rid}/criteria/{line['id']}/proposal").json
    assert offered["samples"] == ["API-1"]
    filled = manager.post(f"/requests/{rid}/criteria/{line['id']}/fill", json={"samples": offered["samples"]})
    assert filled.status_code == 200, filled.json
    assert filled.json["criteria"][0]["filled_count"] == 1
    assert manager.post(f"/requests/{rid}/approve", json={}).json["status"] == "approved"
    theirs = researcher.get(f"/requests/{rid}").json
    assert theirs["items"][0]["barcode"] is None and theirs["items"][0]["catalogue_id"].startswith("CAT-")
    assert theirs["parts"] == [dict(theirs["parts"][0], site="MAIN", status="approved")]
    spec = manager.get("/openapi.json").json
    assert "/api/v1/requests/{request_id}/criteria/{criterion_id}/fill" in spec["paths"]


def test_request_page_shows_each_part_and_the_decision_of_ones_own_site(app, network, two_site_request, make):
    from tests.factories import PASSWORD

    def page_for(username):
        client = app.test_client()
        client.post("/login", data={"username": username, "password": PASSWORD})
        return client, client.get(f"/requests/{two_site_request}").get_data(as_text=True)

    client, html = page_for("mgr_reg")
    assert 'data-decide="REG"' in html and 'data-decide="MAIN"' not in html
    assert 'data-part="MAIN" data-part-status="pending"' in html
    client.post(f"/requests/{two_site_request}/approve", data={"approve-site": "REG"})
    _, html = page_for("mgr_reg")
    assert 'data-part="REG" data-part-status="approved"' in html and "data-decide=" not in html
    _, html = page_for("netmgr")
    assert 'data-decide="MAIN"' in html
