"""Request pages: catalogue and cart, requests list and detail with actions per role (each
site's part decided by its own manager), filling a line by criteria, printable pick list,
scan-to-pick, shipping. Each post parses its form, calls one service (the cart:
requests/cart.py), flashes and redirects; a wrong scan on the pick page is answered on
the page itself."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, HiddenField, IntegerField, SelectField, StringField, \
    TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import DomainError
from ..core.permissions import allowed
from ..core.requests import current_actor
from ..core import display as names
from ..core.web import choices
from ..core.redirects import same_site
from ..extensions import db
from ..network import scope
from ..samples.models import SAMPLE_TYPES
from . import cart as carts, queries, service
from .api import send_manifest
from .models import STATUSES
from .opaque import catalogue_id

blp = Blueprint("requests_web", __name__)

PER_PAGE = 25
CART_LIMIT = service.MAX_ITEMS


# -- forms ---------------------------------------------------------------------------
class CatalogueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search changes nothing

    sample_type = SelectField(_l("Type"), choices=choices([("", _l("any type"))]
                                                          + names.options('sample_type', SAMPLE_TYPES)), default="")
    diagnosis = StringField(_l("Diagnosis (ICD-10)"), validators=[Optional(), Length(max=16)])
    anatomical_site = StringField(_l("Anatomical site (ICD-O-3)"), validators=[Optional(), Length(max=16)])
    collected_from = DateField(_l("Collected from"), validators=[Optional()])
    collected_to = DateField(_l("Collected until"), validators=[Optional()])
    collection_year = IntegerField(_l("Year"), validators=[Optional(), NumberRange(1900, 2999)])
    min_volume = DecimalField(_l("Volume at least"), validators=[Optional(), NumberRange(min=0)])
    max_volume = DecimalField(_l("Volume at most"), validators=[Optional(), NumberRange(min=0)])
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=8)])
    site = StringField(_l("Site"), validators=[Optional(), Length(max=32)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


class BarcodeForm(FlaskForm):
    barcode = HiddenField(validators=[DataRequired(), Length(max=64)])


class RequestFieldsForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(_l("Give the request a title.")), Length(max=200)])
    purpose = TextAreaField(_l("Purpose"), validators=[DataRequired(_l("Say what the samples are for.")),
                                                       Length(max=5000)])
    ethics_reference = StringField(_l("Ethics approval reference"),
                                   validators=[DataRequired(_l("Give the ethics approval reference.")),
                                               Length(max=120)])


class NewRequestForm(RequestFieldsForm):
    submit_now = BooleanField(_l("Submit for approval now"), default=True)


class CriteriaRequestForm(RequestFieldsForm):
    """Ask for a number of samples like the current search; the search's filters come with it."""
    count = IntegerField(_l("How many samples"), validators=[DataRequired(_l("Say how many samples.")),
                                                             NumberRange(1, 1000)])


class ActionForm(FlaskForm):
    """A button that changes state: CSRF only."""


class ReasonForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=2000)])
    site = HiddenField(validators=[Optional(), Length(max=32)])


class CancelForm(ReasonForm):
    thawed = BooleanField(_l("Picked tubes thawed before going back"))


class ApproveForm(FlaskForm):
    reason = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])
    site = HiddenField(validators=[Optional(), Length(max=32)])


class PickForm(FlaskForm):
    barcode = StringField(_l("Scan a tube"), validators=[DataRequired(_l("Scan a tube.")), Length(max=200)])


class ShipForm(FlaskForm):
    recipient = StringField(_l("Recipient (name and address)"), validators=[DataRequired(_l("Who receives it?")),
                                                                            Length(max=300)])
    courier = StringField(_l("Courier"), validators=[DataRequired(_l("Which courier?")), Length(max=120)])
    tracking = StringField(_l("Tracking number"), validators=[Optional(), Length(max=120)])


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField(_l("Status"), choices=choices([("", _l("any status"))]
                                                       + names.options('request_status', STATUSES)), default="")
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


# -- helpers ---------------------------------------------------------------------------
def _form_errors(form) -> None:
    for field, errors in form.errors.items():
        for error in errors:
            flash(_("%(field)s: %(error)s", field=getattr(form, field).label.text, error=error)
                  if hasattr(form, field) else error, "error")


def _back(default: str):
    return redirect(same_site(request.referrer, request.host_url) or default)


def _detail(request_id: int):
    return redirect(url_for("requests_web.detail", request_id=request_id))


