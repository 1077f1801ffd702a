"""The shipment manifest on paper in the sites' own languages (the document alone, no database)."""
from types import SimpleNamespace

from biobank.network.manifest_pdf import shipment_manifest_pdf
from tests.labels.helpers import assert_pdf_prints, pdf_pages, texts


def test_site_names_and_items_in_russian_uzbek_and_korean_print_as_written():
    shipment = SimpleNamespace(
        code="SH-0001", condition="dry_ice", courier="검체 보관 택배", tracking="TRK-1", dispatched_at=None,
        excursion="Пробирка оттаяла", from_site=SimpleNamespace(name="Toshkent viloyati qonʼ markazi", code="TSH"),
        to_site=SimpleNamespace(name="서울 바이오뱅크", code="SEL"))
    rows = [{"barcode": "SH-T-1", "kind": "sample", "box": None, "position": None, "volume": 0.5, "unit": "mL",
             "sample_type": "혈장", "storage_temperature": "Криохранилище", "status": "packed"}]
    data = shipment_manifest_pdf(shipment, rows)
    assert_pdf_prints(data, "Toshkent viloyati qonʼ markazi (TSH)", "서울 바이오뱅크 (SEL)", "검체 보관 택배",
                      "Пробирка оттаяла", "혈장")
    assert [code for page in pdf_pages(data, dpi=300) for code in texts(page)["code128"]] == ["SH-T-1"]
