"""The MIABIS directory export: collections by diagnosis category and material type, counts
of what can still be offered, small counts suppressed (API JSON and CSV, CLI)."""
import csv
import io
import json

import pytest

from biobank.extensions import db
from biobank.samples import service as samples


@pytest.fixture
def holdings(make, app):
    """Breast cancer (C50) frozen tissue of 12 donors, 2 more aliquots of one of them; colon (C18)
    plasma of 3 donors; one discarded and one withdrawn donor's tube that do not count."""
    app.config.update(BIOBANK_DIRECTORY_ID="bbmri-eric:ID:UZ_RSCO", BIOBANK_DIRECTORY_NAME="Tashkent Oncology Biobank",
                      BIOBANK_DIRECTORY_COUNTRY="UZ", BIOBANK_DIRECTORY_CONTACT_EMAIL="biobank@onco.example")
    tank = make.tank(racks=1, boxes_per_rack=3, rows=6, cols=6)
    boxes = make.boxes_of(tank)
    for n in range(12):
        make.sample(f"BR-{n:02d}", location={"strategy": "compact"}, sample_type="tissue_frozen",
                    donor=f"D-BR-{n:02d}", diagnosis="C50.9" if n % 2 else "C50.4", storage_temperature="LN2_vapor")
    samples.aliquot_sample(make.admin, "BR-00", count=2, volume="0.1", strategy="compact")
    for n in range(3):
        make.sample(f"CO-{n}", location={"strategy": "compact"}, sample_type="plasma", donor=f"D-CO-{n}",
                    diagnosis="C18.7", storage_temperature="-60to-85")
    make.sample("CO-X", location={"strategy": "compact"}, sample_type="plasma", donor="D-CO-X", diagnosis="C18.7")
    samples.discard_sample(make.admin, "CO-X", reason="broken")
    make.sample("CO-W", location={"strategy": "compact"}, sample_type="plasma", donor="D-CO-W", diagnosis="C18.7")
    samples.withdraw_consent(make.admin, "D-CO-W", reason="letter")
    db.session.commit()
    return boxes


def test_collections_with_counts_and_suppression(api, holdings):
    response = api("manager").get("/directory")
    assert response.status_code == 200
    document = response.json
    assert document["min_count"] == 10 and document["biobank"]["name"] == "Tashkent Oncology Biobank"
    by_id = {c["id"]: c for c in document["collections"]}
    breast = by_id["bbmri-eric:ID:UZ_RSCO:collection:C50-TISSUE_FROZEN"]
    assert (breast["size"], breast["number_of_donors"], breast["counts_suppressed"]) == (14, 12, False)
    assert breast["diagnosis_available"] == ["urn:miriam:icd:C50"] and breast["material_types"] == ["TISSUE_FROZEN"]
    assert breast["storage_temperatures"] == ["temperatureLN"]
    assert breast["data_categories"] == ["BIOLOGICAL_SAMPLES", "MEDICAL_RECORDS"]
    colon = by_id["bbmri-eric:ID:UZ_RSCO:collection:C18-PLASMA"]
    assert (colon["size"], colon["number_of_donors"], colon["counts_suppressed"]) == (None, None, True)
    assert document["biobank"]["size"] == 14                    # the total never reveals a suppressed count
    assert document["biobank"]["collections_with_suppressed_counts"] == 1

    lower = api("manager").get("/directory?min_count=2")
    assert lower.status_code == 422 and lower.json["code"] == "min_count_too_low"
    stricter = api("manager").get("/directory?min_count=15").json
    assert all(c["counts_suppressed"] for c in stricter["collections"]) and stricter["biobank"]["size"] == 0


def test_csv_and_cli_say_the_same(api, holdings, runner):
    response = api("technician").get("/directory?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["collection_id"].rsplit(":", 1)[1], r["size"], r["counts_suppressed"]) for r in rows] == [
        ("C18-PLASMA", "", "true"), ("C50-TISSUE_FROZEN", "14", "false")]
    assert rows[0]["contact_email"] == "biobank@onco.example"

    result = runner.invoke(args=["directory", "export"])
    assert result.exit_code == 0, result.output
    exported = json.loads(result.output)
    assert [c["size"] for c in exported["collections"]] == [None, 14]
    assert runner.invoke(args=["directory", "export", "--format", "csv"]).output.splitlines()[0].startswith(
        "biobank_id,biobank_name,collection_id")
    assert api("researcher").get("/directory").status_code == 403