def _search_filters(form) -> dict:
    return {k: v for k, v in form.data.items() if k not in ("page", "csrf_token") and v not in (None, "")}


@blp.app_template_filter("catalogue_id")
def catalogue_id_filter(sample) -> str:
    return catalogue_id(sample.id)


@blp.app_template_global()
def sample_name(sample) -> str:
    """How a page names a sample: its barcode for staff, its catalogue id for researchers."""
    actor = current_actor()
    return sample.barcode if allowed(actor, "samples.identified") else catalogue_id(sample.id)


# -- catalogue and cart --------------------------------------------------------------------
@blp.get("/catalogue")
@login_required
def catalogue():
    actor = current_actor()
    form = CatalogueFilterForm(request.args)
    filters = {}
    if form.validate():
        filters = _search_filters(form)
    else:
        _form_errors(form)
    page = form.page.data or 1 if not form.errors else 1
    result = queries.catalogue(actor, filters, page, PER_PAGE)
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return render_template("requests/catalogue.html", form=form, result=result, filters=filters, args=args,
                           cart=carts.sample_ids(actor), add_form=BarcodeForm(),
                           may_request=allowed(actor, "requests.create"), all_form=ActionForm(),
                           criteria_form=CriteriaRequestForm(formdata=None), cart_limit=CART_LIMIT,
                           staff=allowed(actor, "samples.identified"))


@blp.post("/catalogue/cart")
@login_required
def cart_add():
    actor = current_actor()
    form = BarcodeForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(url_for("requests_web.catalogue"))
    sample = carts.catalogue_sample(actor, form.barcode.data.strip())  # only catalogue samples; else a clear error
    shown = sample_name(sample)
    if sample.consent_withdrawn or sample.status != "available":
        flash(_("%(sample)s is not available for requests.", sample=shown), "error")
        return _back(url_for("requests_web.catalogue"))
    cart = carts.sample_ids(actor)
    if sample.id in cart:
        flash(_("%(sample)s is already in your cart.", sample=shown), "info")
    elif len(cart) >= CART_LIMIT:
        flash(_("A request holds at most %(max)d samples.", max=CART_LIMIT), "error")
    else:
        carts.add(actor, [sample.id])
        flash(_("Added %(sample)s to your cart (%(count)d).", sample=shown, count=len(cart) + 1), "success")
    return _back(url_for("requests_web.catalogue"))


@blp.post("/catalogue/cart/all")
@login_required
def cart_add_all():
    """Every match of the search (the filters of the page it was posted from) into the cart."""
    actor = current_actor()
    if not ActionForm().validate_on_submit():
        flash(_("The form expired; try again."), "error")
        return _back(url_for("requests_web.catalogue"))
    form = CatalogueFilterForm(request.args)
    if not form.validate():
        _form_errors(form)
        return _back(url_for("requests_web.catalogue"))
    added, left_out = carts.add(actor, queries.catalogue_ids(actor, _search_filters(form), CART_LIMIT))
    message = ngettext("Added %(num)d sample to your cart (%(total)d in all).",
                       "Added %(num)d samples to your cart (%(total)d in all).", added, total=carts.size(actor))
    if left_out:
        message = " ".join((message, _("%(num)d more did not fit: a request holds at most %(max)d samples.",
                                       num=left_out, max=CART_LIMIT)))
    flash(message, "success" if added else "info")
    return redirect(url_for("requests_web.catalogue", **{k: v for k, v in request.args.items() if v}))


@blp.post("/catalogue/ask")
@login_required
def ask_by_criteria():
    """A request for a number of samples like the current search, for a manager to fill."""
    actor = current_actor()
    form = CriteriaRequestForm()
    search = CatalogueFilterForm(request.args)
    if not (form.validate_on_submit() and search.validate()):
        _form_errors(form)
        _form_errors(search)
        return _back(url_for("requests_web.catalogue"))
    filters = _search_filters(search)
    line = {"count": form.count.data, "sample_type": filters.get("sample_type"),
            "diagnosis": filters.get("diagnosis"), "collection_year": filters.get("collection_year"),
            "collected_from": filters.get("collected_from"), "collected_to": filters.get("collected_to"),
            "site": filters.get("site")}
    created = service.create_request(actor, title=form.title.data, purpose=form.purpose.data,
                                     ethics_reference=form.ethics_reference.data, criteria=[line])
    service.submit_request(actor, created.id)
    flash(_("Request %(id)s submitted: a biobank manager chooses the samples.", id=created.id), "success")
    return _detail(created.id)


