"""Consent is checked at every step up to the door: a donor who withdraws after a request was
approved stops their tubes at the pick and at the shipment, with the tubes named."""
from biobank.extensions import db
from biobank.requests import service as requests
from biobank.samples import service as samples

from .conftest import events

SHIP = {"recipient": "Dr Ada", "courier": "DHL", "tracking": "T1"}


def _approved(make, barcodes):
    researcher = make.actor("researcher")
    request = requests.create_request(researcher, title="t", purpose="p", ethics_reference="EC-1",
                                      samples=barcodes)
    requests.submit_request(researcher, request.id)
    requests.approve_request(make.actor("manager"), request.id)
    db.session.commit()
    return request.id


def _stock(make, box):
    make.sample("DOOR-1", box=box, position="A1", donor="D-STAYS")
    make.sample("DOOR-2", box=box, position="A2", donor="D-LEAVES")
    make.sample("DOOR-3", box=box, position="A3", donor="D-LEAVES")


def _withdraw(make, donor):
    samples.withdraw_consent(make.actor("manager"), donor, reason="Form W-17")
    db.session.commit()


def test_a_tube_whose_donor_withdrew_after_approval_is_not_picked(api, make, box):
    _stock(make, box)
    request_id = _approved(make, ["DOOR-1", "DOOR-2"])
    _withdraw(make, "D-LEAVES")
    tech = api("technician")
    before = events()
    refused = tech.post(f"/requests/{request_id}/pick", json={"barcode": "DOOR-2"})
    assert refused.status_code == 409 and refused.json["code"] == "consent_withdrawn"
    assert "DOOR-2" in refused.json["message"] and refused.json["details"]["barcodes"] == ["DOOR-2"]
    assert tech.get("/samples/DOOR-2").json["status"] == "reserved" and events() == before
    # the other tube is picked as usual, and the request can still be cancelled
    assert tech.post(f"/requests/{request_id}/pick", json={"barcode": "DOOR-1"}).status_code == 200
    cancelled = api("manager").post(f"/requests/{request_id}/cancel", json={"reason": "consent withdrawn"})
    assert cancelled.status_code == 200, cancelled.json


def test_a_picked_tube_whose_donor_withdrew_is_not_shipped(api, make, box):
    _stock(make, box)
    request_id = _approved(make, ["DOOR-1", "DOOR-2", "DOOR-3"])
    tech = api("technician")
    for barcode in ("DOOR-1", "DOOR-2", "DOOR-3"):
        assert tech.post(f"/requests/{request_id}/pick", json={"barcode": barcode}).status_code == 200
    _withdraw(make, "D-LEAVES")
    before = events()
    refused = tech.post(f"/requests/{request_id}/ship", json=SHIP)
    assert refused.status_code == 409 and refused.json["code"] == "consent_withdrawn", refused.json
    assert "DOOR-2" in refused.json["message"] and "DOOR-3" in refused.json["message"]
    assert "DOOR-1" not in refused.json["message"]
    assert refused.json["details"]["barcodes"] == ["DOOR-2", "DOOR-3"]
    assert events() == before
    assert {tech.get(f"/samples/{b}").json["status"] for b in ("DOOR-1", "DOOR-2", "DOOR-3")} == {"checked_out"}
    assert api("manager").get(f"/requests/{request_id}").json["status"] == "picking"
    # the way out the message names: cancelling puts the picked tubes back
    cancelled = api("manager").post(f"/requests/{request_id}/cancel", json={"reason": "consent withdrawn"})
    assert cancelled.status_code == 200, cancelled.json
    assert tech.get("/samples/DOOR-2").json["status"] != "shipped"


def test_shipping_from_the_web_page_is_refused_the_same_way(app, make, box, api):
    from ..factories import PASSWORD
    _stock(make, box)
    request_id = _approved(make, ["DOOR-2"])
    assert api("technician").post(f"/requests/{request_id}/pick", json={"barcode": "DOOR-2"}).status_code == 200
    _withdraw(make, "D-LEAVES")
    user = make.user("technician")
    client = app.test_client()
    assert client.post("/login", data={"username": user.username, "password": PASSWORD}).status_code == 302
    page = client.post(f"/requests/{request_id}/ship", data=SHIP, follow_redirects=True)
    assert page.status_code < 500 and "DOOR-2" in page.get_data(as_text=True)
    assert "must not leave" in page.get_data(as_text=True)
    assert api("technician").get("/samples/DOOR-2").json["status"] == "checked_out"
