"""Concurrent clients on one sample, on SQLite and PostgreSQL. (Many clients storing into one
position: tests/test_api.py; approving one sample twice: tests/requests/test_race.py.)"""
import json
import threading

from sqlalchemy import select

from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples.models import Sample
from biobank.storage.models import Container

from .conftest import chain_ok, events, idle

CLIENTS = 8


def _at_once(calls):
    """Run the calls in threads released together; their (status, code) in order."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(i):
        barrier.wait()
        response = calls[i]()
        results[i] = (response.status_code, (response.get_json(silent=True) or {}).get("code"))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_checking_out_one_sample_from_many_clients_at_once(api, make, box):
    make.sample("RC-OUT", box=box, position="A1")
    clients = [api("technician") for _ in range(CLIENTS)]
    before = events("sample.checked_out")
    idle()
    results = _at_once([lambda c=c: c.post("/samples/RC-OUT/checkout", json={"reason": "assay"}) for c in clients])
    assert results.count((200, None)) == 1, results
    assert sorted(r for r in results if r[0] != 200) == [(409, "invalid_transition")] * (CLIENTS - 1)
    db.session.rollback()
    sample = db.session.execute(select(Sample).where(Sample.barcode == "RC-OUT")).scalar_one()
    assert sample.status == "checked_out" and sample.container_id is None
    assert events("sample.checked_out") == before + 1
    assert db.session.get(Container, box.id).used == 0
    assert chain_ok()


def test_moving_different_samples_into_one_free_position_at_once(api, make):
    source, target = make.box(rows=3, cols=3), make.box(rows=2, cols=2)
    for i in range(CLIENTS):
        make.sample(f"RC-MV-{i}", box=source, position=f"{'ABC'[i // 3]}{i % 3 + 1}")
    clients = [api("technician") for _ in range(CLIENTS)]
    target_id = target.id
    idle()
    results = _at_once([lambda c=c, i=i: c.post(f"/samples/RC-MV-{i}/move",
                                                 json={"container_id": target_id, "position": "B2"})
                        for i, c in enumerate(clients)])
    assert results.count((200, None)) == 1, results
    assert sorted(r for r in results if r[0] != 200) == [(409, "slot_occupied")] * (CLIENTS - 1)
    db.session.rollback()
    assert [s.barcode for s in db.session.execute(select(Sample).where(Sample.container_id == target_id))
            .scalars()] == [f"RC-MV-{results.index((200, None))}"]
    assert events("sample.moved") == 1
    assert db.session.get(Container, target_id).used == 1 and db.session.get(Container, source.id).used == CLIENTS - 1
    assert chain_ok()


def test_moving_one_sample_to_different_places_at_once_loses_no_move(api, make):
    """Moves that carry no expected origin queue up when they hit one tube: each one that
    answers 200 is one event, each event starts where the previous one ended, and the tube is
    in exactly one place, the last event's destination."""
    source, target = make.box(rows=1, cols=1), make.box(rows=3, cols=3)
    make.sample("RC-ONE", box=source, position="A1")
    clients = [api("technician") for _ in range(CLIENTS)]
    target_id = target.id
    positions = [f"{'ABC'[i // 3]}{i % 3 + 1}" for i in range(CLIENTS)]
    idle()
    results = _at_once([lambda c=c, p=p: c.post("/samples/RC-ONE/move", json={"container_id": target_id,
                                                                               "position": p})
                        for c, p in zip(clients, positions)])
    assert all(r in ((200, None), (409, "slot_occupied"), (409, "invalid_transition")) for r in results), results
    db.session.rollback()
    moves = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "sample.moved")
                               .order_by(CustodyEvent.seq)).scalars().all()
    assert len(moves) == results.count((200, None)) >= 1
    for earlier, later in zip(moves, moves[1:]):
        assert later.from_location == earlier.to_location
    sample = db.session.execute(select(Sample).where(Sample.barcode == "RC-ONE")).scalar_one()
    assert sample.location_path == moves[-1].to_location
    assert json.loads(moves[0].changes)["location"][0] == moves[0].from_location
    assert db.session.get(Container, target_id).used == 1 and db.session.get(Container, source.id).used == 0
    assert chain_ok()


def test_moves_that_say_where_the_tube_was_have_exactly_one_winner(api, make):
    """With the origin the technician saw, only the first of concurrent moves of one tube happens."""
    source, target = make.box(rows=1, cols=1), make.box(rows=3, cols=3)
    make.sample("RC-SAW", box=source, position="A1")
    clients = [api("technician") for _ in range(CLIENTS)]
    source_id, target_id = source.id, target.id
    positions = [f"{'ABC'[i // 3]}{i % 3 + 1}" for i in range(CLIENTS)]
    idle()
    results = _at_once([lambda c=c, p=p: c.post("/samples/RC-SAW/move", json={
        "container_id": target_id, "position": p, "from_container_id": source_id, "from_position": "A1"})
        for c, p in zip(clients, positions)])
    assert results.count((200, None)) == 1, results
    assert sorted(r for r in results if r[0] != 200) == [(409, "moved_meanwhile")] * (CLIENTS - 1)
    db.session.rollback()
    assert events("sample.moved") == 1
    assert db.session.get(Container, target_id).used == 1 and db.session.get(Container, source_id).used == 0
    assert chain_ok()


def test_clients_registering_with_automatic_placement_at_once_are_all_stored(api, make):
    """Nobody chose a position, so nobody may be told the position is taken: every one is stored,
    each in its own position, with the counters and the chain right."""
    tank = make.tank(racks=1, boxes_per_rack=2, rows=2, cols=3, name="Auto tank")  # 12 positions
    clients = [api("technician") for _ in range(CLIENTS)]
    idle()
    for strategy in ("compact", "spread"):
        results = _at_once([lambda c=c, i=i: c.post("/samples", json={
            "barcode": f"AUTO-{strategy}-{i}", "sample_type": "plasma", "donor": f"D-{i}",
            "location": {"strategy": strategy}}) for i, c in enumerate(clients[:CLIENTS // 2 + 2])])
        assert results == [(201, None)] * (CLIENTS // 2 + 2), (strategy, results)
    db.session.rollback()
    stored = db.session.execute(select(Sample.container_id, Sample.pos_row, Sample.pos_col)
                                .where(Sample.barcode.like("AUTO-%"))).all()
    assert len(stored) == 2 * (CLIENTS // 2 + 2) == len(set(stored))
    boxes = make.boxes_of(tank)
    assert sum(db.session.get(Container, b.id).used for b in boxes) == len(stored)
    assert db.session.get(Container, tank.id).used == len(stored)
    assert chain_ok()


def test_a_full_biobank_still_answers_every_automatic_placement_clearly(api, make):
    make.box(rows=1, cols=3, name="Nearly full")
    clients = [api("technician") for _ in range(CLIENTS)]
    idle()
    results = _at_once([lambda c=c, i=i: c.post("/samples", json={"barcode": f"FULL-{i}", "sample_type": "plasma",
                                                                   "location": {"strategy": "compact"}})
                        for i, c in enumerate(clients)])
    assert sorted(results) == sorted([(201, None)] * 3 + [(409, "no_free_position")] * (CLIENTS - 3)), results
    assert chain_ok()
