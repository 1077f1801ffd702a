"""Tampering with the custody log, over many random trials.

SQLite has no trigger: an edit by hand must be found by `biobank audit verify`, which names the
edited event. PostgreSQL refuses every UPDATE, DELETE and TRUNCATE of the log outright.
"""
import random
import string
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from biobank.custody import service as custody
from biobank.custody.chain import HASHED_FIELDS
from biobank.custody.models import CustodyEvent
from biobank.extensions import db

from .conftest import idle

TRIALS = 150
# `seq` is the primary key: renumbering an event shows up as a gap at its neighbour instead.
COLUMNS = [c for c in HASHED_FIELDS if c != "seq"] + ["prev_hash", "hash"]
INTEGER_COLUMNS = {"container_id", "request_id"}
NULLABLE = {"sample_barcode", "container_id", "request_id", "from_location", "to_location", "reason"}


def _history(make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3)
    box, other = make.boxes_of(tank)
    tech = make.actor("technician")
    from biobank.samples import service as samples
    for i in range(6):
        make.sample(f"TM-{i}", box=box, position=f"A{i % 3 + 1}" if i < 3 else f"B{i % 3 + 1}",
                    notes="ünïcode ✓", volume="2")
    samples.move_sample(tech, "TM-0", container_id=other.id, position="C3", reason="tidy")
    samples.checkout_sample(tech, "TM-1", reason="assay")
    samples.return_sample(tech, "TM-1", thawed=True)
    samples.aliquot_sample(tech, "TM-2", count=2, volume="0.5")
    samples.discard_sample(tech, "TM-3", reason="cracked")
    db.session.commit()


def _new_value(rng, column, old):
    value = _any_value(rng, column, old)
    return "x" if value is None and column not in NULLABLE else value


def _any_value(rng, column, old):
    if column in INTEGER_COLUMNS:
        return rng.choice([None, 0, 1, (old or 0) + rng.randint(1, 10**6)])
    if column == "at":
        return old + timedelta(microseconds=rng.choice([1, -1]) * rng.randint(1, 10**12))
    if column in ("prev_hash", "hash"):
        return "".join(rng.choice("0123456789abcdef") for _ in range(64))
    if column == "changes":
        return rng.choice(['{}', '{"status":[null,"available"]}', '{"location":[null,"Tank 1 / A1"]}',
                           (old or "{}").replace("available", "discarded").replace("1", "2") + " "])
    alphabet = string.ascii_letters + string.digits + " -_/.'\"<>é漢\u200b"
    value = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40)))
    return rng.choice([value, (old or "") + " ", (old or "")[:-1] if old else "x", None])


@pytest.mark.sqlite_only  # PostgreSQL refuses the edit itself (below)
def test_any_hand_edit_of_any_event_is_found_and_named(make, runner):
    _history(make)
    rng = random.Random(20240611)
    total = db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()
    assert total >= 15 and custody.verify().ok
    detected = 0
    for trial in range(TRIALS):
        seq, column = rng.randint(1, total), rng.choice(COLUMNS)
        old = db.session.execute(select(getattr(CustodyEvent, column)).where(CustodyEvent.seq == seq)).scalar_one()
        new = _new_value(rng, column, old)
        if new == old or (column == "at" and isinstance(new, datetime) and new == old):
            new = _new_value(rng, column, old) if column != "at" else old + timedelta(seconds=1)
            if new == old:
                continue
        db.session.execute(text(f"UPDATE custody_event SET {column} = :v WHERE seq = :s"),
                           {"v": new.isoformat(sep=" ") if isinstance(new, datetime) else new, "s": seq})
        idle()
        result = runner.invoke(args=["audit", "verify"])
        assert result.exit_code == 1, (trial, seq, column, old, new, result.output)
        assert f"event {seq} " in result.output, (trial, seq, column, result.output)
        found = custody.verify()
        assert found.first_bad_event["seq"] == seq and found.events_checked == seq - 1
        detected += 1
        db.session.execute(text(f"UPDATE custody_event SET {column} = :v WHERE seq = :s"),
                           {"v": old.isoformat(sep=" ") if isinstance(old, datetime) else old, "s": seq})
        idle()
        assert custody.verify().ok, (trial, seq, column)  # put back: intact again
    assert detected >= TRIALS * 0.9
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


@pytest.mark.postgres
def test_postgres_refuses_every_random_edit_of_the_log(make):
    _history(make)
    rng = random.Random(7)
    before = db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()
    head = db.session.execute(select(CustodyEvent.hash).order_by(CustodyEvent.seq.desc()).limit(1)).scalar_one()
    for _ in range(40):
        seq, column = rng.randint(1, before), rng.choice(COLUMNS + ["seq"])
        statement = rng.choice([
            (f"UPDATE custody_event SET {column} = {column} WHERE seq = :s", {"s": seq}),
            ("UPDATE custody_event SET reason = :v WHERE seq >= :s", {"v": "rewritten", "s": seq}),
            ("DELETE FROM custody_event WHERE seq = :s", {"s": seq}),
            ("DELETE FROM custody_event WHERE seq > :s", {"s": seq - 1}),  # at least one row
            ("TRUNCATE custody_event", {}),
        ])
        with pytest.raises(Exception, match="append-only"):
            db.session.execute(text(statement[0]), statement[1])
        db.session.rollback()
    assert db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one() == before
    assert db.session.execute(select(CustodyEvent.hash).order_by(CustodyEvent.seq.desc()).limit(1)).scalar_one() == head
    assert custody.verify().ok
