"""FHIR search semantics (R4 3.1.1): date prefixes on partial dates, tokens, references,
modifiers, lenient and strict handling, errors as OperationOutcome with the right status."""
import json
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from biobank.reports.fhir import BBMRI_MATERIAL

from .conftest import validate_resource


@pytest.fixture
def fhir(make, token):
    """fhir(role)(path, **headers) -> (status, resource) against /fhir, validating the resource."""
    def as_role(role, base="/fhir"):
        client, bearer = make.app.test_client(), token(role) if role else None

        def get(path, **headers):
            if bearer:
                headers["Authorization"] = f"Bearer {bearer}"
            response = client.get(base + path, headers=headers)
            assert response.mimetype == "application/fhir+json", (path, response.mimetype)
            data = json.loads(response.get_data())
            validate_resource(data)
            return response.status_code, data
        return get
    return as_role


def barcodes(bundle) -> list[str]:
    return sorted(e["resource"]["identifier"][0]["value"] for e in bundle.get("entry", [])
                  if e["search"]["mode"] == "match")


DATES = [
    ("collected=2025", ["FX-D1", "FX-P1", "FX-S1"]),
    ("collected=eq2025-01", ["FX-P1"]),
    ("collected=2025-01-31T23:30", ["FX-P1"]),
    ("collected=ne2025", ["FX-T1", "FX-T1-01", "FX-T1-02"]),     # aliquots keep their parent's date; no date never matches
    ("collected=lt2025-01-31", ["FX-T1", "FX-T1-01", "FX-T1-02"]),
    ("collected=le2025-01-31", ["FX-P1", "FX-T1", "FX-T1-01", "FX-T1-02"]),
    ("collected=gt2025-02", ["FX-S1"]),
    ("collected=ge2025-02", ["FX-D1", "FX-S1"]),
    ("collected=sa2024-12-31", ["FX-D1", "FX-P1", "FX-S1"]),
    ("collected=eb2025-02-10T08:00:00Z", ["FX-P1", "FX-T1", "FX-T1-01", "FX-T1-02"]),
    ("collected=eq2025-02-01T04:30:00%2B05:00", ["FX-P1"]),    # the same instant written in Tashkent time
    ("collected=ge2025-01&collected=lt2025-03", ["FX-D1", "FX-P1"]),   # repeated: AND
    ("collected=2024,2025-03", ["FX-S1", "FX-T1", "FX-T1-01", "FX-T1-02"]),   # comma: OR
    ("collected:missing=true", ["FX-U1"]),
]


def test_collected_dates_follow_the_fhir_prefixes(collection, fhir):
    get = fhir("manager")
    for query, expected in DATES:
        status, bundle = get(f"/Specimen?{query}")
        assert (status, barcodes(bundle)) == (200, expected), query


TOKENS = [
    ("type=plasma", ["FX-D1", "FX-P1"]),
    ("type=urn:biobank:sample-type|serum", ["FX-S1"]),
    (f"type={BBMRI_MATERIAL}|tissue-frozen", ["FX-T1", "FX-T1-01", "FX-T1-02"]),
    ("type=http://snomed.info/sct|119361006", []),           # another code system: nothing of ours
    ("type=serum,urine", ["FX-S1", "FX-U1"]),
    ("status=unavailable", ["FX-D1"]),
    ("status=urn:biobank:sample-status|discarded", ["FX-D1"]),
    ("identifier=urn:biobank:sample-barcode|FX-P1", ["FX-P1"]),
    ("identifier=FX-P1,FX-U1", ["FX-P1", "FX-U1"]),
    ("subject=Patient/PSN-2", ["FX-P1", "FX-U1"]),
    ("patient=PSN.5f3", ["FX-S1"]),
    ("bodysite=C50.9", ["FX-T1", "FX-T1-01", "FX-T1-02"]),
    ("_id=999999", []),
]


def test_tokens_and_references(collection, fhir):
    get = fhir("technician")
    for query, expected in TOKENS:
        status, bundle = get(f"/Specimen?{query}")
        assert (status, barcodes(bundle)) == (200, expected), query


