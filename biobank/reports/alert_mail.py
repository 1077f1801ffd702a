"""Capacity alerts by e-mail: each site, tank or rack at or above the fill threshold is told to
the managers who work there (and to admins and network managers) at most once a day.

Run by `biobank capacity alert` (from cron or a systemd timer, e.g. hourly)."""
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from ..core.time import utcnow
from ..extensions import db
from ..mail.models import OutboxMessage
from ..mail.outbox import notify
from ..network import scope, staff
from . import capacity

EVENT = "capacity.alert"
QUIET = timedelta(days=1)   # the same container is not mailed again sooner


def mail_fill_alerts(actor, *, threshold: float | None = None, now=None) -> list[dict]:
    """Queue one message per container at or above the threshold that was not mailed in the last
    day; returns the alerts queued. Never commits."""
    found = capacity.fill_alerts(actor, threshold=threshold, limit=10_000)
    since = (now or utcnow()) - QUIET
    recent = set(db.session.execute(select(OutboxMessage.subject).where(
        OutboxMessage.event == EVENT, OutboxMessage.created_at >= since)).scalars())
    queued = []
    for alert in found["alerts"]:
        subject = _("Capacity alert: %(path)s", path=alert["path"])
        if subject in recent:
            continue
        site = scope.site_of(alert["id"])
        managers = staff.staff_ids(site, roles=("manager",)) if site is not None else []
        message = notify(EVENT, subject,
                         _("%(message)s\n\nPlan new boxes or tanks, or move material elsewhere, before it fills: "
                           "automatic placement refuses a full tank.", message=alert["message"]),
                         user_ids=managers, roles=("admin", "network_manager"))
        if message is not None:
            queued.append(alert)
    return queued
