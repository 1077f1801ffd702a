"""Printing from the browser: one print job for a set of sample labels (a single tube, or every
aliquot of a run), sent either to this workstation's Zebra printer (the server sends the ZPL to
it over TCP 9100; the printer's address is kept in a cookie of this browser, set on /printer) or
as a PDF, whose sheet can start at any label of a part-used sheet (start=N)."""
import socket

from flask import Blueprint, flash, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Regexp

from ..core.db import write_intent
from ..core.errors import InvalidInput
from ..core.permissions import require
from ..core.requests import current_actor
from ..core.lazy_text import lazy_gettext as _l
from . import service
from .api import send
from .cli import RAW_PORT, send_to_printer

blp = Blueprint("print_web", __name__)

PRINTER_COOKIE = "biobank_printer"
MAX_JOB = 500


class PrinterForm(FlaskForm):
    host = StringField(_l("Printer address (host name or IP)"), validators=[
        DataRequired(_l("Give the printer's address.")), Length(max=253),
        Regexp(r"^[A-Za-z0-9.\-:\[\]]+$", message=_l("Letters, digits, dots, dashes and colons only."))])
    port = IntegerField(_l("Port"), default=RAW_PORT, validators=[NumberRange(1, 65535)])


class PrintForm(FlaskForm):
    barcodes = HiddenField(validators=[DataRequired(), Length(max=40_000)])


def _printer() -> str | None:
    """This workstation's printer, "host:port", from its cookie."""
    value = request.cookies.get(PRINTER_COOKIE, "")
    return value if 0 < len(value) <= 260 else None


def _barcodes(raw: str | None) -> list[str]:
    barcodes = [b.strip() for b in (raw or "").replace("\n", ",").split(",") if b.strip()]
    if not barcodes:
        raise InvalidInput(_("Nothing to print: give the barcodes of the labels."), code="nothing_to_print")
    if len(barcodes) > MAX_JOB:
        raise InvalidInput(_("One print job holds at most %(num)d labels.", num=MAX_JOB), code="too_many_labels")
    return barcodes


@blp.route("/printer", methods=["GET", "POST"])
@login_required
def printer():
    """This workstation's label printer (kept in this browser only)."""
    require(current_actor(), "samples.handle")
    current = _printer()
    form = PrinterForm()
    if request.method == "GET" and current:
        host, _colon, port = current.rpartition(":")
        form.host.data, form.port.data = host, int(port) if port.isdigit() else RAW_PORT
    if form.validate_on_submit():
        address = f"{form.host.data.strip()}:{form.port.data or RAW_PORT}"
        response = make_response(redirect(request.args.get("next") if (request.args.get("next") or "").startswith("/")
                                          and not request.args["next"].startswith("//") else url_for("print_web.printer")))
        response.set_cookie(PRINTER_COOKIE, address, max_age=5 * 365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=request.is_secure)
        flash(_("This workstation prints labels on the Zebra printer at %(address)s.", address=address), "success")
        return response
    if request.method == "POST" and request.form.get("forget"):
        response = make_response(redirect(url_for("print_web.printer")))
        response.delete_cookie(PRINTER_COOKIE)
        flash(_("This workstation has no label printer now; labels print as PDF."), "info")
        return response
    return render_template("labels/printer.html", form=form, current=current), (422 if form.errors else 200)


@blp.get("/print")
@login_required
def print_page():
    """The print dialog of a job: where to print, and for a PDF which label of the sheet to start at."""
    require(current_actor(), "samples.handle")
    barcodes = _barcodes(request.args.get("barcodes"))
    return render_template("labels/print.html", barcodes=barcodes, joined=",".join(barcodes), printer=_printer(),
                           form=PrintForm(barcodes=",".join(barcodes)), back=request.args.get("back") or "")


@blp.get("/print/labels.pdf")
@login_required
def print_pdf():
    """All the job's labels as one PDF; start=N begins on the sheet's N-th label."""
    write_intent.set(True)   # printing writes custody events
    start = request.args.get("start", "1")
    if not start.isdigit() or not 1 <= int(start) <= 1000:
        raise InvalidInput(_("start is the label of the sheet to begin at: 1, 2, 3 ..."), code="invalid_start")
    return send(service.print_sample_labels(current_actor(), _barcodes(request.args.get("barcodes")), format="pdf",
                                            skip=int(start) - 1))


@blp.post("/print/zebra")
@login_required
def print_zebra():
    """Send the job's labels, as one ZPL job, to this workstation's Zebra printer."""
    actor = current_actor()
    form = PrintForm()
    address = _printer()
    if not form.validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return redirect(request.referrer or url_for("core_web.scan"))
    barcodes = _barcodes(form.barcodes.data)
    if address is None:
        flash(_("This workstation has no label printer yet: set it up first."), "error")
        return redirect(url_for("print_web.printer", next=url_for("print_web.print_page", barcodes=form.barcodes.data)))
    label_file = service.print_sample_labels(actor, barcodes, format="zpl")
    try:
        send_to_printer(address, label_file.content, timeout=10.0)
    except (OSError, socket.timeout) as exc:
        raise InvalidInput(_("The printer at %(address)s did not take the job (%(problem)s); check that it is on and "
                             "its address on the printer page.", address=address, problem=exc.strerror or exc),
                           code="printer_unreachable") from None
    flash(ngettext("Sent %(num)d label to the printer at %(address)s.", "Sent %(num)d labels to the printer at %(address)s.",
                   label_file.count, address=address), "success")
    return redirect(url_for("print_web.print_page", barcodes=form.barcodes.data))
