"""FHIR reads and searches over the inventory: Specimen (the samples), Patient (the donors'
pseudonyms) and Location (the containers), as searchset Bundles with paging links.

Staff see everything; researchers search the de-identified catalogue (available
samples of consenting donors, no donor, no location) and cannot read Patients or
Locations.
"""
import json

from sqlalchemy import Integer, and_, cast, false, func, not_, or_, select, true
from sqlalchemy.orm import selectinload

from ..core.errors import NotFound, NotPermitted
from ..core.permissions import allowed, require
from ..extensions import db
from ..reports.fhir import BBMRI_MATERIAL, ICD_O_3, _BBMRI_CODES, _system
from ..samples.models import Sample
from ..samples.queries import _filtered
from ..storage.models import Container
from . import params, resources

SPECIMEN_STATUS = "http://hl7.org/fhir/specimen-status"
NDJSON_BATCH = 1000

# name -> (kind, what it searches): the CapabilityStatement is built from these too.
SEARCH_PARAMETERS = {
    "Specimen": {
        "_id": ("token", "the Specimen's id"),
        "identifier": ("token", "the sample barcode ([system|]barcode)"),
        "type": ("token", "the sample type: this biobank's code system or BBMRI SampleMaterialType"),
        "status": ("token", "available | unavailable (http://hl7.org/fhir/specimen-status), or the inventory "
                            "status in this biobank's sample-status code system"),
        "subject": ("reference", "the donor: Patient/{id} (staff only)"),
        "patient": ("reference", "the donor: Patient/{id} (staff only)"),
        "parent": ("reference", "the parent sample: Specimen/{id}"),
        "collected": ("date", "collection time, with prefixes eq ne lt gt le ge sa eb and partial dates"),
        "bodysite": ("token", "anatomical site (ICD-O-3 topography)"),
    },
    "Patient": {
        "_id": ("token", "the Patient's id (the donor pseudonym)"),
        "identifier": ("token", "the donor pseudonym ([system|]pseudonym)"),
    },
    "Location": {
        "_id": ("token", "the Location's id (container id)"),
        "identifier": ("token", "the container barcode ([system|]barcode)"),
        "name": ("string", "container name, starts with, any case"),
        "partof": ("reference", "the enclosing container: Location/{id}"),
    },
}
SORTS = {
    "Specimen": {"_id": Sample.id, "identifier": Sample.barcode, "collected": Sample.collected_at,
                 "type": Sample.sample_type, "status": Sample.status},
    "Patient": {"_id": Sample.donor, "identifier": Sample.donor},
    "Location": {"_id": Container.id, "identifier": Container.barcode, "name": Container.name},
}
INCLUDES = {"Specimen": ("Specimen:subject", "Specimen:patient", "Specimen:parent"), "Patient": (),
            "Location": ("Location:partof",)}
STAFF_ONLY = {"subject", "patient", "subject:missing", "patient:missing"}


def definitions(resource_type: str) -> dict:
    return {name: kind for name, (kind, _) in SEARCH_PARAMETERS[resource_type].items()}


def parse(resource_type: str, pairs, strict: bool) -> params.Search:
    return params.parse(pairs, definitions(resource_type), SORTS[resource_type], INCLUDES[resource_type], strict)


# -- conditions --------------------------------------------------------------------------------------------

def _any(conditions):
    conditions = list(conditions)
    return or_(*conditions) if conditions else false()


def _ids(tokens, column):
    numbers = [int(t.code) for t in tokens if t.code and t.code.isdigit() and int(t.code) <= 2**31 - 1]
    return column.in_(numbers) if numbers else false()


def _identifier(tokens, column, system: str):
    conditions = []
    for t in tokens:
        if t.system not in (None, system):
            continue
        conditions.append(true() if t.code is None else column == t.code)
    return _any(conditions)


def _type(tokens):
    ours, reverse = _system("sample-type"), {v: k for k, v in _BBMRI_CODES.items()}
    conditions = []
    for t in tokens:
        if t.system in (None, ours) and t.code is None:
            conditions.append(true())
        elif t.system in (None, ours) and t.code:
            conditions.append(Sample.sample_type == t.code)
        if t.system in (None, BBMRI_MATERIAL):
            if t.code is None:
                conditions.append(Sample.sample_type.in_(list(_BBMRI_CODES)))
            elif t.code in reverse:
                conditions.append(Sample.sample_type == reverse[t.code])
    return _any(conditions)


def _status(tokens):
    on_shelf = and_(Sample.status == "available", Sample.consent_withdrawn.is_(False))
    conditions = []
    for t in tokens:
        if t.system in (None, SPECIMEN_STATUS):
            if t.code == "available":
                conditions.append(on_shelf)
            elif t.code == "unavailable":
                conditions.append(not_(on_shelf))
        if t.system in (None, _system("sample-status")) and t.code and t.code != "available":
            conditions.append(Sample.status == t.code)
        elif t.system == _system("sample-status") and t.code == "available":
            conditions.append(Sample.status == "available")
    return _any(conditions)


