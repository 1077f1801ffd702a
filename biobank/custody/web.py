"""The custody log page: browse and filter events, export them, and check the
chain (each check started here is recorded by reports.service.record_verification)."""
import json
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..core import display as names
from ..core.permissions import allowed
from ..network import service as network_service
from ..core.requests import current_actor
from . import queries

blp = Blueprint("custody_web", __name__)

PER_PAGE = 50
# Offered in the action filter, by their human names (an action given in the URL is offered too).
KNOWN_ACTIONS = tuple(names.ACTIONS)
FILTERS = ("sample", "container_id", "actor", "action", "since", "until", "site")


@blp.app_template_filter("custody_changes")
def custody_changes(text: str | None) -> list[tuple[str, str, str]]:
    """An event's recorded changes as (field, before, after) for reading."""
    try:
        changes = json.loads(text or "{}")
    except ValueError:
        return [("changes", "", str(text))]
    rows = []
    for field, value in (changes.items() if isinstance(changes, dict) else []):
        before, after = value if isinstance(value, list) and len(value) == 2 else (None, value)
        rows.append((field, "" if before is None else _short(before), "" if after is None else _short(after)))
    return rows


def _short(value) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:119] + "…"


def _actor():
    actor = current_actor()
    if not allowed(actor, "reports.read"):
        abort(403, description=_("A %(role)s may not open the custody log.", role=actor.role))
    return actor


def _filters() -> tuple[dict, dict, list]:
    """(filters for the query, the raw values for the form, problems)."""
    raw = {name: (request.args.get(name) or "").strip() for name in FILTERS}
    filters, problems = {}, []
    for name in ("sample", "actor", "action"):
        if raw[name]:
            filters[name] = raw[name]
    if raw["site"]:
        if raw["site"].isdigit():
            filters["site"] = int(raw["site"])
        else:
            problems.append(_("Site is a site number."))
    if raw["container_id"]:
        if raw["container_id"].isdigit():
            filters["container_id"] = int(raw["container_id"])
        else:
            problems.append(_("Container is a container number."))
    for name in ("since", "until"):
        if raw[name]:
            try:
                filters[name] = date.fromisoformat(raw[name])
            except ValueError:
                problems.append(_("'%(value)s' is not a date (YYYY-MM-DD).", value=raw[name]))
    return filters, {k: v for k, v in raw.items() if v}, problems


@blp.get("/audit")
@login_required
def audit_log():
    from ..core.errors import InvalidInput
    from ..reports import audit_export
    actor = _actor()
    filters, given, problems = _filters()
    try:
        filters["since"], filters["until"] = audit_export.time_bounds(filters.get("since"), filters.get("until"))
    except InvalidInput as exc:
        problems.append(exc.message)
        filters["since"] = filters["until"] = None
        given.pop("since", None), given.pop("until", None)
    for problem in problems:
        flash(problem, "error")
    page_number = max(1, request.args.get("page", 1, type=int) or 1)
    page = queries.events(actor, filters, page_number, PER_PAGE)
    runs = audit_export.verification_runs(actor, limit=5)
    actions = sorted(names.options("action", KNOWN_ACTIONS + ((given["action"],) if given.get("action") and
                                                               given["action"] not in KNOWN_ACTIONS else ())),
                     key=lambda option: option[1].lower())
    return render_template("audit/log.html", page=page, given=given, runs=runs, actions=actions,
                           sites=network_service.list_sites(actor))


@blp.post("/audit/verify")
@login_required
def verify():
    from ..reports import service
    run = service.record_verification(_actor())
    if run.ok:
        flash(_("Chain intact: %(num)s events verified.", num=run.events_checked), "success")
    else:
        flash(_("Chain BROKEN at event %(seq)s: %(problem)s.", seq=run.first_bad_seq, problem=run.problem), "error")
    return redirect(url_for("custody_web.audit_log", **{k: v for k, v in request.args.items()}))
