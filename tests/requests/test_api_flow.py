"""The whole request flow through the API: catalogue, request, approval, picking, shipping."""
import csv
import io
import json

from sqlalchemy import select

from biobank.custody.models import CustodyEvent
from biobank.custody.service import verify
from biobank.extensions import db


def _events(request_id):
    return db.session.execute(select(CustodyEvent).where(CustodyEvent.request_id == request_id)
                              .order_by(CustodyEvent.seq)).scalars().all()


def test_request_from_catalogue_to_completion(api, stock, request_body):
    researcher, manager, technician = api("researcher"), api("manager"), api("technician")

    found = researcher.get("/catalogue?diagnosis=C50&sample_type=plasma")
    assert found.status_code == 200, found.json
    # researchers see opaque catalogue ids, never the tube barcodes (staff see both)
    assert {item["barcode"] for item in found.json["items"]} == {None}
    ids = {item["barcode"]: item["catalogue_id"] for item in manager.get("/catalogue?per_page=100").json["items"]}
    assert {ids[b] for b in ("S-A-1", "S-B-1", "S-B-2", "S-W-1")} == {i["catalogue_id"] for i in found.json["items"]}
    assert all(i.startswith("CAT-") and i not in ids for i in ids.values())
    wanted = ["S-B-1", "S-A-1", "S-B-2", "S-A-4", "S-A-2"]

    created = researcher.post("/requests", json=request_body([ids[b] for b in wanted]))
    assert created.status_code == 201, created.json
    request_id = created.json["id"]
    assert created.json["status"] == "draft"
    assert [i["catalogue_id"] for i in created.json["items"]] == [ids[b] for b in wanted]
    assert {i["barcode"] for i in created.json["items"]} == {None}
    assert [i["barcode"] for i in manager.get(f"/requests/{request_id}").json["items"]] == wanted

    assert researcher.post(f"/requests/{request_id}/submit").json["status"] == "submitted"
    approved = manager.post(f"/requests/{request_id}/approve", json={})
    assert approved.status_code == 200, approved.json
    assert approved.json["status"] == "approved"
    assert {i["sample_status"] for i in approved.json["items"]} == {"reserved"}
    # Reserved samples leave the catalogue.
    assert researcher.get("/catalogue?diagnosis=C50").json["total"] == 1  # only S-W-1 ... until withdrawn

    picklist = technician.get(f"/requests/{request_id}/picklist")
    assert picklist.status_code == 200, picklist.json
    order = [item["barcode"] for item in picklist.json["items"]]
    # Tank 02 (rack 1 box 1: A3 before B2; rack 1 box 2), then Tank 10 (box 1, then box 2).
    assert order == ["S-A-2", "S-A-1", "S-A-4", "S-B-2", "S-B-1"]
    assert picklist.json["tank_openings"] == 2
    assert picklist.json["box_removals"] == 4
    first = picklist.json["items"][0]
    assert first["location"]["path"].endswith("Tank 02 / Rack 1 / Box 1 / A3")
    assert first["location"]["position"] == "A3" and first["location"]["container_id"]
    assert first["picked"] is False

    for number, barcode in enumerate(order, 1):
        picked = technician.post(f"/requests/{request_id}/pick", json={"barcode": barcode})
        assert picked.status_code == 200, picked.json
        assert picked.json["status"] == "picking"
        assert picked.json["picked_count"] == number
    assert picked.json["ready_to_ship"] is True
    sample = technician.get("/samples/S-A-1").json
    assert sample["status"] == "checked_out" and sample["location"] is None
    listed = technician.get(f"/requests/{request_id}/picklist").json
    assert all(i["picked"] for i in listed["items"])
    assert [i["barcode"] for i in listed["items"]] == order  # the list stays put while picking

    shipped = technician.post(f"/requests/{request_id}/ship",
                              json={"recipient": "Dr Ada, Lab 4", "courier": "DHL", "tracking": "JD0001"})
    assert shipped.status_code == 200, shipped.json
    assert shipped.json["status"] == "shipped" and shipped.json["shipped_at"]
    assert technician.get("/samples/S-B-2").json["status"] == "shipped"

    manifest = researcher.get(f"/requests/{request_id}/manifest")
    assert manifest.status_code == 200
    assert manifest.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(manifest.get_data(as_text=True))))
    assert sorted(r["barcode"] for r in rows) == sorted(wanted)
    assert {r["tracking"] for r in rows} == {"JD0001"}
    assert "donor" not in rows[0] and "secret note" not in manifest.get_data(as_text=True)

    completed = researcher.post(f"/requests/{request_id}/complete")
    assert completed.status_code == 200 and completed.json["status"] == "completed"

    # Custody: one event per request change, one per sample change, each tied to the request.
    events = _events(request_id)
    request_actions = [e.action for e in events if e.subject_type == "request"]
    assert request_actions == ["request.created", "request.submitted", "request.approved", "request.picking",
                               "request.shipped", "request.completed"]
    per_sample = {}
    for e in events:
        if e.subject_type == "sample":
            per_sample.setdefault(e.sample_barcode, []).append(e.action)
    assert per_sample == {b: ["sample.reserved", "sample.checked_out", "sample.shipped"] for b in wanted}
    approved_event = next(e for e in events if e.action == "request.approved")
    assert json.loads(approved_event.changes)["status"] == ["submitted", "approved"]
    assert verify().ok


