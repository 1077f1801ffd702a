"""Correcting sample records: one at a time and from a CSV, on SQLite and PostgreSQL."""
import json

import pytest
from sqlalchemy import select

from biobank.core.errors import ConsentWithdrawn, ImportRejected, InvalidInput, NotAllowedHere, NotPermitted
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.requests import service as requests_service
from biobank.samples import corrections, service as samples
from biobank.samples.models import Sample


def _sample(barcode):
    db.session.rollback()
    return db.session.execute(select(Sample).where(Sample.barcode == barcode)).scalar_one()


def _events(barcode, action="sample.corrected"):
    return db.session.execute(select(CustodyEvent).where(CustodyEvent.sample_barcode == barcode,
                                                         CustodyEvent.action == action)
                              .order_by(CustodyEvent.seq)).scalars().all()


def test_a_manager_corrects_the_diagnosis_and_the_event_keeps_before_and_after(make):
    make.sample("CR-1", box=make.box(), position="A1", diagnosis="C50.9")
    corrections.correct_sample(make.actor("manager"), "CR-1", diagnosis="c50.1", reason="pathology review")
    db.session.commit()
    assert _sample("CR-1").diagnosis == "C50.1"
    [event] = _events("CR-1")
    assert json.loads(event.changes) == {"diagnosis": ["C50.9", "C50.1"]}
    assert event.reason == "pathology review" and event.actor_role == "manager"
    assert custody.verify().ok


def test_a_reason_is_required_and_nothing_changes_without_one(make):
    make.sample("CR-2", box=make.box(), position="A1", notes="old")
    for reason in (None, "", "   "):
        with pytest.raises(InvalidInput) as caught:
            corrections.correct_sample(make.actor("technician"), "CR-2", notes="new", reason=reason)
        assert caught.value.code == "reason_required"
    assert _sample("CR-2").notes == "old" and not _events("CR-2")


def test_a_technician_corrects_volume_and_notes_but_not_identity_or_diagnosis(make):
    make.sample("CR-3", box=make.box(), position="A1", volume="1.5")
    tech = make.actor("technician")
    corrections.correct_sample(tech, "CR-3", volume="1.25", notes="meniscus misread", reason="re-measured")
    db.session.commit()
    sample = _sample("CR-3")
    assert str(sample.volume.normalize()) == "1.25" and sample.notes == "meniscus misread"
    assert json.loads(_events("CR-3")[0].changes)["volume"] == ["1.5", "1.25"]
    for field, value in (("donor", "D0002"), ("sample_type", "serum"), ("diagnosis", "C50.1")):
        with pytest.raises(NotPermitted):
            corrections.correct_sample(tech, "CR-3", reason="r", **{field: value})
        db.session.rollback()
    with pytest.raises(NotPermitted):
        corrections.correct_sample(make.actor("researcher"), "CR-3", notes="x", reason="r")
    assert corrections.fields_for(tech) == ["volume", "unit", "notes"]
    assert len(corrections.fields_for(make.actor("manager"))) == 10


def test_the_barcode_is_immutable_and_a_correction_that_changes_nothing_is_refused(make):
    make.sample("CR-4", box=make.box(), position="A1", diagnosis="C50.9")
    manager = make.actor("manager")
    with pytest.raises(InvalidInput) as caught:
        corrections.correct_sample(manager, "CR-4", barcode="CR-44", reason="typo")
    assert caught.value.code == "barcode_immutable"
    with pytest.raises(InvalidInput) as caught:
        corrections.correct_sample(manager, "CR-4", diagnosis="C50.9", reason="same")
    assert caught.value.code == "no_change"
    assert not _events("CR-4")


def test_a_correction_obeys_the_field_rules_of_a_registration(make):
    make.sample("CR-5", box=make.box(), position="A1")
    manager = make.actor("manager")
    for field, value in (("diagnosis", "cancer"), ("sample_type", "blood"), ("volume", "-1"),
                         ("collected_at", "2999-01-01T00:00:00Z"), ("sprec", "XX"), ("volume", "1.00001")):
        with pytest.raises(InvalidInput):
            corrections.correct_sample(manager, "CR-5", reason="r", **{field: value})
        db.session.rollback()
    assert not _events("CR-5")


def test_type_and_temperature_must_suit_the_box_it_sits_in(make):
    box = make.box(allowed_types=["plasma", "serum"], storage_temperature="-60to-85")
    make.sample("CR-6", box=box, position="A1", storage_temperature="-60to-85")
    manager = make.actor("manager")
    with pytest.raises(NotAllowedHere):
        corrections.correct_sample(manager, "CR-6", sample_type="tissue_frozen", reason="r")
    db.session.rollback()
    with pytest.raises(NotAllowedHere):
        corrections.correct_sample(manager, "CR-6", storage_temperature="LN2_vapor", reason="r")
    db.session.rollback()
    corrections.correct_sample(manager, "CR-6", sample_type="serum", reason="mislabelled tube")
    db.session.commit()
    assert _sample("CR-6").sample_type == "serum"


