"""Monitoring pages: open alarms (acknowledge with a note), a tank's charts, limits and tank
log, CSV upload of a logger export, and the evacuation plan carried out by scanning. Views
only parse input, call one service or query, and render."""
from datetime import timedelta

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..core.lazy_text import lazy_gettext as _l
from ..core.db import write_intent
from ..core.errors import DomainError
from ..core.permissions import allowed
from ..core.redirects import local_path
from ..core.requests import current_actor, optional_actor
from ..core.time import iso_utc
from ..extensions import db
from ..storage.service import get_container
from . import charts, evacuation, hours, queries, readings_csv, service
from .limits import LIMIT_FIELDS
from .models import ALARM_KIND_NAMES

blp = Blueprint("monitoring_web", __name__)

PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=31)}
CHART_STEPS = 360  # time steps across a chart: a month's are of about two hours
LIMIT_NAMES = {"max_temperature_c": _l("Highest temperature (°C)"), "min_temperature_c": _l("Lowest temperature (°C)"),
               "min_ln2_level": _l("Lowest LN2 level"), "max_silence_minutes": _l("Longest sensor silence (minutes)")}


def page_actor(permission: str = "monitoring.read"):
    actor = current_actor()
    if not allowed(actor, permission):
        abort(403, description=_("A %(role)s may not open this page.", role=actor.role))
    return actor


@blp.app_template_global()
def alarm_banner():
    """The open-alarm summary for the page header, for staff of the alarm's site only (None for others)."""
    actor = optional_actor()
    if actor is None or not allowed(actor, "monitoring.read"):
        return None
    return queries.open_alarm_summary(actor)  # the alarms of their own sites (network roles: all)


@blp.app_template_filter("alarm_kind")
def alarm_kind(kind: str) -> str:
    return str(ALARM_KIND_NAMES.get(kind, kind))


