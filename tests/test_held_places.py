"""A checked-out tube keeps its place: nothing else may be stored there until it
is back or its place is given up on purpose; box maps, capacity and the
overdue list show it. Services first, then the API; both databases."""
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from biobank.core.errors import InvalidInput, SlotOccupied
from biobank.core.time import utcnow
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.reports import capacity
from biobank.samples import importer, queries, service
from biobank.samples.models import Sample
from biobank.storage.models import Container


@pytest.fixture
def box(make):
    return make.box(rows=1, cols=2)


def _out(make, barcode, **kw):
    sample = service.checkout_sample(make.actor(), barcode, **kw)
    db.session.commit()
    return sample


def test_no_placement_gives_away_a_held_position(make, box):
    make.sample("HP-1", box=box, position="A1")
    _out(make, "HP-1")
    # compact: the box's only free position is A2, not the held A1
    assert make.sample("HP-2").location["position"] == "A2" and db.session.get(Container, box.id).free == 0
    other = make.box(rows=1, cols=1)
    assert make.sample("HP-3").container_id == other.id   # the full box is passed over
    with pytest.raises(SlotOccupied, match="held for HP-1, which is checked out"):
        make.sample("HP-4", box=box, position="A1")
    db.session.rollback()
    service.return_sample(make.actor(), "HP-1", thawed=False)
    db.session.commit()
    assert service.get_sample("HP-1").location["position"] == "A1"


def test_a_move_or_an_import_into_a_held_position_is_refused(make, box):
    make.sample("HP-M1", box=box, position="A1")
    other = make.box(rows=1, cols=1)
    make.sample("HP-M2", box=other, position="A1")
    _out(make, "HP-M1")
    with pytest.raises(SlotOccupied, match="held for HP-M1"):
        service.move_sample(make.actor(), "HP-M2", container_id=box.id, position="A1")
    db.session.rollback()
    csv_text = ("barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode,"
                f"container_id,position\nHP-M3,plasma,D1,,1,mL,,,,{box.id},A1\n")
    with pytest.raises(InvalidInput, match="held for HP-M1"):
        importer.import_samples(make.actor(), csv_text)
    db.session.rollback()
    assert service.find_sample("HP-M3") is None and service.get_sample("HP-M2").container_id == other.id


def test_the_database_itself_refuses_a_second_occupant_of_a_held_position(make, box):
    make.sample("HP-DB", box=box, position="A2")
    _out(make, "HP-DB")
    db.session.add(Sample(barcode="HP-DB-2", sample_type="plasma", container_id=box.id, pos_row=1, pos_col=2,
                          home_container_id=box.id, home_row=1, home_col=2))
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_counters_keep_held_apart_from_used_and_free(make):
    tank = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2)
    [box] = make.boxes_of(tank)
    for position in ("A1", "A2", "B1"):
        make.sample(box=box, position=position)
    barcode = db.session.execute(select(Sample.barcode).where(Sample.pos_row == 1, Sample.pos_col == 1,
                                                              Sample.container_id == box.id)).scalar_one()
    _out(make, barcode)
    for container in (box, tank):
        db.session.refresh(container)
        assert (container.capacity, container.used, container.held, container.free) == (4, 2, 1, 1)
    item = next(i for i in capacity.capacity(make.actor("manager"))["items"] if i["id"] == tank.id)
    assert (item["positions"], item["used"], item["held"], item["free"], item["fraction"]) == (4, 2, 1, 1, 0.75)
    service.release_home(make.actor(), barcode, reason="tube broke in the centrifuge")
    db.session.commit()
    db.session.refresh(tank)
    assert (tank.used, tank.held, tank.free) == (2, 0, 2)


def test_release_home_frees_the_place_and_the_return_then_asks_where(make, box):
    make.sample("HP-R", box=box, position="A1")
    _out(make, "HP-R")
    with pytest.raises(InvalidInput, match="Say why"):
        service.release_home(make.actor(), "HP-R", reason=" ")
    sample = service.release_home(make.actor(), "HP-R", reason="box is being emptied")
    db.session.commit()
    assert sample.home is None and sample.status == "checked_out"
    event = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "sample.home_released")
                               ).scalar_one()
    assert event.reason == "box is being emptied" and event.from_location.endswith("/ A1")
    assert make.sample("HP-R2", box=box, position="A1").position == "A1"
    with pytest.raises(InvalidInput, match="no place held"):
        service.return_sample(make.actor(), "HP-R", thawed=False)
    db.session.rollback()
    service.return_sample(make.actor(), "HP-R", thawed=False, container_id=box.id, position="A2")
    db.session.commit()
    assert service.get_sample("HP-R").position == "A2"


