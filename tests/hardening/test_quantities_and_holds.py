"""Second round of hardening, the inventory's own arithmetic and holds, each as
it was reported: through the API, on both databases, nothing changed by a
refused call and the custody chain intact after."""
from decimal import Decimal

from biobank.extensions import db
from biobank.requests import service as requests
from biobank.samples import service as samples
from biobank.samples.models import Sample
from biobank.storage import service as storage

from .conftest import chain_ok, events, idle


def test_an_aliquot_too_small_to_store_is_refused_not_stored_as_zero(api, make, box):
    make.sample("HQ-1", box=box, position="A1", volume="1.0")
    tech = api("technician")
    idle()
    before = events()
    answer = tech.post("/samples/HQ-1/aliquot", json={"count": 1, "volume": "0.00004", "strategy": "compact"})
    assert answer.status_code == 422 and answer.json["code"] == "invalid_quantity"
    assert "0.0001" in answer.json["message"]
    assert tech.get("/samples/HQ-1").json["children"] == [] and events() == before


def test_aliquots_never_add_up_to_more_than_the_parent_held(api, make, box):
    make.sample("HQ-2", box=box, position="A1", volume="1.0")
    tech = api("technician")
    idle()
    answer = tech.post("/samples/HQ-2/aliquot", json={"count": 2, "volume": "0.49996", "strategy": "compact"})
    assert answer.status_code == 422 and answer.json["code"] == "invalid_quantity"
    ok = tech.post("/samples/HQ-2/aliquot", json={"count": 2, "volume": "0.4999", "strategy": "compact"})
    assert ok.status_code == 201
    db.session.rollback()
    parent = samples.get_sample("HQ-2")
    assert parent.volume + sum(c.volume for c in parent.children) == Decimal("1.0")
    assert parent.volume == Decimal("0.0002")
    assert chain_ok()


def test_a_picked_tube_cannot_be_lost_and_its_request_can_always_be_finished(api, make, box):
    make.sample("HQ-P1", box=box, position="A1")
    make.sample("HQ-P2", box=box, position="A2")
    manager_actor = make.actor("manager")
    request = requests.create_request(manager_actor, title="t", purpose="p", ethics_reference="e",
                                      samples=["HQ-P1", "HQ-P2"])
    requests.submit_request(manager_actor, request.id)
    requests.approve_request(manager_actor, request.id)
    requests.pick_sample(make.actor("technician"), request.id, "HQ-P1")
    db.session.commit()
    tech, manager = api("technician"), api("manager")
    idle()
    for path, body in (("discard", {"reason": "dropped"}), ("return", {"thawed": False}),
                       ("aliquot", {"count": 1, "volume": "1.0", "strategy": "compact"})):
        answer = tech.post(f"/samples/HQ-P1/{path}", json=body)
        assert answer.status_code == 409 and answer.json["code"] == "held_by_request", (path, answer.json)
        assert f"request {request.id}" in answer.json["message"]
    assert tech.get("/samples/HQ-P1").json["status"] == "checked_out"
    # Picking goes on and the request ships; or, in a twin, it is cancelled: both always work.
    assert tech.post(f"/requests/{request.id}/pick", json={"barcode": "HQ-P2"}).status_code == 200
    shipped = tech.post(f"/requests/{request.id}/ship", json={"recipient": "Lab", "courier": "DHL"})
    assert shipped.status_code == 200 and shipped.json["status"] == "shipped"
    db.session.rollback()
    assert db.session.get(type(box), box.id).held == 0 and db.session.get(type(box), box.id).used == 0

    make.sample("HQ-C1", box=box, position="B1")
    twin = requests.create_request(manager_actor, title="t", purpose="p", ethics_reference="e", samples=["HQ-C1"])
    requests.submit_request(manager_actor, twin.id)
    requests.approve_request(manager_actor, twin.id)
    requests.pick_sample(make.actor("technician"), twin.id, "HQ-C1")
    db.session.commit()
    idle()
    cancelled = manager.post(f"/requests/{twin.id}/cancel", json={"reason": "study stopped"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert tech.get("/samples/HQ-C1").json["location"]["position"] == "B1"
    assert chain_ok()


def test_a_generated_aliquot_barcode_never_takes_a_container_barcode(api, make, box):
    make.sample("HQ-BC", box=box, position="A1", volume="1.0")
    storage.create_container(make.admin, name="Box named like an aliquot", kind="box", rows=1, cols=1,
                             barcode="HQ-BC-01")
    db.session.commit()
    tech = api("technician")
    idle()
    answer = tech.post("/samples/HQ-BC/aliquot", json={"count": 1, "volume": "0.1", "strategy": "compact"})
    assert answer.status_code == 201 and [c["barcode"] for c in answer.json["children"]] == ["HQ-BC-02"]
    db.session.rollback()
    assert db.session.query(Sample).filter(Sample.barcode == "HQ-BC-01").count() == 0
