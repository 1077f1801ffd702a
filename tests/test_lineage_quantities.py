"""Lineage and quantities that add up: exact at the stored precision (four
decimal places), in volume, mass or count units; children keep the parent's
donor; no child of material that is gone; generated barcodes never collide."""
from decimal import Decimal

import pytest

from biobank.core.errors import InvalidInput, InvalidTransition
from biobank.extensions import db
from biobank.samples import service
from biobank.storage import service as storage


@pytest.fixture
def box(make):
    return make.box(rows=5, cols=5)


def _children_total(parent_barcode):
    parent = service.get_sample(parent_barcode)
    return sum((c.volume for c in parent.children), Decimal(0))


def _aliquot(make, barcode, count, volume, unit=None):
    children = service.aliquot_sample(make.actor(), barcode, count=count, volume=volume, unit=unit,
                                      strategy="compact")
    db.session.commit()
    return children


@pytest.mark.parametrize("volume,count", [("0.00004", 1), ("0.49996", 2), ("0.33333", 3), ("1e-5", 1)])
def test_an_amount_finer_than_the_stored_precision_is_refused_and_changes_nothing(make, box, volume, count):
    make.sample("Q-P", box=box, position="A1", volume="1.0")
    with pytest.raises(InvalidInput, match="finer than") as refused:
        service.aliquot_sample(make.actor(), "Q-P", count=count, volume=volume, strategy="compact")
    assert refused.value.code == "invalid_quantity"
    db.session.rollback()
    parent = service.get_sample("Q-P")
    assert parent.volume == Decimal("1.0") and parent.children == [] and parent.status == "available"


def test_the_remainder_and_the_children_add_up_to_what_the_parent_held(make, box):
    make.sample("Q-ADD", box=box, position="A1", volume="1.0")
    _aliquot(make, "Q-ADD", 3, "0.3333")
    parent = service.get_sample("Q-ADD")
    assert parent.volume == Decimal("0.0001") and parent.volume + _children_total("Q-ADD") == Decimal("1.0")
    _aliquot(make, "Q-ADD", 1, "0.0001")
    parent = service.get_sample("Q-ADD")
    assert parent.status == "consumed" and parent.volume == 0 and parent.container_id is None
    assert _children_total("Q-ADD") == Decimal("1.0")


def test_children_in_another_unit_of_the_same_kind_are_converted_exactly(make, box):
    make.sample("Q-ML", box=box, position="A1", volume="1.0", unit="mL")
    children = _aliquot(make, "Q-ML", 2, "250", unit="µL")
    assert [(c.volume, c.unit) for c in children] == [(Decimal("250"), "µL")] * 2
    assert service.get_sample("Q-ML").volume == Decimal("0.5")
    with pytest.raises(InvalidInput, match="finer than") as refused:   # 0.05 µL = 0.00005 mL
        service.aliquot_sample(make.actor(), "Q-ML", count=1, volume="0.05", unit="uL")
    assert refused.value.code == "invalid_quantity"
    db.session.rollback()
    with pytest.raises(InvalidInput, match="a volume") as refused:
        service.aliquot_sample(make.actor(), "Q-ML", count=1, volume="10", unit="mg")
    assert refused.value.code == "unit_mismatch"
    db.session.rollback()
    assert service.get_sample("Q-ML").volume == Decimal("0.5")


def test_masses_and_counts(make, box):
    make.sample("Q-MG", box=box, position="A1", sample_type="tissue_frozen", volume="12.5", unit="mg")
    _aliquot(make, "Q-MG", 2, "2500", unit="µg")
    assert service.get_sample("Q-MG").volume == Decimal("7.5")
    make.sample("Q-SL", box=box, position="E5", sample_type="tissue_ffpe", volume="10", unit="slides")
    _aliquot(make, "Q-SL", 3, "2")
    assert service.get_sample("Q-SL").volume == Decimal("4")
    with pytest.raises(InvalidInput, match="whole number"):
        service.aliquot_sample(make.actor(), "Q-SL", count=1, volume="1.5")
    db.session.rollback()
    with pytest.raises(InvalidInput) as refused:
        service.aliquot_sample(make.actor(), "Q-SL", count=1, volume="1", unit="pieces")
    assert refused.value.code == "unit_mismatch"


def test_a_parent_of_unknown_quantity_can_be_aliquoted(make, box):
    make.sample("Q-UNK", box=box, position="A1", sample_type="tissue_frozen", volume=None, unit=None)
    unknown = _aliquot(make, "Q-UNK", 2, None)
    assert [c.volume for c in unknown] == [None, None] and service.get_sample("Q-UNK").volume is None
    weighed = _aliquot(make, "Q-UNK", 1, "3", unit="mg")
    assert (weighed[0].volume, weighed[0].unit) == (Decimal("3"), "mg")
    parent = service.get_sample("Q-UNK")
    assert parent.volume is None and parent.status == "available" and len(parent.children) == 3
    make.sample("Q-KNOWN", box=box, position="E5", volume="1.0")
    with pytest.raises(InvalidInput, match="how much") as refused:
        service.aliquot_sample(make.actor(), "Q-KNOWN", count=1, volume=None)
    assert refused.value.code == "quantity_required"


