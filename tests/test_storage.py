"""Storage services: the container tree, capacity counters, restrictions."""
import pytest

from biobank.core.errors import InvalidInput, InvalidPosition, NotAllowedHere, NotPermitted
from biobank.extensions import db
from biobank.storage import positions, service
from biobank.storage.models import Container


def test_layout_builds_a_whole_tank_with_counters(make):
    tank = make.tank(racks=2, boxes_per_rack=3, rows=9, cols=9, name="Tank 07")
    assert tank.capacity == 2 * 3 * 81 and tank.used == 0 and tank.free == tank.capacity
    racks = tank.children
    assert [r.name for r in racks] == ["Rack 1", "Rack 2"]
    box = racks[1].children[2]
    assert box.path == "Main site / Tank 07 / Rack 2 / Box 3"  # under the default site
    assert box.barcode == f"{tank.barcode}-R2-B03"
    assert box.rows == 9 and box.capacity == 81


def test_counters_follow_samples_up_the_tree(make):
    site = service.create_container(make.admin, name="Site", kind="site")
    tank = make.tank(parent_id=site.id, racks=1, boxes_per_rack=2)
    box = make.boxes_of(tank)[1]
    make.sample(box=box, position="B2")
    make.sample(box=box, position="C3")
    db.session.expire_all()
    for container in (site, tank, tank.children[0], box):
        assert db.session.get(Container, container.id).used == 2
    assert db.session.get(Container, site.id).capacity == 18


def test_trees_of_any_depth(make):
    freezer = service.create_container(make.admin, name="Freezer -80 A", kind="freezer",
                                       storage_temperature="-60to-85")
    shelf = service.create_container(make.admin, name="Shelf 1", kind="shelf", parent_id=freezer.id)
    drawer = service.create_container(make.admin, name="Drawer 2", kind="drawer", parent_id=shelf.id)
    box = service.create_container(make.admin, name="Box 9", kind="box", parent_id=drawer.id, rows=8, cols=12)
    db.session.commit()
    assert box.path == "Main site / Freezer -80 A / Shelf 1 / Drawer 2 / Box 9"
    assert box.effective_temperature == "-60to-85"
    assert db.session.get(Container, freezer.id).capacity == 96


def test_box_cannot_hold_containers_and_grids_are_checked(make):
    box = make.box()
    with pytest.raises(InvalidInput, match="boxes hold samples"):
        service.create_container(make.admin, name="x", kind="box", parent_id=box.id, rows=2, cols=2)
    with pytest.raises(InvalidInput):
        service.create_container(make.admin, name="x", kind="box", rows=0, cols=5)
    with pytest.raises(InvalidInput):
        service.create_container(make.admin, name="x", kind="box", rows=5)


def test_only_admins_and_managers_change_the_layout(make):
    with pytest.raises(NotPermitted):
        service.create_container(make.actor("technician"), name="Rogue", kind="tank")
    assert service.create_container(make.actor("manager"), name="Ok", kind="tank").id


def test_restrictions_refuse_wrong_samples(make):
    box = make.box(allowed_types=["dna", "rna"], storage_temperature="-60to-85")
    with pytest.raises(NotAllowedHere, match="takes only dna, rna"):
        make.sample(box=box, position="A1", sample_type="plasma")
    with pytest.raises(NotAllowedHere, match="-60to-85"):
        make.sample(box=box, position="A1", sample_type="dna", storage_temperature="LN2_vapor")
    assert make.sample(box=box, position="A1", sample_type="dna").position == "A1"


def test_position_labels():
    assert positions.parse("A01") == (1, 1)
    assert positions.parse("h12", 8, 12) == (8, 12)
    assert positions.label(8, 12) == "H12"
    assert positions.label(27, 1) == "AA1"
    for bad in ("", "12", "A", "A0", "I1"):
        with pytest.raises(InvalidPosition):
            positions.parse(bad, 8, 12)


def test_container_barcodes_never_collide_with_samples(make):
    make.box()
    make.sample(barcode="T99-X")
    with pytest.raises(Exception, match="already in use"):
        service.create_container(make.admin, name="t", kind="tank", barcode="T99-X")
