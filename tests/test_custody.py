"""The chain of custody: one event per change, hashes, tamper detection."""
import json
import threading
from datetime import datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from biobank.custody import service as custody
from biobank.custody.chain import (HASHED_FIELDS, SORTED_FIELDS, body_hash, canonical_json, event_bytes,
                                  event_hash, event_text_around_seq, timestamp_text)
from biobank.custody.models import CustodyEvent, CustodyHead
from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage import service as storage


def _count():
    return db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


def _events_since(seq):
    return db.session.execute(select(CustodyEvent).where(CustodyEvent.seq > seq).order_by(CustodyEvent.seq)).scalars().all()


def test_every_service_writes_exactly_one_event_per_state_change(make):
    tech, manager = make.actor("technician"), make.actor("manager")
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3)
    box, other = make.boxes_of(tank)
    steps = [
        ("container.created", 1, lambda: storage.create_container(manager, name="Box X", kind="box", rows=2, cols=2)),
        ("container.layout_built", 1, lambda: storage.build_layout(manager, name="Tank Y", racks=2, boxes_per_rack=2,
                                                                   rows=2, cols=2)),
        ("sample.registered", 1, lambda: samples.register_sample(
            tech, barcode="EV-1", sample_type="plasma", donor="D1", volume="2",
            location={"container_id": box.id, "position": "A1"})),
        ("sample.moved", 1, lambda: samples.move_sample(tech, "EV-1", container_id=other.id, position="B1",
                                                        reason="tidy")),
        ("sample.checked_out", 1, lambda: samples.checkout_sample(tech, "EV-1", reason="thaw")),
        ("sample.returned", 1, lambda: samples.return_sample(tech, "EV-1", thawed=True)),
        ("sample.aliquoted+registered", 3, lambda: samples.aliquot_sample(tech, "EV-1", count=2, volume="0.5")),
        ("sample.discarded", 1, lambda: samples.discard_sample(tech, "EV-1-01", reason="leak")),
        ("donor.consent_withdrawn", 1, lambda: samples.withdraw_consent(manager, "D1", reason="letter")),
    ]
    for action, expected, step in steps:
        before = _count()
        step()
        db.session.commit()
        new = _events_since(before)
        assert len(new) == expected, action
        assert {e.action for e in new} <= set(action.replace("+", " sample.").split()) | {action}, action
        assert all(e.actor == e.actor and e.at for e in new)
    moved = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "sample.moved")).scalar_one()
    assert moved.from_location.endswith("Box 1 / A1") and moved.to_location.endswith("Box 2 / B1")
    assert moved.reason == "tidy" and moved.actor == tech.username
    assert json.loads(moved.changes)["location"][1].endswith("B1")
    returned = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "sample.returned")).scalar_one()
    assert json.loads(returned.changes)["freeze_thaw_count"] == [0, 1]
    assert custody.verify().ok


def test_a_refused_change_leaves_no_event(make):
    box = make.box()
    make.sample(box=box, position="A1")
    before = _count()
    with pytest.raises(Exception):
        make.sample(box=box, position="A1")
    db.session.rollback()
    assert _count() == before


def test_chain_links_every_event_to_the_previous(make):
    box = make.box()
    for i in range(3):
        make.sample(box=box, position=f"A{i + 1}")
    events = db.session.execute(select(CustodyEvent).order_by(CustodyEvent.seq)).scalars().all()
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    assert events[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:]))
    result = custody.verify()
    assert result.ok and result.events_checked == len(events)


