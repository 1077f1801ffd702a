"""FHIR R4 Specimen export, validated with the fhir.resources R4B models."""
import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.specimen import Specimen

from biobank.extensions import db
from biobank.samples import service as samples


@pytest.fixture
def specimens(make):
    box = make.box(rows=3, cols=3)
    parent = make.sample("FH-1", box=box, position="A1", sample_type="tissue_frozen", donor="PSN-042",
                         volume="2.0", unit="mL", collected_at="2025-03-04T08:30:00Z", anatomical_site="C50.9",
                         diagnosis="C50.9", notes="left breast, tumour core")
    samples.aliquot_sample(make.admin, "FH-1", count=2, volume="0.5", container_id=box.id, positions=["B1", "B2"])
    make.sample("FH_OTHER", box=box, position="C3", sample_type="plasma", donor="PSN-043")
    samples.checkout_sample(make.admin, "FH_OTHER", reason="assay")
    db.session.commit()
    return box, parent


def test_sample_as_a_valid_fhir_specimen(make, api, specimens):
    box, parent = specimens
    response = api("technician").get("/samples/FH-1-01/fhir")
    assert response.status_code == 200 and response.mimetype == "application/fhir+json"
    resource = Specimen.model_validate(response.json)  # raises when not valid R4(B)
    assert resource.identifier[0].value == "FH-1-01"
    assert resource.accessionIdentifier.value == "FH-1"
    assert resource.status == "available"
    assert resource.type.coding[0].code == "tissue_frozen"
    assert any(c.code == "tissue-frozen" for c in resource.type.coding)
    assert resource.subject.identifier.value == "PSN-042" and resource.subject.type == "Patient"
    assert resource.collection.bodySite.coding[0].code == "C50.9"
    assert resource.collection.collectedDateTime.isoformat().startswith("2025-03-04T08:30")
    assert resource.parent[0].reference == f"Specimen/{parent.id}"
    assert resource.container[0].description.endswith("/ B1")
    assert float(resource.container[0].specimenQuantity.value) == 0.5
    assert resource.container[0].specimenQuantity.code == "mL"

    parent_resource = Specimen.model_validate(api("manager").get("/samples/FH-1/fhir").json)
    assert parent_resource.note[0].text == "left breast, tumour core"
    assert parent_resource.extension[0].valueCodeableConcept.coding[0].code == "C50.9"
    out = Specimen.model_validate(api("manager").get("/samples/FH_OTHER/fhir").json)
    assert out.status == "unavailable" and not out.container[0].identifier  # checked out: no position


def test_bundle_and_ndjson_exports(make, api, specimens):
    client = api("manager")
    response = client.get("/fhir/Specimen?_count=2")
    assert response.status_code == 200
    bundle = Bundle.model_validate(response.json)
    assert bundle.type == "searchset" and bundle.total == 4 and len(bundle.entry) == 2
    assert {link.relation for link in bundle.link} == {"self", "first", "next", "last"}
    next_url = next(link.url for link in bundle.link if link.relation == "next")
    second = Bundle.model_validate(client.get(next_url.split("/api/v1", 1)[1]).json)
    assert len(second.entry) == 2
    ids = [e.resource.id for e in bundle.entry + second.entry]
    assert len(set(ids)) == 4
    assert all(e.fullUrl.endswith(f"/Specimen/{e.resource.id}") for e in bundle.entry)
    one = Specimen.model_validate(client.get(f"/fhir/Specimen/{ids[0]}").json)
    assert one.id == ids[0]
    assert client.get("/fhir/Specimen/999999").status_code == 404

    plasma = Bundle.model_validate(client.get("/fhir/Specimen?type=plasma").json)
    assert [e.resource.identifier[0].value for e in plasma.entry] == ["FH_OTHER"]

    ndjson = client.get("/fhir/Specimen?format=ndjson")
    assert ndjson.status_code == 200 and ndjson.mimetype == "application/fhir+ndjson"
    lines = ndjson.get_data(as_text=True).splitlines()
    assert sorted(Specimen.model_validate(json.loads(line)).identifier[0].value for line in lines) == [
        "FH-1", "FH-1-01", "FH-1-02", "FH_OTHER"]


def test_researchers_get_the_deidentified_view(make, api, specimens):
    client = api("researcher")
    response = client.get("/samples/FH-1/fhir")
    assert response.status_code == 403 and response.json["code"] == "not_permitted"
    for path in ("/fhir/Specimen", "/fhir/Specimen?format=ndjson"):
        response = client.get(path)
        assert response.status_code == 200, path
        text = response.get_data(as_text=True)
        assert "PSN-04" not in text and "Box " not in text and "tumour" not in text, path
    assert api("technician").get("/samples/NOPE-1/fhir").status_code == 404
