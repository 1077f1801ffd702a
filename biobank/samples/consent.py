"""After a donor withdraws consent: the worklist of their tubes still in the biobank, and closing
each one by an audited discard or by returning it to the collecting centre (a shipment out)."""
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..core.display import display
from ..core.errors import InvalidInput, InvalidTransition
from ..core.permissions import require
from ..custody import service as custody
from ..extensions import db
from ..network import scope
from .models import Donor, Sample
from .service import _leave_position, discard_sample, locked_sample, transition

# A tube is still on the worklist while the biobank holds it: stored, reserved or in someone's hands.
OPEN_STATUSES = ("available", "reserved", "checked_out")
DISCARD_REASON = "Consent withdrawn by the donor"


def donor_record(actor, donor: str) -> Donor | None:
    require(actor, "consent.withdraw")
    return db.session.execute(select(Donor).where(Donor.code == donor)).scalar_one_or_none()


def impact(actor, donor: str) -> dict:
    """What withdrawing a donor's consent touches: how many tubes, how many still held."""
    require(actor, "consent.withdraw")
    rows = db.session.execute(select(Sample.status, func.count()).where(Sample.donor == donor)
                              .group_by(Sample.status)).all()
    counts = dict(rows)
    return {"donor": donor, "samples": sum(counts.values()),
            "held": sum(counts.get(status, 0) for status in OPEN_STATUSES),
            "reserved": counts.get("reserved", 0)}


def worklist(actor, donor: str | None = None) -> list[Sample]:
    """Tubes of donors who withdrew consent that the biobank still holds, by donor and barcode."""
    require(actor, "consent.withdraw")
    query = select(Sample).where(Sample.consent_withdrawn.is_(True), Sample.status.in_(OPEN_STATUSES))
    if donor is not None:
        query = query.where(Sample.donor == donor)
    return db.session.execute(query.order_by(Sample.donor, Sample.barcode)).scalars().all()


def worklist_summary(actor) -> list[dict]:
    """For the manager's home page: each donor with tubes left to destroy or return, oldest
    withdrawal first: [{donor, withdrawn_at, remaining}]."""
    require(actor, "consent.withdraw")
    rows = db.session.execute(
        select(Sample.donor, func.count(), func.min(Donor.consent_withdrawn_at))
        .outerjoin(Donor, Donor.code == Sample.donor)
        .where(Sample.consent_withdrawn.is_(True), Sample.status.in_(OPEN_STATUSES),
               *_at_my_sites(actor))
        .group_by(Sample.donor)).all()
    summary = [{"donor": donor, "remaining": remaining, "withdrawn_at": at} for donor, remaining, at in rows]
    return sorted(summary, key=lambda row: (row["withdrawn_at"] is None, row["withdrawn_at"] or 0, row["donor"]))


def _at_my_sites(actor) -> list:
    """Tubes stored, or with a place held, at the actor's sites (network roles: all)."""
    stored = scope.at_visible_sites(actor, Sample.container_id)
    if stored is None:
        return []
    return [stored | scope.at_visible_sites(actor, Sample.home_container_id)]


def _withdrawn_sample(barcode: str) -> Sample:
    sample = locked_sample(barcode)
    if not sample.consent_withdrawn:
        raise InvalidTransition(_("%(barcode)s's donor has not withdrawn consent; use the usual actions.",
                                  barcode=barcode), code="consent_not_withdrawn")
    return sample


def discard(actor, barcode: str, *, reason: str | None = None) -> Sample:
    """Destroy a tube of a withdrawn donor (the usual discard, with the reason on record)."""
    require(actor, "consent.withdraw")
    _withdrawn_sample(barcode)
    return discard_sample(actor, barcode, reason=(reason or "").strip() or DISCARD_REASON)


def return_to_collector(actor, barcode: str, *, recipient: str, reason: str | None = None) -> Sample:
    """Send a tube of a withdrawn donor back to the centre that collected it: it leaves storage as
    shipped, with the recipient on record."""
    require(actor, "consent.withdraw")
    recipient = (recipient or "").strip()
    if not recipient:
        raise InvalidInput(_("Say who receives the tube (the collecting centre)."), code="recipient_required")
    sample = _withdrawn_sample(barcode)
    if sample.status not in ("available", "checked_out"):
        raise InvalidTransition(_("%(barcode)s is %(status)s; cancel its request first.", barcode=barcode,
                                  status=display(sample.status, "status")))
    old_path = sample.location_path
    old = sample.status
    if old == "available":
        transition(sample, "checked_out", "returned to the collecting centre")
    transition(sample, "shipped", "returned to the collecting centre")
    _leave_position(sample)
    custody.record(actor, "sample.shipped", "sample", barcode, sample_barcode=barcode,
                   container_id=sample.home_container_id, from_location=old_path, to_location=recipient[:900],
                   reason=(reason or "").strip() or f"{DISCARD_REASON}: returned to the collecting centre",
                   changes={"status": [old, "shipped"], "location": [old_path, None]})
    return sample
