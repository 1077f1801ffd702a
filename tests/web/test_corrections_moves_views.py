"""Correction and container-move pages through Flask's test client."""
import io

from sqlalchemy import select

from biobank.extensions import db
from biobank.samples.models import Sample
from biobank.storage.models import Container


def text(response):
    return response.get_data(as_text=True)


def _sample(barcode):
    db.session.rollback()
    return db.session.execute(select(Sample).where(Sample.barcode == barcode)).scalar_one()


def test_the_correction_form_shows_only_the_fields_of_the_role(client, make, login):
    make.sample("WC-1", box=make.box(), position="A1", diagnosis="C50.9")
    login(make.user("technician"))
    page = text(client.get("/samples/WC-1/correct"))
    assert 'name="volume"' in page and 'name="notes"' in page and 'name="reason"' in page
    assert 'name="donor"' not in page and 'name="diagnosis"' not in page and 'name="barcode"' not in page
    assert "Correct record" in text(client.get("/samples/WC-1"))


def test_a_manager_corrects_through_the_form_and_the_history_reads_before_and_after(client, make, login):
    make.sample("WC-2", box=make.box(), position="A1", diagnosis="C50.9", volume="1.0")
    login(make.user("manager"))
    form = {"reason": "", "sample_type": "plasma", "donor": "D0001", "diagnosis": "C50.1", "volume": "1"}
    missing = client.post("/samples/WC-2/correct", data=form)
    assert missing.status_code == 422 and "Say why" in text(missing)
    assert _sample("WC-2").diagnosis == "C50.9"
    form["reason"] = "pathology review"
    done = client.post("/samples/WC-2/correct", data=form)
    assert done.status_code == 302
    sample = _sample("WC-2")
    assert sample.diagnosis == "C50.1" and sample.volume == 1  # an unchanged field stays as it is
    page = text(client.get("/samples/WC-2"))
    assert "diagnosis C50.9 → C50.1" in page and "Reason: pathology review" in page
    unchanged = client.post("/samples/WC-2/correct", data=form)
    assert unchanged.status_code == 422 and "nothing to correct" in text(unchanged).lower()


def test_a_researcher_gets_no_correction_form(client, make, login):
    make.sample("WC-3", box=make.box(), position="A1")
    login(make.user("researcher"))
    assert client.get("/samples/WC-3/correct").status_code in (302, 403)
    assert _sample("WC-3").notes is None


def test_corrections_upload_preview_then_confirm(client, make, login):
    box = make.box()
    make.sample("WC-4", box=box, position="A1", diagnosis="C50.9")
    login(make.user("manager"))
    csv_text = "barcode,diagnosis,reason\nWC-4,C50.1,pathology review\n"
    preview = client.post("/samples/corrections", data={"file": (io.BytesIO(csv_text.encode()), "fix.csv")},
                          content_type="multipart/form-data")
    page = text(preview)
    assert preview.status_code == 200 and "C50.9" in page and "C50.1" in page and "Apply 1 correction" in page
    assert _sample("WC-4").diagnosis == "C50.9"
    confirmed = client.post("/samples/corrections/confirm", data={"csv_text": csv_text})
    assert confirmed.status_code == 302 and _sample("WC-4").diagnosis == "C50.1"
    bad = client.post("/samples/corrections", data={"file": (io.BytesIO(b"barcode,diagnosis,reason\nNOPE,C50.1,r\n"),
                                                              "bad.csv")}, content_type="multipart/form-data")
    assert bad.status_code == 422 and "line 2" in text(bad) and "Nothing was corrected" in text(bad)


def test_scan_box_then_rack_shows_the_move_step_and_posting_moves_it(client, make, login):
    tank = make.tank(racks=2, boxes_per_rack=1, name="Web tank")
    rack_a, rack_b = tank.children
    box = make.boxes_of(rack_a)[0]
    make.sample("WC-M", box=box, position="A1")
    login(make.user("technician"))
    box_page = text(client.get(f"/containers/{box.id}"))
    assert 'data-testid="container-move-form"' in box_page
    step = client.get(f"/scan?box={box.barcode}&code={rack_b.barcode}")
    page = text(step)
    assert step.status_code == 200 and 'data-testid="container-move-step"' in page
    assert f"{rack_b.path} / {box.name}" in page and "1 tube moves with it" in page
    into_box = client.get(f"/scan?box={rack_a.barcode}&code={box.barcode}")
    assert into_box.status_code == 409 and "inside it" in text(into_box) and 'data-beep="error"' in text(into_box)
    assert f'name="box" value="{rack_a.barcode}"' in text(into_box)  # still in hand for the next scan
    moved = client.post(f"/containers/{box.id}/move", data={"parent": rack_b.barcode, "from_scan": "1",
                                                           "from_parent_id": str(rack_a.id), "reason": "rebalance"})
    assert moved.status_code == 302 and moved.headers["Location"].endswith("/scan")
    db.session.rollback()
    assert db.session.get(Container, box.id).parent_id == rack_b.id
    stale = client.post(f"/containers/{box.id}/move", data={"parent": rack_a.barcode, "from_scan": "1",
                                                           "from_parent_id": str(rack_a.id)})
    assert stale.status_code == 409 and "no longer where you saw it" in text(stale)
    history = text(client.get("/samples/WC-M"))
    assert "Moved with its box" in history and f"{rack_b.path} / {box.name} / A1" in history