@blp.post("/cart/remove")
@login_required
def cart_remove():
    form = BarcodeForm()
    if form.validate_on_submit():
        carts.remove(current_actor(), form.barcode.data)
        flash(_("Removed %(sample)s from your cart.", sample=form.barcode.data), "info")
    return redirect(url_for("requests_web.cart"))


@blp.route("/cart", methods=["GET", "POST"])
@login_required
def cart():
    actor = current_actor()
    form = NewRequestForm()
    items = carts.samples(actor)
    if form.validate_on_submit():
        created = service.create_request(actor, title=form.title.data, purpose=form.purpose.data,
                                         ethics_reference=form.ethics_reference.data,
                                         samples=[catalogue_id(s.id) for s in items])
        if form.submit_now.data:
            service.submit_request(actor, created.id)
        carts.clear(actor)
        flash(_("Request %(id)s submitted.", id=created.id) if form.submit_now.data
              else _("Request %(id)s saved as a draft.", id=created.id), "success")
        return _detail(created.id)
    if request.method == "POST":
        _form_errors(form)
    return render_template("requests/cart.html", form=form, items=items, remove_form=BarcodeForm(),
                           may_request=allowed(actor, "requests.create"))


# -- requests -------------------------------------------------------------------------------
@blp.get("/requests")
@login_required
def index():
    actor = current_actor()
    form = ListFilterForm(request.args)
    status = form.status.data if form.validate() and form.status.data else None
    result = queries.list_requests(actor, status=status, page=form.page.data or 1, per_page=PER_PAGE)
    return render_template("requests/index.html", form=form, result=result, status=status,
                           sees_all=service.sees_all_requests(actor))


@blp.get("/requests/<int:request_id>")
@login_required
def detail(request_id):
    actor = current_actor()
    req = queries.request_for(actor, request_id)
    owner = service.is_owner(actor, req)
    decides = allowed(actor, "requests.decide")
    can = {
        "submit": req.status == "draft" and (owner or decides),
        "decide": req.status == "submitted" and decides and not req.unfilled_criteria,
        "fill": req.status in ("draft", "submitted") and decides,
        "cancel": req.is_open and (owner or decides),
        "pick": req.status in ("approved", "picking") and allowed(actor, "requests.fulfil"),
        "ship": allowed(actor, "requests.fulfil") and req.status == "picking"
        and any(p.ready_to_ship and scope.acts_at(actor, p.site) for p in req.parts),
        "complete": req.status == "shipped" and (owner or allowed(actor, "requests.fulfil")),
        "manifest": req.status in ("picking", "shipped", "completed"),
        "remove": req.is_open and len(req.items) > 1 and decides,
    }
    parts = [p for p in req.parts if p.items]
    mine = {p.id for p in parts if scope.acts_at(actor, p.site)} if decides else set()
    return render_template("requests/detail.html", req=req, can=can, action_form=ActionForm(), parts=parts,
                           my_parts=mine, several_parts=len(parts) > 1,
                           reject_form=ReasonForm(prefix="reject"), cancel_form=CancelForm(prefix="cancel"),
                           approve_form=ApproveForm(prefix="approve"), remove_form=ReasonForm(prefix="remove"),
                           picked_out=any(i.picked for i in req.items), staff=allowed(actor, "samples.identified"))


def _action(request_id, call, done: str):
    form = ActionForm()
    if form.validate_on_submit():
        call(current_actor(), request_id)
        flash(done, "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/submit")
@login_required
def submit(request_id):
    return _action(request_id, service.submit_request, _("Request %(id)s submitted for approval.", id=request_id))


@blp.post("/requests/<int:request_id>/complete")
@login_required
def complete(request_id):
    return _action(request_id, service.complete_request, _("Request %(id)s marked as received.", id=request_id))


@blp.post("/requests/<int:request_id>/approve")
@login_required
def approve(request_id):
    form = ApproveForm(prefix="approve")
    if form.validate_on_submit():
        req = service.approve_request(current_actor(), request_id, reason=form.reason.data or None,
                                      site=form.site.data or None)
        flash(_("Request %(id)s approved; its samples are reserved.", id=request_id) if req.status == "approved"
              else _("Your part of request %(id)s is approved and reserved; other sites still decide on theirs.",
                     id=request_id), "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/reject")
@login_required
def reject(request_id):
    form = ReasonForm(prefix="reject")
    if form.validate_on_submit():
        req = service.reject_request(current_actor(), request_id, reason=form.reason.data,
                                     site=form.site.data or None)
        flash(_("Request %(id)s rejected.", id=request_id) if req.status == "rejected"
              else _("Your part of request %(id)s is rejected.", id=request_id), "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/cancel")
