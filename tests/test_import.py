"""Bulk import: all rows checked first; one bad row refuses the whole file."""
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from biobank.core.errors import DuplicateBarcode, ImportRejected, InvalidInput
from biobank.custody.models import CustodyEvent
from biobank.custody import service as custody
from biobank.extensions import db
from biobank.samples.importer import import_samples
from biobank.samples import service as sample_service
from biobank.samples.models import Sample

from .test_container_moves import counters_exact

DATA = Path(__file__).resolve().parent / "data" / "imports"
HEADER = "barcode,sample_type,donor,collected_at,volume,unit,anatomical_site,diagnosis,parent_barcode"


def _counts():
    return (db.session.execute(select(func.count()).select_from(Sample)).scalar_one(),
            db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one())


@pytest.fixture
def room(make):
    return make.tank(racks=2, boxes_per_rack=3, rows=9, cols=9)  # 486 positions


def test_the_bad_rows_file_is_refused_whole_naming_all_four_lines(make, room):
    actor = make.actor()
    before = _counts()
    with pytest.raises(ImportRejected) as caught:
        import_samples(actor, (DATA / "samples-bad-rows.csv").read_text())
    db.session.rollback()
    lines = [entry["line"] for entry in caught.value.details]
    assert lines == [12, 22, 32, 42]
    reasons = {entry["line"]: " ".join(entry["errors"]) for entry in caught.value.details}
    assert "not a valid barcode" in reasons[12]
    assert "not a sample type" in reasons[22]
    assert "not a date" in reasons[32]
    assert "also on line" in reasons[42]
    assert all(f"line {n}" in caught.value.message for n in (12, 22, 32, 42))
    assert _counts() == before


def test_the_200_rows_file_imports_with_one_event_each(make, room):
    actor = make.actor()
    samples_before, events_before = _counts()
    barcodes = import_samples(actor, (DATA / "samples-200.csv").read_text())
    db.session.commit()
    assert len(barcodes) == 200
    assert _counts() == (samples_before + 200, events_before + 200)
    db.session.expire_all()
    assert room.used == 200
    assert custody.verify().ok
    first = db.session.execute(select(Sample).where(Sample.barcode == "UZB-000000")).scalar_one()
    assert first.sample_type == "serum" and first.location is not None


def test_a_file_larger_than_one_chunk_is_stored_and_chained_in_order(make, room, monkeypatch):
    from biobank.samples import service
    monkeypatch.setattr(service, "_CHUNK", 7)  # 40 rows: six chunks, a parent and child across a boundary
    lines = [HEADER] + [f"CH-{i:03d},plasma,D{i % 5},2025-03-01T09:30:00Z,1.0,mL,,," for i in range(38)]
    lines += ["CH-KID-1,plasma,D1,2025-03-01T09:30:00Z,0.5,mL,,,CH-006", "CH-KID-2,plasma,D1,,0.5,mL,,,CH-KID-1"]
    actor = make.actor()
    samples_before, events_before = _counts()
    barcodes = import_samples(actor, "\n".join(lines) + "\n")
    db.session.commit()
    assert len(barcodes) == 40 and _counts() == (samples_before + 40, events_before + 40)
    registered = db.session.execute(select(CustodyEvent.sample_barcode).where(
        CustodyEvent.action == "sample.registered").order_by(CustodyEvent.seq)).scalars().all()
    assert registered[-40:] == barcodes  # one event per row, in the file's order
    kid = db.session.execute(select(Sample).where(Sample.barcode == "CH-KID-2")).scalar_one()
    assert kid.parent.barcode == "CH-KID-1" and kid.parent.parent.barcode == "CH-006"
    assert custody.verify().ok


