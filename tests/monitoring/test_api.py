"""The monitoring API of the Wave 2 contract, on both databases."""
from datetime import timedelta

from biobank.core.time import utcnow
from biobank.custody import service as custody

from .conftest import at, reading


def test_post_and_get_readings_oldest_first(api, tank):
    tech = api("technician")
    answer = tech.post(f"/containers/{tank.id}/readings", json=[reading(2), reading(5), reading(1, level=70)])
    assert answer.status_code == 201, answer.json
    assert answer.json["accepted"] == 3 and answer.json["alarms_opened"] == []
    got = tech.get(f"/containers/{tank.id}/readings", query_string={"since": at(10)})
    assert got.status_code == 200
    times = [r["at"] for r in got.json]
    assert times == sorted(times) and len(times) == 3
    assert got.json[-1]["ln2_level"] == 70 and got.json[0]["sensor"] == "probe-1"
    narrow = tech.get(f"/containers/{tank.id}/readings", query_string={"since": at(3), "until": at(1.5)})
    assert len(narrow.json) == 1


def test_bad_readings_are_refused_with_reasons_and_nothing_stored(api, tank):
    tech = api("technician")
    first = reading(3)
    tech.post(f"/containers/{tank.id}/readings", json=[first])
    answer = tech.post(f"/containers/{tank.id}/readings",
                       json=[reading(2), first, {"at": at(-30), "sensor": "p", "temperature_c": -190},
                             {"at": at(1), "sensor": "p", "ln2_level": -4}])
    assert answer.status_code == 422
    assert answer.json["code"] == "invalid_readings"
    assert [d["code"] for d in answer.json["details"]] == ["duplicate_reading", "future_reading", "impossible_value"]
    assert "nothing was stored" in answer.json["message"]
    assert len(tech.get(f"/containers/{tank.id}/readings", query_string={"since": at(60)}).json) == 1
    assert tech.post("/containers/999999/readings", json=[reading(1)]).json["code"] == "unknown_container"
    assert tech.post(f"/containers/{tank.id}/readings", json={"at": at(1)}).status_code == 422
    assert tech.post(f"/containers/{tank.id}/readings", json=[]).json["code"] == "no_readings"
    skipped = tech.post(f"/containers/{tank.id}/readings?skip_duplicates=true", json=[first, reading(0.5)])
    assert skipped.status_code == 201 and skipped.json["accepted"] == 1
    assert skipped.json["skipped_duplicates"][0]["index"] == 0


def test_alarm_listing_and_acknowledge(api, tank):
    tech = api("technician")
    opened = tech.post(f"/containers/{tank.id}/readings", json=[reading(3, -100), reading(2, -90)])
    alarm = opened.json["alarms_opened"][0]
    assert alarm["kind"] == "temperature" and alarm["container_id"] == tank.id and alarm["closed_at"] is None
    listed = tech.get("/alarms", query_string={"open": "true"}).json
    assert [a["id"] for a in listed["items"]] == [alarm["id"]] and listed["total"] == 1
    for key in ("id", "container_id", "kind", "opened_at", "acknowledged_by", "closed_at"):
        assert key in listed["items"][0]
    assert api("researcher").get("/alarms").status_code == 403
    assert tech.post(f"/alarms/{alarm['id']}/acknowledge", json={"note": ""}).json["code"] == "note_required"
    done = tech.post(f"/alarms/{alarm['id']}/acknowledge", json={"note": "Door left open"})
    assert done.status_code == 200 and done.json["acknowledged_by"] and done.json["closed_at"] is None
    assert done.json["note"] == "Door left open"
    assert tech.post(f"/alarms/{alarm['id']}/acknowledge", json={"note": "x"}).status_code == 409
    back = tech.post(f"/containers/{tank.id}/readings", json=[reading(1, -190)])
    assert back.json["alarms_closed"][0]["id"] == alarm["id"]
    assert tech.get("/alarms", query_string={"open": "true"}).json["total"] == 0
    assert tech.get("/alarms").json["items"][0]["closed_at"] is not None
    assert tech.post("/alarms/424242/acknowledge", json={"note": "x"}).status_code == 404


def test_limits_tank_log_and_check(api, tank):
    manager, tech = api("manager"), api("technician")
    limits = tech.get(f"/containers/{tank.id}/limits").json
    assert limits["max_temperature_c"] == -135 and limits["storage_temperature"] == "LN2_vapor"
    assert tech._call("patch", f"/containers/{tank.id}/limits", json={"max_temperature_c": -150}).status_code == 403
    changed = manager._call("patch", f"/containers/{tank.id}/limits", json={"max_temperature_c": -150, "max_silence_minutes": 5})
    assert changed.status_code == 200 and changed.json["max_temperature_c"] == -150
    assert "max_temperature_c" not in changed.json["defaults"]
    refill = tech.post(f"/containers/{tank.id}/tank-log", json={"kind": "refill", "litres": 30, "note": "Monday"})
    assert refill.status_code == 201 and refill.json["litres"] == 30
    assert tech.post(f"/containers/{tank.id}/tank-log", json={"kind": "refill"}).json["code"] == "litres_required"
    assert [e["kind"] for e in tech.get(f"/containers/{tank.id}/tank-log").json] == ["refill"]
    tech.post(f"/containers/{tank.id}/readings", json=[reading(20)])
    check = tech.post("/alarms/check")
    assert check.status_code == 200 and [a["kind"] for a in check.json["opened"]] == ["silent"]
    assert tech.post("/alarms/check").json["opened"] == []