def test_paging_links_total_count_and_both_bases(collection, fhir):
    for base in ("/fhir", "/api/v1/fhir"):
        get = fhir("manager", base)
        status, first = get("/Specimen?_count=3&_sort=-identifier")
        assert status == 200 and first["total"] == 7 and len(first["entry"]) == 3
        links = {link["relation"]: link["url"] for link in first["link"]}
        assert set(links) == {"self", "first", "next", "last"}
        assert links["self"].startswith(f"http://localhost{base}/Specimen?")
        seen = barcodes(first)
        url = links["next"]
        while url:
            _, page = get(url.split(base, 1)[1])
            seen += barcodes(page)
            relations = {link["relation"]: link["url"] for link in page["link"]}
            assert "previous" in relations
            url = relations.get("next")
        assert sorted(seen) == sorted(set(seen)) and len(seen) == 7
    status, counted = fhir("manager")("/Specimen?type=plasma&_summary=count")
    assert counted["total"] == 2 and "entry" not in counted
    assert fhir("manager")("/Specimen?_count=0")[1]["total"] == 7


def test_lenient_ignores_unknown_parameters_strict_refuses_them(collection, fhir):
    get = fhir("manager")
    status, bundle = get("/Specimen?type=serum&colour=blue")
    assert status == 200 and barcodes(bundle) == ["FX-S1"]
    assert "colour" not in bundle["link"][0]["url"]             # self names only what was honoured
    outcome = [e for e in bundle["entry"] if e["search"]["mode"] == "outcome"]
    assert "colour" in outcome[0]["resource"]["issue"][0]["diagnostics"]
    status, refused = get("/Specimen?type=serum&colour=blue", Prefer="handling=strict")
    assert status == 400 and refused["resourceType"] == "OperationOutcome"
    assert "colour" in refused["issue"][0]["diagnostics"]


def test_every_advertised_search_parameter_is_honoured_under_strict_handling(collection, fhir):
    _, statement = fhir(None)("/metadata")                     # public, as clients expect
    samples = {"token": "x", "reference": "1", "date": "ge2020", "string": "Box"}
    get = fhir("admin")
    checked = 0
    for resource in statement["rest"][0]["resource"]:
        for param in resource["searchParam"]:
            status, answer = get(f"/{resource['type']}?{param['name']}={samples[param['type']]}",
                                 Prefer="handling=strict")
            assert status == 200 and answer["resourceType"] == "Bundle", (resource["type"], param, answer)
            checked += 1
        for include in resource["searchInclude"]:
            status, _ = get(f"/{resource['type']}?_include={include}", Prefer="handling=strict")
            assert status == 200, include
    assert checked >= 15


ERRORS = [
    (None, "/Specimen", 401, "login"),
    ("researcher", "/Patient/PSN-2", 403, "forbidden"),
    ("researcher", "/Location?_count=5", 403, "forbidden"),
    ("researcher", "/Specimen?subject=Patient/PSN-2", 403, "forbidden"),
    ("researcher", "/Specimen?_include=Specimen:subject", 403, "forbidden"),
    ("manager", "/Specimen/999999", 404, "not-found"),
    ("manager", "/Specimen/not-an-id", 404, "not-found"),
    ("manager", "/Patient/NOBODY", 404, "not-found"),
    ("manager", "/Observation?code=1", 404, "not-found"),
    ("manager", "/Specimen/1/_history", 404, "not-found"),
    ("manager", "/Specimen?collected=ap2025", 400, "invalid"),
    ("manager", "/Specimen?collected=2025-13", 400, "invalid"),
    ("manager", "/Specimen?collected=yesterday", 400, "invalid"),
    ("manager", "/Specimen?_count=5000", 400, "invalid"),
    ("manager", "/Specimen?_sort=colour", 400, "invalid"),
    ("manager", "/Specimen?type:text=plasma", 400, "invalid"),
    ("manager", "/Specimen?subject=Specimen/4", 400, "invalid"),
    ("manager", "/Specimen?_format=xml", 406, "not-supported"),
]