@pytest.mark.parametrize("value", ["0", "-0.5", "NaN", "Infinity", "-inf", "1e400", "abc", "0.00001"])
def test_registration_refuses_amounts_it_cannot_store(make, box, value):
    with pytest.raises(InvalidInput) as refused:
        service.register_sample(make.actor(), barcode="Q-REG", sample_type="plasma", volume=value,
                                location={"container_id": box.id, "position": "A1"})
    assert refused.value.code == "invalid_quantity"


def test_a_child_registered_with_a_parent_follows_the_aliquot_rules(make, box):
    make.sample("Q-PAR", box=box, position="A1", volume="2.0", donor="DON-1")
    child = service.register_sample(make.actor(), barcode="Q-CH1", sample_type="plasma", volume="0.5",
                                    parent_barcode="Q-PAR", location={"container_id": box.id, "position": "B1"})
    db.session.commit()
    assert child.donor == "DON-1" and child.unit == "mL" and service.get_sample("Q-PAR").volume == Decimal("1.5")
    with pytest.raises(InvalidInput, match="parent's donor") as refused:
        service.register_sample(make.actor(), barcode="Q-CH2", sample_type="plasma", volume="0.5",
                                donor="SOMEONE-ELSE", parent_barcode="Q-PAR")
    assert refused.value.code == "donor_mismatch"
    db.session.rollback()
    with pytest.raises(InvalidInput, match="does not fit"):
        service.register_sample(make.actor(), barcode="Q-CH3", sample_type="plasma", volume="1.6",
                                parent_barcode="Q-PAR")
    db.session.rollback()
    service.register_sample(make.actor(), barcode="Q-CH4", sample_type="plasma", volume="1.5",
                            parent_barcode="Q-PAR")
    db.session.commit()
    assert service.get_sample("Q-PAR").status == "consumed"
    assert service.find_sample("Q-CH2") is None and service.find_sample("Q-CH3") is None


@pytest.mark.parametrize("gone", ["discarded", "consumed", "shipped"])
def test_no_child_of_material_that_is_gone(make, box, gone):
    make.sample("Q-GONE", box=box, position="A1", volume="1.0")
    db.session.execute(service.Sample.__table__.update().where(service.Sample.barcode == "Q-GONE")
                       .values(status=gone))
    db.session.commit()
    with pytest.raises(InvalidTransition, match=gone):
        service.aliquot_sample(make.actor(), "Q-GONE", count=1, volume="0.1")
    db.session.rollback()
    with pytest.raises(InvalidTransition, match=gone):
        service.register_sample(make.actor(), barcode="Q-GONE-C", sample_type="plasma", volume="0.1",
                                parent_barcode="Q-GONE")


def test_a_generated_aliquot_barcode_never_equals_a_container_or_sample_barcode(make, box):
    make.sample("Q-BC", box=box, position="A1", volume="1.0")
    storage.create_container(make.admin, name="Odd box", kind="box", rows=1, cols=1, barcode="Q-BC-01")
    make.sample("Q-BC-02", box=box, position="A2", volume="1.0")
    db.session.commit()
    children = _aliquot(make, "Q-BC", 2, "0.1")
    assert [c.barcode for c in children] == ["Q-BC-03", "Q-BC-04"]


# -- API ---------------------------------------------------------------------------------
@pytest.mark.parametrize("volume", ["0.00004", 0.00004, "NaN", "Infinity", 0, -1, "", True])
def test_api_aliquot_refuses_bad_amounts_with_422(api, make, box, volume):
    make.sample("QA-1", box=box, position="A1", volume="1.0")
    tech = api("technician")
    answer = tech.post("/samples/QA-1/aliquot", json={"count": 1, "volume": volume, "strategy": "compact"})
    assert answer.status_code == 422, answer.json
    assert tech.get("/samples/QA-1").json["volume"] == 1.0 and tech.get("/samples/QA-1").json["children"] == []


def test_api_json_nan_is_refused(api, make, box):
    make.sample("QA-NAN", box=box, position="A1", volume="1.0")
    answer = api("technician").post("/samples/QA-NAN/aliquot", data='{"count": 1, "volume": NaN}',
                                    headers={"Content-Type": "application/json"})
    assert answer.status_code in (400, 422) and answer.json["code"]


def test_api_aliquot_in_another_unit_and_a_child_through_post_samples(api, make, box):
    make.sample("QA-2", box=box, position="A1", volume="1.0", donor="DQ")
    tech = api("technician")
    split = tech.post("/samples/QA-2/aliquot", json={"count": 2, "volume": "0.25", "unit": "mL",
                                                     "strategy": "compact"})
    assert split.status_code == 201 and split.json["parent"]["volume"] == 0.5
    child = tech.post("/samples", json={"barcode": "QA-2-X", "sample_type": "plasma", "volume": "100",
                                        "unit": "µL", "parent_barcode": "QA-2"})
    assert child.status_code == 201, child.json
    assert child.json["donor"] == "DQ" and child.json["parent_barcode"] == "QA-2"
    assert tech.get("/samples/QA-2").json["volume"] == 0.4
    mismatch = tech.post("/samples", json={"barcode": "QA-2-Y", "sample_type": "plasma", "volume": "0.1",
                                           "donor": "OTHER", "parent_barcode": "QA-2"})
    assert mismatch.status_code == 422 and mismatch.json["code"] == "donor_mismatch"
