"""The scan page (the technicians' home) and the navigation helpers of base.html.

A scan only reads: it finds what a barcode is and shows what can be done with
it next. Every change is a form post to the sample or storage pages, which call
one service each.
"""
from flask import (Blueprint, abort, current_app, flash, get_flashed_messages, make_response, redirect,
                   render_template, request, send_from_directory, url_for)
from flask_babel import gettext as _
from flask_login import login_required
from markupsafe import Markup, escape

from .lazy_text import lazy_gettext as _l
from ..extensions import db
from . import display as names, js_strings, scan as answers
from .fonts import FONT_DIR
from .errors import UnknownBarcode
from .permissions import allowed, require
from .requests import current_actor, optional_actor

blp = Blueprint("core_web", __name__)


@blp.get("/favicon.ico")
def favicon():
    """Browsers ask for it on every page, signed in or not; base.html links it too."""
    return current_app.send_static_file("favicon.ico")


# The Korean font the PDFs and labels print with, for pages read on a workstation without one
# (app.css asks for it only for Hangul, through unicode-range).
WEB_FONTS = ("BiobankGothicKR-Regular.ttf", "BiobankGothicKR-Bold.ttf")


@blp.get("/fonts/<name>")
def web_font(name):
    if name not in WEB_FONTS:
        abort(404)
    return send_from_directory(FONT_DIR, name, mimetype="font/ttf", max_age=30 * 24 * 3600)

# Which permission a navigation target needs (endpoints other pages may add later).
NAV_PERMISSIONS = {
    "auth_web.home": None,
    "core_web.scan": "samples.handle",
    "samples_web.index": "samples.identified",
    "samples_web.register": "samples.handle",
    "samples_web.import_csv": "samples.handle",
    "samples_web.corrections_csv": "samples.correct_quantity",
    "storage_web.index": "samples.identified",
    "storage_web.layout": "storage.layout",
    "requests_web.index": None,   # researchers (own requests), managers (decide), technicians (pick)
    "requests_web.catalogue": "catalogue.search",
    "reports_web.capacity": "reports.read",
    "samples_web.overdue": "samples.identified",
    "custody_web.audit_log": "reports.read",
    "reports_web.reconcile": "reports.read",
    "monitoring_web.index": "monitoring.read",
}

# Command barcodes: print them on a sheet at the bench so every action can be
# started by scanning. ":" never occurs in a sample or container barcode.
COMMANDS = {
    "CMD:MOVE": "move", "CMD:CHECKOUT": "checkout", "CMD:RETURN": "return_sample",
    "CMD:ALIQUOT": "aliquot", "CMD:DISCARD": "discard", "CMD:CANCEL": None,
    "CMD:CORRECT": "correct",
}
COMMAND_NAMES = {"CMD:MOVE": _l("Move"), "CMD:CHECKOUT": _l("Check out"), "CMD:RETURN": _l("Return"),
                 "CMD:ALIQUOT": _l("Aliquot"), "CMD:DISCARD": _l("Discard"), "CMD:CANCEL": _l("Cancel"),
                 "CMD:CORRECT": _l("Correct record")}


def nav_allowed(endpoint: str, permission: str | None = None) -> bool:
    """The endpoint exists in this app and the current user's role may use it."""
    if endpoint not in current_app.view_functions:
        return False
    actor = optional_actor()
    if actor is None:
        return False
    permission = permission or NAV_PERMISSIONS.get(endpoint)
    return permission is None or allowed(actor, permission)


@blp.app_template_global()
def nav_link(endpoint: str, label: str, permission: str | None = None) -> Markup:
    """A navigation link, or nothing when the page does not exist (yet) or the role may not use it."""
    if not nav_allowed(endpoint, permission):
        return Markup("")
    try:
        href = url_for(endpoint)
    except Exception:  # an endpoint that needs arguments is not a navigation target
        return Markup("")
    current = ' aria-current="page"' if request.endpoint == endpoint else ""
    return Markup(f'<a href="{escape(href)}"{current}>{escape(label)}</a>')


@blp.app_template_global()
def can(permission: str) -> bool:
    return allowed(optional_actor(), permission)


@blp.app_template_filter("status_label")
def status_label(status: str | None) -> str:
    return names.display(status, "status")


@blp.app_template_filter("display")
def display(code, table: str) -> str:
    """{{ sample.sample_type | display('sample_type') }}: the human name of a stored code."""
    return names.display(code, table)


@blp.app_template_global()
def percent(part, whole) -> int:
    """Whole percent, rounded the same way on every page."""
    return names.percent(part, whole)


def sample_actions(sample) -> list[tuple[str, str]]:
    """(endpoint, label) of the actions the current user may take on this sample now."""
    if not can("samples.handle"):
        return []
    actions = []
    in_storage = bool(sample.container_id)
    if sample.status in ("available", "reserved") and in_storage:
        actions.append(("samples_web.move", _("Move")))
    if sample.status == "available":  # a reserved sample leaves storage only by picking its request
        actions.append(("samples_web.checkout", _("Check out")))
    if sample.status == "checked_out":
        actions.append(("samples_web.return_sample", _("Return")))
        if sample.home_container_id:
            actions.append(("samples_web.release_home", _("Release its place")))
    if sample.status in ("available", "checked_out"):
        actions.append(("samples_web.aliquot", _("Aliquot")))
    if sample.status in ("available", "checked_out"):
        actions.append(("samples_web.discard", _("Discard")))
    if can("samples.correct_quantity") and "samples_web.correct" in current_app.view_functions:
        actions.append(("samples_web.correct", _("Correct record")))
    return actions