def _dates(ranges, column):
    conditions = []
    for r in ranges:
        inside = and_(column >= r.low, column < r.high)
        conditions.append({"eq": inside, "ne": or_(column < r.low, column >= r.high),
                           "lt": column < r.low, "eb": column < r.low,
                           "gt": column >= r.high, "sa": column >= r.high,
                           "le": column < r.high, "ge": column >= r.low}[r.prefix])
    return _any(conditions)


def _references(values, resource_type, column, convert=str):
    targets = []
    for value in values:
        target = convert(params.reference(value, resource_type))
        if target is not None:
            targets.append(target)
    return column.in_(targets) if targets else false()


def _specimen_id(text):
    return int(text) if text.isdigit() and int(text) <= 2**31 - 1 else None


def _specimen_condition(name, values):
    if name.endswith(":missing"):
        column = {"subject": Sample.donor, "patient": Sample.donor, "parent": Sample.parent_id,
                  "collected": Sample.collected_at, "type": Sample.sample_type,
                  "bodysite": Sample.anatomical_site}.get(name.split(":")[0])
        if column is None:
            raise params.SearchError(f"{name} is not supported.", code="unsupported_modifier")
        return column.is_(None) if values[0] else column.is_not(None)
    return {
        "_id": lambda: _ids(values, Sample.id),
        "identifier": lambda: _identifier(values, Sample.barcode, _system("sample-barcode")),
        "type": lambda: _type(values),
        "status": lambda: _status(values),
        "subject": lambda: _references(values, "Patient", Sample.donor, resources.pseudonym_of),
        "patient": lambda: _references(values, "Patient", Sample.donor, resources.pseudonym_of),
        "parent": lambda: _references(values, "Specimen", Sample.parent_id, _specimen_id),
        "collected": lambda: _dates(values, Sample.collected_at),
        "bodysite": lambda: _identifier(values, Sample.anatomical_site, ICD_O_3),
    }[name]()


# -- Specimen ----------------------------------------------------------------------------------------------

def _specimen_query(actor, search: params.Search):
    identified = allowed(actor, "samples.identified")
    if not identified and STAFF_ONLY & set(search.filters):
        raise NotPermitted("Researchers search the de-identified catalogue: no donor (subject) searches.")
    if not identified and any(i in ("Specimen:subject", "Specimen:patient") for i in search.include):
        raise NotPermitted("Researchers search the de-identified catalogue: donors cannot be included.")
    query = _filtered(actor, {})
    for name, repetitions in search.filters.items():
        for values in repetitions:
            query = query.where(_specimen_condition(name, values))
    return query, identified


def _ordered(query, search: params.Search, resource_type: str, tie):
    columns = SORTS[resource_type]
    order = [(columns[name].desc() if descending else columns[name].asc()).nulls_last()
             for name, descending in search.sort]
    return query.order_by(*order, tie)


def search_specimens(actor, search: params.Search) -> dict:
    query, identified = _specimen_query(actor, search)
    total = db.session.execute(select(func.count()).select_from(query.order_by(None).subquery())).scalar_one()
    matches, included = [], []
    if search.count and not search.summary_count:
        samples = db.session.execute(
            _ordered(query, search, "Specimen", Sample.id).offset(search.offset).limit(search.count)
            .options(selectinload(Sample.container), selectinload(Sample.parent))).scalars().all()
        matches = [resources.specimen_for(s, identified) for s in samples]
        included = _specimen_includes(actor, samples, search.include, identified)
    return {"total": total, "match": matches, "include": included}


def _specimen_includes(actor, samples, include, identified: bool) -> list:
    found = []
    if {"Specimen:subject", "Specimen:patient"} & set(include):
        donors = sorted({s.donor for s in samples if s.donor})
        found += [resources.patient(d, w) for d, w in _donors(donors)]
    if "Specimen:parent" in include:
        parents = {s.parent_id for s in samples if s.parent_id} - {s.id for s in samples}
        if parents:
            # researchers: only parents in the catalogue, de-identified like the matches
            rows = db.session.execute(_filtered(actor, {}).where(Sample.id.in_(parents)).order_by(Sample.id).options(
                selectinload(Sample.container), selectinload(Sample.parent))).scalars().all()
            found += [resources.specimen_for(s, identified) for s in rows]
    return found