def test_request_list_and_detail_are_own_for_researchers(api, stock, request_body, make):
    alice, bob, manager, technician = api("researcher"), make.api_client(None), api("manager"), api("technician")
    bob_user = make.user("researcher")
    from biobank.auth.service import issue_token
    token, _ = issue_token(bob_user, 1)
    db.session.commit()
    bob.headers = {"Authorization": f"Bearer {token}"}

    mine = alice.post("/requests", json=request_body(["S-A-1"])).json["id"]
    theirs = bob.post("/requests", json=request_body(["S-A-2"])).json["id"]
    alice.post(f"/requests/{mine}/submit")

    listed = alice.get("/requests").json
    assert [r["id"] for r in listed["items"]] == [mine] and listed["total"] == 1
    assert alice.get(f"/requests/{theirs}").status_code == 404
    assert alice.post(f"/requests/{theirs}/submit").status_code == 404
    assert alice.post(f"/requests/{theirs}/cancel", json={"reason": "x"}).status_code == 404
    assert {r["id"] for r in manager.get("/requests").json["items"]} == {mine, theirs}
    assert [r["id"] for r in technician.get("/requests?status=submitted").json["items"]] == [mine]
    page = manager.get("/requests?per_page=1&page=2").json
    assert page["total"] == 2 and page["pages"] == 2 and len(page["items"]) == 1


def test_catalogue_is_deidentified_with_facets(api, stock):
    for role in ("researcher", "technician"):
        body = api(role).get("/catalogue").json
        assert body["total"] == 7
        for item in body["items"]:
            assert not {"donor", "location", "notes"} & set(item)
        assert "D-S-A-1" not in json.dumps(body) and "secret note" not in json.dumps(body)
    staff_view = api("technician").get("/catalogue?sample_type=plasma&collected_from=2021-01-01&collected_to=2021-12-31")
    assert {i["barcode"] for i in staff_view.json["items"]} == {"S-B-1", "S-A-1", "S-W-1"}
    body = api("researcher").get("/catalogue?sample_type=plasma&collected_from=2021-01-01&collected_to=2021-12-31").json
    # researchers: no barcode, the month of collection only, the same opaque ids as staff see
    assert {i["barcode"] for i in body["items"]} == {None}
    assert {i["collected_at"] for i in body["items"]} == {None}
    assert {i["collected_month"] for i in body["items"]} == {"2021-03", "2021-07"}
    assert {i["catalogue_id"] for i in body["items"]} == {i["catalogue_id"] for i in staff_view.json["items"]}
    assert api("researcher").get("/catalogue?q=S-A-1").json["total"] == 0  # no search by barcode either
    facets = {name: {f["value"]: f["count"] for f in values} for name, values in body["facets"].items()}
    assert facets["diagnosis"] == {"C50": 3}
    # A facet counts under every other filter but its own, so other choices stay visible.
    assert facets["collection_year"] == {2021: 3, 2022: 1, 2020: 1}
    body = api("researcher").get("/catalogue?sample_type=plasma").json
    facets = {name: {f["value"]: f["count"] for f in values} for name, values in body["facets"].items()}
    assert body["total"] == 5
    assert facets["sample_type"] == {"plasma": 5, "serum": 1, "dna": 1}
    assert facets["anatomical_site"] == {"C50": 4, "C61": 1}
    assert api("researcher").get("/catalogue?min_volume=1.5").json["total"] == 2
    assert api("technician").get("/catalogue?anatomical_site=C61").json["items"][0]["barcode"] == "S-A-4"
    bad = api("researcher").get("/catalogue?sample_type=blood")
    assert bad.status_code == 422 and bad.json["code"] == "validation_error"


