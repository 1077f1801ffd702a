"""Sample services: registration, status machine, movements, lineage, consent."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from biobank.core.errors import (DuplicateBarcode, InvalidBarcode, InvalidInput, InvalidTransition, NotPermitted,
                                 SlotOccupied, UnknownBarcode)
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.samples import service
from biobank.samples.models import Sample


@pytest.fixture
def box(make):
    return make.box(rows=3, cols=3)


def test_register_stores_with_all_fields(make, box):
    sample = make.sample(barcode="UZB-1.a_b", box=box, position="b03", sample_type="tissue_frozen",
                         donor="D0042", collected_at="2025-07-21T07:15:00Z", volume="0.5", unit="mL",
                         anatomical_site="c50.9", diagnosis="C50.9", sprec="TIS-A1Z-Z-Z-Z-Z-Z",
                         storage_temperature="LN2_vapor")
    assert sample.position == "B3" and sample.status == "available"
    assert sample.anatomical_site == "C50.9" and sample.volume == Decimal("0.5")
    assert sample.collected_at.isoformat() == "2025-07-21T07:15:00"
    assert sample.location_path == f"{box.path} / B3"


@pytest.mark.parametrize("barcode", ["ab", "has space", "semi;colon", "ünï", "x" * 65, "a/b", "", "tab\tx"])
def test_malformed_barcodes_are_refused_with_a_clear_message(make, box, barcode):
    with pytest.raises(InvalidBarcode, match="barcode"):
        make.sample(barcode=barcode, box=box, position="A1")
    assert db.session.execute(select(func.count()).select_from(Sample)).scalar_one() == 0


@pytest.mark.parametrize("field,value,message", [
    ("sample_type", "blood", "not a sample type"),
    ("collected_at", "21/07/2025", "not a date"),
    ("volume", "-1", "more than zero"),
    ("diagnosis", "XYZ", "ICD-10"),
    ("anatomical_site", "50.9", "ICD-O-3"),
    ("sprec", "BAD", "SPREC"),
    ("storage_temperature", "-20", "temperature"),
])
def test_field_rules(make, box, field, value, message):
    with pytest.raises(InvalidInput, match=message):
        make.sample(box=box, position="A1", **{field: value})


def test_duplicate_barcode_and_occupied_position(make, box):
    make.sample(barcode="DUP-1", box=box, position="A1")
    with pytest.raises(DuplicateBarcode):
        make.sample(barcode="DUP-1", box=box, position="A2")
    with pytest.raises(SlotOccupied, match="A1 is already occupied"):
        make.sample(barcode="DUP-2", box=box, position="A01")


def test_researchers_cannot_register(make, box):
    with pytest.raises(NotPermitted):
        service.register_sample(make.actor("researcher"), barcode="R-1", sample_type="plasma",
                                location={"container_id": box.id, "position": "A1"})


def test_move_within_and_between_boxes(make, box):
    other = make.box(rows=2, cols=2)
    sample = make.sample(box=box, position="A1")
    service.move_sample(make.actor(), sample.barcode, container_id=other.id, position="B2", reason="reorg")
    db.session.commit()
    assert (sample.container_id, sample.position) == (other.id, "B2")
    assert (box.used, other.used) == (0, 1)
    occupant = make.sample(box=other, position="A1")
    with pytest.raises(SlotOccupied):
        service.move_sample(make.actor(), sample.barcode, container_id=other.id, position="A1")
    db.session.rollback()
    assert db.session.get(Sample, sample.id).position == "B2" and occupant.position == "A1"


def test_checkout_and_return_to_the_old_position_counting_thaws(make, box):
    sample = make.sample(box=box, position="C2")
    service.checkout_sample(make.actor(), sample.barcode, reason="sectioning")
    db.session.commit()
    assert sample.status == "checked_out" and sample.location is None and box.used == 0
    assert (box.held, box.free, sample.home["position"]) == (1, box.capacity - 1, "C2")
    service.return_sample(make.actor(), sample.barcode, thawed=True)
    db.session.commit()
    assert sample.status == "available" and sample.position == "C2" and sample.freeze_thaw_count == 1
    service.checkout_sample(make.actor(), sample.barcode)
    service.return_sample(make.actor(), sample.barcode, thawed=False)
    db.session.commit()
    assert sample.freeze_thaw_count == 1


def test_a_checked_out_tubes_position_is_held_until_it_is_back(make, box):
    sample = make.sample(box=box, position="A1")
    service.checkout_sample(make.actor(), sample.barcode)
    db.session.commit()
    with pytest.raises(SlotOccupied, match=f"held for {sample.barcode}"):
        make.sample(box=box, position="A1")
    db.session.rollback()
    service.return_sample(make.actor(), sample.barcode, thawed=False)
    db.session.commit()
    assert sample.position == "A1" and (box.used, box.held) == (1, 0)


def test_returning_elsewhere_gives_the_held_position_up(make, box):
    sample = make.sample(box=box, position="A1")
    service.checkout_sample(make.actor(), sample.barcode)
    service.return_sample(make.actor(), sample.barcode, thawed=False, container_id=box.id, position="A2")
    db.session.commit()
    assert sample.position == "A2" and sample.home["position"] == "A2" and (box.used, box.held) == (1, 0)
    assert make.sample(box=box, position="A1").position == "A1"


def test_only_allowed_transitions(make, box):
    sample = make.sample(box=box, position="A1")
    with pytest.raises(InvalidTransition):
        service.return_sample(make.actor(), sample.barcode, thawed=False)
    service.discard_sample(make.actor(), sample.barcode, reason="cracked")
    db.session.commit()
    assert sample.status == "discarded" and sample.location is None
    for action in (lambda: service.checkout_sample(make.actor(), sample.barcode),
                   lambda: service.move_sample(make.actor(), sample.barcode, container_id=box.id, position="A2"),
                   lambda: service.discard_sample(make.actor(), sample.barcode, reason="again")):
        with pytest.raises(InvalidTransition):
            action()
        db.session.rollback()


def test_discard_needs_a_reason(make, box):
    sample = make.sample(box=box, position="A1")
    with pytest.raises(InvalidInput, match="why"):
        service.discard_sample(make.actor(), sample.barcode, reason="  ")


def test_aliquots_take_volume_and_keep_lineage(make, box):
    parent = make.sample(box=box, position="A1", volume="2.0", donor="D7")
    children = service.aliquot_sample(make.actor(), parent.barcode, count=3, volume="0.5", strategy="compact")
    db.session.commit()
    assert parent.volume == Decimal("0.5")
    assert [c.barcode for c in children] == [f"{parent.barcode}-01", f"{parent.barcode}-02", f"{parent.barcode}-03"]
    assert all(c.parent_barcode == parent.barcode and c.donor == "D7" and c.location for c in children)
    db.session.expire_all()
    assert db.session.get(Sample, parent.id).child_barcodes == [c.barcode for c in children]
    with pytest.raises(InvalidInput, match="does not fit"):
        service.aliquot_sample(make.actor(), parent.barcode, count=2, volume="0.5")
    db.session.rollback()
    more = service.aliquot_sample(make.actor(), parent.barcode, count=1, volume="0.5", strategy="compact")
    db.session.commit()
    assert more[0].barcode.endswith("-04")
    parent = service.get_sample(parent.barcode)
    assert parent.status == "consumed" and parent.location is None


def test_unknown_and_malformed_lookups(app):
    with pytest.raises(UnknownBarcode):
        service.get_sample("NOPE-1")
    with pytest.raises(InvalidBarcode):
        service.get_sample("bad barcode!")


def test_consent_withdrawal_blocks_all_of_a_donors_samples(make, box):
    a = make.sample(box=box, position="A1", donor="D-W")
    b = make.sample(box=box, position="A2", donor="D-W")
    other = make.sample(box=box, position="A3", donor="D-K")
    with pytest.raises(NotPermitted):
        service.withdraw_consent(make.actor("technician"), "D-W", reason="form 12")
    result = service.withdraw_consent(make.actor("manager"), "D-W", reason="form 12")
    db.session.commit()
    assert result["samples_blocked"] == 2
    db.session.expire_all()
    assert [s.consent_withdrawn for s in (a, b, other)] == [True, True, False]
    # Later aliquots of a withdrawn donor inherit the block.
    child = service.aliquot_sample(make.actor(), a.barcode, count=1, volume="0.1", strategy="compact")[0]
    db.session.commit()
    assert child.consent_withdrawn is True
    events = db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "donor.consent_withdrawn")).scalars().all()
    assert len(events) == 1 and events[0].subject == "D-W"


def test_move_with_the_origin_seen_is_refused_when_the_tube_moved_meanwhile(make, box):
    other = make.box(rows=2, cols=2)
    sample = make.sample(box=box, position="A1")
    service.move_sample(make.actor(), sample.barcode, container_id=other.id, position="A1",
                        from_container_id=box.id, from_position="A01")
    db.session.commit()
    from biobank.core.errors import Conflict
    with pytest.raises(Conflict, match="no longer where you saw it") as caught:
        service.move_sample(make.actor(), sample.barcode, container_id=box.id, position="B1",
                            from_container_id=box.id, from_position="A1")
    assert caught.value.code == "moved_meanwhile"
    db.session.rollback()
    assert db.session.get(Sample, sample.id).container_id == other.id
