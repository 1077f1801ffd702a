"""One sample as an HL7 FHIR R4 Specimen (the FHIR server in biobank/fhir searches them).

Mapping:
- id: the sample's database id (FHIR ids may not hold "_", barcodes may);
  identifier and accessionIdentifier carry the barcode (the accession
  identifier is the barcode of the primary sample the aliquot line descends from).
- status: available -> available; every other state, and withdrawn consent -> unavailable.
- type: the sample type in the biobank's own code system (the MIABIS-style
  codes of this application) and in the BBMRI.de SampleMaterialType code system.
- subject: the donor pseudonym as identifier (the FHIR server adds the reference to
  its pseudonymous Patient); no other donor data leaves.
- collection: collectedDateTime and bodySite (ICD-O-3 topography).
- parent: Specimen/<id> of the parent sample.
- container: the box and position with the path, and the current volume.
- note: the free-text notes; the diagnosis (ICD-10) travels as an extension.
"""
from flask import current_app

from ..core.permissions import require
from ..core.time import iso_utc
from ..samples.models import Sample
from ..samples.service import get_sample

DEFAULT_SYSTEM = "urn:biobank"
BBMRI_MATERIAL = "https://fhir.bbmri.de/CodeSystem/SampleMaterialType"
ICD_O_3 = "urn:oid:2.16.840.1.113883.6.43.1"
ICD_10 = "http://hl7.org/fhir/sid/icd-10"
UCUM = "http://unitsofmeasure.org"
_BBMRI_CODES = {"tissue_frozen": "tissue-frozen", "tissue_ffpe": "tissue-ffpe", "plasma": "blood-plasma",
                "serum": "blood-serum", "buffy_coat": "buffy-coat", "whole_blood": "whole-blood", "dna": "dna",
                "rna": "rna", "pbmc": "peripheral-blood-cells-vital", "urine": "urine"}
_TYPE_NAMES = {"tissue_frozen": "Tissue (frozen)", "tissue_ffpe": "Tissue (FFPE)", "plasma": "Plasma",
               "serum": "Serum", "buffy_coat": "Buffy coat", "whole_blood": "Whole blood", "dna": "DNA",
               "rna": "RNA", "pbmc": "Peripheral blood mononuclear cells", "urine": "Urine", "other": "Other"}
_UCUM_UNITS = {"mL": "mL", "uL": "uL", "µL": "uL", "mg": "mg", "g": "g", "ug": "ug", "µg": "ug", "ng": "ng"}


def _system(suffix: str) -> str:
    base = current_app.config.get("BIOBANK_FHIR_SYSTEM", DEFAULT_SYSTEM).rstrip(":/")
    return f"{base}:{suffix}" if base.startswith("urn:") else f"{base}/{suffix}"


def _accession(sample: Sample) -> str:
    root, hops = sample, 0
    while root.parent_id and hops < 50:
        root, hops = root.parent, hops + 1
    return root.barcode


def _quantity(value, unit) -> dict:
    quantity = {"value": float(value)}
    if unit:
        quantity["unit"] = unit
        if unit in _UCUM_UNITS:
            quantity.update(system=UCUM, code=_UCUM_UNITS[unit])
    return quantity


def specimen(sample: Sample) -> dict:
    """One FHIR R4 Specimen as a JSON-ready dict."""
    codings = [{"system": _system("sample-type"), "code": sample.sample_type,
                "display": _TYPE_NAMES.get(sample.sample_type, sample.sample_type)}]
    if sample.sample_type in _BBMRI_CODES:
        codings.append({"system": BBMRI_MATERIAL, "code": _BBMRI_CODES[sample.sample_type]})
    resource = {
        "resourceType": "Specimen",
        "id": str(sample.id),
        "identifier": [{"use": "official", "system": _system("sample-barcode"), "value": sample.barcode}],
        "accessionIdentifier": {"system": _system("sample-barcode"), "value": _accession(sample)},
        "status": "available" if sample.status == "available" and not sample.consent_withdrawn else "unavailable",
        "type": {"coding": codings, "text": _TYPE_NAMES.get(sample.sample_type, sample.sample_type)},
        "receivedTime": iso_utc(sample.created_at),
    }
    if sample.donor:
        resource["subject"] = {"type": "Patient",
                               "identifier": {"system": _system("donor-pseudonym"), "value": sample.donor}}
    collection = {}
    if sample.collected_at:
        collection["collectedDateTime"] = iso_utc(sample.collected_at)
    if sample.anatomical_site:
        collection["bodySite"] = {"coding": [{"system": ICD_O_3, "code": sample.anatomical_site}]}
    if collection:
        resource["collection"] = collection
    if sample.parent_id:
        resource["parent"] = [{"reference": f"Specimen/{sample.parent_id}", "display": sample.parent.barcode}]
    container = {}
    if sample.container_id:
        container["identifier"] = [{"system": _system("storage-position"),
                                    "value": f"{sample.container.barcode}/{sample.position}"}]
        container["description"] = sample.location_path
    if sample.volume is not None:
        container["specimenQuantity"] = _quantity(sample.volume, sample.unit)
    if container:
        resource["container"] = [container]
    if sample.diagnosis:
        resource["extension"] = [{"url": _system("fhir/StructureDefinition/diagnosis"),
                                  "valueCodeableConcept": {"coding": [{"system": ICD_10,
                                                                       "code": sample.diagnosis}]}}]
    notes = [f"Status in the inventory: {sample.status.replace('_', ' ')}"
             + ("; donor consent withdrawn" if sample.consent_withdrawn else "") + "."]
    if sample.notes:
        notes.insert(0, sample.notes)
    resource["note"] = [{"text": text} for text in notes]
    return resource


def sample_specimen(actor, barcode: str) -> dict:
    require(actor, "samples.identified")  # it carries the donor reference and the location
    return specimen(get_sample(barcode))
