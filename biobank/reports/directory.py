"""What the biobank holds, for national and BBMRI-ERIC style directories, in MIABIS terms:
the biobank (id, name, juridical person, country, contact) and its collections, one per
diagnosis (ICD-10 category) and material type, with sample and donor counts, storage
temperatures and data categories.

Only what can still be offered counts: samples in storage or checked out (not shipped,
consumed or discarded) of donors who have not withdrawn consent.

No donor can be singled out: a collection with fewer samples or fewer donors than the
threshold (BIOBANK_DIRECTORY_MIN_COUNT, 10; a caller may ask for more, never less) is
listed with its counts suppressed (null, `counts_suppressed: true`), and the biobank's
totals add up the listed counts only, so subtracting never reveals a suppressed one.
Age and sex ranges are not recorded by this inventory, so they are not reported (null).
"""
import csv
import io
import os

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..core.errors import InvalidInput
from ..core.permissions import require
from ..core.time import iso_utc, utcnow
from ..extensions import db
from ..samples.models import Sample
from ..samples.queries import spreadsheet_safe

DEFAULT_MIN_COUNT = 10
OFFERED = ("available", "reserved", "checked_out")
MIABIS_MATERIAL = {"tissue_frozen": "TISSUE_FROZEN", "tissue_ffpe": "TISSUE_PARAFFIN_EMBEDDED", "plasma": "PLASMA",
                   "serum": "SERUM", "buffy_coat": "BUFFY_COAT", "whole_blood": "WHOLE_BLOOD", "dna": "DNA",
                   "rna": "RNA", "pbmc": "PERIPHERAL_BLOOD_CELLS", "urine": "URINE", "other": "OTHER"}
MIABIS_TEMPERATURE = {"RT": "temperatureRoom", "2to10": "temperature2to10", "-18to-35": "temperature-18to-35",
                      "-60to-85": "temperature-60to-85", "LN2_vapor": "temperatureLN", "LN2_liquid": "temperatureLN"}
CSV_COLUMNS = ("biobank_id", "biobank_name", "collection_id", "collection_name", "diagnosis", "material_type",
               "size", "number_of_donors", "counts_suppressed", "storage_temperatures", "data_categories",
               "age_low", "age_high", "age_unit", "sex", "contact_email")


def _setting(name: str, default=None):
    return current_app.config.get(name) or os.environ.get(name) or default


def min_count(asked: int | None = None) -> int:
    floor = int(_setting("BIOBANK_DIRECTORY_MIN_COUNT", DEFAULT_MIN_COUNT))
    if asked is not None and asked < floor:
        raise InvalidInput(_("Counts under %(floor)s are always suppressed; min_count can only be raised.",
                             floor=floor),
                           code="min_count_too_low")
    return max(floor, asked or floor)


def _biobank() -> dict:
    biobank_id = _setting("BIOBANK_DIRECTORY_ID", "bbmri-eric:ID:XX_BIOBANK")
    return {"id": biobank_id, "name": _setting("BIOBANK_DIRECTORY_NAME", "Biobank"),
            "acronym": _setting("BIOBANK_DIRECTORY_ACRONYM"),
            "description": _setting("BIOBANK_DIRECTORY_DESCRIPTION"),
            "juridical_person": _setting("BIOBANK_DIRECTORY_JURIDICAL_PERSON"),
            "country": _setting("BIOBANK_DIRECTORY_COUNTRY"), "url": _setting("BIOBANK_DIRECTORY_URL"),
            "contact": {"name": _setting("BIOBANK_DIRECTORY_CONTACT_NAME"),
                        "email": _setting("BIOBANK_DIRECTORY_CONTACT_EMAIL"),
                        "phone": _setting("BIOBANK_DIRECTORY_CONTACT_PHONE")}}


def _category(code: str | None) -> str | None:
    return code.strip().upper()[:3] if code and code.strip() else None


def directory(actor, asked_min_count: int | None = None) -> dict:
    require(actor, "reports.read")
    threshold = min_count(asked_min_count)
    biobank = _biobank()
    rows = db.session.execute(
        select(Sample.diagnosis, Sample.sample_type, Sample.storage_temperature, func.count(Sample.id),
               func.count(func.distinct(Sample.donor)))
        .where(Sample.status.in_(OFFERED), Sample.consent_withdrawn.is_(False))
        .group_by(Sample.diagnosis, Sample.sample_type, Sample.storage_temperature)).all()
    groups: dict = {}
    for diagnosis, sample_type, temperature, samples, _donors in rows:
        key = (_category(diagnosis), sample_type)
        group = groups.setdefault(key, {"samples": 0, "temperatures": set()})
        group["samples"] += samples
        if temperature in MIABIS_TEMPERATURE:
            group["temperatures"].add(MIABIS_TEMPERATURE[temperature])
    donors = _donors_per_collection()
    collections = []
    for (category, sample_type), group in sorted(groups.items(), key=lambda kv: (kv[0][0] or "~", kv[0][1])):
        donor_count = donors.get((category, sample_type), 0)
        suppressed = group["samples"] < threshold or donor_count < threshold
        material = MIABIS_MATERIAL.get(sample_type, "OTHER")
        collection_key = f"{category or 'NODIAG'}-{material}"
        collections.append({
            "id": f"{biobank['id']}:collection:{collection_key}",
            "name": f"{category or 'No diagnosis recorded'}, {material.replace('_', ' ').lower()}",
            "type": ["DISEASE_SPECIFIC"] if category else ["SAMPLE"],
            "diagnosis_available": [f"urn:miriam:icd:{category}"] if category else [],
            "material_types": [material],
            "size": None if suppressed else group["samples"],
            "number_of_donors": None if suppressed else donor_count,
            "counts_suppressed": suppressed,
            "storage_temperatures": sorted(group["temperatures"]),
            "data_categories": ["BIOLOGICAL_SAMPLES"] + (["MEDICAL_RECORDS"] if category else []),
            "age_low": None, "age_high": None, "age_unit": None, "sex": [],
            "contact": biobank["contact"],
        })
    listed = [c for c in collections if not c["counts_suppressed"]]
    return {"format": "MIABIS-2.0", "generated_at": iso_utc(utcnow()), "min_count": threshold,
            "biobank": dict(biobank, size=sum(c["size"] for c in listed),
                            collections=len(collections), collections_with_suppressed_counts=len(
                                collections) - len(listed)),
            "collections": collections}


def _donors_per_collection() -> dict:
    """Distinct donors per (ICD-10 category, sample type): a donor counts once per collection."""
    category = func.upper(func.substr(Sample.diagnosis, 1, 3))
    rows = db.session.execute(
        select(category, Sample.sample_type, func.count(func.distinct(Sample.donor)))
        .where(Sample.status.in_(OFFERED), Sample.consent_withdrawn.is_(False))
        .group_by(category, Sample.sample_type)).all()
    return {(c or None, t): n for c, t, n in rows}


def to_csv(document: dict) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    biobank = document["biobank"]
    for c in document["collections"]:
        writer.writerow([spreadsheet_safe(v) for v in [biobank["id"], biobank["name"], c["id"], c["name"], " ".join(c["diagnosis_available"]),
                         " ".join(c["material_types"]), "" if c["size"] is None else c["size"],
                         "" if c["number_of_donors"] is None else c["number_of_donors"],
                         "true" if c["counts_suppressed"] else "false", " ".join(c["storage_temperatures"]),
                         " ".join(c["data_categories"]), "", "", "", "", biobank["contact"]["email"] or ""]])
    return buffer.getvalue()
