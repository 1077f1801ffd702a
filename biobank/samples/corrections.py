"""Correcting a sample's record: one sample (PATCH) or a CSV of them, all or nothing.

A correction changes recorded fields, never the barcode, and must leave the
record as a registration would have accepted it: field rules, the type and
temperature restrictions of the box it sits in (or keeps its place in), one
donor per lineage (a donor correction carries the sample's descendants with
it), and consent. Each corrected sample gets one `sample.corrected` custody
event with the before and after of every changed field and the reason.
"""
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import (ConsentWithdrawn, DomainError, InvalidInput, NotAllowedHere, NotPermitted,
                           UnknownBarcode)
from ..core.permissions import allowed, require, require_at
from ..custody import service as custody
from ..extensions import db
from . import importer
from .models import Donor, Sample
from .service import locked_sample
from .validation import check_barcode, clean_fields

# Who may correct which field (DESIGN.md's role table): identity is a manager's,
# so is the clinical record; a technician corrects what they measure and notes.
FIELD_PERMISSIONS = {
    "sample_type": "samples.correct_identity",
    "donor": "samples.correct_identity",
    "collected_at": "samples.correct_record",
    "anatomical_site": "samples.correct_record",
    "diagnosis": "samples.correct_record",
    "sprec": "samples.correct_record",
    "storage_temperature": "samples.correct_record",
    "volume": "samples.correct_quantity",
    "unit": "samples.correct_quantity",
    "notes": "samples.correct_quantity",
}
FIELDS = tuple(FIELD_PERMISSIONS)
FIELD_NAMES = {"sample_type": _l("sample type"), "donor": _l("donor"), "collected_at": _l("collection time"),
               "anatomical_site": _l("anatomical site"), "diagnosis": _l("diagnosis"), "sprec": _l("SPREC"),
               "storage_temperature": _l("storage temperature"), "volume": _l("volume"), "unit": _l("unit"),
               "notes": _l("notes")}


def field_name(name: str) -> str:
    """A correctable field as a sentence names it ("collection time"), in the reader's language."""
    return str(FIELD_NAMES.get(name, name.replace("_", " ")))
MAX_REASON = 2000
VOLUME_STEP = Decimal("0.0001")  # the precision volumes are stored with (Numeric(12, 4))


def fields_for(actor) -> list[str]:
    """The fields this actor may correct, in form order."""
    return [name for name in FIELDS if allowed(actor, FIELD_PERMISSIONS[name])]


def _require_fields(actor, names) -> None:
    refused = [field_name(n) for n in names if not allowed(actor, FIELD_PERMISSIONS[n])]
    if refused:
        role = getattr(actor, "role", "anonymous")
        raise NotPermitted(_("A %(role)s may not correct the %(fields)s (a manager corrects identity and clinical "
                             "fields).", role=role, fields=", ".join(refused)))


def _check_reason(reason) -> str:
    reason = (reason or "").strip() if isinstance(reason, str) or reason is None else str(reason)
    if not reason:
        raise InvalidInput(_("Say why the record is corrected (e.g. pathology review)."), code="reason_required")
    if len(reason) > MAX_REASON:
        raise InvalidInput(_("A reason is at most %(num)d characters.", num=MAX_REASON), code="invalid_input")
    return reason


def shown(value):
    """A field value as the custody event and the preview show it."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat() + "Z"
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


@dataclass
class Plan:
    """One sample's correction, checked but not applied."""
    sample: Sample
    reason: str
    new: dict                                   # field -> new value (only changed fields)
    line: int | None = None
    cascaded_from: str | None = None            # a descendant following its ancestor's donor
    root: "Plan | None" = None                  # the row a cascaded plan comes from
    consent: tuple | None = None                # (old, new) consent_withdrawn when the donor change moves it

    def changes(self) -> dict:
        result = {name: [shown(getattr(self.sample, name)), shown(value)] for name, value in self.new.items()}
        if self.consent:
            result["consent_withdrawn"] = list(self.consent)
        return result

    def summary(self) -> str:
        parts = [f"{FIELD_NAMES.get(k, k)} {before if before is not None else '—'} → "
                 f"{after if after is not None else '—'}" for k, (before, after) in self.changes().items()]
        return ", ".join(parts)