@login_required
def cancel(request_id):
    form = CancelForm(prefix="cancel")
    if form.validate_on_submit():
        service.cancel_request(current_actor(), request_id, reason=form.reason.data, thawed=form.thawed.data)
        flash(_("Request %(id)s cancelled; its samples are released.", id=request_id), "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/items/<barcode>/remove")
@login_required
def remove_item(request_id, barcode):
    form = ReasonForm(prefix="remove")
    if form.validate_on_submit():
        service.remove_item(current_actor(), request_id, barcode, reason=form.reason.data)
        flash(_("%(sample)s was taken off request %(id)s and released.", sample=barcode, id=request_id), "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.route("/requests/<int:request_id>/criteria/<int:criterion_id>/fill", methods=["GET", "POST"])
@login_required
def fill(request_id, criterion_id):
    """The matching samples at the manager's sites, all ticked; confirming fills the line."""
    actor = current_actor()
    form = ActionForm()
    if form.validate_on_submit():
        chosen = request.form.getlist("sample")
        if not chosen:
            flash(_("Tick at least one sample."), "error")
            return redirect(url_for("requests_web.fill", request_id=request_id, criterion_id=criterion_id))
        service.fill_criterion(actor, request_id, criterion_id, chosen)
        flash(ngettext("Line filled with %(num)d sample.", "Line filled with %(num)d samples.", len(chosen)),
              "success")
        return _detail(request_id)
    proposal = queries.proposal(actor, request_id, criterion_id)
    return render_template("requests/fill.html", req=service.get_request(request_id), proposal=proposal,
                           form=form)


@blp.get("/requests/<int:request_id>/picklist")
@login_required
def picklist(request_id):
    actor = current_actor()
    data = queries.picklist(actor, request_id)
    return render_template("requests/picklist.html", req=service.get_request(request_id), plan=data)


@blp.route("/requests/<int:request_id>/pick", methods=["GET", "POST"])
@login_required
def pick(request_id):
    """Scan to pick. Every answer is this page: a wrong scan changes nothing, is said with the
    error sound (what was scanned, what to do), and the scan box keeps the focus."""
    actor = current_actor()
    form = PickForm()
    error, scanned = None, None
    if form.validate_on_submit():
        scanned = form.barcode.data.strip()
        try:
            req = service.pick_sample(actor, request_id, scanned)
        except DomainError as refused:
            db.session.rollback()  # nothing of a wrong scan stays
            error = refused.message
        else:
            left = req.item_count - req.picked_count
            flash(ngettext("Picked %(barcode)s. %(num)d to go.", "Picked %(barcode)s. %(num)d to go.", left,
                           barcode=scanned) if left else
                  _("Picked %(barcode)s. Everything is picked: ready to ship.", barcode=scanned), "success")
            return redirect(url_for("requests_web.pick", request_id=request_id))
    elif request.method == "POST":
        error = _("Nothing was scanned. Scan the tube's barcode into the box, then Enter.")
    data = queries.picklist(actor, request_id)
    next_item = next((i for i in data["items"] if not i["picked"]), None)
    return render_template("requests/pick.html", req=service.get_request(request_id), plan=data,
                           form=PickForm(formdata=None), next_item=next_item, error=error,
                           scanned=scanned), 200 if error is None else 409


@blp.route("/requests/<int:request_id>/ship", methods=["GET", "POST"])
@login_required
def ship(request_id):
    actor = current_actor()
    form = ShipForm()
    if form.validate_on_submit():
        req = service.ship_request(actor, request_id, recipient=form.recipient.data, courier=form.courier.data,
                                   tracking=form.tracking.data or None)
        flash(_("Request %(id)s shipped.", id=request_id) if req.status == "shipped"
              else _("Your part of request %(id)s is shipped.", id=request_id), "success")
        return _detail(request_id)
    if request.method == "POST":
        _form_errors(form)
    data = queries.picklist(actor, request_id)  # staff only, like shipping itself
    return render_template("requests/ship.html", req=service.get_request(request_id), plan=data, form=form)


@blp.get("/requests/<int:request_id>/manifest.csv")
@login_required
def manifest(request_id):
    return send_manifest(request_id, "csv")


@blp.get("/requests/<int:request_id>/manifest.pdf")
@login_required
def manifest_pdf(request_id):
    return send_manifest(request_id, "pdf")
