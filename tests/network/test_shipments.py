"""Shipments between sites: pack, dispatch, receive by scan, close with every discrepancy named."""
import threading

from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage.service import get_container
from tests.labels.helpers import pdf_pages, texts


def _ship(network, sender="tech_reg", **extra):
    body = {"from_site": network.regional.id, "to_site": network.main.id, "condition": "dry_ice",
            "courier": "UzPost", "tracking": "TRK-1", **extra}
    made = network.api(sender).post("/shipments", json=body)
    assert made.status_code == 201, made.json
    return made.json


def test_a_box_travels_with_its_tubes_and_is_received_into_a_rack(network, make):
    box = network.reg_boxes[0]
    for position in ("A1", "B2", "C3"):
        make.sample(f"BX-{position}", box=box, position=position)
    make.sample("LOOSE-1", box=network.reg_boxes[1], position="A1")
    reg, main = network.api("tech_reg"), network.api("tech_main")
    shipment = _ship(network)
    assert shipment["status"] == "draft" and shipment["code"].startswith("SH-")
    packed = reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": box.barcode})
    assert packed.status_code == 200, packed.json
    assert packed.json["counts"]["boxes"] == 1 and packed.json["counts"]["tubes"] == 3
    reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": "LOOSE-1"})
    again = reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": "BX-A1"})
    assert again.status_code == 409 and again.json["code"] == "already_on_shipment"
    # the central technician cannot dispatch the regional centre's shipment
    assert main.post(f"/shipments/{shipment['id']}/dispatch").status_code == 403
    regional_used = get_container(network.regional.container_id).used
    sent = reg.post(f"/shipments/{shipment['id']}/dispatch")
    assert sent.status_code == 200, sent.json
    assert sent.json["status"] == "in_transit"
    assert get_container(network.regional.container_id).used == regional_used - 4
    tube = reg.get("/samples/BX-B2").json
    assert tube["status"] == "in_transit" and tube["location"]["path"].startswith("In transit SH-")
    assert reg.get("/samples/LOOSE-1").json["location"] is None
    # visible at both ends; a tube in transit cannot be moved or checked out by anyone
    assert main.get(f"/shipments/{shipment['id']}").status_code == 200
    assert [s["id"] for s in main.get("/shipments").json["items"]] == [shipment["id"]]
    assert reg.post("/samples/LOOSE-1/checkout", json={"reason": "x"}).status_code in (403, 409)
    history = reg.get("/samples/BX-A1/history").json
    assert [e["action"] for e in (history["items"] if isinstance(history, dict) else history)].count(
        "sample.dispatched") == 1
    # the sender cannot receive; the receiver scans the box, then the rack it goes into
    assert reg.post(f"/shipments/{shipment['id']}/receive", json={"barcode": box.barcode}).status_code == 403
    arrived = main.post(f"/shipments/{shipment['id']}/receive",
                        json={"barcode": box.barcode, "excursion": "logger: -52 °C for 40 min"})
    assert arrived.status_code == 200, arrived.json
    assert arrived.json["outcome"] == "received"
    assert main.get("/samples/BX-A1").json["location"]["path"] == f"Main site / {box.name} / A1"
    rack = network.main_tank.children[0]
    stored = main.post(f"/shipments/{shipment['id']}/receive", json={"barcode": box.barcode, "parent_id": rack.id})
    assert stored.status_code == 200 and stored.json["outcome"] == "stored", stored.json
    assert main.get("/samples/BX-C3").json["location"]["path"] == f"Main site / Main tank / Rack 1 / {box.name} / C3"
    assert main.get("/samples/BX-C3").json["status"] == "available"
    assert get_container(rack.id).used == 3
    events = main.get("/samples/BX-C3/history").json
    events = events["items"] if isinstance(events, dict) else events
    received = [e for e in events if e["action"] == "sample.received"]
    assert len(received) == 1 and "-52 °C" in received[0]["reason"]
    # closing with the loose tube unaccounted for is refused and names it
    early = main.post(f"/shipments/{shipment['id']}/close", json={"missing": [], "unexpected": []})
    assert early.status_code == 409 and "LOOSE-1" in early.json["message"]
    loose = main.post(f"/shipments/{shipment['id']}/receive",
                      json={"barcode": "LOOSE-1", "location": {"strategy": "compact"}})
    assert loose.status_code == 200 and loose.json["outcome"] == "stored", loose.json
    assert main.get("/samples/LOOSE-1").json["location"]["path"].startswith("Main site / ")
    closed = main.post(f"/shipments/{shipment['id']}/close", json={"missing": [], "unexpected": []})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert {i["status"] for i in closed.json["items"]} == {"stored"}


