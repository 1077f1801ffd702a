"""The HTTP API of DESIGN.md: shapes, statuses, error codes, roles."""
import threading

import pytest
from sqlalchemy import func, select

from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples.models import Sample


@pytest.fixture
def box(make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=3, cols=3, name="Tank A")
    return make.boxes_of(tank)[0]


def _register(client, barcode, box, position="A1", **extra):
    return client.post("/samples", json={"barcode": barcode, "sample_type": "plasma", "donor": "D1", "volume": 1.5,
                                         "location": {"container_id": box.id, "position": position}, **extra})


def test_token_and_authentication(api, make):
    make.actor("technician")
    client = api(None)
    assert client.post("/auth/token", json={"username": "nobody", "password": "x"}).status_code == 401
    assert client.get("/samples/X-1").status_code == 401
    assert client.get("/samples/X-1", headers={"Authorization": "Bearer forged"}).status_code == 401
    body = client.get("/samples/X-1").json
    assert body["code"] == "not_authenticated" and body["message"]


def test_container_endpoints(api, box):
    admin = api("admin")
    created = admin.post("/containers", json={"name": "Freezer 1", "kind": "freezer",
                                              "storage_temperature": "-60to-85"})
    assert created.status_code == 201 and created.json["barcode"] and created.json["capacity"] == 0
    layout = admin.post("/containers/layout", json={"parent_id": created.json["id"], "name": "Shelf", "kind": "shelf",
                                                    "racks": 2, "boxes_per_rack": 1, "rows": 8, "cols": 12})
    assert layout.status_code == 201 and layout.json["capacity"] == 192
    parent = admin.get(f"/containers/{created.json['id']}").json
    assert parent["capacity"] == 192 and parent["children"][0]["name"] == "Shelf"
    assert admin.get("/containers/999999").json["code"] == "unknown_container"
    assert api("technician").post("/containers", json={"name": "x", "kind": "tank"}).status_code == 403
    bad = admin.post("/containers/layout", json={"name": "T", "racks": "many"})
    assert bad.status_code == 422 and bad.json["code"] == "validation_error"


def test_register_get_and_the_box_map(api, box):
    tech = api("technician")
    created = _register(tech, "API-1", box, "B02", notes="left lobe")
    assert created.status_code == 201
    sample = tech.get("/samples/API-1").json
    assert sample["location"]["position"] == "B2"
    assert sample["location"]["path"] == "Main site / Tank A / Rack 1 / Box 1 / B2"
    assert sample["status"] == "available" and sample["donor"] == "D1" and sample["volume"] == 1.5
    assert created.json == sample
    grid = tech.get(f"/containers/{box.id}/map").json
    assert len(grid["positions"]) == 9
    cell = next(p for p in grid["positions"] if p["position"] == "B2")
    assert cell["sample"] == {"barcode": "API-1", "sample_type": "plasma", "status": "available",
                              "consent_withdrawn": False}
    assert all(p["sample"] is None for p in grid["positions"] if p["position"] != "B2")
    assert grid["container"]["id"] == box.id and grid["container"]["free"] == 8 and grid["path"] == box.path
    assert api("researcher").get(f"/containers/{box.id}/map").status_code == 403
    assert tech.get("/containers/999999/map").json["code"] == "unknown_container"
    not_box = tech.get(f"/containers/{box.parent_id}/map")
    assert not_box.status_code == 422 and not_box.json["code"] == "not_a_box"


def test_the_scanner_lookup_answers_like_every_other_sample_response(api, box):
    tech = api("technician")
    _register(tech, "LIN-1", box, "A1", volume=3.0, collected_at="2025-03-01T09:30:00Z", diagnosis="C50.9")
    made = tech.post("/samples/LIN-1/aliquot", json={"count": 2, "volume": "1.0"}).json
    assert made["parent"]["children"] == [c["barcode"] for c in made["children"]]
    assert tech.get("/samples/LIN-1").json == made["parent"]
    for child in made["children"]:
        assert child["parent_barcode"] == "LIN-1"
        assert tech.get(f"/samples/{child['barcode']}").json == child
    out = tech.post(f"/samples/{made['children'][0]['barcode']}/checkout", json={"reason": "assay"}).json
    assert out["location"] is None and tech.get(f"/samples/{out['barcode']}").json == out


