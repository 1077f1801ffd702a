"""Role boundaries (DESIGN.md role matrix), consent, wrong scans and double reservation."""
import pytest
from sqlalchemy import func, select

from biobank.core.actor import Actor
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.requests import service
from biobank.requests.opaque import catalogue_id
from biobank.samples import service as samples

ROLES = ("admin", "manager", "technician", "researcher")
SHIP = {"recipient": "Dr Ada", "courier": "DHL", "tracking": "T1"}


def _event_count():
    return db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


def _other_researcher(make) -> Actor:
    """A researcher who is not the one behind api("researcher")."""
    if not hasattr(make, "other_researcher"):
        make.other_researcher = Actor.of(make.user("researcher"), via="cli")
    return make.other_researcher


def _submitted(make, barcodes):
    actor = _other_researcher(make)
    request = service.create_request(actor, title="t", purpose="p", ethics_reference="EC-1", samples=barcodes)
    service.submit_request(actor, request.id)
    db.session.commit()
    return request.id


def _approved(make, barcodes):
    request_id = _submitted(make, barcodes)
    service.approve_request(make.actor("manager"), request_id)
    db.session.commit()
    return request_id


def _picking(make, barcodes, picked):
    request_id = _approved(make, barcodes)
    for barcode in picked:
        service.pick_sample(make.actor("technician"), request_id, barcode)
    db.session.commit()
    return request_id


@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(api, make, stock, request_body, role):
    client = api(role)
    may_create = role in ("admin", "manager", "researcher")
    may_decide = role in ("admin", "manager")
    may_fulfil = role in ("admin", "manager", "technician")

    assert client.get("/catalogue").status_code == 200            # everyone searches the catalogue

    created = client.post("/requests", json=request_body(["S-A-3"]))
    assert created.status_code == (201 if may_create else 403)
    if may_create:
        assert client.post(f"/requests/{created.json['id']}/submit").status_code == 200

    submitted = _submitted(make, ["S-A-1"])
    assert client.post(f"/requests/{submitted}/approve", json={}).status_code == (200 if may_decide else 403)
    rejectable = _submitted(make, ["S-A-4"])
    assert client.post(f"/requests/{rejectable}/reject", json={"reason": "no"}).status_code == \
        (200 if may_decide else 403)

    # Another researcher's request: staff see it, a researcher does not even learn it exists.
    assert client.get(f"/requests/{submitted}").status_code == (404 if role == "researcher" else 200)

    approved = _approved(make, ["S-A-2", "S-B-2"])
    assert client.get(f"/requests/{approved}/picklist").status_code == (200 if may_fulfil else 403)
    picked = client.post(f"/requests/{approved}/pick", json={"barcode": "S-A-2"})
    assert picked.status_code == (200 if may_fulfil else 403)

    ready = _picking(make, ["S-B-1"], ["S-B-1"])
    assert client.post(f"/requests/{ready}/ship", json=SHIP).status_code == (200 if may_fulfil else 403)
    if role == "researcher":  # sees only the own request; nothing changed on a refused call
        assert client.get("/requests").json["total"] == 1
        assert api("manager").get(f"/requests/{ready}").json["status"] == "picking"


def test_researcher_may_not_see_locations_or_act_on_others(api, make, stock, request_body):
    researcher = api("researcher")
    other = _approved(make, ["S-A-1"])
    assert researcher.get(f"/requests/{other}/picklist").status_code in (403, 404)
    assert researcher.post(f"/requests/{other}/cancel", json={"reason": "x"}).status_code == 404
    assert researcher.post(f"/requests/{other}/complete").status_code == 404
    own = researcher.post("/requests", json=request_body(["S-A-2"])).json["id"]
    assert researcher.get(f"/requests/{own}/picklist").status_code == 403
    assert api(None).get("/requests").status_code == 401


def test_consent_withdrawn_samples_are_not_in_catalogue_nor_requestable(api, make, stock, request_body):
    researcher = api("researcher")
    manager = make.actor("manager")
    submitted = _submitted(make, ["S-W-1", "S-B-2"])
    withdrawn_id = catalogue_id(samples.find_sample("S-W-1").id)
    assert withdrawn_id in {i["catalogue_id"] for i in researcher.get("/catalogue?per_page=500").json["items"]}

    samples.withdraw_consent(manager, "WD", reason="Form W-17")
    db.session.commit()

    listing = researcher.get("/catalogue?per_page=500").json
    assert withdrawn_id not in {i["catalogue_id"] for i in listing["items"]} and listing["total"] == 6
    assert {f["value"]: f["count"] for f in listing["facets"]["diagnosis"]}["C50"] == 3
    assert api("technician").get("/catalogue?q=S-W-1").json["total"] == 0
    refused = researcher.post("/requests", json=request_body([catalogue_id(samples.find_sample("S-B-2").id),
                                                               withdrawn_id]))
    # researchers never learn a donor's consent state: the tube is simply not available
    assert refused.status_code == 409 and refused.json["code"] == "sample_unavailable"
    assert withdrawn_id in refused.json["message"] and "consent" not in refused.json["message"].lower()
    assert "S-W-1" not in refused.json["message"]
    assert researcher.get("/requests").json["total"] == 0
    staff = api("manager").post("/requests", json=request_body(["S-B-2", "S-W-1"]))
    assert staff.status_code == 409 and staff.json["code"] == "consent_withdrawn"

    # A request made before the withdrawal cannot be approved with that sample.
    approving = api("manager").post(f"/requests/{submitted}/approve", json={})
    assert approving.status_code == 409 and approving.json["code"] == "consent_withdrawn"
    assert api("technician").get("/samples/S-B-2").json["status"] == "available"


