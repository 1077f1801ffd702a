"""Rack-scan reconciliation against the example scanner files, and its corrections."""
import io

import pytest
from sqlalchemy import select

from biobank.core.errors import Conflict, InvalidInput, NotPermitted
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.reports import reconcile, service
from biobank.samples.service import get_sample
from biobank.storage.positions import label, parse

from .conftest import DATA, scan_lines


def _load_with_discrepancies(register, box, other, lines):
    """Register the file's tubes at their positions, except:
    - the 5th tube is not registered at all        -> unexpected (unknown)
    - the 6th tube is registered in the other box  -> unexpected (elsewhere, correctable)
    - the 7th tube is registered at the first NO TUBE position -> misplaced
    - an extra tube is registered where the unknown tube was scanned -> missing
    - the NO READ position (if any) holds a registered tube -> no_read with that barcode
    """
    tubes = [(pos, code) for pos, code in lines if code and code not in ("NO READ", "NO TUBE")]
    empty = [pos for pos, code in lines if not code or code == "NO TUBE"]
    unreadable = [pos for pos, code in lines if code == "NO READ"]
    unknown, elsewhere, misplaced = tubes[4], tubes[5], tubes[6]
    entries = [(code, box, pos) for pos, code in tubes if (pos, code) not in (unknown, elsewhere, misplaced)]
    entries.append((elsewhere[1], other, "A1"))
    entries.append((misplaced[1], box, empty[0]))
    entries.append(("EXTRA-0001", box, unknown[0]))
    for i, pos in enumerate(unreadable):
        entries.append((f"UNREAD-{i:04d}", box, pos))
    register(entries)
    return unknown, elsewhere, misplaced, empty, unreadable


def _norm(position):
    return label(*parse(position))


@pytest.mark.parametrize("name", ["rack-2col.csv", "rack-3col-header.csv"])
def test_example_scanner_files_reconcile_into_every_category(make, rack, register, name):
    tank, box, other = rack
    lines = scan_lines(name)
    unknown, elsewhere, misplaced, empty, unreadable = _load_with_discrepancies(register, box, other, lines)
    result = reconcile.reconcile(make.actor("manager"), box.id, (DATA / name).read_bytes())

    tubes = [code for _, code in lines if code and code not in ("NO READ", "NO TUBE")]
    assert len(result["matched"]) == len(tubes) - 3
    assert {"position": _norm(lines[0][0]), "barcode": lines[0][1]} in result["matched"]
    assert [(u["barcode"], u["known"], u["correctable"]) for u in result["unexpected"]] == [
        (unknown[1], False, False), (elsewhere[1], True, True)]
    assert result["unexpected"][1]["system_location"] == f"{other.path} / A1"
    assert result["unexpected"][0]["position"] == _norm(unknown[0])
    assert [(m["barcode"], m["position"], m["expected_position"]) for m in result["misplaced"]] == [
        (misplaced[1], _norm(misplaced[0]), _norm(empty[0]))]
    assert [m["barcode"] for m in result["missing"]] == ["EXTRA-0001"]
    assert [(n["position"], n["expected_barcode"]) for n in result["no_read"]] == [
        (_norm(p), f"UNREAD-{i:04d}") for i, p in enumerate(unreadable)]
    assert result["corrections"] == [{"barcode": misplaced[1], "position": _norm(misplaced[0])},
                                     {"barcode": elsewhere[1], "position": _norm(elsewhere[0])}]


def test_accepted_corrections_are_audited_moves_and_the_box_then_matches(make, rack, register):
    tank, box, other = rack
    lines = scan_lines("rack-2col.csv")
    unknown, elsewhere, misplaced, empty, _ = _load_with_discrepancies(register, box, other, lines)
    manager = make.actor("manager")
    data = (DATA / "rack-2col.csv").read_bytes()
    before = db.session.execute(select(CustodyEvent.seq).order_by(CustodyEvent.seq.desc()).limit(1)).scalar()
    outcome = service.apply_reconciliation(manager, box.id, reconcile.reconcile(manager, box.id, data)["corrections"])
    db.session.commit()
    assert sorted(m["barcode"] for m in outcome["moved"]) == sorted([misplaced[1], elsewhere[1]])
    events = db.session.execute(select(CustodyEvent).where(CustodyEvent.seq > before)).scalars().all()
    assert [(e.action, e.reason, e.actor) for e in events] == [
        ("sample.moved", "inventory reconciliation", manager.username)] * 2
    assert get_sample(elsewhere[1]).location_path == f"{box.path} / {elsewhere[0]}"
    again = reconcile.reconcile(manager, box.id, data)
    assert again["misplaced"] == [] and [u["barcode"] for u in again["unexpected"]] == [unknown[1]]
    assert again["corrections"] == []
    assert db.session.get(type(other), other.id).used == 0
    assert custody.verify().ok