def test_researchers_get_the_deidentified_subset(api, box):
    _register(api("technician"), "DEID-1", box, notes="donor's name is ...")
    seen = api("researcher").get("/samples/DEID-1").json
    assert "donor" not in seen and "location" not in seen and "notes" not in seen
    assert seen["sample_type"] == "plasma"
    listing = api("researcher").get("/samples").json
    assert listing["total"] == 1 and "donor" not in listing["items"][0]
    csv_text = api("researcher").get("/samples?format=csv").get_data(as_text=True)
    assert "D1" not in csv_text and "DEID-1" in csv_text and "donor" not in csv_text.splitlines()[0]
    assert api("researcher").get("/samples?donor=D1").status_code == 403


def test_errors_have_codes_and_change_nothing(api, box):
    tech = api("technician")
    _register(tech, "ERR-1", box)
    cases = [
        (_register(tech, "ERR-2", box), 409, "slot_occupied"),
        (_register(tech, "ERR-1", box, "A2"), 409, "duplicate_barcode"),
        (_register(tech, "bad barcode!", box, "A3"), 422, "invalid_barcode"),
        (_register(tech, "x" * 10_000, box, "A3"), 422, "invalid_barcode"),
        (_register(tech, "ERR-3", box, "Z9"), 422, "invalid_position"),
        (tech.post("/samples", json={"barcode": "ERR-4", "sample_type": "blood"}), 422, "invalid_sample_type"),
        (tech.get("/samples/NOPE-404"), 404, "unknown_barcode"),
        (tech.post("/samples/ERR-1/return", json={"thawed": False}), 409, "invalid_transition"),
        (tech.post("/samples/ERR-1/move", json={"container_id": box.id}), 422, "validation_error"),
        (tech.post("/samples", data="not json", content_type="text/plain"), 422, "validation_error"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json["code"]) == (status, code), response.json
        assert response.json["message"]
    assert db.session.execute(select(func.count()).select_from(Sample)).scalar_one() == 1


def test_actions_answer_with_the_changed_sample(api, box, make):
    tech = api("technician")
    _register(tech, "ACT-1", box, volume=2)
    moved = tech.post("/samples/ACT-1/move", json={"container_id": box.id, "position": "C3", "reason": "tidy"})
    assert moved.status_code == 200 and moved.json["location"]["position"] == "C3"
    out = tech.post("/samples/ACT-1/checkout", json={"reason": "assay"})
    assert out.status_code == 200 and out.json["status"] == "checked_out" and out.json["location"] is None
    back = tech.post("/samples/ACT-1/return", json={"thawed": True})
    assert back.json["location"]["position"] == "C3" and back.json["freeze_thaw_count"] == 1
    split = tech.post("/samples/ACT-1/aliquot", json={"count": 2, "volume": "0.5", "strategy": "compact"})
    assert split.status_code == 201 and split.json["parent"]["volume"] == 1.0
    assert [c["parent_barcode"] for c in split.json["children"]] == ["ACT-1", "ACT-1"]
    assert tech.post("/samples/ACT-1/discard", json={}).status_code == 422
    gone = tech.post("/samples/ACT-1/discard", json={"reason": "contaminated"})
    assert gone.json["status"] == "discarded"
    history = tech.get("/samples/ACT-1/history").json
    assert [e["action"] for e in history] == ["sample.registered", "sample.moved", "sample.checked_out",
                                              "sample.returned", "sample.aliquoted", "sample.discarded"]
    assert history[1]["reason"] == "tidy" and history[1]["to_location"].endswith("C3")


def test_search_filters_and_pagination(api, box):
    tech = api("technician")
    for i in range(7):
        _register(tech, f"PG-{i}", box, f"{'ABC'[i // 3]}{i % 3 + 1}",
                  sample_type="dna" if i % 2 else "plasma")
    page = tech.get("/samples?per_page=3&page=2").json
    assert page["total"] == 7 and page["pages"] == 3 and [s["barcode"] for s in page["items"]] == ["PG-3", "PG-4", "PG-5"]
    assert tech.get("/samples?sample_type=dna").json["total"] == 3
    assert tech.get(f"/samples?container_id={box.id}&q=PG-6").json["total"] == 1
    assert tech.get("/samples?per_page=100000").status_code == 422
    csv_lines = tech.get("/samples?format=csv&sample_type=plasma").get_data(as_text=True).splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("barcode,")


def test_csv_export_is_safe_against_formula_injection(api, box):
    _register(api("technician"), "CSV-1", box, notes='=HYPERLINK("http://evil","x")')
    text = api("technician").get("/samples?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK" in text


def test_audit_endpoints(api, box):
    _register(api("technician"), "AUD-1", box)
    assert api("researcher").get("/audit/verify").status_code == 403
    verdict = api("technician").get("/audit/verify").json
    assert verdict["ok"] is True and verdict["events_checked"] >= 2 and verdict["first_bad_event"] is None
    events = api("manager").get("/audit?sample=AUD-1").json
    assert events["total"] == 1 and events["items"][0]["action"] == "sample.registered"


def test_consent_withdrawal_endpoint(api, box):
    _register(api("technician"), "CON-1", box)
    assert api("technician").post("/donors/D1/withdraw-consent", json={"reason": "letter"}).status_code == 403
    done = api("manager").post("/donors/D1/withdraw-consent", json={"reason": "letter"})
    assert done.status_code == 200 and done.json["samples_blocked"] == 1
    assert api("manager").post("/donors/NOBODY/withdraw-consent", json={"reason": "x"}).status_code == 404
    assert api("researcher").get("/samples/CON-1").status_code == 404  # no longer in the catalogue


def test_oversized_upload_gets_413(app, api, box):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = api("technician").post("/samples/import", data=b"x" * 4096, content_type="text/csv")
    assert response.status_code == 413 and response.json["code"] == "too_large"


def test_openapi_and_docs_page_without_cdn(api):
    client = api(None)
    spec = client.get("/openapi.json").json
    for path in ("/api/v1/samples/{barcode}/move", "/api/v1/containers/layout", "/api/v1/audit/verify",
                 "/api/v1/auth/token", "/api/v1/donors/{donor}/withdraw-consent"):
        assert path in spec["paths"]
    page = client.get("/docs").get_data(as_text=True)
    assert "swagger-ui" in page and "http://" not in page and "https://" not in page
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_sixteen_technicians_storing_into_one_position(app, api, box, make):
    """Exactly one wins; the others get 409 slot_occupied; the chain stays linear."""
    clients = [api("technician") for _ in range(16)]
    box_id = box.id
    db.session.commit()
    barrier = threading.Barrier(16)
    results = [None] * 16

    def store(i):
        barrier.wait()
        response = clients[i].post("/samples", json={"barcode": f"RACE-{i}", "sample_type": "plasma",
                                                     "location": {"container_id": box_id, "position": "A1"}})
        results[i] = (response.status_code, response.json.get("code"))

    threads = [threading.Thread(target=store, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results).count((201, None)) == 1, results
    assert [r for r in results if r[0] != 201] == [(409, "slot_occupied")] * 15
    db.session.rollback()
    stored = db.session.execute(select(Sample).where(Sample.container_id == box_id)).scalars().all()
    assert len(stored) == 1
    registered = db.session.execute(select(func.count()).select_from(CustodyEvent)
                                    .where(CustodyEvent.action == "sample.registered")).scalar_one()
    assert registered == 1
    assert api("manager").get("/audit/verify").json["ok"] is True