def test_requesting_unknown_or_unavailable_samples(api, make, stock, request_body):
    researcher = api("researcher")
    unknown = researcher.post("/requests", json=request_body(["S-A-1", "NOPE-1"]))
    assert unknown.status_code == 404 and "NOPE-1" in unknown.json["message"]
    bad = researcher.post("/requests", json=request_body(["bad barcode!"]))
    assert bad.status_code == 422 and bad.json["code"] == "invalid_barcode"
    assert researcher.post("/requests", json=request_body([])).status_code == 422
    _approved(make, ["S-A-1"])
    taken = researcher.post("/requests", json=request_body(["S-A-1"]))
    assert taken.status_code == 409 and taken.json["code"] == "sample_unavailable"


def test_sample_held_by_one_request_cannot_be_approved_for_another(api, make, stock):
    first = _submitted(make, ["S-A-1", "S-A-2"])
    second = _submitted(make, ["S-A-2", "S-B-2"])
    manager = api("manager")
    assert manager.post(f"/requests/{first}/approve", json={}).status_code == 200
    clash = manager.post(f"/requests/{second}/approve", json={})
    assert clash.status_code == 409 and clash.json["code"] == "sample_unavailable"
    assert f"request {first}" in clash.json["message"] and "S-A-2" in clash.json["message"]
    assert manager.get(f"/requests/{second}").json["status"] == "submitted"
    assert api("technician").get("/samples/S-B-2").json["status"] == "available"  # nothing half-reserved
    # Once picked (checked out) for the first, it is still not approvable for the second.
    service.pick_sample(make.actor("technician"), first, "S-A-2")
    db.session.commit()
    assert manager.post(f"/requests/{second}/approve", json={}).status_code == 409
    # Cancelling the first puts it back; then the second can be approved.
    manager.post(f"/requests/{first}/cancel", json={"reason": "superseded"})
    assert manager.post(f"/requests/{second}/approve", json={}).status_code == 200


@pytest.mark.parametrize("scan, code, said", [
    ("S-A-3", "not_on_picklist", "not on the pick list"),            # a sample of another request
    ("T02-R1-B01", "not_on_picklist", "box label"),                   # a box label (generated barcode)
    ("NO-SUCH-TUBE", "not_on_picklist", "no sample has that barcode"),
    ("S-A-1", "already_picked", "already picked"),
    ("bad scan!", "invalid_barcode", "not a valid barcode"),
])
def test_wrong_scan_changes_nothing(api, make, stock, scan, code, said):
    request_id = _picking(make, ["S-A-1", "S-B-2"], ["S-A-1"])
    technician = api("technician")
    before_events = _event_count()
    before = technician.get(f"/requests/{request_id}/picklist").json
    other = technician.get("/samples/S-A-3").json

    answer = technician.post(f"/requests/{request_id}/pick", json={"barcode": scan})
    assert answer.status_code in (409, 422)
    assert answer.json["code"] == code
    assert scan in answer.json["message"] and said in answer.json["message"]

    assert technician.get(f"/requests/{request_id}/picklist").json == before
    assert technician.get("/samples/S-A-3").json == other
    assert _event_count() == before_events


def test_first_wrong_scan_does_not_start_picking(api, make, stock):
    request_id = _approved(make, ["S-A-1"])
    technician = api("technician")
    assert technician.post(f"/requests/{request_id}/pick", json={"barcode": "S-A-2"}).status_code == 409
    assert technician.get(f"/requests/{request_id}").json["status"] == "approved"


def test_reserved_sample_cannot_be_taken_out_by_hand(api, make, stock):
    """A reserved tube leaves storage only by picking its request; nobody else can have it."""
    first = _approved(make, ["S-A-1"])
    refused = api("technician").post("/samples/S-A-1/checkout", json={"reason": "quick look"})
    assert refused.status_code == 409 and refused.json["code"] == "sample_reserved"
    assert api("technician").get("/samples/S-A-1").json["status"] == "reserved"
    assert api("manager").get(f"/requests/{first}").json["status"] == "approved"