def _plan_fields(sample: Sample, given: dict, reason: str, line: int | None = None) -> Plan:
    """Check the given fields against the registration rules; raise the first problem."""
    if "barcode" in given:
        raise InvalidInput(_("A barcode is immutable; it cannot be corrected (register a new tube instead)."),
                           code="barcode_immutable")
    unknown = sorted(set(given) - set(FIELDS))
    if unknown:
        raise InvalidInput(_("Unknown field(s): %(fields)s; correctable are %(correctable)s.",
                             fields=", ".join(unknown), correctable=", ".join(FIELDS)),
                           code="unknown_field")
    current = {name: getattr(sample, name) for name in FIELDS}
    merged = dict(current, **given, barcode=sample.barcode, parent_barcode=None)
    clean, problems = clean_fields(merged)
    problems = [p for p in problems if p.field in given]
    if problems:
        first = problems[0]
        raise InvalidInput(_("%(field)s: %(problem)s", field=FIELD_NAMES.get(first.field, first.field),
                             problem=first.message), code=first.code,
                           details=[{"field": p.field, "message": p.message} for p in problems])
    if "volume" in given and clean["volume"] is not None and clean["volume"] != clean["volume"].quantize(VOLUME_STEP):
        raise InvalidInput(_("volume: %(value)s is finer than the %(step)s a volume is stored with.",
                             value=clean["volume"], step=VOLUME_STEP),
                           code="invalid_input", details=[{"field": "volume", "message": _("too fine")}])
    if "unit" in given and clean["unit"] is None and clean["volume"] is not None:
        raise InvalidInput(_("unit: a volume needs a unit."), details=[{"field": "unit", "message": _("required")}])
    new = {name: clean[name] for name in given if clean[name] != current[name]}
    if not new:
        raise InvalidInput(_("%(barcode)s already has these values; nothing to correct.", barcode=sample.barcode),
                           code="no_change")
    if "sample_type" in new or "storage_temperature" in new:
        box = sample.container or sample.home_container
        if box is not None:
            refusal = box.accepts(clean["sample_type"], clean["storage_temperature"])
            if refusal:
                raise NotAllowedHere(_("%(barcode)s sits in %(refusal)s", barcode=sample.barcode, refusal=refusal))
    return Plan(sample, reason, new, line)


def _children_of(ids: set) -> dict[int, list[Sample]]:
    found: dict[int, list[Sample]] = {}
    for start in range(0, len(ids), 500):
        chunk = sorted(ids)[start:start + 500]
        for child in db.session.execute(select(Sample).where(Sample.parent_id.in_(chunk)).order_by(Sample.id)
                                        .with_for_update()).scalars():
            found.setdefault(child.parent_id, []).append(child)
    return found


def _withdrawn(donors: set) -> set:
    """Which of these donors withdrew consent."""
    donors = sorted(d for d in donors if d)
    found = set()
    for start in range(0, len(donors), 500):
        found.update(db.session.execute(select(Donor.code).where(
            Donor.code.in_(donors[start:start + 500]), Donor.consent_withdrawn_at.is_not(None))).scalars())
    return found


def _plan_lineage(plans: list[Plan]) -> tuple[list[Plan], dict[int, DomainError]]:
    """Carry donor corrections down to descendants and check every lineage and consent rule.

    Returns the cascaded plans and, per index in `plans`, the first rule it breaks."""
    by_id = {p.sample.id: p for p in plans}
    errors: dict[int, DomainError] = {}
    cascaded: list[Plan] = []
    donor_plans = [p for p in plans if "donor" in p.new]
    # Descendants follow a corrected donor unless the file says otherwise for them.
    frontier = {p.sample.id: p for p in donor_plans}
    while frontier:
        children = _children_of(set(frontier))
        next_frontier = {}
        for parent_id, kids in children.items():
            origin = frontier[parent_id]
            root = origin.root or origin
            old_donor, new_donor = origin.sample.donor, origin.new["donor"]
            for child in kids:
                if child.id in by_id:
                    continue  # its own row decides; checked against its parent below
                if child.donor != old_donor:
                    errors.setdefault(plans.index(root), InvalidInput(
                        _("%(barcode)s, an aliquot of %(parent)s, has donor %(donor)s, not %(expected)s; correct the "
                          "lineage by hand.", barcode=child.barcode, parent=origin.sample.barcode,
                          donor=child.donor or "—", expected=old_donor or "—"), code="lineage_mismatch"))
                    continue
                plan = Plan(child, origin.reason, {"donor": new_donor}, origin.line,
                            cascaded_from=root.sample.barcode, root=root)
                by_id[child.id] = plan
                cascaded.append(plan)
                next_frontier[child.id] = plan
        frontier = next_frontier
    # Every explicit donor change must agree with the parent's donor after the corrections.
    for index, plan in enumerate(plans):
        sample = plan.sample
        final = plan.new.get("donor", sample.donor)
        if sample.parent_id is not None and ("donor" in plan.new or sample.parent_id in by_id):
            parent_plan = by_id.get(sample.parent_id)
            parent = parent_plan.sample if parent_plan else sample.parent
            parent_final = parent_plan.new.get("donor", parent.donor) if parent_plan else parent.donor
            if parent_final is not None and final != parent_final:
                errors.setdefault(index, InvalidInput(
                    _("%(barcode)s is an aliquot of %(parent)s, whose donor is %(donor)s; an aliquot always has its "
                      "parent's donor.", barcode=sample.barcode, parent=parent.barcode, donor=parent_final),
                    code="lineage_mismatch"))
    # Consent follows the donor: a sample moved to a withdrawn donor is blocked at once.
    everyone = [p for p in plans + cascaded if "donor" in p.new]
    withdrawn = _withdrawn({p.new["donor"] for p in everyone})
    for plan in everyone:
        blocked = plan.new["donor"] in withdrawn
        if blocked != bool(plan.sample.consent_withdrawn):
            if blocked and plan.sample.status == "reserved":
                errors.setdefault(plans.index(plan.root or plan), ConsentWithdrawn(
                    _("Donor %(donor)s withdrew consent and %(barcode)s is reserved for a request; take it out of the "
                      "request first.", donor=plan.new["donor"], barcode=plan.sample.barcode)))
            plan.consent = (bool(plan.sample.consent_withdrawn), blocked)
    return cascaded, errors


