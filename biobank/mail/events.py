"""The messages people expect from requests: a submitted request to the managers, the
decision to the researcher. Called by the request services inside their transaction;
subject and body are written in the current language."""
from flask_babel import gettext as _, ngettext

from . import settings
from .outbox import notify

MANAGER_ROLES = ("manager",)


def _link(request) -> str:
    base = settings.public_url()
    if not base:
        return ""
    url = f"{base}/requests/{request.id}"
    return "\n\n" + _("Open it: %(url)s", url=url)


def request_submitted(request) -> None:
    count = len(request.items)
    body = "\n\n".join([
        ngettext('%(requester)s submitted request %(id)s, "%(title)s", for %(num)d sample.',
                 '%(requester)s submitted request %(id)s, "%(title)s", for %(num)d samples.', count,
                 requester=request.requester, id=request.id, title=request.title),
        _("Purpose: %(purpose)s", purpose=request.purpose) + "\n"
        + _("Ethics approval: %(reference)s", reference=request.ethics_reference),
        _("It waits for approval or rejection."),
    ]) + _link(request)
    subject = _("Request %(id)s submitted: %(title)s", id=request.id, title=request.title)
    notify("request.submitted", subject, body, roles=MANAGER_ROLES)


def request_decided(request) -> None:
    approved = {"approved": True, "rejected": False}[request.status]
    values = {"id": request.id, "title": request.title}
    if approved:
        lines = [_('Your request %(id)s, "%(title)s", was approved by %(who)s.', who=request.decided_by, **values)]
        subject = _("Request %(id)s approved: %(title)s", **values)
    else:
        lines = [_('Your request %(id)s, "%(title)s", was rejected by %(who)s.', who=request.decided_by, **values)]
        subject = _("Request %(id)s rejected: %(title)s", **values)
    if request.decision_reason:
        lines.append(_("Reason: %(reason)s", reason=request.decision_reason))
    if approved:
        lines.append(ngettext("Its %(num)d sample is reserved for you; the biobank will pick and ship it.",
                              "Its %(num)d samples are reserved for you; the biobank will pick and ship them.",
                              len(request.items)))
    notify(f"request.{request.status}", subject, "\n\n".join(lines) + _link(request),
           user_ids=[request.requester_id] if request.requester_id else ())