def test_csv_upload_of_a_logger_export(api, tank):
    tech = api("technician")
    base = utcnow().replace(microsecond=0) - timedelta(hours=1)
    lines = ["Timestamp;Temperature;Level"] + [
        f"{(base + timedelta(minutes=m)).isoformat()}Z;{-190 + m * 0.1:.1f};{80 - m * 0.1:.1f}" for m in range(30)]
    body = "\n".join(lines).encode()
    answer = tech.post(f"/containers/{tank.id}/readings/import?sensor=logger-7", data=body, content_type="text/csv")
    assert answer.status_code == 201, answer.json
    assert answer.json["accepted"] == 30 and answer.json["readings"][0]["source"] == "csv"
    again = tech.post(f"/containers/{tank.id}/readings/import?sensor=logger-7", data=body, content_type="text/csv")
    assert again.status_code == 422 and again.json["code"] == "duplicate_reading"
    assert again.json["details"][0]["line"] == 2
    bad = b"at,temperature_c,sensor\n2026-01-01T00:00:00Z,-190,p\n2026-01-01T00:01:00Z,warm,p\n"
    refused = tech.post(f"/containers/{tank.id}/readings/import", data=bad, content_type="text/csv")
    assert refused.status_code == 422 and "line 3" in refused.json["message"]
    no_sensor = tech.post(f"/containers/{tank.id}/readings/import", data=b"time,temp\n2026-01-01T00:00:00Z,-190\n",
                          content_type="text/csv")
    assert no_sensor.json["code"] == "sensor_required"


def test_evacuation_plan_and_carrying_it_out(api, make):
    # factories build tanks at the top level: the plan then uses free space anywhere outside the tank
    failing = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Failing", storage_temperature="LN2_vapor")
    spare = make.tank(racks=1, boxes_per_rack=1, rows=2, cols=2, name="Spare", storage_temperature="LN2_vapor")
    warm = make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3, name="Freezer", storage_temperature="-60to-85")
    (source,), (target,) = make.boxes_of(failing), make.boxes_of(spare)
    make.sample("EV-1", box=source, position="A1", storage_temperature="LN2_vapor")
    make.sample("EV-2", box=source, position="A2", storage_temperature="LN2_vapor")
    make.sample("EV-3", box=source, position="B1", storage_temperature="LN2_vapor")
    make.sample("EV-4", box=source, position="B2", storage_temperature="LN2_vapor")
    make.sample("SP-1", box=target, position="A1", storage_temperature="LN2_vapor")
    tech = api("technician")
    plan = tech.get(f"/containers/{failing.id}/evacuation-plan").json
    assert [m["barcode"] for m in plan["moves"]] == ["EV-1", "EV-2", "EV-3"]
    assert plan["moves"][0]["from"].endswith("/ A1") and plan["moves"][0]["to"] == f"{target.path} / A2"
    assert [u["barcode"] for u in plan["unplaced"]] == ["EV-4"]      # the freezer at -80 does not take LN2 samples
    assert "LN2_vapor" in plan["unplaced"][0]["reason"]
    assert all(not m["to"].startswith(warm.path) for m in plan["moves"])
    wrong = tech.post(f"/containers/{failing.id}/evacuation-plan/moves",
                      json={"barcode": "EV-1", "box_barcode": source.barcode})
    assert wrong.status_code == 409 and wrong.json["code"] == "wrong_box"
    done = tech.post(f"/containers/{failing.id}/evacuation-plan/moves",
                     json={"barcode": "EV-2", "box_barcode": target.barcode})
    assert done.status_code == 200 and done.json["to"] == f"{target.path} / B1"
    assert tech.get("/samples/EV-2").json["location"]["path"] == f"{target.path} / B1"
    history = tech.get("/samples/EV-2/history").json
    events = history if isinstance(history, list) else history.get("items", history.get("events"))
    assert any("Evacuation of" in (e.get("reason") or "") for e in events)
    replanned = tech.get(f"/containers/{failing.id}/evacuation-plan").json
    # the rest of the plan stays as it was
    assert [(m["barcode"], m["to_position"]) for m in replanned["moves"]] == [("EV-1", "A2"), ("EV-3", "B2")]
    assert [(m["barcode"], m["to_position"]) for m in plan["moves"] if m["barcode"] != "EV-2"] == \
        [("EV-1", "A2"), ("EV-3", "B2")]
    assert tech.post(f"/containers/{failing.id}/evacuation-plan/moves", json={"barcode": "SP-1"}).status_code == 422
    assert api("researcher").get(f"/containers/{failing.id}/evacuation-plan").status_code == 403
    assert custody.verify().ok


def test_a_logger_file_with_an_oversized_cell_is_refused_naming_its_line(api, tank):
    huge = "x" * 140_000
    body = f"at,temperature_c,sensor\n2026-01-01T00:00:00Z,-190,p\n2026-01-01T00:01:00Z,-190,{huge}\n".encode()
    refused = api("technician").post(f"/containers/{tank.id}/readings/import", data=body, content_type="text/csv")
    assert refused.status_code == 422 and refused.json["code"] == "invalid_csv"
    assert "Line 3" in refused.json["message"]
    assert api("technician").get(f"/containers/{tank.id}/readings").json == []