def test_a_swap_in_a_full_box_is_resolved_through_a_free_position(make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=1, cols=2)
    box, spare = make.boxes_of(tank)
    make.sample("SW-A", box=box, position="A1")
    make.sample("SW-B", box=box, position="A2")
    manager = make.actor("manager")
    scan = reconcile.reconcile(manager, box.id, b"A1,SW-B\nA2,SW-A\n")
    assert {m["barcode"] for m in scan["misplaced"]} == {"SW-A", "SW-B"}
    outcome = service.apply_reconciliation(manager, box.id, scan["corrections"])
    db.session.commit()
    assert get_sample("SW-A").position == "A2" and get_sample("SW-B").position == "A1"
    assert len(outcome["moved"]) == 3  # one tube parked in the spare box, then both placed
    assert reconcile.reconcile(manager, box.id, b"A1,SW-B\nA2,SW-A\n")["matched"] != []
    assert spare.id and db.session.get(type(box), spare.id).used == 0


def test_corrections_blocked_by_an_unscanned_tube_change_nothing(make):
    box = make.box(rows=2, cols=2)
    make.sample("BL-A", box=box, position="A1")
    make.sample("BL-B", box=box, position="A2")
    manager = make.actor("manager")
    with pytest.raises(Conflict) as error:
        service.apply_reconciliation(manager, box.id, [{"barcode": "BL-B", "position": "A1"}])
    db.session.rollback()
    assert "BL-A" in error.value.message
    assert get_sample("BL-B").position == "A2"


@pytest.mark.parametrize("content, bad_lines", [
    (b"A1,GOOD-001\nA1,GOOD-002\n", [2]),
    (b"A1,GOOD-001\nZ1,GOOD-002\nA2,bad code!\nA3\n", [2, 3, 4]),
    (b"RACK1,A1,GOOD-001\nA2,GOOD-002\n", [2]),
    (b"A1,GOOD-001\nA2,GOOD-001\n", [2]),
])
def test_malformed_scanner_files_name_their_bad_lines(make, content, bad_lines):
    box = make.box(rows=8, cols=12)
    with pytest.raises(InvalidInput) as error:
        reconcile.reconcile(make.actor("manager"), box.id, content)
    assert [d["line"] for d in error.value.details] == bad_lines
    assert all(f"line {n}" in error.value.message for n in bad_lines)


def test_parser_accepts_padded_positions_markers_and_crlf():
    scan = reconcile.parse_scan("Rack,Position,Barcode\r\nR1,A01,T-001\r\nR1,B02,no read\r\nR1,C03,\r\n", 8, 12)
    assert scan.header and scan.racks == ["R1"]
    assert [(l.position, l.barcode, l.marker) for l in scan.lines] == [
        ("A1", "T-001", None), ("B2", None, "no_read"), ("C3", None, "no_tube")]


# -- over HTTP ------------------------------------------------------------------
def test_reconcile_api_upload_apply_and_roles(make, rack, register, api):
    tank, box, other = rack
    register([("API-001", box, "A1"), ("API-002", box, "A2"), ("API-003", other, "A1")])
    upload = lambda: {"file": (io.BytesIO(b"A1,API-002\nA2,API-001\nA3,API-003\n"), "scan.csv")}
    response = api("technician").post(f"/containers/{box.id}/reconcile", data=upload())
    assert response.status_code == 200, response.json
    body = response.json
    assert {m["barcode"] for m in body["misplaced"]} == {"API-001", "API-002"}
    assert [u["barcode"] for u in body["unexpected"]] == ["API-003"]
    assert set(body) >= {"matched", "missing", "unexpected", "misplaced", "no_read"}

    assert api("researcher").post(f"/containers/{box.id}/reconcile", data=upload()).status_code == 403
    refused = api("technician").post(f"/containers/{box.id}/reconcile/apply", json={"corrections": body["corrections"]})
    assert refused.status_code == 403 and refused.json["code"] == "not_permitted"
    applied = api("manager").post(f"/containers/{box.id}/reconcile/apply", json={"corrections": body["corrections"]})
    assert applied.status_code == 200, applied.json
    assert len(applied.json["moved"]) >= 3
    again = api("manager").post(f"/containers/{box.id}/reconcile", data=upload()).json
    assert len(again["matched"]) == 3 and again["corrections"] == []


def test_reconcile_api_refuses_bad_uploads(app, make, api):
    box = make.box(rows=8, cols=12)
    client = api("manager")
    bad = client.post(f"/containers/{box.id}/reconcile", data={"file": (io.BytesIO(b"A1,OK-001\nQ99,X-1\n"), "s.csv")})
    assert bad.status_code == 422 and bad.json["code"] == "invalid_scan_file"
    assert "line 2" in bad.json["message"]
    missing = client.post(f"/containers/{box.id}/reconcile", data={})
    assert missing.status_code == 422
    app.config["MAX_CONTENT_LENGTH"] = 1024
    big = client.post(f"/containers/{box.id}/reconcile", data={"file": (io.BytesIO(b"A1,OK-001\n" * 500), "s.csv")})
    assert big.status_code == 413 and big.json["code"] == "too_large"
    rack_ = make.tank(racks=1, boxes_per_rack=1)
    not_box = client.post(f"/containers/{rack_.id}/reconcile", data={"file": (io.BytesIO(b"A1,OK-001\n"), "s.csv")})
    assert not_box.status_code == 422 and not_box.json["code"] == "not_a_box"


def test_only_managers_apply_corrections_in_the_service(make):
    box = make.box()
    make.sample("RL-1", box=box, position="A1")
    with pytest.raises(NotPermitted):
        service.apply_reconciliation(make.actor("technician"), box.id, [{"barcode": "RL-1", "position": "B1"}])