def test_errors_are_operation_outcomes(collection, fhir):
    clients = {role: fhir(role) for role in (None, "researcher", "manager")}
    for role, path, status, code in ERRORS:
        answered, outcome = clients[role](path)
        assert (answered, outcome["resourceType"], outcome["issue"][0]["code"]) == (
            status, "OperationOutcome", code), (role, path, outcome)
        assert outcome["issue"][0]["diagnostics"]


def test_writes_are_refused_as_operation_outcomes(collection, make, token):
    client = make.app.test_client()
    response = client.post("/fhir/Specimen", json={"resourceType": "Specimen"},
                           headers={"Authorization": f"Bearer {token('admin')}"})
    assert response.status_code == 405 and response.json["resourceType"] == "OperationOutcome"
    assert client.get("/fhir/Specimen").headers["WWW-Authenticate"].startswith("Bearer")


def test_researchers_specimen_read_hides_what_is_not_in_the_catalogue(collection, fhir):
    _, bundle = fhir("manager")("/Specimen?identifier=FX-D1,FX-P1")
    ids = {e["resource"]["identifier"][0]["value"]: e["resource"]["id"] for e in bundle["entry"]}
    status, shown = fhir("researcher")(f"/Specimen/{ids['FX-P1']}")
    assert status == 200 and "subject" not in shown and shown["meta"]["security"][0]["code"] == "DEID"
    assert fhir("researcher")(f"/Specimen/{ids['FX-D1']}")[0] == 404    # discarded: not in the catalogue
    _, line = fhir("researcher")("/Specimen?identifier=FX-T1-01&_include=Specimen:parent")
    parent = [e["resource"] for e in line["entry"] if e["search"]["mode"] == "include"]
    assert [p["identifier"][0]["value"] for p in parent] == ["FX-T1"]
    assert "subject" not in parent[0] and "note" not in parent[0]       # included: de-identified too


def test_locations_for_staff(collection, fhir):
    get = fhir("technician")
    status, boxes = get(f"/Location?identifier={collection.barcode}&_include=Location:partof")
    assert status == 200 and boxes["total"] == 1
    box = boxes["entry"][0]["resource"]
    assert box["name"] == "FHIR box" and box["extension"][0]["valueInteger"] == 16
    _, specimen = get("/Specimen?identifier=FX-P1")
    where = next(e for e in specimen["entry"][0]["resource"]["extension"] if "storage-location" in e["url"])
    assert where["valueReference"]["reference"] == f"Location/{collection.id}"
    _, named = get("/Location?name=fhir")
    assert [e["resource"]["id"] for e in named["entry"]] == [str(collection.id)]


def test_ndjson_export_of_a_search(collection, make, token):
    response = make.app.test_client().get("/fhir/Specimen?_format=ndjson&type=plasma",
                                          headers={"Authorization": f"Bearer {token('manager')}"})
    assert response.status_code == 200 and response.mimetype == "application/fhir+ndjson"
    lines = response.get_data(as_text=True).splitlines()
    assert sorted(validate_resource(json.loads(line)).identifier[0].value for line in lines) == ["FX-D1", "FX-P1"]


def test_any_query_string_gets_an_answer_never_a_crash(collection, make, token):
    """Random values (and modifiers) for every parameter: 200 or a 4xx OperationOutcome, never a 500."""
    client, bearer = make.app.test_client(), token("manager")
    names = ["_id", "identifier", "type", "status", "subject", "patient", "parent", "collected", "bodysite",
             "_count", "_offset", "_sort", "_include", "_summary", "_format", "collected:missing", "type:text",
             "name", "partof"]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
    @given(resource=st.sampled_from(["Specimen", "Patient", "Location"]),
           pairs=st.lists(st.tuples(st.sampled_from(names), st.text(max_size=30)), max_size=4),
           strict=st.booleans())
    def probe(resource, pairs, strict):
        headers = {"Authorization": f"Bearer {bearer}"}
        if strict:
            headers["Prefer"] = "handling=strict"
        response = client.get(f"/fhir/{resource}?{urlencode(pairs)}", headers=headers)
        assert response.status_code in (200, 400, 403, 404, 406), (pairs, response.get_data(as_text=True))
        if response.mimetype == "application/fhir+json":
            validate_resource(json.loads(response.get_data()))
    probe()