def test_reject_and_cancel_release_reservations(api, stock, request_body):
    researcher, manager, technician = api("researcher"), api("manager"), api("technician")
    first = researcher.post("/requests", json=request_body(["S-A-1", "S-A-2"])).json["id"]
    researcher.post(f"/requests/{first}/submit")
    no_reason = manager.post(f"/requests/{first}/reject", json={})
    assert no_reason.status_code == 422
    rejected = manager.post(f"/requests/{first}/reject", json={"reason": "No ethics approval on file"})
    assert rejected.json["status"] == "rejected" and rejected.json["decision_reason"] == "No ethics approval on file"
    assert manager.post(f"/requests/{first}/cancel", json={"reason": "late"}).status_code == 409

    second = researcher.post("/requests", json=request_body(["S-A-1", "S-A-2"])).json["id"]
    researcher.post(f"/requests/{second}/submit")
    manager.post(f"/requests/{second}/approve", json={})
    cancelled = researcher.post(f"/requests/{second}/cancel", json={"reason": "Study postponed"})
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    assert {technician.get(f"/samples/{b}").json["status"] for b in ("S-A-1", "S-A-2")} == {"available"}
    actions = [e.action for e in _events(second) if e.subject_type == "sample"]
    assert actions.count("sample.released") == 2


def test_cancel_during_picking_returns_picked_tubes(api, stock, request_body):
    researcher, manager, technician = api("researcher"), api("manager"), api("technician")
    request_id = researcher.post("/requests", json=request_body(["S-A-1", "S-B-2"])).json["id"]
    researcher.post(f"/requests/{request_id}/submit")
    manager.post(f"/requests/{request_id}/approve", json={})
    before = technician.get("/samples/S-A-1").json["location"]
    technician.post(f"/requests/{request_id}/pick", json={"barcode": "S-A-1"})

    refused = researcher.post(f"/requests/{request_id}/cancel", json={"reason": "changed my mind"})
    assert refused.status_code == 409 and refused.json["code"] == "picking_started"
    assert technician.post(f"/requests/{request_id}/cancel", json={"reason": "x"}).status_code == 403

    cancelled = manager.post(f"/requests/{request_id}/cancel", json={"reason": "Study stopped", "thawed": False})
    assert cancelled.status_code == 200, cancelled.json
    back = technician.get("/samples/S-A-1").json
    assert back["status"] == "available" and back["location"] == before and back["freeze_thaw_count"] == 0
    assert technician.get("/samples/S-B-2").json["status"] == "available"


def test_ship_needs_every_item_picked(api, stock, request_body):
    researcher, manager, technician = api("researcher"), api("manager"), api("technician")
    request_id = researcher.post("/requests", json=request_body(["S-A-1", "S-B-2"])).json["id"]
    researcher.post(f"/requests/{request_id}/submit")
    early = technician.post(f"/requests/{request_id}/pick", json={"barcode": "S-A-1"})
    assert early.status_code == 409 and early.json["code"] == "not_pickable"
    manager.post(f"/requests/{request_id}/approve", json={})
    technician.post(f"/requests/{request_id}/pick", json={"barcode": "S-A-1"})
    body = {"recipient": "Dr Ada", "courier": "DHL", "tracking": "1"}
    refused = technician.post(f"/requests/{request_id}/ship", json=body)
    assert refused.status_code == 409 and refused.json["code"] == "not_all_picked"
    assert "S-B-2" in refused.json["message"]
    assert technician.post(f"/requests/{request_id}/ship", json={"courier": "DHL"}).status_code == 422