def _apply(actor, plans: list[Plan]) -> None:
    now_events = []
    for plan in plans:
        sample, changes = plan.sample, plan.changes()
        require_at(actor, "samples.correct_quantity", sample)
        for name, value in plan.new.items():
            setattr(sample, name, value)
        if plan.consent:
            sample.consent_withdrawn = plan.consent[1]
        reason = plan.reason if plan.cascaded_from is None else \
            f"{plan.reason} (donor corrected with {plan.cascaded_from})"
        now_events.append((actor, "sample.corrected", "sample", sample.barcode,
                           {"sample_barcode": sample.barcode,
                            "container_id": sample.container_id or sample.home_container_id,
                            "reason": reason, "changes": changes}))
    db.session.flush()
    custody.record_many(now_events)


# -- one sample ---------------------------------------------------------------------
def correct_sample(actor, barcode: str, /, *, reason=None, **fields) -> Sample:
    """Correct recorded fields of one sample (PATCH /samples/{barcode})."""
    require(actor, "samples.correct_quantity")
    reason = _check_reason(reason)
    if not fields:
        raise InvalidInput(_("Nothing to correct: give at least one field with a new value."), code="no_change")
    _require_fields(actor, [f for f in fields if f in FIELD_PERMISSIONS])
    sample = locked_sample(barcode)
    plan = _plan_fields(sample, fields, reason)
    cascaded, errors = _plan_lineage([plan])
    if errors:
        raise errors[0]
    _apply(actor, [plan] + cascaded)
    return sample


# -- a CSV of corrections -------------------------------------------------------------
def correct_samples(actor, text: str, *, dry_run: bool = False) -> dict:
    """Check every row of a corrections CSV, then apply all of them (or none: ImportRejected
    names every bad line). dry_run checks and previews without changing anything."""
    require(actor, "samples.correct_quantity")
    header, rows = importer.read_rows(text, required=("barcode", "reason"), optional=FIELDS,
                                      expected="barcode,<columns to correct>,reason")
    columns = [c for c in header if c in FIELD_PERMISSIONS]
    if not columns:
        raise InvalidInput(_("Name at least one column to correct: %(columns)s.", columns=", ".join(FIELDS)),
                           code="invalid_header")
    _require_fields(actor, columns)
    by_line: dict[int, dict] = {}

    def bad(line, barcode, message):
        by_line.setdefault(line, {"line": line, "barcode": barcode, "errors": []})["errors"].append(message)

    barcodes = {(raw.get("barcode") or "").strip() for _, raw in rows}
    samples = {}
    for start in range(0, len(barcodes), 500):
        chunk = sorted(barcodes)[start:start + 500]
        for sample in db.session.execute(select(Sample).where(Sample.barcode.in_(chunk)).order_by(Sample.id)
                                         .with_for_update()).scalars():
            samples[sample.barcode] = sample
    seen: dict[str, int] = {}
    plans: list[Plan] = []
    for line, raw in rows:
        barcode = (raw.get("barcode") or "").strip()
        try:
            check_barcode(barcode)
            if seen.setdefault(barcode, line) != line:
                raise InvalidInput(_("barcode %(barcode)s is also on line %(line)s", barcode=barcode,
                                     line=seen[barcode]))
            sample = samples.get(barcode)
            if sample is None:
                raise UnknownBarcode(_("no sample has the barcode %(barcode)s", barcode=barcode))
            reason = _check_reason(raw.get("reason"))
            given = {c: raw[c] for c in columns if (raw.get(c) or "").strip()}  # empty cell: unchanged
            if not given:
                raise InvalidInput(_("the row corrects nothing (every column to correct is empty)"))
            plans.append(_plan_fields(sample, given, reason, line))
        except DomainError as exc:
            bad(line, barcode, exc.message)
    cascaded, errors = _plan_lineage(plans)
    for index, error in errors.items():
        bad(plans[index].line, plans[index].sample.barcode, error.message)
    if by_line:
        raise importer.rejection(by_line, len(rows), "corrected")
    everything = plans + cascaded
    if not dry_run:
        _apply(actor, everything)
    return {"dry_run": dry_run, "applied": not dry_run, "count": len(everything),
            "rows": [{"line": p.line, "barcode": p.sample.barcode, "cascaded_from": p.cascaded_from,
                      "reason": p.reason, "summary": p.summary(),
                      "changes": [{"field": k, "before": v[0], "after": v[1]} for k, v in p.changes().items()]}
                     for p in everything]}

