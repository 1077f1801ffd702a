"""The manager's home page: what needs a manager's attention today, one section each.

Each section is one function returning what its include (templates/home/_<name>.html)
shows; the page lists the sections in SECTIONS, so a new concern is one function,
one small template and one line here.
"""
from ..core.permissions import allowed
from ..monitoring import queries as monitoring_queries
from ..requests import queries as request_queries
from ..samples import consent
from ..samples import queries as sample_queries
from . import audit_export, capacity


def waiting_requests(actor) -> dict:
    """Requests submitted by researchers with a part at the manager's sites waiting for their
    decision (or a line by criteria to fill), oldest first."""
    if not allowed(actor, "requests.decide"):
        return {"items": [], "total": 0}
    return request_queries.waiting_for(actor, limit=10)


def open_alarms(actor) -> dict:
    """Tank alarms still open at the manager's sites, the ones nobody has acknowledged first."""
    if not allowed(actor, "monitoring.read"):
        return {"open": 0, "unacknowledged": 0, "items": []}
    return monitoring_queries.open_alarm_summary(actor)


def capacity_alerts(actor) -> dict:
    """Sites, tanks and racks at or above the fill alert threshold."""
    return capacity.fill_alerts(actor, limit=10)


def overdue_checkouts(actor) -> dict:
    """Checked-out tubes past their due-back time, the longest overdue first."""
    if not allowed(actor, "samples.identified"):
        return {"items": [], "total": 0}
    return {"items": sample_queries.overdue_checkouts(actor, limit=10), "total": sample_queries.overdue_count(actor)}


def consent_worklist(actor) -> dict:
    """Donors who withdrew consent with tubes still to destroy or return, oldest withdrawal first."""
    if not allowed(actor, "consent.withdraw"):
        return {"items": [], "total": 0}
    donors = consent.worklist_summary(actor)
    return {"items": donors[:10], "total": sum(d["remaining"] for d in donors), "donors": len(donors)}


def last_verification(actor) -> dict:
    """The latest check of the custody chain started from the audit page or the API."""
    runs = audit_export.verification_runs(actor, limit=1)
    return {"run": runs[0] if runs else None}


# (section name, function): templates/home/_<name>.html renders what the function returns.
SECTIONS = (
    ("alarms", open_alarms),
    ("requests", waiting_requests),
    ("capacity", capacity_alerts),
    ("overdue", overdue_checkouts),
    ("consent", consent_worklist),
    ("chain", last_verification),
)


def sections(actor) -> list[tuple[str, dict]]:
    """(name, data) of every section of the manager's home page, in page order."""
    return [(name, fn(actor)) for name, fn in SECTIONS]
