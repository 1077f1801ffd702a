"""Correcting records on the web: the "Correct record" form of a sample (only the fields the
user's role may change, a reason required) and the corrections CSV (upload → preview of
every before and after → confirm). The views parse, call one service and render.
"""
import json

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.errors import DomainError, ImportRejected, InvalidInput
from ..core.permissions import require
from ..core.requests import current_actor
from ..core.web import choices
from ..extensions import db
from ..core.lazy_text import lazy_gettext as _l
from . import corrections, service
from .models import SAMPLE_TYPES, TEMPERATURES
from .validation import UNITS
from .web import blp

_REASON = _l("Reason for the correction")
_HINTS = {"collected_at": _l("Collected at (UTC, e.g. 2025-07-21T07:15:00Z)"),
          "anatomical_site": _l("Anatomical site (ICD-O-3)"), "diagnosis": _l("Diagnosis (ICD-10)"),
          "donor": _l("Donor pseudonym"), "sprec": _l("SPREC code"), "volume": _l("Volume")}


def _field(name: str):
    """The form field of one correctable sample field."""
    label = corrections.field_name(name).capitalize()
    if name == "sample_type":
        return SelectField(_("Sample type"), choices=choices([(t, t) for t in SAMPLE_TYPES]), validate_choice=False)
    if name == "storage_temperature":
        return SelectField(label, choices=choices([("", _("— none —"))] + [(t, t) for t in TEMPERATURES]), validate_choice=False)
    if name == "unit":
        return SelectField(label, choices=choices([("", _("— none —"))] + [(u, u) for u in UNITS]), validate_choice=False)
    if name == "notes":
        return TextAreaField(label, validators=[Optional(), Length(max=4000)])
    return StringField(_HINTS.get(name, label), validators=[Optional(), Length(max=64)])


def correction_form(actor, formdata=None, **values):
    """A form with the reason first, then only the fields this actor may correct."""
    names = corrections.fields_for(actor)
    attributes = {"reason": StringField(_REASON, validators=[
        DataRequired(_("Say why the record is corrected (e.g. pathology review).")), Length(max=2000)])}
    attributes.update({name: _field(name) for name in names})
    form_class = type("CorrectionForm", (FlaskForm,), attributes)
    form = form_class(formdata=formdata, **values) if formdata is not None else form_class(**values)
    form.correctable = names
    return form


def _as_text(value) -> str:
    shown = corrections.shown(value)
    return "" if shown is None else str(shown)


@blp.route("/samples/<barcode>/correct", methods=["GET", "POST"])
@login_required
def correct(barcode):
    actor = current_actor()
    require(actor, "samples.correct_quantity")
    sample = service.get_sample(barcode)
    current = {name: _as_text(getattr(sample, name)) for name in corrections.FIELDS}
    form = correction_form(actor, **current) if request.method == "GET" else correction_form(actor)
    status, error = 200, None
    if form.validate_on_submit():
        given = {}
        for name in form.correctable:
            if name not in request.form:
                continue  # not sent: left as it is
            value = form[name].data or ""
            if (value if name == "notes" else value.strip()) != current[name]:
                given[name] = value if value.strip() else None
        try:
            corrections.correct_sample(actor, barcode, reason=form.reason.data, **given)
        except DomainError as exc:
            error, status = exc.message, exc.status
            for detail in exc.details if isinstance(exc.details, list) else []:
                name = detail.get("field") if isinstance(detail, dict) else None
                if name in form.correctable:
                    form[name].errors = list(form[name].errors) + [str(detail["message"])]
        else:
            changed = ", ".join(corrections.field_name(n) for n in given)
            flash(_("Corrected %(barcode)s: %(fields)s.", barcode=barcode, fields=changed), "success")
            return redirect(url_for("samples_web.detail", barcode=barcode))
    elif form.errors:
        status = 422
    return render_template("samples/correct.html", sample=sample, form=form, error=error), status


# -- a CSV of corrections --------------------------------------------------------------
class CorrectionsUploadForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file.")),
                                                 FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])


class CorrectionsConfirmForm(FlaskForm):
    csv_text = TextAreaField(validators=[DataRequired()])


def _decode(upload) -> str:
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not UTF-8 text; save it as CSV (UTF-8)."), code="invalid_encoding") from None


@blp.route("/samples/corrections", methods=["GET", "POST"])
@login_required
def corrections_csv():
    """Upload → preview (every row checked, nothing changed) → confirm."""
    actor = current_actor()
    require(actor, "samples.correct_quantity")
    form = CorrectionsUploadForm()
    allowed_columns = corrections.fields_for(actor)
    if not form.validate_on_submit():
        return render_template("samples/corrections.html", form=form, columns=allowed_columns), \
            (422 if form.errors else 200)
    try:
        text = _decode(form.file.data)
        preview = corrections.correct_samples(actor, text, dry_run=True)
    except ImportRejected as exc:
        db.session.rollback()
        return render_template("samples/corrections.html", form=form, rejected=exc, columns=allowed_columns,
                               filename=form.file.data.filename), exc.status
    except DomainError as exc:
        db.session.rollback()
        form.file.errors = list(form.file.errors) + [exc.message]
        return render_template("samples/corrections.html", form=form, columns=allowed_columns), exc.status
    db.session.rollback()  # a preview keeps no locks
    confirm = CorrectionsConfirmForm(formdata=None, csv_text=text)
    return render_template("samples/corrections_preview.html", preview=preview, confirm=confirm,
                           filename=form.file.data.filename)


@blp.post("/samples/corrections/confirm")
@login_required
def corrections_confirm():
    actor = current_actor()
    require(actor, "samples.correct_quantity")
    form = CorrectionsConfirmForm()
    if not form.validate_on_submit():
        flash(_("The corrections form was incomplete; upload the file again."), "error")
        return redirect(url_for("samples_web.corrections_csv"))
    try:
        result = corrections.correct_samples(actor, form.csv_text.data.replace("\r\n", "\n"))
    except ImportRejected as exc:
        db.session.rollback()
        return render_template("samples/corrections.html", form=CorrectionsUploadForm(formdata=None),
                               rejected=exc, columns=corrections.fields_for(actor), filename=_("the file")), exc.status
    flash(ngettext("Corrected %(num)d record(s).", "Corrected %(num)d record(s).", result["count"]), "success")
    return redirect(url_for("samples_web.corrections_csv"))


def history_line(event) -> str:
    """'diagnosis C50.9 → C50.1' for a correction event in a sample's history."""
    changes = json.loads(event.changes or "{}")
    return ", ".join(f"{corrections.field_name(k)} "
                     f"{v[0] if v[0] not in (None, '') else '—'} → {v[1] if v[1] not in (None, '') else '—'}"
                     for k, v in changes.items() if isinstance(v, list) and len(v) == 2)


@blp.app_template_filter("field_name")
def field_name(name: str) -> str:
    return corrections.field_name(name)


@blp.app_template_filter("correction_summary")
def correction_summary(event) -> str:
    return history_line(event)