def test_explicit_positions_parents_in_file_and_db_conflicts(make, room):
    box = make.boxes_of(room)[0]
    make.sample(barcode="P-EXIST", box=box, position="A1", donor="D1")
    text = "\n".join([
        HEADER + ",container_id,position",
        f"C-1,plasma,D1,2025-01-01,1,mL,,,P-EXIST,{box.id},A02",
        f"C-2,plasma,D1,2025-01-01,1,mL,,,C-1,{box.id},A3",
        "C-3,plasma,D1,2025-01-01,1,mL,,,,,",
    ])
    import_samples(make.actor(), text)
    db.session.commit()
    c2 = db.session.execute(select(Sample).where(Sample.barcode == "C-2")).scalar_one()
    assert c2.parent_barcode == "C-1" and c2.parent.parent_barcode == "P-EXIST" and c2.position == "A3"
    clash = "\n".join([
        HEADER + ",container_id,position",
        f"D-1,plasma,D1,2025-01-01,1,mL,,,,{box.id},A1",          # occupied
        "D-2,plasma,D1,2025-01-01,1,mL,,,MISSING,,",               # unknown parent
        f"D-3,plasma,D1,2025-01-01,1,mL,,,,{box.id},Z9",            # outside the box
        "C-3,plasma,D1,2025-01-01,1,mL,,,,,",                      # already registered
        f"D-5,plasma,D1,2025-01-01,1,mL,,,,{box.id},B1",
        f"D-6,plasma,D1,2025-01-01,1,mL,,,,{box.id},B01",           # same position as line 6
    ])
    actor = make.actor()
    before = _counts()
    with pytest.raises(ImportRejected) as caught:
        import_samples(actor, clash)
    db.session.rollback()
    assert [e["line"] for e in caught.value.details] == [2, 3, 4, 5, 7]
    assert _counts() == before


@pytest.mark.parametrize("text,code", [
    ("barcode,sample_type\nX-1,plasma", "invalid_header"),
    (HEADER + ",colour\n", "invalid_header"),
    (HEADER + "\n\n", "empty_file"),
])
def test_malformed_files(make, room, text, code):
    with pytest.raises(InvalidInput) as caught:
        import_samples(make.actor(), text)
    assert caught.value.code == code


def test_cli_import_reports_bad_lines_and_stores_nothing(make, room, runner):
    before = _counts()
    result = runner.invoke(args=["import", "samples", str(DATA / "samples-bad-rows.csv")])
    assert result.exit_code == 1
    for line in (12, 22, 32, 42):
        assert f"line {line}:" in result.output
    assert _counts() == before
    result = runner.invoke(args=["import", "samples", str(DATA / "samples-200.csv"), "--strategy", "spread"])
    assert result.exit_code == 0, result.output
    assert "Imported 200 samples" in result.output
    assert _counts()[0] == before[0] + 200


def test_api_import(make, room, api):
    tech = api("technician")
    bad = tech.post("/samples/import", data={"file": ((DATA / "samples-bad-rows.csv").open("rb"), "bad.csv")})
    assert bad.status_code == 422 and bad.json["code"] == "import_rejected"
    assert [e["line"] for e in bad.json["details"]] == [12, 22, 32, 42]
    ok = tech.post("/samples/import", data={"file": ((DATA / "samples-200.csv").open("rb"), "ok.csv")})
    assert ok.status_code == 201 and ok.json["imported"] == 200
    denied = api("researcher").post("/samples/import", data=b"x", content_type="text/csv")
    assert denied.status_code == 403, denied.json


def test_compact_import_fills_the_gaps_of_several_partly_filled_boxes(make):
    tank = make.tank(racks=1, boxes_per_rack=3, rows=2, cols=2)
    first, second, third = make.boxes_of(tank)
    for box, position in ((first, "A1"), (first, "B2"), (second, "A2"), (third, "B1")):
        make.sample(box=box, position=position)
    lines = [HEADER] + [f"GAP-{i},plasma,D1,2025-03-01T09:30:00Z,1.0,mL,,," for i in range(8)]
    import_samples(make.actor(), "\n".join(lines))
    db.session.commit()
    placed = db.session.execute(select(Sample.barcode, Sample.container_id, Sample.pos_row, Sample.pos_col)
                                .where(Sample.barcode.like("GAP-%")).order_by(Sample.barcode)).all()
    assert [(box_id, row, col) for _, box_id, row, col in placed] == [
        (first.id, 1, 2), (first.id, 2, 1),
        (second.id, 1, 1), (second.id, 2, 1), (second.id, 2, 2),
        (third.id, 1, 1), (third.id, 1, 2), (third.id, 2, 2)]
    lines = [HEADER, "GAP-FULL,plasma,D1,2025-03-01T09:30:00Z,1.0,mL,,,"]
    with pytest.raises(ImportRejected, match="No box has room"):
        import_samples(make.actor(), "\n".join(lines))


