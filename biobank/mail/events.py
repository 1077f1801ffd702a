"""The messages people expect from requests: a submitted request to the managers, the
decision to the researcher. Called by the request services inside their transaction."""
from . import settings
from .outbox import notify

MANAGER_ROLES = ("manager",)


def _link(request) -> str:
    base = settings.public_url()
    return f"\n\nOpen it: {base}/requests/{request.id}" if base else ""


def request_submitted(request) -> None:
    count = len(request.items)
    body = (f"{request.requester} submitted request {request.id}, \"{request.title}\", for {count} "
            f"sample{'s' if count != 1 else ''}.\n\nPurpose: {request.purpose}\n"
            f"Ethics approval: {request.ethics_reference}\n\nIt waits for approval or rejection."
            + _link(request))
    notify("request.submitted", f"Request {request.id} submitted: {request.title}", body, roles=MANAGER_ROLES)


def request_decided(request) -> None:
    verb = {"approved": "approved", "rejected": "rejected"}[request.status]
    lines = [f"Your request {request.id}, \"{request.title}\", was {verb} by {request.decided_by}."]
    if request.decision_reason:
        lines.append(f"Reason: {request.decision_reason}")
    if verb == "approved":
        lines.append(f"Its {len(request.items)} samples are reserved for you; the biobank will pick and ship them.")
    notify(f"request.{verb}", f"Request {request.id} {verb}: {request.title}", "\n\n".join(lines) + _link(request),
           user_ids=[request.requester_id] if request.requester_id else ())
