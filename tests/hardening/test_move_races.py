"""Concurrent clients moving one box, and storing into a box while it moves, on SQLite and
PostgreSQL: one winner, clean 409s for the rest, and counters that still add up."""
from sqlalchemy import select

from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples.models import Sample
from biobank.storage.models import Container

from ..test_container_moves import counters_exact
from .conftest import chain_ok, events, idle
from .test_races import _at_once

CLIENTS = 6


def test_moves_of_one_box_that_say_where_it_was_have_one_winner(api, make):
    tank = make.tank(racks=CLIENTS + 1, boxes_per_rack=1, rows=3, cols=3, name="Race tank")
    racks = list(tank.children)
    box = make.boxes_of(racks[0])[0]
    make.sample("MR-1", box=box, position="A1")
    make.sample("MR-2", box=box, position="C3")
    clients = [api("technician") for _ in range(CLIENTS)]
    box_id, home = box.id, racks[0].id
    targets = [rack.id for rack in racks[1:]]
    idle()
    results = _at_once([lambda c=c, t=t: c.post(f"/containers/{box_id}/move",
                                                 json={"parent_id": t, "from_parent_id": home})
                        for c, t in zip(clients, targets)])
    assert results.count((200, None)) == 1, results
    assert sorted(r for r in results if r[0] != 200) == [(409, "moved_meanwhile")] * (CLIENTS - 1)
    db.session.rollback()
    winner = targets[results.index((200, None))]
    assert db.session.get(Container, box_id).parent_id == winner
    assert events("container.moved") == 1 and events("sample.moved_with_container") == 2
    assert counters_exact() == []
    assert chain_ok()


def test_storing_into_a_box_while_it_moves_keeps_every_counter_exact(api, make):
    """Technicians store tubes into a box while others move it back and forth between two
    tanks: every answer is a success or a clean 409, and afterwards every container's counters
    equal a recount, with each stored tube counted in the tank the box is in."""
    tank_a = make.tank(racks=1, boxes_per_rack=1, rows=4, cols=4, name="Tank A")
    tank_b = make.tank(racks=1, boxes_per_rack=1, rows=4, cols=4, name="Tank B")
    rack_a, rack_b = tank_a.children[0], tank_b.children[0]
    box = make.boxes_of(rack_a)[0]
    box_id, rack_ids = box.id, (rack_a.id, rack_b.id)
    movers = [api("technician") for _ in range(4)]
    storers = [api("technician") for _ in range(6)]
    calls = [lambda c=c, i=i: c.post(f"/containers/{box_id}/move", json={"parent_id": rack_ids[(i + 1) % 2]})
             for i, c in enumerate(movers)]
    calls += [lambda c=c, i=i: c.post("/samples", json={
        "barcode": f"MR-S{i}", "sample_type": "plasma",
        "location": {"container_id": box_id, "position": f"{'ABCD'[i // 4]}{i % 4 + 1}"}})
        for i, c in enumerate(storers)]
    idle()
    results = _at_once(calls)
    allowed = {(200, None), (201, None), (409, "moved_meanwhile"), (409, "invalid_move"),
               (409, "concurrent_update")}
    assert set(results) <= allowed, results
    db.session.rollback()
    stored = db.session.execute(select(Sample.barcode).where(Sample.container_id == box_id)).scalars().all()
    assert len(stored) == sum(1 for r in results[len(movers):] if r == (201, None))
    assert counters_exact() == []
    moved = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "container.moved")).scalars().all()
    assert len(moved) == sum(1 for r in results[:len(movers)] if r == (200, None))
    assert chain_ok()