def test_an_imported_aliquot_of_a_withdrawn_donor_is_blocked_at_once(make, room):
    from biobank.samples import service
    make.sample(donor="D-GONE")
    service.withdraw_consent(make.actor("manager"), "D-GONE", reason="form 12")
    db.session.commit()
    lines = [HEADER, "W-1,plasma,D-GONE,2025-03-01T09:30:00Z,1.0,mL,,,", "W-2,plasma,D-STAYS,,1.0,mL,,,"]
    import_samples(make.actor(), "\n".join(lines))
    db.session.commit()
    blocked = dict(db.session.execute(select(Sample.barcode, Sample.consent_withdrawn)
                                      .where(Sample.barcode.in_(["W-1", "W-2"]))).all())
    assert blocked == {"W-1": True, "W-2": False}


def test_the_consent_check_takes_more_donors_than_a_statement_has_parameters(make, room):
    # A 200,000-row file can name more than 65,535 donors, PostgreSQL's limit for one statement.
    from biobank.samples import service
    make.sample(donor="D-GONE")
    service.withdraw_consent(make.actor("manager"), "D-GONE", reason="form 12")
    db.session.commit()
    donors = {f"D{i:06d}" for i in range(70_000)} | {"D-GONE"}
    assert service._withdrawn_donors(donors) == {"D-GONE"}


def test_a_child_row_has_its_parents_donor_and_a_parent_that_is_still_here(make, room):
    box = make.boxes_of(room)[0]
    make.sample(barcode="LP-1", box=box, position="A1", donor="DL1")
    make.sample(barcode="LP-GONE", box=box, position="A2", donor="DL1")
    from biobank.samples import service
    service.discard_sample(make.actor(), "LP-GONE", reason="cracked")
    db.session.commit()
    text = "\n".join([
        HEADER,
        "LC-1,plasma,,2025-01-01,0.5,mL,,,LP-1",          # no donor: the parent's
        "LC-2,plasma,DL1,2025-01-01,0.5,mL,,,LC-1",       # parent on an earlier line, same donor
        "LC-3,plasma,OTHER,2025-01-01,0.5,mL,,,LP-1",     # another donor
        "LC-4,plasma,DL1,2025-01-01,0.5,mL,,,LP-GONE",    # discarded parent
    ])
    with pytest.raises(ImportRejected) as caught:
        import_samples(make.actor(), text)
    db.session.rollback()
    assert [(e["line"], e["errors"][0].split(";")[0]) for e in caught.value.details] == [
        (4, "donor OTHER is not the donor DL1 of its parent LP-1"), (5, "parent LP-GONE is discarded")]
    import_samples(make.actor(), "\n".join(text.splitlines()[:3]))
    db.session.commit()
    assert db.session.execute(select(Sample.donor).where(Sample.barcode == "LC-2")).scalar_one() == "DL1"
    assert db.session.execute(select(Sample.donor).where(Sample.barcode == "LC-1")).scalar_one() == "DL1"


@pytest.mark.postgres
def test_a_barcode_another_client_registers_during_the_import_refuses_all_of_it(make, room, monkeypatch):
    """On PostgreSQL the rows are written behind the checking and hashing (core.bulk): when
    another client registers one of the file's barcodes after the check, the write of that
    chunk fails a few chunks later, and the import still ends as one refusal with nothing of
    it stored, no event in the chain and every counter as it was."""
    monkeypatch.setattr(sample_service, "_CHUNK", 5)  # six chunks for thirty rows
    actor = make.actor()
    text = HEADER + "\n" + "".join(f"WB-{i:02d},plasma,D-{i},2026-11-30,1.0,mL,C22.0,C22.0,\n" for i in range(30))
    before = _counts()
    injected = []

    def progress(done):
        if done > 1 and not injected:  # the first chunk is written: the checks are over
            other = Session(db.engine)
            other.add(Sample(barcode="WB-23", sample_type="plasma", created_by="other client"))
            other.commit()
            other.close()
            injected.append(True)

    with pytest.raises(DuplicateBarcode, match="registered by someone else meanwhile"):
        import_samples(actor, text, progress=progress)
    db.session.rollback()
    assert injected
    assert _counts() == (before[0] + 1, before[1])  # the other client's tube, and nothing of the file
    assert db.session.execute(select(func.count()).select_from(Sample).where(Sample.barcode.like("WB-%"))
                              ).scalar_one() == 1
    assert counters_exact() == []
    assert custody.verify().ok
    import_samples(actor, text.replace("WB-23,", "WB-99,"))  # the same file without that barcode goes in whole
    db.session.commit()
    assert _counts() == (before[0] + 31, before[1] + 30)
    assert counters_exact() == []
    assert custody.verify().ok