def read_specimen(actor, specimen_id: str) -> dict:
    require(actor, "catalogue.search")
    number = _specimen_id(specimen_id)
    query = _filtered(actor, {}).where(Sample.id == number) if number is not None else None
    sample = db.session.execute(query).scalar_one_or_none() if query is not None else None
    if sample is None:
        raise NotFound(f"There is no Specimen/{specimen_id}.", code="unknown_specimen")
    return resources.specimen_for(sample, allowed(actor, "samples.identified"))


def specimen_ndjson(actor, search: params.Search):
    """Check permissions now; then every match, one Specimen per line, read in batches by id."""
    query, identified = _specimen_query(actor, search)
    query = query.order_by(Sample.id)

    def generate():
        last = 0
        while True:
            samples = db.session.execute(query.where(Sample.id > last).limit(NDJSON_BATCH).options(
                selectinload(Sample.container), selectinload(Sample.parent))).scalars().all()
            if not samples:
                return
            yield "".join(json.dumps(resources.specimen_for(s, identified), ensure_ascii=False) + "\n"
                          for s in samples)
            last = samples[-1].id
            db.session.expunge_all()
    return generate()


# -- Patient -----------------------------------------------------------------------------------------------

def _donors(pseudonyms) -> list[tuple[str, bool]]:
    if not pseudonyms:
        return []
    rows = db.session.execute(
        select(Sample.donor, func.max(cast(Sample.consent_withdrawn, Integer)))
        .where(Sample.donor.in_(list(pseudonyms))).group_by(Sample.donor).order_by(Sample.donor)).all()
    return [(donor, bool(withdrawn)) for donor, withdrawn in rows]


def read_patient(actor, patient_id: str) -> dict:
    require(actor, "samples.identified")
    found = _donors([resources.pseudonym_of(patient_id)])
    if not found:
        raise NotFound(f"There is no Patient/{patient_id}.", code="unknown_patient")
    return resources.patient(*found[0])


def search_patients(actor, search: params.Search) -> dict:
    require(actor, "samples.identified")
    query = select(Sample.donor).where(Sample.donor.is_not(None))
    for name, repetitions in search.filters.items():
        if name.endswith(":missing"):
            raise params.SearchError(f"{name} is not supported.", code="unsupported_modifier")
        for values in repetitions:
            codes = [resources.pseudonym_of(t.code) if name == "_id" else t.code for t in values
                     if t.code and (name == "_id" or t.system in (None, _system("donor-pseudonym")))]
            query = query.where(Sample.donor.in_(codes) if codes else false())
    query = query.group_by(Sample.donor)
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    matches = []
    if search.count and not search.summary_count:
        descending = bool(search.sort) and search.sort[0][1]
        ordered = query.order_by(Sample.donor.desc() if descending else Sample.donor)
        donors = db.session.execute(ordered.offset(search.offset).limit(search.count)).scalars().all()
        by_name = dict(_donors(donors))
        matches = [resources.patient(d, by_name[d]) for d in donors]
    return {"total": total, "match": matches, "include": []}


# -- Location ----------------------------------------------------------------------------------------------

def read_location(actor, location_id: str) -> dict:
    require(actor, "samples.identified")
    number = _specimen_id(location_id)
    container = db.session.get(Container, number) if number is not None else None
    if container is None:
        raise NotFound(f"There is no Location/{location_id}.", code="unknown_location")
    return resources.location(container)


def _location_condition(name, values):
    if name.endswith(":missing"):
        if name != "partof:missing":
            raise params.SearchError(f"{name} is not supported.", code="unsupported_modifier")
        return Container.parent_id.is_(None) if values[0] else Container.parent_id.is_not(None)
    return {
        "_id": lambda: _ids(values, Container.id),
        "identifier": lambda: _identifier(values, Container.barcode, _system("container-barcode")),
        "name": lambda: _any(func.lower(Container.name).startswith(v.lower(), autoescape=True) for v in values),
        "partof": lambda: _references(values, "Location", Container.parent_id, _specimen_id),
    }[name]()


def search_locations(actor, search: params.Search) -> dict:
    require(actor, "samples.identified")
    query = select(Container)
    for name, repetitions in search.filters.items():
        for values in repetitions:
            query = query.where(_location_condition(name, values))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    matches, included = [], []
    if search.count and not search.summary_count:
        containers = db.session.execute(_ordered(query, search, "Location", Container.id)
                                        .offset(search.offset).limit(search.count)).scalars().all()
        matches = [resources.location(c) for c in containers]
        if "Location:partof" in search.include:
            parents = {c.parent_id for c in containers if c.parent_id} - {c.id for c in containers}
            included = [resources.location(c) for c in db.session.execute(
                select(Container).where(Container.id.in_(parents)).order_by(Container.id)).scalars()]
    return {"total": total, "match": matches, "include": included}


SEARCHES = {"Specimen": search_specimens, "Patient": search_patients, "Location": search_locations}
READS = {"Specimen": read_specimen, "Patient": read_patient, "Location": read_location}
