"""The HTTP API of record corrections and container moves, on SQLite and PostgreSQL."""
import io

from sqlalchemy import select

from biobank.extensions import db
from biobank.storage.models import Container


def test_patch_corrects_a_field_and_the_history_shows_before_and_after(api, make):
    make.sample("AC-1", box=make.box(), position="A1", diagnosis="C50.9")
    manager = api("manager")
    response = manager.patch("/samples/AC-1", json={"diagnosis": "C50.1", "reason": "pathology review"})
    assert response.status_code == 200, response.json
    assert response.json["diagnosis"] == "C50.1" and response.json["barcode"] == "AC-1"
    [event] = [e for e in manager.get("/samples/AC-1/history").json if e["action"] == "sample.corrected"]
    assert event["changes"] == {"diagnosis": ["C50.9", "C50.1"]} and event["reason"] == "pathology review"


def test_patch_refusals_have_stable_codes(api, make):
    make.sample("AC-2", box=make.box(allowed_types=["plasma"]), position="A1", donor="D-1")
    tech, manager = api("technician"), api("manager")
    cases = [
        (manager, {"diagnosis": "C50.1"}, 422, "reason_required"),
        (manager, {"diagnosis": "C50.1", "reason": "  "}, 422, "reason_required"),
        (tech, {"donor": "D-2", "reason": "r"}, 403, "not_permitted"),
        (manager, {"barcode": "AC-22", "reason": "r"}, 422, "barcode_immutable"),
        (manager, {"donor": "D-1", "reason": "r"}, 422, "no_change"),
        (manager, {"sample_type": "serum", "reason": "r"}, 409, "not_allowed_here"),
        (manager, {"diagnosis": "nonsense", "reason": "r"}, 422, "invalid_input"),
        (manager, {"colour": "red", "reason": "r"}, 422, "validation_error"),
        (api("researcher"), {"notes": "x", "reason": "r"}, 403, "not_permitted"),
    ]
    for client, body, status, code in cases:
        response = client.patch("/samples/AC-2", json=body)
        assert (response.status_code, response.json["code"]) == (status, code), (body, response.json)
    assert api("manager").patch("/samples/NO-SUCH", json={"notes": "x", "reason": "r"}).status_code == 404
    ok = tech.patch("/samples/AC-2", json={"volume": 0.5, "notes": "re-measured", "reason": "scale"})
    assert ok.status_code == 200 and ok.json["volume"] == 0.5


def test_a_corrections_file_dry_run_then_apply(api, make):
    box = make.box()
    make.sample("AC-3", box=box, position="A1", diagnosis="C50.9")
    make.sample("AC-4", box=box, position="A2", notes="old")
    manager = api("manager")
    text = "barcode,diagnosis,notes,reason\nAC-3,C50.1,,pathology review\nAC-4,,new note,typo\n"
    preview = manager.post("/samples/corrections?dry_run=true", data=text, content_type="text/csv")
    assert preview.status_code == 200, preview.json
    assert preview.json["dry_run"] is True and preview.json["applied"] is False
    assert [(r["barcode"], r["changes"]) for r in preview.json["rows"]] == [
        ("AC-3", [{"field": "diagnosis", "before": "C50.9", "after": "C50.1"}]),
        ("AC-4", [{"field": "notes", "before": "old", "after": "new note"}])]
    assert manager.get("/samples/AC-3").json["diagnosis"] == "C50.9"
    done = manager.post("/samples/corrections", data={"file": (io.BytesIO(text.encode()), "fix.csv")},
                        content_type="multipart/form-data")
    assert done.status_code == 200 and done.json["applied"] is True
    assert manager.get("/samples/AC-3").json["diagnosis"] == "C50.1"
    again = manager.post("/samples/corrections", data=text, content_type="text/csv")
    assert again.status_code == 422 and again.json["code"] == "import_rejected"
    assert [d["line"] for d in again.json["details"]] == [2, 3]


def test_a_corrections_file_with_a_bad_header_or_forbidden_column(api, make):
    make.sample("AC-5", box=make.box(), position="A1")
    bad = api("manager").post("/samples/corrections", data="barcode,colour,reason\nAC-5,red,r\n",
                              content_type="text/csv")
    assert bad.status_code == 422 and bad.json["code"] == "invalid_header"
    forbidden = api("technician").post("/samples/corrections", data="barcode,donor,reason\nAC-5,D9,r\n",
                                       content_type="text/csv")
    assert forbidden.status_code == 403
    empty = api("manager").post("/samples/corrections", data="", content_type="text/csv")
    assert empty.status_code == 422 and empty.json["code"] == "no_file"


def test_move_a_box_through_the_api(api, make):
    old_tank = make.tank(racks=1, boxes_per_rack=1, name="API old")
    new_tank = make.tank(racks=2, boxes_per_rack=1, name="API new")
    box = make.boxes_of(old_tank)[0]
    make.sample("AC-M", box=box, position="B2")
    rack = new_tank.children[1]
    tech = api("technician")
    response = tech.post(f"/containers/{box.id}/move", json={"parent_id": rack.id, "reason": "rebalancing"})
    assert response.status_code == 200, response.json
    assert response.json["parent_id"] == rack.id and response.json["path"] == "Main site / API new / Rack 2 / Box 1"
    assert response.json["barcode"] == box.barcode and response.json["used"] == 1
    assert tech.get(f"/containers/{new_tank.id}").json["used"] == 1
    assert tech.get(f"/containers/{old_tank.id}").json["used"] == 0
    sample = tech.get("/samples/AC-M").json
    assert sample["location"]["path"] == "Main site / API new / Rack 2 / Box 1 / B2"
    moved = [e for e in tech.get("/samples/AC-M/history").json if e["action"] == "sample.moved_with_container"]
    assert moved[0]["from_location"] == "Main site / API old / Rack 1 / Box 1 / B2"
    assert moved[0]["to_location"] == "Main site / API new / Rack 2 / Box 1 / B2"
    capacity = {row["id"]: row for row in tech.get("/capacity").json["items"]}
    assert (capacity[new_tank.id]["used"], capacity[new_tank.id]["positions"]) == (1, 27)
    assert (capacity[old_tank.id]["used"], capacity[old_tank.id]["positions"]) == (0, 0)
    assert capacity[rack.id]["used"] == 1


def test_move_refusals(api, make):
    tank = make.tank(racks=2, boxes_per_rack=1, name="API refuse")
    rack_a, rack_b = tank.children
    box = make.boxes_of(rack_a)[0]
    tech = api("technician")
    into_itself = tech.post(f"/containers/{rack_a.id}/move", json={"parent_id": rack_a.id})
    assert into_itself.status_code == 409 and into_itself.json["code"] == "invalid_move"
    into_subtree = tech.post(f"/containers/{rack_a.id}/move", json={"parent_id": box.id})
    assert into_subtree.status_code == 409 and into_subtree.json["code"] == "invalid_move"
    seen_elsewhere = tech.post(f"/containers/{box.id}/move", json={"parent_id": rack_b.id,
                                                                    "from_parent_id": rack_b.id})
    assert seen_elsewhere.status_code == 409 and seen_elsewhere.json["code"] == "moved_meanwhile"
    assert tech.post("/containers/999999/move", json={"parent_id": rack_b.id}).status_code == 404
    assert tech.post(f"/containers/{box.id}/move", json={}).status_code == 422
    assert api("researcher").post(f"/containers/{box.id}/move", json={"parent_id": rack_b.id}).status_code == 403
    db.session.rollback()
    assert db.session.execute(select(Container.parent_id).where(Container.id == box.id)).scalar_one() == rack_a.id
