"""A request's parts: one per site its samples are at. Each site's manager decides on
their part and each site's staff pick and ship theirs; the request's own status
follows its parts (`wanted_status`). Low on purpose: models and site scope only."""
from flask_babel import gettext as _

from ..core.errors import InvalidTransition
from ..core.permissions import require_at
from ..network import scope
from ..network.models import Site
from .models import RequestItem, RequestPart, ResearchRequest


def assign(request: ResearchRequest, items: list[RequestItem]) -> None:
    """Put each new item into the part of the site its sample is at (a new part if needed)."""
    by_site = {part.site_id: part for part in request.parts}
    for item in items:
        site = scope.site_of(item.sample)
        site_id = site.id if site is not None else None
        if site_id not in by_site:
            by_site[site_id] = RequestPart(site_id=site_id, status="pending")
            request.parts.append(by_site[site_id])
        by_site[site_id].items.append(item)


def drop_empty(request: ResearchRequest) -> None:
    for part in [p for p in request.parts if not p.items]:
        request.parts.remove(part)


def live(request: ResearchRequest) -> list[RequestPart]:
    return [p for p in request.parts if p.items and p.status not in ("rejected", "cancelled")]


def wanted_status(request: ResearchRequest) -> str:
    """What the request's status should be, given its parts."""
    parts = [p for p in request.parts if p.items]
    if request.status == "submitted" and parts:
        if any(p.status == "pending" for p in parts):
            return "submitted"
        return "rejected" if not live(request) else "approved"
    if request.status in ("approved", "picking"):
        going = live(request)
        if going and all(p.status == "shipped" for p in going):
            return "shipped"
        if any(p.status in ("picking", "shipped") for p in going):
            return "picking"
    return request.status


def mine(actor, request: ResearchRequest, permission: str, statuses: tuple,
         site: str | None = None) -> list[RequestPart]:
    """The parts in one of `statuses` that this actor may act on (a site code narrows it to
    one site). Refused (other_site) when only other sites' parts are left to act on."""
    candidates = [p for p in request.parts if p.items and p.status in statuses]
    if site:
        candidates = [p for p in candidates if p.site is not None and p.site.code == site]
    ours = [p for p in candidates if scope.acts_at(actor, p.site)]
    if not ours:
        if candidates:
            require_at(actor, permission, candidates[0].site)  # refuses: the part is another site's
        if site:
            raise InvalidTransition(_("Request %(id)s has no part at %(site)s waiting for this.", id=request.id,
                                      site=site), code="no_part")
        raise InvalidTransition(_("Request %(id)s has no part waiting for this.", id=request.id), code="no_part")
    return ours


def name(part: RequestPart) -> str:
    return part.site.name if isinstance(part.site, Site) else _("no site")