@pytest.mark.parametrize("leave", ["discard", "aliquot to nothing"])
def test_leaving_for_good_gives_the_held_place_up(make, box, leave):
    make.sample("HP-L", box=box, position="A1", volume="1.0")
    _out(make, "HP-L")
    if leave == "discard":
        service.discard_sample(make.actor(), "HP-L", reason="contaminated")
    else:
        service.aliquot_sample(make.actor(), "HP-L", count=2, volume="0.5", container_id=make.box().id,
                               positions=["A1", "A2"])
    db.session.commit()
    sample = service.get_sample("HP-L")
    assert sample.status in ("discarded", "consumed") and sample.home is None
    db.session.refresh(box)
    assert (box.used, box.held, box.free) == (0, 0, 2)


def test_overdue_checkouts_are_listed_longest_overdue_first(make, box):
    make.sample("HP-O1", box=box, position="A1")
    make.sample("HP-O2", box=box, position="A2")
    late = utcnow() + timedelta(minutes=1)
    _out(make, "HP-O1", due_back=(late + timedelta(minutes=1)).isoformat())
    _out(make, "HP-O2", due_back=late.isoformat() + "Z")
    with pytest.raises(InvalidInput, match="already passed"):
        service.checkout_sample(make.actor(), make.sample(box=make.box(), position="A1").barcode,
                                due_back=(utcnow() - timedelta(hours=1)).isoformat())
    db.session.rollback()
    assert queries.overdue_checkouts(make.actor("manager")) == []
    later = utcnow() + timedelta(hours=1)
    assert [s.barcode for s in queries.overdue_checkouts(make.actor("manager"), now=later)] == ["HP-O2", "HP-O1"]
    assert queries.overdue_count(make.actor("manager"), now=later) == 2
    service.return_sample(make.actor(), "HP-O2", thawed=False)
    db.session.commit()
    assert service.get_sample("HP-O2").due_back is None
    assert [s.barcode for s in queries.overdue_checkouts(make.actor("manager"), now=later)] == ["HP-O1"]


# -- API ---------------------------------------------------------------------------------
def test_api_checkout_keeps_home_and_the_map_shows_the_held_position(api, make, box):
    make.sample("HP-A1", box=box, position="A2")
    tech = api("technician")
    due = (utcnow() + timedelta(days=1)).replace(microsecond=0).isoformat() + "Z"
    answer = tech.post("/samples/HP-A1/checkout", json={"reason": "sectioning", "due_back": due})
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["location"] is None and body["status"] == "checked_out"
    assert body["home"]["container_id"] == box.id and body["home"]["position"] == "A2"
    assert body["home"]["path"] == f"{box.path} / A2" and body["due_back"].startswith(due[:16])
    assert tech.get("/samples/HP-A1").json["home"]["position"] == "A2"

    cells = {c["position"]: c for c in tech.get(f"/containers/{box.id}/map").json["positions"]}
    assert cells["A2"]["sample"] is None and cells["A2"]["held"]["barcode"] == "HP-A1"
    assert cells["A1"]["held"] is None
    container = tech.get(f"/containers/{box.id}").json
    assert (container["used"], container["held"], container["free"]) == (0, 1, 1)

    taken = tech.post("/samples", json={"barcode": "HP-A2", "sample_type": "plasma",
                                        "location": {"container_id": box.id, "position": "A2"}})
    assert taken.status_code == 409 and taken.json["code"] == "slot_occupied" and "HP-A1" in taken.json["message"]
    back = tech.post("/samples/HP-A1/return", json={"thawed": False})
    assert back.status_code == 200 and back.json["location"]["position"] == "A2" and back.json["due_back"] is None


def test_api_release_home_and_overdue_filter(api, make, box):
    make.sample("HP-B1", box=box, position="A1")
    tech, manager = api("technician"), api("manager")
    assert tech.post("/samples/HP-B1/release-home", json={"reason": "x"}).json["code"] == "invalid_transition"
    tech.post("/samples/HP-B1/checkout", json={"due_back": (utcnow() + timedelta(seconds=2)).isoformat()})
    assert tech.post("/samples/HP-B1/release-home", json={}).status_code == 422
    assert manager.get("/samples?overdue=true").json["total"] == 0
    # Past due: make it so without waiting, as the clock would.
    db.session.execute(Sample.__table__.update().where(Sample.barcode == "HP-B1")
                       .values(due_back=utcnow() - timedelta(hours=2)))
    db.session.commit()
    listed = manager.get("/samples?overdue=true").json
    assert [s["barcode"] for s in listed["items"]] == ["HP-B1"]
    assert api("researcher").get("/samples?overdue=true").status_code == 403
    released = tech.post("/samples/HP-B1/release-home", json={"reason": "lost in transit"})
    assert released.status_code == 200 and released.json["home"] is None
    assert tech.get(f"/containers/{box.id}").json["held"] == 0
    assert tech.post("/samples/HP-B1/checkout", json={"due_back": "tomorrow"}).status_code in (409, 422)