@blp.get("/monitoring")
@login_required
def index():
    """Open alarms first. Opening the page also looks for silent sensors (one small query; it
    writes only when a sensor has gone silent)."""
    actor = page_actor()
    # SQLite: the silence check may open an alarm, so this request's transaction starts as a
    # writer (BEGIN IMMEDIATE) instead of upgrading a reader's snapshot, which can fail.
    write_intent.set(True)
    db.session.rollback()
    service.check_silence(service.MONITOR)
    page = max(1, request.args.get("page", 1, type=int))
    open_alarms, open_total = queries.alarms(actor, open_only=True, per_page=200)
    recent, total = queries.alarms(actor, page=page, per_page=25)
    return render_template("monitoring/index.html", open_alarms=open_alarms, open_total=open_total,
                           recent=[a for a in recent if a.closed_at is not None], page=page,
                           pages=max(1, -(-total // 25)), watched=queries.watched(actor))


@blp.get("/monitoring/summary.json")
@login_required
def summary():
    """What the page header polls to ring when a new alarm opens."""
    data = queries.open_alarm_summary(page_actor())
    for item in data["items"]:
        item["opened_at"] = iso_utc(item["opened_at"])
    return jsonify(data)


@blp.post("/monitoring/alarms/<int:alarm_id>/acknowledge")
@login_required
def acknowledge(alarm_id):
    actor = page_actor()
    alarm = service.acknowledge_alarm(actor, alarm_id, note=request.form.get("note"))
    if alarm.closed_at:
        flash(_("Alarm %(id)s closed (readings back in range).", id=alarm.id), "success")
    else:
        flash(_("Alarm %(id)s acknowledged; it closes when readings are back in range.", id=alarm.id), "success")
    return redirect(local_path(request.form.get("next")) or url_for("monitoring_web.index"))


def _period():
    """(the preset chosen or "custom", start, end, whether the period runs up to now)."""
    choice = request.args.get("period", "day")
    since, until = request.args.get("since"), request.args.get("until")
    if since or until:
        start, end = queries.period(since, until)
        return "custom", start, end, not until
    if choice not in PERIODS:
        choice = "day"
    _default_start, end = queries.period(None, None)
    start = end - PERIODS[choice]
    if PERIODS[choice] / CHART_STEPS >= hours.HOUR:
        start = hours.hour_of(start)  # steps of hours: the period begins on the hour, read from hourly extremes
    return choice, start, end, True


def _charts(container, start, end, through_now: bool,
            only: str | None = None) -> tuple[list, list, object]:
    """([(kind, svg)...], alarms, limits) for the period (`through_now`: it ends now; `only`: just
    that chart, for its SVG)."""
    seconds = max(1.0, (end - start).total_seconds() / CHART_STEPS)
    series = queries.chart_series(container.id, start, end, buckets=CHART_STEPS, through_now=through_now)
    alarms = queries.alarms_in(container.id, start, end)
    rules = queries.limits_of(container)
    made = []
    has_temperature = any(s["t_min"] is not None for s in series)
    has_level = any(s["l_min"] is not None for s in series)
    if only in (None, "temperature") and (has_temperature or not has_level):
        limit = rules.max_temperature_c
        made.append(("temperature", charts.series_chart(
            title=_("Temperature of %(path)s", path=container.path), unit="°C", series=series, low_key="t_min",
            high_key="t_max", start=start, end=end, seconds_per_bucket=seconds, limit=limit,
            limit_label=_("limit %(value)s °C", value=f"{limit:g}") if limit is not None else "",
            limit_is_min=False, alarms=alarms, alarm_kinds=("temperature", "silent"))))
    if only in (None, "level") and has_level:
        limit = rules.min_ln2_level
        made.append(("level", charts.series_chart(
            title=_("LN2 level of %(path)s", path=container.path), unit=_("level"), series=series, low_key="l_min",
            high_key="l_max", start=start, end=end, seconds_per_bucket=seconds, limit=limit,
            limit_label=_("lowest allowed %(value)s", value=f"{limit:g}") if limit is not None else "",
            limit_is_min=True, alarms=alarms, alarm_kinds=("level", "silent"))))
    return made, alarms, rules


@blp.get("/containers/<int:container_id>/monitoring")
@login_required
def container(container_id):
    actor = page_actor()
    tank = get_container(container_id)
    try:
        choice, start, end, through_now = _period()
    except DomainError as exc:
        flash(exc.message, "error")
        return redirect(url_for("monitoring_web.container", container_id=container_id))
    made, alarms, rules = _charts(tank, start, end, through_now)
    return render_template("monitoring/container.html", tank=tank, charts=[svg for _kind, svg in made],
                           alarms=alarms, rules=rules,
                           limit_names=LIMIT_NAMES, limit_fields=LIMIT_FIELDS, period=choice, start=start, end=end,
                           latest=queries.latest_reading(tank.id), log=queries.tank_log(actor, tank.id, limit=20),
                           can_edit_limits=allowed(actor, "monitoring.limits"),
                           can_record=allowed(actor, "monitoring.record"),
                           can_ingest=allowed(actor, "monitoring.ingest"))


@blp.get("/containers/<int:container_id>/monitoring/<kind>.svg")
@login_required
def chart_svg(container_id, kind):
    page_actor()
    tank = get_container(container_id)
    try:
        _choice, start, end, through_now = _period()
    except DomainError as exc:
        abort(422, description=exc.message)
    if kind not in ("temperature", "level"):
        abort(404)
    made, _alarms, _rules = _charts(tank, start, end, through_now, only=kind)
    if not made:
        abort(404)
    return Response(str(made[0][1]), mimetype="image/svg+xml")


@blp.post("/containers/<int:container_id>/monitoring/limits")
@login_required
def limits(container_id):
    actor = page_actor("monitoring.limits")
    values = {}
    for name in LIMIT_FIELDS:
        raw = (request.form.get(name) or "").strip()
        values[name] = raw or None
    service.set_limits(actor, container_id, **values)
    flash(_("Limits saved; empty fields use the default of the storage temperature."), "success")
    return redirect(url_for("monitoring_web.container", container_id=container_id))


@blp.post("/containers/<int:container_id>/monitoring/log")
@login_required
def tank_log(container_id):
    actor = page_actor("monitoring.record")
    entry = service.record_tank_work(actor, container_id, kind=request.form.get("kind", ""),
                                     at=request.form.get("at") or None, litres=request.form.get("litres") or None,
                                     note=request.form.get("note"))
    if entry.kind == "refill":
        flash(_("LN2 refill of %(litres)s L recorded.", litres=f"{entry.litres:g}"), "success")
    else:
        flash(_("Maintenance recorded."), "success")
    return redirect(url_for("monitoring_web.container", container_id=container_id))


@blp.post("/containers/<int:container_id>/monitoring/import")
@login_required
def import_csv(container_id):
    actor = page_actor("monitoring.ingest")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        flash(_("Choose the data logger's CSV file."), "error")
        return redirect(url_for("monitoring_web.container", container_id=container_id))
    try:
        items = readings_csv.parse(upload.read(), default_sensor=request.form.get("sensor"))
        result = service.record_readings(actor, container_id, items, source="csv",
                                         skip_duplicates=bool(request.form.get("skip_duplicates")))
    except DomainError as exc:
        db.session.rollback()
        lines = [_("line %(line)s: %(reason)s", line=p.get("line", p.get("index")), reason=p["reason"]) for p in
                 (exc.details if isinstance(exc.details, list) else [])[:10]]
        flash(exc.message + (" " + "; ".join(lines) if len(lines) > 1 else ""), "error")
        return redirect(url_for("monitoring_web.container", container_id=container_id)), 303
    skipped = len(result.skipped_duplicates)
    if skipped:
        flash(_("Imported %(num)s reading(s), skipped %(skipped)s already stored; %(alarms)s alarm(s) opened.",
                num=result.accepted, skipped=skipped, alarms=len(result.alarms_opened)), "success")
    else:
        flash(_("Imported %(num)s reading(s); %(alarms)s alarm(s) opened.", num=result.accepted,
                alarms=len(result.alarms_opened)), "success")
    return redirect(url_for("monitoring_web.container", container_id=container_id))


@blp.route("/containers/<int:container_id>/evacuation", methods=["GET", "POST"])
@login_required
def evacuation_page(container_id):
    actor = page_actor("samples.identified")
    status, moved, pending = 200, None, None
    barcode = (request.values.get("barcode") or "").strip()
    if request.method == "POST":
        try:
            moved = evacuation.carry_out_move(actor, container_id, barcode,
                                              box_barcode=request.form.get("box_barcode") or None)
        except DomainError as exc:
            flash(exc.message, "error")
            status = exc.status
            pending = barcode
    elif barcode:
        pending = barcode
    plan = evacuation.evacuation_plan(actor, container_id)
    target = next((m for m in plan["moves"] if m["barcode"] == pending), None) if pending else None
    if pending and target is None and request.method == "GET":
        flash(_("%(barcode)s is not a tube of this plan.", barcode=pending), "error")
        status = 404
    return render_template("monitoring/evacuation.html", plan=plan, moved=moved, target=target,
                           can_move=allowed(actor, "samples.handle")), status
