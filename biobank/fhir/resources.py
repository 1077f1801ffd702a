"""FHIR R4 resources of the inventory beyond Specimen (reports/fhir.py): Patient (a donor,
pseudonymous), Location (a storage container), OperationOutcome (an error), and the
de-identified Specimen researchers see.

Patient ids are the donor pseudonyms where FHIR's id alphabet allows (A-Z a-z 0-9 - .);
a pseudonym holding "_" or "." is written with ".5f" / ".2e" escapes, so every id
reads back to exactly one pseudonym.
"""
import re

from ..reports.fhir import _system, specimen
from ..samples.models import Sample
from ..storage.models import Container

_ESCAPE = re.compile(r"\.(2e|5f)")
LOCATION_TYPE = "http://terminology.hl7.org/CodeSystem/location-physical-type"
_PHYSICAL = {"site": ("si", "Site"), "building": ("bu", "Building"), "room": ("ro", "Room")}
_ISSUE_CODES = {400: "invalid", 401: "login", 403: "forbidden", 404: "not-found", 405: "not-supported",
                406: "not-supported", 409: "conflict", 410: "deleted", 413: "too-costly", 422: "processing",
                429: "throttled", 503: "transient"}


def patient_id(pseudonym: str) -> str:
    return pseudonym.replace(".", ".2e").replace("_", ".5f")


def pseudonym_of(patient: str) -> str:
    return _ESCAPE.sub(lambda m: "_" if m.group(1) == "5f" else ".", patient)


def patient(pseudonym: str, consent_withdrawn: bool) -> dict:
    """The donor as FHIR knows them here: a pseudonym, nothing that names a person."""
    return {"resourceType": "Patient", "id": patient_id(pseudonym),
            "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                                   "code": "PSEUDED", "display": "pseudonymized"}]},
            "identifier": [{"use": "secondary", "system": _system("donor-pseudonym"), "value": pseudonym}],
            "active": not consent_withdrawn}


def specimen_for(sample: Sample, identified: bool) -> dict:
    """The Specimen with a resolvable subject and storage Location for staff; without donor,
    location and notes for researchers."""
    resource = specimen(sample)
    if identified:
        if sample.donor:
            resource["subject"]["reference"] = f"Patient/{patient_id(sample.donor)}"
        if sample.container_id:
            resource.setdefault("extension", []).append({
                "url": _system("fhir/StructureDefinition/storage-location"),
                "valueReference": {"reference": f"Location/{sample.container_id}",
                                   "display": sample.location_path}})
        return resource
    resource.pop("subject", None)
    resource.pop("note", None)
    quantity = [{"specimenQuantity": c["specimenQuantity"]} for c in resource.pop("container", [])
                if "specimenQuantity" in c]
    if quantity:
        resource["container"] = quantity
    resource["meta"] = {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
                                      "code": "DEID", "display": "deidentified"}]}
    return resource


def location(container: Container) -> dict:
    """A storage container (site, tank, rack, box, ...) as a FHIR Location."""
    codings = [{"system": _system("container-kind"), "code": container.kind, "display": container.kind.title()}]
    if container.kind in _PHYSICAL:
        code, display = _PHYSICAL[container.kind]
        codings.insert(0, {"system": LOCATION_TYPE, "code": code, "display": display})
    resource = {"resourceType": "Location", "id": str(container.id), "status": "active", "mode": "instance",
                "identifier": [{"use": "official", "system": _system("container-barcode"),
                                "value": container.barcode}],
                "name": container.name, "description": container.path,
                "physicalType": {"coding": codings, "text": container.kind}}
    if container.parent_id:
        resource["partOf"] = {"reference": f"Location/{container.parent_id}"}
    if container.capacity:
        resource["extension"] = [
            {"url": _system("fhir/StructureDefinition/positions"), "valueInteger": container.capacity},
            {"url": _system("fhir/StructureDefinition/positions-used"), "valueInteger": container.used}]
    return resource


def operation_outcome(status: int, message: str, code: str | None = None, severity: str = "error") -> dict:
    issue = {"severity": severity, "code": _ISSUE_CODES.get(status, "exception"), "diagnostics": message}
    if code:
        issue["details"] = {"coding": [{"system": _system("error-code"), "code": code}], "text": message}
    return {"resourceType": "OperationOutcome", "issue": [issue]}
