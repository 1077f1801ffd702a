"""Consent pages (managers): withdraw a donor's consent in two steps (reason, then confirm), and
the worklist of that donor's tubes still held, each closed by a discard or a return."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..core.lazy_text import lazy_gettext as _l
from ..core.permissions import require
from ..core.requests import current_actor
from . import consent, service

blp = Blueprint("consent_web", __name__, url_prefix="/consent")


class WithdrawForm(FlaskForm):
    donor = StringField(_l("Donor pseudonym"), validators=[DataRequired(_l("Enter or scan the donor pseudonym.")),
                                                           Length(max=64)])
    reason = TextAreaField(_l("Reason (e.g. the withdrawal form's reference)"),
                           validators=[DataRequired(_l("Record why consent was withdrawn.")), Length(max=2000)])
    confirmed = HiddenField()


class DiscardForm(FlaskForm):
    reason = StringField(_l("Reason"), default=consent.DISCARD_REASON, validators=[Optional(), Length(max=2000)])


class ReturnForm(FlaskForm):
    recipient = StringField(_l("Returned to (collecting centre)"), validators=[
        DataRequired(_l("Say who receives the tube.")), Length(max=300)])


def _errors(form) -> None:
    for name, errors in form.errors.items():
        for error in errors:
            flash(_("%(field)s: %(error)s", field=getattr(form, name).label.text, error=error), "error")


@blp.route("", methods=["GET", "POST"])
@login_required
def withdraw():
    """Step 1: donor and reason. Step 2 (confirmed empty): what it touches, and a confirm button."""
    actor = current_actor()
    require(actor, "consent.withdraw")
    form = WithdrawForm()
    if form.validate_on_submit():
        donor = form.donor.data.strip()
        if form.confirmed.data != donor:
            form.confirmed.data = donor
            return render_template("consent/confirm.html", form=form, impact=consent.impact(actor, donor),
                                   record=consent.donor_record(actor, donor))
        result = service.withdraw_consent(actor, donor, reason=form.reason.data.strip())
        flash(_("Consent of donor %(donor)s withdrawn: %(count)s tubes blocked from requests. "
                "Destroy or return the tubes listed below.", donor=donor, count=result["samples_blocked"]), "success")
        return redirect(url_for("consent_web.donor", donor=donor))
    _errors(form)
    return render_template("consent/withdraw.html", form=form, summary=consent.worklist_summary(actor)), \
        (422 if form.errors else 200)


@blp.get("/<donor>")
@login_required
def donor(donor):
    """The worklist of one donor's tubes still held."""
    actor = current_actor()
    record = consent.donor_record(actor, donor)
    return render_template("consent/worklist.html", donor=donor, record=record,
                           items=consent.worklist(actor, donor), discard_form=DiscardForm(),
                           return_form=ReturnForm())


@blp.post("/<donor>/<barcode>/discard")
@login_required
def discard(donor, barcode):
    form = DiscardForm()
    if form.validate_on_submit():
        consent.discard(current_actor(), barcode, reason=form.reason.data)
        flash(_("Discarded %(barcode)s.", barcode=barcode), "success")
    else:
        _errors(form)
    return redirect(url_for("consent_web.donor", donor=donor))


@blp.post("/<donor>/<barcode>/return")
@login_required
def return_tube(donor, barcode):
    form = ReturnForm()
    if form.validate_on_submit():
        consent.return_to_collector(current_actor(), barcode, recipient=form.recipient.data)
        flash(_("%(barcode)s leaves storage, returned to %(recipient)s.", barcode=barcode,
                recipient=form.recipient.data.strip()), "success")
    else:
        _errors(form)
    return redirect(url_for("consent_web.donor", donor=donor))