@blp.app_context_processor
def _helpers():
    return {"sample_actions": sample_actions, "scan_commands": COMMANDS, "js_strings": js_strings.strings()}


# -- the scan page ----------------------------------------------------------------
def _find_sample(code):
    from ..samples.service import find_sample
    return find_sample(code)


def _find_container(code):
    from ..storage.service import container_by_barcode
    try:
        return container_by_barcode(code)
    except UnknownBarcode:
        return None


def _render(status=200, **context):
    template = "scan/scan.html"
    if request.headers.get("X-Scan-Fragment"):
        # The scan area alone, with what a redirect here left to say (a change refused at commit).
        template = "scan/_panel.html"
        for category, text in get_flashed_messages(with_categories=True):
            context.setdefault("error" if category == "error" else "done", text)
    context.setdefault("code", "")
    return render_template(template, **context), status


render_scan = _render  # for the steps other domains add to the scan page (storage/moves_web.py)

# Steps for a container in hand (`box` on the scan page) when another container is scanned:
# step(container in hand, scanned container, code) -> response. storage/moves_web.py adds the move.
CONTAINER_STEPS: list = []


def scan_page():
    """Interpret one scan (`code`), given the sample already in hand (`sample`)."""
    actor = current_actor()
    require(actor, "samples.identified")
    code = (request.args.get("code") or "").strip()
    held = (request.args.get("sample") or "").strip()
    held_sample = _find_sample(held) if held else None
    box_code = (request.args.get("box") or "").strip()
    held_box = _find_container(box_code) if box_code and allowed(actor, "containers.move") else None
    if not code:
        return _render(sample=held_sample, held_box=held_box)
    upper = code.upper()
    if upper in COMMANDS:
        endpoint = COMMANDS[upper]
        if endpoint is None:
            return _render(message=_("Cleared. Scan a tube, box or rack."))
        if held_sample is None:
            return _render(404, error=_("%(code)s is a command: scan a sample first, then the command.", code=code),
                           code=code)
        return redirect(url_for(f"samples_web.{endpoint}", barcode=held_sample.barcode, from_scan=1))
    if held_box is not None and held_sample is None and CONTAINER_STEPS \
            and (target := _find_container(code)) is not None and target.id != held_box.id:
        return CONTAINER_STEPS[0](held_box, target, code)
    sample = _find_sample(code)
    if sample is not None:
        return _render(sample=sample, code=code)
    container = _find_container(code)
    if container is not None:
        if held_sample is not None and held_sample.status in ("available", "reserved", "checked_out") \
                and held_sample.barcode != code:
            if not container.is_grid:
                return _render(409, error=_("%(path)s is %(what)s; scan the box %(tube)s goes into.",
                                            path=container.path, what=answers.a_kind(container.kind),
                                            tube=held_sample.barcode), sample=held_sample, code=code)
            return _render(sample=held_sample, target=container, code=code)
        return redirect(url_for("storage_web.container", container_id=container.id))
    message, suggestion = answers.unknown_barcode(code)
    return _render(404, error=message, suggestion=suggestion, sample=held_sample, code=code)


def scan_done(message: str, sample=None):
    """An action started on the scan page is done: back to the scan page (with `sample` in hand,
    when it is still one), saying what was done. A form the page sent in place (X-In-Place) gets
    that page in this answer, its address in X-Page-Url; any other is redirected there with the
    message flashed."""
    code = sample.barcode if sample is not None else None
    address = url_for("core_web.scan", code=code) if code else url_for("core_web.scan")
    if not request.headers.get("X-In-Place"):
        flash(message, "success")
        return redirect(address)
    body, status = _render(sample=sample, code=code or "", done=message)
    response = make_response(body, status)
    response.headers["X-Page-Url"] = address
    return response


def answer_step_error(sample, container_code: str | None, position_text: str | None, error=None,
                      form_errors=()):
    """A move or return started on the scan page was refused: answer on the scan page, with the
    box still chosen and focus in the position field, saying what was scanned and what to do."""
    db.session.rollback()  # nothing of the refused step stays, and the answer reads what is stored
    if (position_text or "").strip().upper() == "CMD:CANCEL":
        return redirect(url_for("core_web.scan", code=sample.barcode))
    status = error.status if error is not None else 422
    target = answers.find_container(container_code)
    if target is None or not target.is_grid:
        message = error.message if error is not None else _("Scan the box it goes into again.")
        return _render(status, error=message, sample=sample, code=sample.barcode)
    message = answers.position_problem(target, position_text, error)
    if message is None:
        message = " ".join(form_errors) or (error.message if error is not None else _("Try again."))
    return _render(status, error=message, sample=sample, target=target, code=sample.barcode)


@blp.get("/scan")
@login_required
def scan():
    return scan_page()


@blp.get("/scan/commands.pdf")
@login_required
def command_sheet():
    """The command barcodes on one A4 page, to print for the bench."""
    from ..labels.command_sheet import command_sheet_pdf
    require(current_actor(), "samples.handle")
    pdf = command_sheet_pdf([(code, str(COMMAND_NAMES[code])) for code in COMMANDS])
    return current_app.response_class(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": "inline; filename=scan-commands.pdf"})


def choices(pairs) -> list:
    """Select options as WTForms wants them (SelectChoice from 3.3 on; tuples before)."""
    try:
        from wtforms.fields.choices import SelectChoice
    except ImportError:  # WTForms < 3.3
        return list(pairs)
    return [SelectChoice(value, label) for value, label in pairs]