def _tamper(sql, **params):
    """Edit the log behind the application's back (on PostgreSQL the trigger must be bypassed first)."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE custody_event DISABLE TRIGGER USER"))
    db.session.execute(text(sql), params)
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE custody_event ENABLE TRIGGER USER"))
    db.session.commit()


@pytest.mark.parametrize("column,value", [("reason", "nothing to see"), ("actor", "someone-else"),
                                          ("to_location", "Tank 99 / Rack 1 / Box 1 / A1"),
                                          ("changes", '{"status":[null,"available"]}')])
def test_changing_a_stored_event_is_detected_and_named(make, runner, column, value):
    box = make.box(rows=1, cols=4)
    for i in range(4):
        make.sample(box=box, position=f"A{i + 1}", notes="x")
    target = db.session.execute(select(CustodyEvent.seq).where(CustodyEvent.sample_barcode.is_not(None))
                                .order_by(CustodyEvent.seq).offset(2).limit(1)).scalar_one()
    _tamper(f"UPDATE custody_event SET {column} = :v WHERE seq = :s", v=value, s=target)
    result = custody.verify()
    assert not result.ok and result.first_bad_event["seq"] == target
    assert result.events_checked == target - 1
    cli = runner.invoke(args=["audit", "verify"])
    assert cli.exit_code == 1 and f"event {target}" in cli.output


def test_verify_reads_the_chain_in_batches_and_still_names_the_altered_event(make):
    box = make.box(rows=3, cols=3)
    for i in range(7):
        make.sample(box=box, position=f"{'ABC'[i // 3]}{i % 3 + 1}")
    total = _count()
    for batch in (1, 2, 3, total, total + 5):
        result = custody.verify(batch=batch)
        assert result.ok and result.events_checked == total, batch
    target = total - 1
    _tamper("UPDATE custody_event SET reason = 'edited' WHERE seq = :s", s=target)
    for batch in (2, 3, total):
        result = custody.verify(batch=batch)
        assert not result.ok and result.first_bad_event["seq"] == target and result.events_checked == target - 1


def test_deleting_events_is_detected(make):
    box = make.box()
    for i in range(3):
        make.sample(box=box, position=f"A{i + 1}")
    last = _count()
    _tamper("DELETE FROM custody_event WHERE seq = :s", s=2)
    assert custody.verify().first_bad_event["seq"] == 3
    _tamper("DELETE FROM custody_event WHERE seq >= :s", s=2)
    result = custody.verify()
    assert not result.ok and "removed" in result.first_bad_event["problem"]
    assert result.events_checked == 1 and last == 4


@pytest.mark.postgres
def test_postgres_refuses_update_and_delete_of_events(make):
    make.box()
    for statement in ("UPDATE custody_event SET reason = 'x'", "DELETE FROM custody_event",
                      "TRUNCATE custody_event"):
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert custody.verify().ok



@pytest.mark.postgres
def test_postgres_chains_an_event_when_its_transaction_commits(make):
    actor = make.actor("technician")
    make.box()
    db.session.commit()
    before = db.session.get(CustodyHead, 1).seq
    custody.record(actor, "label.printed", "sample", "BB-LATER", sample_barcode="BB-LATER")
    db.session.rollback()  # a change taken back leaves neither an event nor a gap in the chain
    custody.record(actor, "label.printed", "sample", "BB-KEPT", sample_barcode="BB-KEPT")
    custody.record(actor, "label.printed", "sample", "BB-KEPT2", sample_barcode="BB-KEPT2")
    db.session.commit()
    db.session.expire_all()
    kept = db.session.execute(select(CustodyEvent.seq, CustodyEvent.subject)
                              .where(CustodyEvent.seq > before).order_by(CustodyEvent.seq)).all()
    assert [tuple(row) for row in kept] == [(before + 1, "BB-KEPT"), (before + 2, "BB-KEPT2")]
    assert db.session.execute(text("SELECT count(*) FROM custody_pending")).scalar_one() == 0
    assert custody.verify().ok


def test_the_events_of_one_transaction_keep_their_order_in_the_chain(make):
    # on PostgreSQL single events wait for the commit and many at once go in at once: the chain
    # must still read in the order they were recorded
    actor = make.actor("technician")
    make.box()
    db.session.commit()
    custody.record(actor, "label.printed", "sample", "ORD-A", sample_barcode="ORD-A")
    custody.record_many([(actor, "label.printed", "sample", code, {"sample_barcode": code})
                         for code in ("ORD-B", "ORD-C")])
    custody.record(actor, "label.printed", "sample", "ORD-D", sample_barcode="ORD-D")
    db.session.commit()
    subjects = db.session.execute(select(CustodyEvent.subject).where(CustodyEvent.subject.like("ORD-%"))
                                  .order_by(CustodyEvent.seq)).scalars().all()
    assert subjects == ["ORD-A", "ORD-B", "ORD-C", "ORD-D"]
    assert custody.verify().ok


@pytest.mark.postgres
def test_postgres_writes_the_hashed_text_of_odd_events_as_python_does(make):
    # verify hashes the text the server writes (it falls back to Python's where they differ):
    # for the fast path to be taken, the two must agree on every character
    actor = make.actor("technician")
    odd = 'tab\t nl\n cr\r bell\x07 esc\x1b del\x7f "q" \\ / \u2028 \u00e9 \U0001F9EA 雪'
    custody.record(actor, "label.printed", "sample", odd[:60], sample_barcode=None, reason=odd,
                   changes={odd: [None, 2 ** 40]}, to_location=odd, container_id=None)
    db.session.commit()
    texts = {seq: text_ for seq, text_, _prev, _hash in custody._stored_chain(batch=1000)}
    stored = db.session.execute(select(CustodyEvent.seq).where(CustodyEvent.reason == odd)).scalar_one()
    assert texts[stored] == custody._python_text(custody._stored_event(stored), db.session.connection().dialect)
    assert custody.verify().ok

def test_concurrent_writers_keep_one_linear_chain(app, make):
    tank = make.tank(racks=1, boxes_per_rack=4, rows=5, cols=5)
    box_ids = [box.id for box in make.boxes_of(tank)]
    actor = make.actor("technician")
    db.session.commit()  # no transaction of this thread stays open while the writers run
    errors = []

    def writer(n):
        with app.app_context():
            try:
                for i in range(10):
                    samples.register_sample(actor, barcode=f"CW-{n}-{i}", sample_type="plasma",
                                            location={"container_id": box_ids[n], "position": f"{'ABCDE'[i // 5]}{i % 5 + 1}"})
                    db.session.commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    db.session.expire_all()
    result = custody.verify()
    registered = db.session.execute(select(func.count()).select_from(CustodyEvent)
                                    .where(CustodyEvent.action == "sample.registered")).scalar_one()
    assert result.ok and registered == 40


def test_the_event_text_cut_at_its_sequence_number_joins_back_to_the_hashed_bytes():
    fields = {"at": datetime(2026, 11, 24, 23, 59, 1, 5), "actor": "tech", "actor_role": "technician",
              "via": "api", "action": "sample.moved", "subject_type": "sample", "subject": "BB1",
              "sample_barcode": "BB1", "container_id": 7, "request_id": None, "from_location": "Tank 1 / A1",
              "to_location": 'Tänk "2" / B1', "reason": "back\\slash\nnew line ✓", "changes": '{"a":[1,2]}'}
    before, after = event_text_around_seq(fields)
    assert (before + "123456789012" + after).encode() == event_bytes(dict(fields, seq=123456789012))
    # the bulk and verify paths hash a body already in canonical key order: same hash
    full = dict(fields, seq=123456789012)
    in_order = {name: full[name] for name in SORTED_FIELDS}
    in_order["at"] = timestamp_text(full["at"])
    assert body_hash(in_order, "ab" * 32) == event_hash(full, "ab" * 32)


@pytest.mark.parametrize("value", [
    {"b": [None, "Tänk \"2\""], "a": {"z": 1, "y": [True, False]}, "c": "tab\tbell\x07 ✓ \u2028"},
    {"volume": [Decimal("1.50"), None], "at": datetime(2026, 1, 2, 3, 4, 5, 6), "n": 2 ** 70, "f": 0.1},
    "plain text", 12, None, [], {},
])
def test_canonical_json_is_the_text_json_dumps_writes(value):
    # Stored hashes were computed from this text: any other encoding would break old chains.
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                          default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    assert canonical_json(value) == expected


def test_one_event_appended_by_the_database_hashes_like_python(make):
    actor = make.actor("technician")
    make.box()
    odd = 'Ünïcødé "quoted" \\ back\nslash ✓ 雪'
    custody.record(actor, "label.printed", "sample", "BB-ODD", sample_barcode="BB-ODD", reason=odd,
                   changes={"é": [None, 1.5], "note": [odd, None]})
    db.session.commit()
    stored = db.session.execute(select(CustodyEvent).where(CustodyEvent.subject == "BB-ODD")).scalar_one()
    head = db.session.get(CustodyHead, 1)
    assert stored.reason == odd and (stored.seq, stored.hash) == (head.seq, head.hash)
    assert stored.hash == event_hash({name: getattr(stored, name) for name in HASHED_FIELDS}, stored.prev_hash)
    assert custody.verify().ok