def test_a_donor_correction_carries_the_aliquots_and_a_child_keeps_its_parents_donor(make):
    box = make.box(rows=4, cols=4)
    make.sample("CR-P", box=box, position="A1", donor="D-WRONG", volume="2.0")
    samples.aliquot_sample(make.admin, "CR-P", count=2, volume="0.5", container_id=box.id, positions=["B1", "B2"])
    db.session.commit()
    manager = make.actor("manager")
    with pytest.raises(InvalidInput) as caught:
        corrections.correct_sample(manager, "CR-P-01", donor="D-OTHER", reason="r")
    assert caught.value.code == "lineage_mismatch"
    db.session.rollback()
    corrections.correct_sample(manager, "CR-P", donor="D-RIGHT", reason="mistyped pseudonym")
    db.session.commit()
    assert {s: _sample(s).donor for s in ("CR-P", "CR-P-01", "CR-P-02")} == dict.fromkeys(
        ("CR-P", "CR-P-01", "CR-P-02"), "D-RIGHT")
    [child_event] = _events("CR-P-01")
    assert json.loads(child_event.changes) == {"donor": ["D-WRONG", "D-RIGHT"]}
    assert "CR-P" in child_event.reason


def test_moving_to_a_donor_who_withdrew_consent_blocks_the_sample(make):
    box = make.box()
    make.sample("CR-C", box=box, position="A1", donor="D-A")
    make.sample("CR-W", box=box, position="A2", donor="D-GONE")
    samples.withdraw_consent(make.actor("manager"), "D-GONE", reason="letter")
    db.session.commit()
    corrections.correct_sample(make.actor("manager"), "CR-C", donor="D-GONE", reason="wrong donor")
    db.session.commit()
    assert _sample("CR-C").consent_withdrawn is True
    assert json.loads(_events("CR-C")[0].changes)["consent_withdrawn"] == [False, True]


def test_a_reserved_sample_cannot_be_moved_to_a_withdrawn_donor(make):
    box = make.box()
    make.sample("CR-R", box=box, position="A1", donor="D-A")
    make.sample("CR-X", box=box, position="A2", donor="D-OUT")
    samples.withdraw_consent(make.actor("manager"), "D-OUT", reason="letter")
    request = requests_service.create_request(make.actor("researcher"), title="t", purpose="p",
                                              ethics_reference="e", samples=["CR-R"])
    requests_service.submit_request(make.actor("researcher"), request.id)
    requests_service.approve_request(make.actor("manager"), request.id)
    db.session.commit()
    with pytest.raises(ConsentWithdrawn):
        corrections.correct_sample(make.actor("manager"), "CR-R", donor="D-OUT", reason="r")


CSV_OK = ("barcode,diagnosis,volume,reason\n"
          "CB-1,C50.1,,pathology review\n"
          "CB-2,,0.75,re-measured\n")


def test_a_corrections_file_previews_then_applies_every_row(make):
    box = make.box()
    make.sample("CB-1", box=box, position="A1", diagnosis="C50.9")
    make.sample("CB-2", box=box, position="A2", volume="1.0")
    manager = make.actor("manager")
    preview = corrections.correct_samples(manager, CSV_OK, dry_run=True)
    db.session.commit()
    assert preview["dry_run"] and preview["count"] == 2
    assert [r["summary"] for r in preview["rows"]] == ["diagnosis C50.9 → C50.1", "volume 1 → 0.75"]
    assert _sample("CB-1").diagnosis == "C50.9" and not _events("CB-1")
    done = corrections.correct_samples(manager, CSV_OK)
    db.session.commit()
    assert done["applied"] and _sample("CB-1").diagnosis == "C50.1"
    assert str(_sample("CB-2").volume.normalize()) == "0.75"
    assert len(_events("CB-1")) == len(_events("CB-2")) == 1


def test_one_bad_row_refuses_the_whole_file_and_every_bad_row_is_named(make):
    box = make.box()
    make.sample("CB-3", box=box, position="A1", diagnosis="C50.9")
    make.sample("CB-4", box=box, position="A2")
    make.sample("CB-4B", box=box, position="A3")
    text = ("barcode,diagnosis,reason\n"
            "CB-3,C50.1,review\n"
            "CB-NONE,C50.1,review\n"
            "CB-4,not-a-code,review\n"
            "CB-3,C50.2,twice\n"
            "CB-4B,C18.0,\n")
    with pytest.raises(ImportRejected) as caught:
        corrections.correct_samples(make.actor("manager"), text)
    db.session.rollback()
    lines = {d["line"]: " ".join(d["errors"]) for d in caught.value.details}
    assert set(lines) == {3, 4, 5, 6}
    assert "no sample" in lines[3] and "ICD-10" in lines[4] and "line 2" in lines[5] and "why" in lines[6]
    assert _sample("CB-3").diagnosis == "C50.9" and not _events("CB-3")


def test_a_technician_may_not_upload_identity_columns(make):
    make.sample("CB-5", box=make.box(), position="A1")
    with pytest.raises(NotPermitted):
        corrections.correct_samples(make.actor("technician"), "barcode,donor,reason\nCB-5,D9,r\n")
    result = corrections.correct_samples(make.actor("technician"), "barcode,notes,reason\nCB-5,cap cracked,seen\n")
    assert result["count"] == 1


def test_a_file_may_correct_a_parent_and_its_aliquots_together(make):
    box = make.box(rows=4, cols=4)
    make.sample("CB-P", box=box, position="A1", donor="D-1", volume="2.0")
    samples.aliquot_sample(make.admin, "CB-P", count=1, volume="0.5", container_id=box.id, positions=["B1"])
    db.session.commit()
    result = corrections.correct_samples(make.actor("manager"), "barcode,donor,reason\nCB-P-01,D-2,r\nCB-P,D-2,r\n")
    db.session.commit()
    assert result["count"] == 2 and _sample("CB-P-01").donor == "D-2"
    with pytest.raises(ImportRejected) as caught:
        corrections.correct_samples(make.actor("manager"), "barcode,donor,reason\nCB-P-01,D-3,r\n")
    assert caught.value.details[0]["line"] == 2 and "parent" in caught.value.details[0]["errors"][0]
