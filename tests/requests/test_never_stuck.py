"""Requests never get stuck: what a request holds cannot be taken from under it,
one item can be taken off with a reason, and cancelling always works and
releases what the request holds."""
import pytest
from sqlalchemy import select

from biobank.core.errors import Conflict
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.requests import service as requests
from biobank.samples import service as samples
from biobank.storage.models import Container


@pytest.fixture
def approved(make, stock):
    """Request for S-A-1, S-A-2, S-B-2, approved; S-A-1 picked."""
    researcher, manager, tech = make.actor("researcher"), make.actor("manager"), make.actor("technician")
    request = requests.create_request(researcher, title="t", purpose="p", ethics_reference="EC-1",
                                      samples=["S-A-1", "S-A-2", "S-B-2"])
    requests.submit_request(researcher, request.id)
    requests.approve_request(manager, request.id)
    requests.pick_sample(tech, request.id, "S-A-1")
    db.session.commit()
    return request.id


@pytest.mark.parametrize("barcode,how", [("S-A-1", "picked"), ("S-A-2", "reserved")])
@pytest.mark.parametrize("action", ["discard", "return", "aliquot", "move", "release-home"])
def test_a_tube_held_by_a_request_cannot_be_taken_from_under_it(make, stock, approved, barcode, how, action):
    tech = make.actor("technician")
    calls = {
        "discard": lambda: samples.discard_sample(tech, barcode, reason="dropped"),
        "return": lambda: samples.return_sample(tech, barcode, thawed=False),
        "aliquot": lambda: samples.aliquot_sample(tech, barcode, count=1, volume="0.1", strategy="compact"),
        "move": lambda: samples.move_sample(tech, barcode, container_id=stock.boxes[(1, 1, 2)].id, position="A1"),
        "release-home": lambda: samples.release_home(tech, barcode, reason="x"),
    }
    before = samples.get_sample(barcode).status
    with pytest.raises(Conflict) as refused:
        calls[action]()
    db.session.rollback()
    if refused.value.code == "held_by_request":
        assert f"{how} for request {approved}" in refused.value.message
        assert refused.value.details["request_id"] == approved
    else:  # not possible in this state at all (a reserved tube is not checked out)
        assert (action, how) in (("return", "reserved"), ("release-home", "reserved"), ("move", "picked"))
    assert samples.get_sample(barcode).status == before


def test_cancelling_while_picking_releases_everything_and_puts_picked_tubes_home(make, stock, approved):
    home = samples.get_sample("S-A-1").home
    box = db.session.get(Container, home["container_id"])
    assert box.held == 1
    requests.cancel_request(make.actor("manager"), approved, reason="study stopped")
    db.session.commit()
    picked = samples.get_sample("S-A-1")
    assert picked.status == "available" and picked.location == home
    assert {samples.get_sample(b).status for b in ("S-A-2", "S-B-2")} == {"available"}
    db.session.refresh(box)
    assert box.held == 0
    assert requests.get_request(approved).status == "cancelled"


def test_cancelling_keeps_a_picked_tube_out_when_its_place_was_given_up(make, stock, approved):
    tube = samples.get_sample("S-A-1")
    # A place given up before this rule existed (or by an old version): the cancel still works.
    tube.home_container_id = tube.home_row = tube.home_col = None
    db.session.execute(Container.__table__.update().values(held=0))
    db.session.commit()
    requests.cancel_request(make.actor("manager"), approved, reason="study stopped")
    db.session.commit()
    tube = samples.get_sample("S-A-1")
    assert tube.status == "checked_out" and samples.holding_request(tube) is None
    samples.return_sample(make.actor("technician"), "S-A-1", thawed=False,
                          container_id=stock.boxes[(1, 1, 2)].id, position="A1")


def test_a_manager_takes_one_item_off_with_a_reason(make, stock, approved):
    manager = make.actor("manager")
    requests.remove_item(manager, approved, "S-A-1", reason="tube cracked when picked")
    requests.remove_item(manager, approved, "S-A-2", reason="not needed")
    db.session.commit()
    request = requests.get_request(approved)
    assert [i.barcode for i in request.items] == ["S-B-2"]
    assert samples.get_sample("S-A-1").status == "available" and samples.get_sample("S-A-2").status == "available"
    samples.discard_sample(make.actor("technician"), "S-A-1", reason="cracked")  # no longer held by anyone
    events = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "request.item_removed")
                                .order_by(CustodyEvent.seq)).scalars().all()
    assert [(e.sample_barcode, e.reason) for e in events] == [("S-A-1", "tube cracked when picked"),
                                                              ("S-A-2", "not needed")]
    with pytest.raises(Conflict, match="cancel the request instead"):
        requests.remove_item(manager, approved, "S-B-2", reason="x")
    db.session.rollback()
    # What is left can be picked and shipped: nothing is stuck.
    requests.pick_sample(make.actor("technician"), approved, "S-B-2")
    requests.ship_request(make.actor("technician"), approved, recipient="Lab", courier="DHL")
    db.session.commit()
    shipped = samples.get_sample("S-B-2")
    assert shipped.status == "shipped" and shipped.home is None


def test_api_remove_item_and_refusals_name_the_request(api, make, stock, approved):
    tech, manager = api("technician"), api("manager")
    refused = tech.post("/samples/S-A-1/discard", json={"reason": "dropped"})
    assert refused.status_code == 409 and refused.json["code"] == "held_by_request"
    assert f"request {approved}" in refused.json["message"]
    assert tech.post(f"/requests/{approved}/items/S-A-2/remove", json={"reason": "x"}).status_code == 403
    assert manager.post(f"/requests/{approved}/items/S-A-2/remove", json={}).status_code == 422
    assert manager.post(f"/requests/{approved}/items/S-A-4/remove", json={"reason": "x"}).json["code"] == \
        "not_on_request"
    removed = manager.post(f"/requests/{approved}/items/S-A-1/remove", json={"reason": "cracked"})
    assert removed.status_code == 200 and "S-A-1" not in [i["barcode"] for i in removed.json["items"]]
    assert tech.get("/samples/S-A-1").json["status"] == "available"
    assert tech.post("/samples/S-A-1/discard", json={"reason": "cracked"}).status_code == 200
