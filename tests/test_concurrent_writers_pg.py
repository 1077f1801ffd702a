"""What PostgreSQL does for concurrent writers of one site: the counters above a box move at
commit, and automatic placements fill different boxes side by side (migrations 0016, 0017;
storage.placement). Each test holds one transaction open in a second session while this one works."""
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from biobank.custody import service as custody
from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage.models import Container

pytestmark = pytest.mark.postgres


def _counts(*containers):
    db.session.expire_all()
    return [(db.session.get(Container, c.id).used, db.session.get(Container, c.id).held) for c in containers]


def test_counters_above_the_box_move_when_the_transaction_commits(make):
    tank = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2)
    [rack] = tank.children
    [box] = make.boxes_of(tank)
    site = db.session.get(Container, int(tank.lineage.strip("/").split("/")[0]))
    tech = make.actor("technician")
    make.sample("CW-1", box=box, position="A1")
    before = _counts(site, tank, rack, box)
    samples.checkout_sample(tech, "CW-1", reason="assay")
    db.session.rollback()  # taken back: nothing moved, nothing is left for a later commit
    assert _counts(site, tank, rack, box) == before
    assert db.session.execute(text("SELECT count(*) FROM container_count_pending")).scalar_one() == 0
    samples.checkout_sample(tech, "CW-1", reason="assay")
    db.session.commit()
    # one tube fewer stored and one place more held, at every level
    assert _counts(site, tank, rack, box) == [(used - 1, held + 1) for used, held in before]
    samples.return_sample(tech, "CW-1", thawed=False)
    db.session.commit()
    assert _counts(site, tank, rack, box) == before
    assert db.session.execute(text("SELECT count(*) FROM container_count_pending")).scalar_one() == 0
    assert custody.verify().ok


def test_a_placement_passes_over_a_box_another_transaction_is_filling(app, make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=2, cols=2)
    first, second = make.boxes_of(tank)
    tech = make.actor("technician")
    db.session.commit()
    other = Session(db.engine)
    try:  # another client's placement into the first box, not committed yet
        other.execute(select(Container.id).where(Container.id == first.id).with_for_update())
        samples.register_sample(tech, barcode="CW-PASS", sample_type="plasma", location={"strategy": "compact"})
        db.session.commit()  # no wait for the other client: the tube went to the next box
    finally:
        other.rollback()
        other.close()
    assert samples.get_sample("CW-PASS").container_id == second.id
    samples.register_sample(tech, barcode="CW-NEXT", sample_type="plasma", location={"strategy": "compact"})
    db.session.commit()  # the first box is free again: compact order resumes there
    assert samples.get_sample("CW-NEXT").container_id == first.id


def test_a_placement_waits_for_the_last_box_with_room_rather_than_refuse(app, make):
    box = make.box(rows=1, cols=2)
    tech = make.actor("technician")
    make.sample("CW-FIRST", box=box, position="A1")
    other = Session(db.engine)
    other.execute(select(Container.id).where(Container.id == box.id).with_for_update())
    done = []

    def register():
        with app.app_context():
            samples.register_sample(tech, barcode="CW-LAST", sample_type="plasma", location={"strategy": "compact"})
            db.session.commit()
            done.append(True)
            db.session.remove()

    waiting = threading.Thread(target=register)
    waiting.start()
    waiting.join(timeout=1.5)
    assert waiting.is_alive() and not done  # it waits for the box instead of saying there is no room
    other.rollback()
    other.close()
    waiting.join(timeout=30)
    assert done == [True]
    db.session.expire_all()
    assert samples.get_sample("CW-LAST").container_id == box.id
    assert db.session.execute(select(func.count()).select_from(Container).where(
        Container.id == box.id, Container.used == 2)).scalar_one() == 1
