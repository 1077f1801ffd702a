"""Automatic placement: compact and spread."""
import pytest

from biobank.core.errors import NoFreePosition
from biobank.extensions import db
from biobank.samples import service as samples
from biobank.storage.placement import Allocator


def test_compact_fills_the_first_box_in_row_order(make):
    tank = make.tank(racks=1, boxes_per_rack=2, rows=2, cols=2)
    first, second = make.boxes_of(tank)
    placed = [make.sample(location={"strategy": "compact"}) for _ in range(5)]
    assert [(s.container_id, s.position) for s in placed] == [
        (first.id, "A1"), (first.id, "A2"), (first.id, "B1"), (first.id, "B2"), (second.id, "A1")]


def test_compact_reuses_a_freed_position(make):
    make.box(rows=1, cols=3)
    a, b, c = (make.sample(location={"strategy": "compact"}) for _ in range(3))
    samples.discard_sample(make.admin, b.barcode, reason="broken tube")
    db.session.commit()
    assert make.sample(location={"strategy": "compact"}).position == "A2"


def test_spread_puts_a_donors_aliquots_in_different_tanks(make):
    tanks = [make.tank(racks=1, boxes_per_rack=1, rows=3, cols=3) for _ in range(3)]
    placed = [make.sample(donor="D-SPREAD", location={"strategy": "spread"}) for _ in range(3)]
    tank_ids = {s.container.tank_id for s in placed}
    assert tank_ids == {t.id for t in tanks}
    # A fourth has to share a tank, but still lands somewhere.
    assert make.sample(donor="D-SPREAD", location={"strategy": "spread"}).container_id


def test_spread_respects_restrictions(make):
    make.tank(racks=1, boxes_per_rack=1, allowed_types=["dna"])
    plasma_tank = make.tank(racks=1, boxes_per_rack=1, allowed_types=["plasma"])
    sample = make.sample(sample_type="plasma", location={"strategy": "spread"})
    assert sample.container.tank_id == plasma_tank.id


def test_full_biobank_says_so(make):
    make.box(rows=1, cols=1)
    make.sample(location={"strategy": "compact"})
    with pytest.raises(NoFreePosition):
        make.sample(location={"strategy": "compact"})


def test_allocator_hands_out_distinct_positions_before_flush(make):
    make.box(rows=2, cols=2)
    allocator = Allocator()
    spots = {(box.id, r, c) for box, r, c in (allocator.compact("plasma", None) for _ in range(4))}
    assert len(spots) == 4
    with pytest.raises(NoFreePosition):
        allocator.compact("plasma", None)


def test_one_allocator_fills_boxes_in_order_across_types_explicit_places_and_releases(make):
    """What a bulk import hands out, row after row: each type keeps filling the first box that takes
    it in row order, a position given explicitly or taken by another type is skipped, and a released
    position is handed out again."""
    dna_only = make.box(rows=1, cols=2, allowed_types=["dna"])
    shared = make.box(rows=2, cols=2)
    allocator = Allocator(expected=8)

    def spot(found):
        box, row, col = found
        return box.id, row, col

    assert spot(allocator.compact("plasma", None)) == (shared.id, 1, 1)
    assert spot(allocator.compact("dna", None)) == (dna_only.id, 1, 1)
    assert spot(allocator.at(shared.id, "A2", "plasma", None)) == (shared.id, 1, 2)
    assert spot(allocator.compact("plasma", None)) == (shared.id, 2, 1)
    assert spot(allocator.compact("dna", None)) == (dna_only.id, 1, 2)
    assert spot(allocator.compact("dna", None)) == (shared.id, 2, 2)  # its own box is full
    allocator.release(shared.id, 1, 1)
    assert spot(allocator.compact("plasma", None)) == (shared.id, 1, 1)
    with pytest.raises(NoFreePosition):
        allocator.compact("plasma", None)
