"""The CapabilityStatement: what this FHIR server reads and searches, built from the same
tables the searches use, so it cannot name a parameter the server does not honour."""
from ..core.time import iso_utc, utcnow
from .search import INCLUDES, SEARCH_PARAMETERS, SORTS

FHIR_VERSION = "4.0.1"
_DEFINITIONS = {
    ("Specimen", "identifier"): "http://hl7.org/fhir/SearchParameter/Specimen-identifier",
    ("Specimen", "type"): "http://hl7.org/fhir/SearchParameter/Specimen-type",
    ("Specimen", "status"): "http://hl7.org/fhir/SearchParameter/Specimen-status",
    ("Specimen", "subject"): "http://hl7.org/fhir/SearchParameter/Specimen-subject",
    ("Specimen", "patient"): "http://hl7.org/fhir/SearchParameter/clinical-patient",
    ("Specimen", "parent"): "http://hl7.org/fhir/SearchParameter/Specimen-parent",
    ("Specimen", "collected"): "http://hl7.org/fhir/SearchParameter/Specimen-collected",
    ("Specimen", "bodysite"): "http://hl7.org/fhir/SearchParameter/Specimen-bodysite",
    ("Patient", "identifier"): "http://hl7.org/fhir/SearchParameter/Patient-identifier",
    ("Location", "identifier"): "http://hl7.org/fhir/SearchParameter/Location-identifier",
    ("Location", "name"): "http://hl7.org/fhir/SearchParameter/Location-name",
    ("Location", "partof"): "http://hl7.org/fhir/SearchParameter/Location-partof",
}
_PROFILES = {"Specimen": "http://hl7.org/fhir/StructureDefinition/Specimen",
             "Patient": "http://hl7.org/fhir/StructureDefinition/Patient",
             "Location": "http://hl7.org/fhir/StructureDefinition/Location"}
_DOCS = {"Specimen": "The samples. Researchers see the de-identified catalogue: available samples of consenting "
                     "donors, without subject, storage location or notes.",
         "Patient": "The donors, as pseudonyms only (no name, birth date or address). Staff only.",
         "Location": "The storage containers (site, tank, rack, box); a Specimen's storage-location "
                     "extension names its box and its container identifier the position. Staff only."}


def _search_param(resource_type, name, kind, documentation):
    param = {"name": name, "type": kind, "documentation": documentation}
    definition = _DEFINITIONS.get((resource_type, name))
    if name == "_id":
        definition = "http://hl7.org/fhir/SearchParameter/Resource-id"
    if definition:
        param["definition"] = definition
    return param


def capability_statement(base_url: str, software_version: str) -> dict:
    resources = []
    for resource_type, parameters in SEARCH_PARAMETERS.items():
        resources.append({
            "type": resource_type,
            "profile": _PROFILES[resource_type],
            "documentation": _DOCS[resource_type] + " Sort (_sort) by " + ", ".join(SORTS[resource_type]) + ".",
            "interaction": [{"code": "read"}, {"code": "search-type"}],
            "versioning": "no-version",
            "readHistory": False,
            "updateCreate": False,
            "conditionalCreate": False,
            "conditionalRead": "not-supported",
            "conditionalUpdate": False,
            "conditionalDelete": "not-supported",
            "searchInclude": list(INCLUDES[resource_type]),
            "searchParam": [_search_param(resource_type, name, kind, doc)
                            for name, (kind, doc) in parameters.items()],
        })
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": iso_utc(utcnow()),
        "publisher": "Biobank sample inventory",
        "kind": "instance",
        "software": {"name": "Biobank sample inventory", "version": software_version},
        "implementation": {"description": "Biobank sample inventory FHIR R4 server", "url": base_url},
        "fhirVersion": FHIR_VERSION,
        "format": ["application/fhir+json", "json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only. Result parameters: _count (0..1000, default 50), _offset, _sort, "
                             "_include, _summary=count, _format=ndjson (Specimen: every match, one per line). "
                             "Unknown search parameters are ignored, or refused with 400 under "
                             "'Prefer: handling=strict'.",
            "security": {"cors": False,
                         "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                                            "restful-security-service", "code": "OAuth"}],
                                      "text": "Bearer token from POST /api/v1/auth/token"}],
                         "description": "Send 'Authorization: Bearer TOKEN'; only this statement is public."},
            "resource": resources,
        }],
    }
