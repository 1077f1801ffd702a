"""Moving boxes and racks with everything in them, on SQLite and PostgreSQL."""
import json

import pytest
from sqlalchemy import func, select

from biobank.core.errors import Conflict, NotAllowedHere, NotPermitted
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples import service as samples
from biobank.samples.models import Sample
from biobank.storage import moves
from biobank.storage.models import Container


def counters_exact() -> list[str]:
    """Every container's used and capacity against a recount from the samples and boxes."""
    db.session.rollback()
    wrong = []
    for c in db.session.execute(select(Container)).scalars():
        under = select(Container.id).where(Container.lineage.startswith(c.lineage))
        used = db.session.execute(select(func.count()).select_from(Sample).where(
            Sample.container_id.in_(under))).scalar_one()
        capacity = db.session.execute(select(func.coalesce(func.sum(Container.rows * Container.cols), 0)).where(
            Container.lineage.startswith(c.lineage), Container.rows.is_not(None))).scalar_one()
        if (c.used, c.capacity) != (used, capacity):
            wrong.append(f"{c.path}: used {c.used} (counted {used}), capacity {c.capacity} (counted {capacity})")
    return wrong


def _racks(tank):
    return [c for c in tank.children]


def test_a_box_moves_to_another_tank_with_its_tubes_and_the_counters_follow(make):
    old_tank = make.tank(racks=1, boxes_per_rack=2, name="Old tank")
    new_tank = make.tank(racks=1, boxes_per_rack=1, name="New tank")
    box = make.boxes_of(old_tank)[0]
    make.sample("MV-1", box=box, position="A1")
    make.sample("MV-2", box=box, position="B2")
    samples.checkout_sample(make.admin, "MV-2", reason="assay")
    db.session.commit()
    barcode, old_path = box.barcode, box.path
    rack = _racks(new_tank)[0]
    moved = moves.move_container(make.actor("technician"), box.id, parent_id=rack.id, reason="tank 1 refill")
    db.session.commit()
    assert moved.barcode == barcode and moved.parent_id == rack.id
    assert moved.path == f"{rack.path} / {box.name}"
    tube = db.session.execute(select(Sample).where(Sample.barcode == "MV-1")).scalar_one()
    assert tube.location_path == f"{rack.path} / {box.name} / A1"
    assert db.session.get(Container, old_tank.id).used == 0 and db.session.get(Container, new_tank.id).used == 1
    assert db.session.get(Container, old_tank.id).capacity == 9
    assert db.session.get(Container, new_tank.id).capacity == 18
    assert db.session.get(Container, box.id).tank_id == new_tank.id
    assert counters_exact() == []
    history = db.session.execute(select(CustodyEvent).where(CustodyEvent.sample_barcode == "MV-1",
                                                            CustodyEvent.action == "sample.moved_with_container")
                                 ).scalar_one()
    assert history.from_location == f"{old_path} / A1" and history.to_location == tube.location_path
    assert history.reason == "tank 1 refill"
    out = db.session.execute(select(CustodyEvent).where(CustodyEvent.sample_barcode == "MV-2",
                                                        CustodyEvent.action == "sample.moved_with_container")
                             ).scalar_one()
    assert "B2" in out.to_location and rack.path in out.to_location
    container_event = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "container.moved")
                                         ).scalar_one()
    assert json.loads(container_event.changes)["path"] == [old_path, moved.path]
    assert custody.verify().ok


def test_a_rack_moves_to_another_tank_with_all_its_boxes(make):
    old_tank = make.tank(racks=2, boxes_per_rack=2, name="Tank A")
    new_tank = make.tank(racks=1, boxes_per_rack=1, name="Tank B")
    rack = _racks(old_tank)[1]
    boxes = make.boxes_of(rack)
    make.sample("MV-R1", box=boxes[0], position="A1")
    make.sample("MV-R2", box=boxes[1], position="C3")
    moves.move_container(make.actor("manager"), rack.id, parent_id=new_tank.id)
    db.session.commit()
    for box in boxes:
        box = db.session.get(Container, box.id)
        assert box.path.startswith("Main site / Tank B / Rack 2 / ") and box.tank_id == new_tank.id
        assert box.lineage.startswith(db.session.get(Container, new_tank.id).lineage)
    assert db.session.get(Container, new_tank.id).used == 2 and db.session.get(Container, old_tank.id).used == 0
    assert counters_exact() == []
    assert db.session.execute(select(func.count()).select_from(CustodyEvent).where(
        CustodyEvent.action == "sample.moved_with_container")).scalar_one() == 2


def test_nonsense_moves_are_refused_with_invalid_move(make):
    tank = make.tank(racks=2, boxes_per_rack=1, name="Tank N")
    other = make.tank(racks=1, boxes_per_rack=1, name="Tank O")
    rack_a, rack_b = _racks(tank)
    box = make.boxes_of(rack_a)[0]
    other_box = make.boxes_of(rack_b)[0]
    actor = make.actor("technician")
    for container, parent in ((rack_a, rack_a), (rack_a, box), (tank, rack_b), (box, other_box),
                              (rack_a, rack_b), (box, rack_a), (tank, other)):
        with pytest.raises(Conflict) as caught:
            moves.move_container(actor, container.id, parent_id=parent.id)
        assert caught.value.code == "invalid_move", (container.path, parent.path)
        db.session.rollback()
    assert counters_exact() == []


def test_the_new_place_must_take_what_the_box_holds(make):
    plasma_freezer = make.tank(racks=1, boxes_per_rack=1, name="Plasma freezer", kind="freezer",
                               allowed_types=["plasma"])
    cold_tank = make.tank(racks=1, boxes_per_rack=1, name="LN2 tank", storage_temperature="LN2_vapor")
    source = make.tank(racks=1, boxes_per_rack=1, name="Source")
    box = make.boxes_of(source)[0]
    make.sample("MV-T", box=box, position="A1", sample_type="tissue_frozen", storage_temperature="-60to-85")
    actor = make.actor("technician")
    for tank in (plasma_freezer, cold_tank):
        with pytest.raises(NotAllowedHere):
            moves.move_container(actor, box.id, parent_id=_racks(tank)[0].id)
        db.session.rollback()
    assert db.session.get(Container, box.id).parent_id == _racks(source)[0].id
    assert counters_exact() == []


def test_a_move_says_so_when_the_box_is_no_longer_where_it_was_seen(make):
    tank = make.tank(racks=3, boxes_per_rack=1, name="Tank S")
    rack_a, rack_b, rack_c = _racks(tank)
    box = make.boxes_of(rack_a)[0]
    actor = make.actor("technician")
    moves.move_container(actor, box.id, parent_id=rack_b.id, from_parent_id=rack_a.id)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        moves.move_container(actor, box.id, parent_id=rack_c.id, from_parent_id=rack_a.id)
    assert caught.value.code == "moved_meanwhile"


def test_researchers_do_not_move_containers(make):
    tank = make.tank(racks=2, boxes_per_rack=1)
    with pytest.raises(NotPermitted):
        moves.move_container(make.actor("researcher"), make.boxes_of(tank)[0].id, parent_id=_racks(tank)[1].id)

