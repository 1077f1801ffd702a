"""What PostgreSQL does for concurrent writers of one site: the counters above a box move at
commit, every writer takes container rows leaves first, a change crossed at commit is answered
cleanly, and automatic placements fill different boxes side by side (migrations 0016 to 0018;
storage.placement). Each test holds one transaction open in a second session while this one works."""
import threading
import time

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage.models import Container

from .test_container_moves import counters_exact

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


def _in_thread(app, call) -> tuple[threading.Thread, list]:
    answers = []

    def run():
        with app.app_context():
            answers.append(call())
            db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, answers


def _until_waiting_for_a_lock(other: Session, timeout: float = 10) -> None:
    """Until a backend of this database other than `other`'s waits for a row lock."""
    deadline = time.monotonic() + timeout
    mine = other.execute(text("SELECT pg_backend_pid()")).scalar_one()
    while time.monotonic() < deadline:
        other.execute(text("SELECT pg_stat_clear_snapshot()"))  # else the transaction sees its first look again
        if other.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                              "AND wait_event_type = 'Lock' AND pid <> :mine"), {"mine": mine}).scalar_one():
            return
        time.sleep(0.05)
    raise AssertionError("nobody came to wait for a lock")


def _site_of(container):
    return db.session.get(Container, int(container.lineage.strip("/").split("/")[0]))


def test_a_move_waits_for_the_box_before_it_takes_the_rows_above(app, api, make):
    """A store into the box holds it and takes the rack, tank and site at its commit: the move of
    that box queues for the box first, holding nothing the store's commit needs."""
    tank_a, tank_b = make.tank(racks=1, boxes_per_rack=1), make.tank(racks=1, boxes_per_rack=1)
    [box] = make.boxes_of(tank_a)
    rack_a, rack_b = tank_a.children[0], tank_b.children[0]
    site, box_id, target = _site_of(tank_a), box.id, rack_b.id
    mover = api("technician")
    other = Session(db.engine)
    try:  # a store in progress into the box: its row is held
        other.execute(text("UPDATE container SET used = used WHERE id = :box"), {"box": box_id})
        thread, answers = _in_thread(app, lambda: mover.post(f"/containers/{box_id}/move", json={"parent_id": target}))
        _until_waiting_for_a_lock(other)
        other.execute(text("SET LOCAL lock_timeout = '5s'"))
        # the store's commit takes the rows above the box: none is the move's to hold
        other.execute(select(Container.id).where(Container.id.in_([rack_a.id, tank_a.id, site.id]))
                      .order_by(Container.id).with_for_update(key_share=True)).all()
        other.commit()
    finally:
        other.close()
    thread.join(timeout=30)
    assert [r.status_code for r in answers] == [200]
    db.session.expire_all()
    assert db.session.get(Container, box_id).parent_id == target
    assert counters_exact() == []


def test_a_store_crossed_at_commit_is_a_clean_409_and_leaves_nothing(app, api, make):
    """The rows above a box are taken at commit; when another transaction holds one of them and
    waits for the box, PostgreSQL breaks the deadlock at the store's commit: the technician gets
    the same 409 as a conflict inside the request, not a server error, and no trace of the tube stays."""
    tank = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2)
    [box] = make.boxes_of(tank)
    site, box_id = _site_of(tank), box.id
    storer = api("technician")
    before = db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()
    other = Session(db.engine)
    try:
        other.execute(text("SET LOCAL deadlock_timeout = '20s'"))  # the store's backend sees the deadlock first
        other.execute(select(Container.id).where(Container.id == site.id).with_for_update(key_share=True)).all()
        thread, answers = _in_thread(app, lambda: storer.post("/samples", json={
            "barcode": "CW-CROSSED", "sample_type": "plasma", "location": {"container_id": box_id, "position": "A1"}}))
        _until_waiting_for_a_lock(other)  # the store, at its commit, waits for the site
        other.execute(select(Container.id).where(Container.id == box_id).with_for_update(key_share=True)).all()
        other.rollback()
    finally:
        other.close()
    thread.join(timeout=30)
    assert [(r.status_code, r.get_json()["code"]) for r in answers] == [(409, "concurrent_update")]
    db.session.expire_all()
    assert samples.find_sample("CW-CROSSED") is None
    assert db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one() == before
    assert counters_exact() == []
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