def test_missing_and_unexpected_are_named_at_close(network, make):
    make.sample("MIS-1", box=network.reg_boxes[0], position="A1")
    make.sample("MIS-2", box=network.reg_boxes[0], position="A2")
    make.sample("ODD-1", box=network.main_boxes[0], position="A1")
    reg, main = network.api("tech_reg"), network.api("tech_main")
    shipment = _ship(network)
    for barcode in ("MIS-1", "MIS-2"):
        reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": barcode})
    reg.post(f"/shipments/{shipment['id']}/dispatch")
    damaged = main.post(f"/shipments/{shipment['id']}/receive", json={"barcode": "MIS-1", "condition": "damaged"})
    assert damaged.json["item"]["condition"] == "damaged"
    assert main.get("/samples/MIS-1").json["status"] == "checked_out"
    odd = main.post(f"/shipments/{shipment['id']}/receive", json={"barcode": "ODD-1"})
    assert odd.status_code == 200 and odd.json["outcome"] == "unexpected"
    unnamed = main.post(f"/shipments/{shipment['id']}/close", json={"missing": ["MIS-2"], "unexpected": []})
    assert unnamed.status_code == 409 and "ODD-1" in unnamed.json["message"]
    wrong = main.post(f"/shipments/{shipment['id']}/close", json={"missing": ["MIS-1", "MIS-2"],
                                                                   "unexpected": ["ODD-1"]})
    assert wrong.status_code == 409 and "MIS-1" in wrong.json["message"]
    closed = main.post(f"/shipments/{shipment['id']}/close", json={"missing": ["MIS-2"], "unexpected": ["ODD-1"]})
    assert closed.status_code == 200, closed.json
    assert closed.json["counts"]["missing"] == 1 and closed.json["counts"]["unexpected"] == 1
    assert main.get("/samples/MIS-2").json["status"] == "missing"
    assert main.get("/samples/ODD-1").json["status"] == "available"  # an unexpected scan changes no tube


def test_bad_shipments_change_nothing(network, make):
    make.sample("BAD-1", box=network.main_boxes[0], position="A1")
    reg = network.api("tech_reg")
    same = reg.post("/shipments", json={"from_site": network.regional.id, "to_site": network.regional.id,
                                        "condition": "ambient"})
    assert same.status_code == 422 and same.json["code"] == "same_site"
    cold = reg.post("/shipments", json={"from_site": network.regional.id, "to_site": network.main.id,
                                        "condition": "warm"})
    assert cold.status_code == 422
    other = reg.post("/shipments", json={"from_site": network.main.id, "to_site": network.regional.id,
                                         "condition": "ambient"})
    assert other.status_code == 403
    shipment = _ship(network)
    foreign = reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": "BAD-1"})
    assert foreign.status_code == 409 and foreign.json["code"] == "not_at_sender"
    assert reg.post(f"/shipments/{shipment['id']}/dispatch").json["code"] == "empty_shipment"
    assert reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": "NOPE-404"}).status_code == 404


def test_manifest_as_json_csv_and_pdf_with_a_barcode_per_item(network, make):
    make.sample("MAN-1", box=network.reg_boxes[0], position="A1")
    make.sample("MAN-2", box=network.reg_boxes[1], position="B1")
    reg = network.api("tech_reg")
    shipment = _ship(network)
    reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": network.reg_boxes[0].barcode})
    reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": "MAN-2"})
    rows = reg.get(f"/shipments/{shipment['id']}/manifest").json["items"]
    assert [r["barcode"] for r in rows] == [network.reg_boxes[0].barcode, "MAN-1", "MAN-2"]
    assert rows[1]["box"] == network.reg_boxes[0].barcode and rows[1]["position"] == "A1"
    text = reg.get(f"/shipments/{shipment['id']}/manifest?format=csv").get_data(as_text=True)
    assert text.splitlines()[0].startswith("barcode,kind,box,position") and "MAN-2" in text
    pdf = reg.get(f"/shipments/{shipment['id']}/manifest?format=pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    read = [text for page in pdf_pages(pdf.data, dpi=300) for text in texts(page)["code128"]]
    assert sorted(read) == sorted([network.reg_boxes[0].barcode, "MAN-1", "MAN-2"])
    assert network.api("mgr_main").get(f"/shipments/{shipment['id']}/manifest").status_code == 200


def test_dispatch_and_a_local_move_of_the_same_tube_race_one_wins(app, network, make):
    make.sample("RACE-1", box=network.reg_boxes[0], position="A1")
    reg = network.api("tech_reg")
    shipment = _ship(network)
    reg.post(f"/shipments/{shipment['id']}/items", json={"barcode": "RACE-1"})
    target_id, shipment_id = network.reg_boxes[1].id, shipment["id"]
    results = {}
    barrier = threading.Barrier(2)
    clients = {"dispatch": network.api("tech_reg"), "move": network.api("tech_reg")}
    db.session.commit()  # the test's own session holds no transaction while the two race (SQLite)

    def run(name):
        with app.app_context():
            barrier.wait()
            if name == "dispatch":
                answer = clients[name].post(f"/shipments/{shipment_id}/dispatch")
            else:
                answer = clients[name].post("/samples/RACE-1/move", json={"container_id": target_id,
                                                                         "position": "C3", "reason": "tidy"})
            results[name] = (answer.status_code, answer.json.get("code"))
            db.session.remove()

    threads = [threading.Thread(target=run, args=(name,)) for name in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(code for code, _ in results.values())
    assert statuses == [200, 409], results
    db.session.expire_all()
    tube = samples.get_sample("RACE-1")
    if results["dispatch"][0] == 200:
        assert tube.status == "in_transit" and tube.container_id is None
    else:
        assert results["dispatch"][1] == "moved_meanwhile"
        assert tube.status == "available" and tube.container_id == target_id
