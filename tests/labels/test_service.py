"""Label services: who may print, what is recorded, which labels in which order."""
import pytest
from sqlalchemy import select

from biobank.core.errors import NotPermitted, UnknownBarcode
from biobank.custody import service as custody
from biobank.custody.models import CustodyEvent
from biobank.extensions import db
from biobank.labels import service
from biobank.labels.layout import BarcodeTooLong

from .helpers import pdf_pages, texts, zpl_blocks, zpl_fields


def label_events():
    return db.session.execute(select(CustodyEvent).where(CustodyEvent.action == "label.printed")
                              .order_by(CustodyEvent.seq)).scalars().all()


@pytest.fixture
def box(make):
    box = make.box(rows=3, cols=3)
    for barcode, position in (("S-C3", "C3"), ("S-A2", "A2"), ("S-B1", "B1"), ("S-A1", "A1")):
        make.sample(barcode=barcode, box=box, position=position, collected_at="2025-07-21T07:15:00Z")
    return box


def test_box_labels_come_in_position_order_with_one_event_each(make, box):
    tech = make.actor("technician")
    result = service.print_box_labels(tech, box.id, format="zpl")
    db.session.commit()
    order = ["S-A1", "S-A2", "S-B1", "S-C3"]
    assert [zpl_fields(b)["datamatrix"][0] for b in zpl_blocks(result.content.decode())] == order
    assert result.count == 4 and result.filename == f"labels-{box.barcode}.zpl"
    events = label_events()
    assert [(e.subject_type, e.subject, e.sample_barcode, e.actor) for e in events] == [
        ("sample", b, b, tech.username) for b in order]
    assert all(e.container_id == box.id for e in events)
    assert custody.verify().ok


def test_box_pdf_pages_are_in_position_order(make, box):
    content = service.print_box_labels(make.actor(), box.id, format="pdf", sheet="label").content
    assert [texts(page)["code128"] for page in pdf_pages(content)] == [["S-A1"], ["S-A2"], ["S-B1"], ["S-C3"]]


def test_reprints_are_counted(make, box):
    tech = make.actor()
    service.print_sample_labels(tech, ["S-B1"], format="png")
    service.print_sample_labels(tech, ["S-B1", "S-A1", "S-B1"], format="zpl", reason="label damaged")
    db.session.commit()
    events = label_events()
    assert [(e.subject, e.changes) for e in events] == [
        ("S-B1", '{"label":[null,"cryovial png 600 dpi"],"label_prints":[0,1]}'),
        ("S-B1", '{"label":[null,"cryovial zpl 203 dpi"],"label_prints":[1,2]}'),
        ("S-A1", '{"label":[null,"cryovial zpl 203 dpi"],"label_prints":[0,1]}'),
        ("S-B1", '{"label":[null,"cryovial zpl 203 dpi"],"label_prints":[2,3]}')]
    assert [e.reason for e in events] == [None, "label damaged", "label damaged", "label damaged"]


def test_a_box_label_is_a_container_event(make, box):
    result = service.print_container_label(make.actor(), box.id, format="zpl", dpi=300)
    db.session.commit()
    [block] = zpl_blocks(result.content.decode())
    assert zpl_fields(block)["datamatrix"] == [box.barcode] and zpl_fields(block)["pw"] == 600
    [event] = label_events()
    assert (event.subject_type, event.subject, event.container_id, event.sample_barcode) == (
        "container", box.barcode, box.id, None)


def test_the_label_text_shows_type_short_location_and_date(make, box):
    [block] = zpl_blocks(service.print_sample_labels(make.actor(), ["S-B1"], format="zpl").content.decode())
    assert "^FDplasma 2025-07-21^FS" in block and f"^FD{box.barcode}-B1^FS" in block


def test_a_checked_out_sample_shows_its_home_position(make, box):
    from biobank.samples import service as samples
    samples.checkout_sample(make.actor(), "S-A2", reason="bench")
    fields = service.sample_fields(samples.get_sample("S-A2"))
    assert fields["location"] == f"{box.barcode}-A2"


def test_too_long_records_nothing(make, box):
    make.sample(barcode="A-very-long-barcode-1234", box=box, position="C1")
    with pytest.raises(BarcodeTooLong):
        service.print_sample_labels(make.actor(), ["S-A1", "A-very-long-barcode-1234"], format="zpl")
    db.session.rollback()
    assert label_events() == []


def test_unknown_and_invalid_barcodes(make, box):
    with pytest.raises(UnknownBarcode) as unknown:
        service.print_sample_labels(make.actor(), ["S-A1", "NOPE-1", "NOPE-2"], format="zpl")
    assert unknown.value.details == {"unknown": ["NOPE-1", "NOPE-2"]}
    with pytest.raises(Exception) as invalid:
        service.print_sample_labels(make.actor(), ["bad barcode!"], format="zpl")
    assert invalid.value.code == "invalid_barcode"


def test_empty_box_and_non_box(make):
    empty = make.box()
    with pytest.raises(Exception) as nothing:
        service.print_box_labels(make.actor(), empty.id)
    assert nothing.value.code == "nothing_to_print"
    tank = make.tank()
    with pytest.raises(Exception) as not_box:
        service.print_box_labels(make.actor(), tank.id)
    assert not_box.value.code == "not_a_box"


def test_researchers_may_not_print(make, box):
    for call in (lambda a: service.print_sample_labels(a, ["S-A1"]), lambda a: service.print_box_labels(a, box.id),
                 lambda a: service.print_container_label(a, box.id)):
        with pytest.raises(NotPermitted):
            call(make.actor("researcher"))
    assert label_events() == []
