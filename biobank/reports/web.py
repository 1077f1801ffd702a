"""Manager pages: capacity dashboard (server-side SVG charts) and rack-scan
reconciliation. Views only parse input, call one function and render."""
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..core.errors import DomainError, InvalidInput, UnknownBarcode
from ..core.permissions import allowed
from ..core.requests import current_actor
from ..storage.service import container_by_barcode, get_container
from . import capacity as capacity_report, charts, reconcile as reconciliation, service

blp = Blueprint("reports_web", __name__)


def page_actor(permission: str = "reports.read"):
    """The current user, or a 403 page for roles without this permission."""
    actor = current_actor()
    if not allowed(actor, permission):
        abort(403, description=_("A %(role)s may not open this page.", role=actor.role))
    return actor


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes", "on")


def _threshold():
    raw = request.args.get("threshold", "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        raise InvalidInput(_("threshold is a fraction such as 0.9."), code="invalid_threshold") from None


def _fill_items(report: dict) -> list[dict]:
    """What the fill chart shows: the top of the report and its tanks."""
    top = min((i["depth"] for i in report["items"]), default=0)
    return [i for i in report["items"] if i["depth"] <= top + 1 or i["kind"] in ("tank", "freezer")]


GROUPS_PER_PAGE = 20


def _capacity_table(items: list[dict], page: int, args: dict) -> dict:
    """The capacity table in parts a person can read at national size: the top of the layout
    (its sites) as one table, then one collapsible part per tank (its racks, and boxes when
    shown), GROUPS_PER_PAGE parts a page, those with an alert open."""
    top = min((i["depth"] for i in items), default=0)
    # Sites head the page as one table; without sites, the tanks at the top are the parts.
    lead_depth = top + 1 if any(i["depth"] == top and i["kind"] == "site" for i in items) else top
    heads, groups = [], []
    for item in items:
        if item["depth"] < lead_depth:
            heads.append(item)
        elif item["depth"] == lead_depth or not groups:
            groups.append({"lead": item, "rows": []})
        else:
            groups[-1]["rows"].append(item)
    pages = max(1, -(-len(groups) // GROUPS_PER_PAGE))
    page = min(max(1, page), pages)
    shown = groups[(page - 1) * GROUPS_PER_PAGE:page * GROUPS_PER_PAGE]
    for group in shown:
        group["alert"] = group["lead"]["alert"] or any(i["alert"] for i in group["rows"])
        group["open"] = group["alert"] or len(groups) <= 3
    return {"top": top, "heads": heads, "groups": shown, "args": args,
            "page": {"page": page, "pages": pages, "total": len(groups)}}


@blp.get("/reports/capacity")
@login_required
def capacity():
    actor = page_actor()
    within = request.args.get("within", type=int)
    try:
        report = capacity_report.capacity(actor, threshold=_threshold(), by_type=_flag("by_type"),
                                          include_boxes=_flag("boxes"), within=within)
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("reports_web.capacity"))
    return render_template("reports/capacity.html", report=report, within=within,
                           scopes=capacity_report.top_level_containers(actor),
                           fill_svg=charts.fill_chart(_fill_items(report), report["threshold"]),
                           intake_svg=charts.intake_chart(report["intake_per_week"]),
                           by_type=_flag("by_type"), boxes=_flag("boxes"),
                           table=_capacity_table(report["items"], request.args.get("page", 1, type=int) or 1,
                                                 {k: v for k, v in request.args.items() if k != "page"}))


@blp.get("/reports/capacity/<chart>.svg")
@login_required
def capacity_chart(chart):
    actor = page_actor()
    if chart not in ("fill", "intake"):
        abort(404)
    try:
        report = capacity_report.capacity(actor, threshold=_threshold(), within=request.args.get("within", type=int))
    except DomainError as exc:
        abort(404 if exc.status == 404 else 422, description=exc.message)
    if chart == "fill":
        svg = charts.fill_chart(_fill_items(report), report["threshold"])
    else:
        svg = charts.intake_chart(report["intake_per_week"])
    return Response(str(svg), mimetype="image/svg+xml")


@blp.route("/reports/reconcile", methods=["GET", "POST"])
@login_required
def reconcile():
    actor = page_actor()
    box_code = (request.values.get("container") or "").strip()
    if request.method == "GET" or not box_code:
        if request.method == "POST":
            flash(_("Scan or type the barcode of the box the rack scan belongs to."), "error")
        return render_template("reports/reconcile.html", result=None, box_code=box_code,
                               can_apply=allowed(actor, "reports.act")), 200 if request.method == "GET" else 422
    upload = request.files.get("file")
    status = 200
    result = None
    try:
        box = _box(box_code)
        if upload is None or not upload.filename:
            raise InvalidInput(_("Choose the rack-scanner file to upload."), code="no_file")
        result = reconciliation.reconcile(actor, box.id, upload.read())
    except DomainError as exc:
        flash(exc.message, "error")
        status = exc.status
        details = exc.details if isinstance(exc.details, list) else []
        return render_template("reports/reconcile.html", result=None, box_code=box_code, bad_lines=details,
                               can_apply=allowed(actor, "reports.act")), status
    return render_template("reports/reconcile.html", result=result, box_code=box_code,
                           can_apply=allowed(actor, "reports.act")), status


def _box(code: str):
    """A box by its barcode (as scanned from its label), or by its number."""
    try:
        return container_by_barcode(code)
    except UnknownBarcode:
        if code.isdigit():
            return get_container(int(code))
        raise


@blp.post("/reports/reconcile/apply")
@login_required
def reconcile_apply():
    actor = page_actor()
    container_id = request.form.get("container_id", type=int)
    corrections = []
    for value in request.form.getlist("correction"):
        barcode, _at, position = value.rpartition("@")
        corrections.append({"barcode": barcode, "position": position})
    if container_id is None:
        flash(_("Which box? Upload the scan again."), "error")
        return redirect(url_for("reports_web.reconcile"))
    box = get_container(container_id)
    outcome = service.apply_reconciliation(actor, container_id, corrections)
    flash(_("Applied %(num)s correction move(s) in %(path)s (reason: %(reason)s).", num=len(outcome["moved"]),
            path=outcome["path"], reason=service.RECONCILIATION_REASON), "success")
    return redirect(url_for("reports_web.reconcile", container=box.barcode))
