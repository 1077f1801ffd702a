"""Request pages: catalogue and cart, requests list and detail with actions per role,
printable pick list, scan-to-pick, shipping. Each post parses its form, calls one
service (the cart: requests/cart.py), flashes and redirects."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, DecimalField, HiddenField, IntegerField, SelectField, StringField, \
    TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.errors import DomainError
from ..core.permissions import allowed
from ..core.requests import current_actor
from ..core import display as names
from ..core.web import choices
from ..core.redirects import same_site
from ..samples.models import SAMPLE_TYPES
from ..samples.queries import sample_for
from . import cart as carts, queries, service
from .api import send_manifest
from .models import STATUSES

blp = Blueprint("requests_web", __name__)

PER_PAGE = 25
CART_LIMIT = service.MAX_ITEMS


# -- forms ---------------------------------------------------------------------------
class CatalogueFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search changes nothing

    sample_type = SelectField("Type", choices=choices([("", "any type")] + names.options('sample_type', SAMPLE_TYPES)), default="")
    diagnosis = StringField("Diagnosis (ICD-10)", validators=[Optional(), Length(max=16)])
    anatomical_site = StringField("Anatomical site (ICD-O-3)", validators=[Optional(), Length(max=16)])
    collected_from = DateField("Collected from", validators=[Optional()])
    collected_to = DateField("Collected until", validators=[Optional()])
    collection_year = IntegerField("Year", validators=[Optional(), NumberRange(1900, 2999)])
    min_volume = DecimalField("Volume at least", validators=[Optional(), NumberRange(min=0)])
    max_volume = DecimalField("Volume at most", validators=[Optional(), NumberRange(min=0)])
    unit = StringField("Unit", validators=[Optional(), Length(max=8)])
    site = StringField("Site", validators=[Optional(), Length(max=32)])
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


class BarcodeForm(FlaskForm):
    barcode = HiddenField(validators=[DataRequired(), Length(max=64)])


class NewRequestForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired("Give the request a title."), Length(max=200)])
    purpose = TextAreaField("Purpose", validators=[DataRequired("Say what the samples are for."), Length(max=5000)])
    ethics_reference = StringField("Ethics approval reference",
                                   validators=[DataRequired("Give the ethics approval reference."), Length(max=120)])
    submit_now = BooleanField("Submit for approval now", default=True)


class ActionForm(FlaskForm):
    """A button that changes state: CSRF only."""


class ReasonForm(FlaskForm):
    reason = StringField("Reason", validators=[DataRequired("Give a reason."), Length(max=2000)])


class CancelForm(ReasonForm):
    thawed = BooleanField("Picked tubes thawed before going back")


class ApproveForm(FlaskForm):
    reason = StringField("Note (optional)", validators=[Optional(), Length(max=2000)])


class PickForm(FlaskForm):
    barcode = StringField("Scan a tube", validators=[DataRequired("Scan a tube."), Length(max=200)])


class ShipForm(FlaskForm):
    recipient = StringField("Recipient (name and address)", validators=[DataRequired("Who receives it?"),
                                                                        Length(max=300)])
    courier = StringField("Courier", validators=[DataRequired("Which courier?"), Length(max=120)])
    tracking = StringField("Tracking number", validators=[Optional(), Length(max=120)])


class ListFilterForm(FlaskForm):
    class Meta:
        csrf = False

    status = SelectField("Status", choices=choices([("", "any status")] + names.options('request_status', STATUSES)), default="")
    page = IntegerField(validators=[Optional(), NumberRange(min=1)], default=1)


# -- helpers ---------------------------------------------------------------------------
def _cart() -> list[str]:
    return carts.barcodes(current_actor())


def _form_errors(form) -> None:
    for field, errors in form.errors.items():
        for error in errors:
            flash(f"{getattr(form, field).label.text}: {error}" if hasattr(form, field) else error, "error")


def _back(default: str):
    return redirect(same_site(request.referrer, request.host_url) or default)


def _detail(request_id: int):
    return redirect(url_for("requests_web.detail", request_id=request_id))


# -- catalogue and cart --------------------------------------------------------------------
@blp.get("/catalogue")
@login_required
def catalogue():
    actor = current_actor()
    form = CatalogueFilterForm(request.args)
    filters = {}
    if form.validate():
        filters = {k: v for k, v in form.data.items() if k != "page" and v not in (None, "")}
    else:
        _form_errors(form)
    page = form.page.data or 1 if not form.errors else 1
    result = queries.catalogue(actor, filters, page, PER_PAGE)
    args = {k: v for k, v in request.args.items() if v and k != "page"}
    return render_template("requests/catalogue.html", form=form, result=result, filters=filters, args=args,
                           cart=_cart(), add_form=BarcodeForm(), may_request=allowed(actor, "requests.create"),
                           all_form=ActionForm(), cart_limit=CART_LIMIT)


@blp.post("/catalogue/cart")
@login_required
def cart_add():
    actor = current_actor()
    form = BarcodeForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(url_for("requests_web.catalogue"))
    sample = sample_for(actor, form.barcode.data.strip())  # only catalogue samples; else a clear error
    if sample.consent_withdrawn or sample.status != "available":
        flash(f"{sample.barcode} is not available for requests.", "error")
        return _back(url_for("requests_web.catalogue"))
    cart = _cart()
    if sample.barcode in cart:
        flash(f"{sample.barcode} is already in your cart.", "info")
    elif len(cart) >= CART_LIMIT:
        flash(f"A request holds at most {CART_LIMIT} samples.", "error")
    else:
        carts.add(actor, [sample.id])
        flash(f"Added {sample.barcode} to your cart ({len(cart) + 1}).", "success")
    return _back(url_for("requests_web.catalogue"))


@blp.post("/catalogue/cart/all")
@login_required
def cart_add_all():
    """Every match of the search (the filters of the page it was posted from) into the cart."""
    actor = current_actor()
    if not ActionForm().validate_on_submit():
        flash("The form expired; try again.", "error")
        return _back(url_for("requests_web.catalogue"))
    form = CatalogueFilterForm(request.args)
    if not form.validate():
        _form_errors(form)
        return _back(url_for("requests_web.catalogue"))
    filters = {k: v for k, v in form.data.items() if k != "page" and v not in (None, "")}
    added, left_out = carts.add(actor, queries.catalogue_ids(actor, filters, CART_LIMIT))
    message = f"Added {added} sample{'s' if added != 1 else ''} to your cart ({carts.size(actor)} in all)."
    if left_out:
        message += f" {left_out} more did not fit: a request holds at most {CART_LIMIT} samples."
    flash(message, "success" if added else "info")
    return redirect(url_for("requests_web.catalogue", **{k: v for k, v in request.args.items() if v}))


@blp.post("/cart/remove")
@login_required
def cart_remove():
    form = BarcodeForm()
    if form.validate_on_submit():
        carts.remove(current_actor(), form.barcode.data)
        flash(f"Removed {form.barcode.data} from your cart.", "info")
    return redirect(url_for("requests_web.cart"))


@blp.route("/cart", methods=["GET", "POST"])
@login_required
def cart():
    actor = current_actor()
    form = NewRequestForm()
    if form.validate_on_submit():
        created = service.create_request(actor, title=form.title.data, purpose=form.purpose.data,
                                         ethics_reference=form.ethics_reference.data, samples=_cart())
        if form.submit_now.data:
            service.submit_request(actor, created.id)
        carts.clear(actor)
        flash(f"Request {created.id} {'submitted' if form.submit_now.data else 'saved as a draft'}.", "success")
        return _detail(created.id)
    if request.method == "POST":
        _form_errors(form)
    items = []
    for barcode in _cart():
        try:
            items.append(sample_for(actor, barcode))
        except DomainError:
            items.append(None)
    return render_template("requests/cart.html", form=form, cart=_cart(), items=items, remove_form=BarcodeForm(),
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
    can = {
        "submit": req.status == "draft" and (owner or allowed(actor, "requests.decide")),
        "decide": req.status == "submitted" and allowed(actor, "requests.decide"),
        "cancel": req.is_open and (owner or allowed(actor, "requests.decide")),
        "pick": req.status in ("approved", "picking") and allowed(actor, "requests.fulfil"),
        "ship": req.ready_to_ship and allowed(actor, "requests.fulfil"),
        "complete": req.status == "shipped" and (owner or allowed(actor, "requests.fulfil")),
        "manifest": req.status in ("picking", "shipped", "completed"),
        "remove": req.is_open and len(req.items) > 1 and allowed(actor, "requests.decide"),
    }
    return render_template("requests/detail.html", req=req, can=can, action_form=ActionForm(),
                           reject_form=ReasonForm(prefix="reject"), cancel_form=CancelForm(prefix="cancel"),
                           approve_form=ApproveForm(prefix="approve"), remove_form=ReasonForm(prefix="remove"),
                           picked_out=any(i.picked for i in req.items))


def _action(request_id, call, done: str):
    form = ActionForm()
    if form.validate_on_submit():
        call(current_actor(), request_id)
        flash(done.format(id=request_id), "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/submit")
@login_required
def submit(request_id):
    return _action(request_id, service.submit_request, "Request {id} submitted for approval.")


@blp.post("/requests/<int:request_id>/complete")
@login_required
def complete(request_id):
    return _action(request_id, service.complete_request, "Request {id} marked as received.")


@blp.post("/requests/<int:request_id>/approve")
@login_required
def approve(request_id):
    form = ApproveForm(prefix="approve")
    if form.validate_on_submit():
        service.approve_request(current_actor(), request_id, reason=form.reason.data or None)
        flash(f"Request {request_id} approved; its samples are reserved.", "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/reject")
@login_required
def reject(request_id):
    form = ReasonForm(prefix="reject")
    if form.validate_on_submit():
        service.reject_request(current_actor(), request_id, reason=form.reason.data)
        flash(f"Request {request_id} rejected.", "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/cancel")
@login_required
def cancel(request_id):
    form = CancelForm(prefix="cancel")
    if form.validate_on_submit():
        service.cancel_request(current_actor(), request_id, reason=form.reason.data, thawed=form.thawed.data)
        flash(f"Request {request_id} cancelled; its samples are released.", "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.post("/requests/<int:request_id>/items/<barcode>/remove")
@login_required
def remove_item(request_id, barcode):
    form = ReasonForm(prefix="remove")
    if form.validate_on_submit():
        service.remove_item(current_actor(), request_id, barcode, reason=form.reason.data)
        flash(f"{barcode} was taken off request {request_id} and released.", "success")
    else:
        _form_errors(form)
    return _detail(request_id)


@blp.get("/requests/<int:request_id>/picklist")
@login_required
def picklist(request_id):
    actor = current_actor()
    data = queries.picklist(actor, request_id)
    return render_template("requests/picklist.html", req=service.get_request(request_id), plan=data)


@blp.route("/requests/<int:request_id>/pick", methods=["GET", "POST"])
@login_required
def pick(request_id):
    actor = current_actor()
    form = PickForm()
    if form.validate_on_submit():
        barcode = form.barcode.data.strip()
        req = service.pick_sample(actor, request_id, barcode)
        left = req.item_count - req.picked_count
        flash(f"Picked {barcode}. " + (f"{left} to go." if left else "Everything is picked: ready to ship."),
              "success")
        return redirect(url_for("requests_web.pick", request_id=request_id))
    if request.method == "POST":
        _form_errors(form)
        return redirect(url_for("requests_web.pick", request_id=request_id))
    data = queries.picklist(actor, request_id)
    next_item = next((i for i in data["items"] if not i["picked"]), None)
    return render_template("requests/pick.html", req=service.get_request(request_id), plan=data, form=PickForm(),
                           next_item=next_item)


@blp.route("/requests/<int:request_id>/ship", methods=["GET", "POST"])
@login_required
def ship(request_id):
    actor = current_actor()
    form = ShipForm()
    if form.validate_on_submit():
        service.ship_request(actor, request_id, recipient=form.recipient.data, courier=form.courier.data,
                             tracking=form.tracking.data or None)
        flash(f"Request {request_id} shipped.", "success")
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
