"""Two FHIR client libraries we did not write, fhirclient (SMART on FHIR) and fhirpy, against the
FHIR server under a real HTTP server: capability statement, search, paging, reading,
_include. Every answer the clients receive is validated with fhir.resources."""
import warnings

import pytest
from fhirclient import client as smart_client
from fhirclient.models.patient import Patient as SmartPatient
from fhirclient.models.specimen import Specimen as SmartSpecimen
from fhirpy import SyncFHIRClient

from biobank.reports.fhir import BBMRI_MATERIAL


@pytest.fixture
def smart(fhir_server, token, validator):
    """fhirclient's FHIRClient for a technician, validating every response it receives."""
    fhir = smart_client.FHIRClient(settings={"app_id": "biobank-tests", "api_base": fhir_server + "/"})
    fhir.server.session.headers["Authorization"] = f"Bearer {token('technician')}"
    fhir.server.session.hooks["response"].append(validator)
    return fhir


def fhirpy_client(base, bearer, validator):
    return SyncFHIRClient(base, authorization=f"Bearer {bearer}",
                          requests_config={"hooks": {"response": [validator]}})


def test_fhirclient_reads_the_capability_statement_and_pages_through_a_search(collection, smart, validator):
    statement = smart.server.capabilityStatement   # fetched from /metadata, without a token
    assert statement.fhirVersion == "4.0.1"
    specimen = next(r for r in statement.rest[0].resource if r.type == "Specimen")
    assert {"_id", "identifier", "type", "status", "subject", "parent", "collected"} <= {
        p.name for p in specimen.searchParam}
    assert "Specimen:subject" in specimen.searchInclude

    search = SmartSpecimen.where(struct={"_count": "2", "_sort": "identifier"})
    pages = list(search.perform_iter(smart.server))   # follows the Bundles' next links
    assert [len(page.entry) for page in pages] == [2, 2, 2, 1]
    assert all(page.total == 7 for page in pages)
    barcodes = [e.resource.identifier[0].value for page in pages for e in page.entry]
    assert barcodes == ["FX-D1", "FX-P1", "FX-S1", "FX-T1", "FX-T1-01", "FX-T1-02", "FX-U1"]
    assert [kind for _, kind, _ in validator.checked] == ["CapabilityStatement"] + ["Bundle"] * 4


def test_fhirclient_token_search_read_and_patient(collection, smart, validator):
    plasma = list(SmartSpecimen.where(struct={"type": f"{BBMRI_MATERIAL}|blood-plasma"})
                  .perform_resources_iter(smart.server))
    assert sorted(s.identifier[0].value for s in plasma) == ["FX-D1", "FX-P1"]

    available_plasma = list(SmartSpecimen.where(struct={"type": "plasma", "status": "available"})
                            .perform_resources_iter(smart.server))
    assert [s.identifier[0].value for s in available_plasma] == ["FX-P1"]

    one = SmartSpecimen.read(available_plasma[0].id, smart.server)
    assert one.identifier[0].value == "FX-P1" and one.subject.reference == "Patient/PSN-2"
    donor = SmartPatient.read("PSN-2", smart.server)
    assert donor.identifier[0].value == "PSN-2" and not donor.name and not donor.birthDate
    # a pseudonym with "_" (not allowed in FHIR ids) is escaped in the id and reads back
    serum = next(SmartSpecimen.where(struct={"identifier": "FX-S1"}).perform_resources_iter(smart.server))
    assert serum.subject.reference == "Patient/PSN.5f3"
    assert SmartPatient.read("PSN.5f3", smart.server).identifier[0].value == "PSN_3"

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with pytest.raises(Exception) as missing:
            SmartSpecimen.read("999999", smart.server)
    assert missing.value.response.status_code == 404
    assert (404, "OperationOutcome") == validator.checked[-1][:2]
    assert len(validator.checked) >= 7


def test_fhirpy_searches_dates_sorts_includes_and_fetches_every_page(collection, fhir_server, token, validator):
    fhir = fhirpy_client(fhir_server, token("manager"), validator)
    specimens = fhir.resources("Specimen")
    assert specimens.count() == 7

    everything = specimens.sort("identifier").limit(3).fetch_all()   # three pages of 3, 3, 1
    assert [s["identifier"][0]["value"] for s in everything] == [
        "FX-D1", "FX-P1", "FX-S1", "FX-T1", "FX-T1-01", "FX-T1-02", "FX-U1"]
    assert sum(1 for status, kind, url in validator.checked if kind == "Bundle" and "_offset=" in url) >= 2

    in_2025 = specimens.search(collected="2025").sort("-collected").fetch()
    assert [s["identifier"][0]["value"] for s in in_2025] == ["FX-S1", "FX-D1", "FX-P1"]
    # January 2025 in Tashkent (UTC+05:00) ends at 2025-01-31T19:00Z: the 23:30Z plasma is February there
    january_tashkent = specimens.search(collected=["ge2025-01-01T00:00+05:00", "lt2025-02-01T00:00+05:00"]).fetch()
    assert [s["identifier"][0]["value"] for s in january_tashkent] == []
    january_utc = specimens.search(collected=["ge2025-01", "le2025-01-31"]).fetch()
    assert [s["identifier"][0]["value"] for s in january_utc] == ["FX-P1"]

    line = specimens.search(parent=f"Specimen/{everything[3]['id']}").sort("identifier").fetch()
    assert [s["identifier"][0]["value"] for s in line] == ["FX-T1-01", "FX-T1-02"]

    raw = specimens.search(subject="Patient/PSN-2").include("Specimen", "subject").fetch_raw()
    kinds = sorted((e["resource"]["resourceType"], e["search"]["mode"]) for e in raw["entry"])
    assert kinds == [("Patient", "include"), ("Specimen", "match"), ("Specimen", "match")]

    box = fhir.reference("Location", str(collection.id)).to_resource()
    assert box["identifier"][0]["value"] == collection.barcode
    assert box["description"] == collection.path


def test_researchers_client_sees_the_deidentified_catalogue(collection, fhir_server, token, validator):
    fhir = fhirpy_client(fhir_server, token("researcher"), validator)
    catalogue = fhir.resources("Specimen").sort("identifier").fetch_all()
    assert [s["identifier"][0]["value"] for s in catalogue] == [
        "FX-P1", "FX-S1", "FX-T1", "FX-T1-01", "FX-T1-02", "FX-U1"]   # not the discarded one
    for resource in catalogue:
        data = resource.serialize()
        assert "subject" not in data and "note" not in data
        assert all(set(c) == {"specimenQuantity"} for c in data.get("container", []))
        assert not any("storage-location" in e["url"] for e in data.get("extension", []))
    refused = validator.checked
    with pytest.raises(Exception):
        fhir.reference("Patient", "PSN-2").to_resource()
    assert refused[-1][:2] == (403, "OperationOutcome")
