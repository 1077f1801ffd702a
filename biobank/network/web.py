"""Network pages: the shipments list, one shipment packed and received by scanning, and the
network overview (a row per site). Each post parses its form, calls one service, flashes
and redirects; the scan box keeps focus, so packing and receiving need only the scanner.

Receiving by scanner: scan an item. A box then waits for the rack it goes into (scan the
rack); a loose tube waits for its box (scan the box, then scan or type the position) or
CMD:AUTO for automatic placement at this site. CMD:CLOSE closes the receipt when nothing
is outstanding; with discrepancies the page's close form names them.
"""
from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import InvalidInput
from ..core.permissions import allowed
from ..core.requests import current_actor
from ..core.web import choices
from ..extensions import db
from ..samples.service import find_sample
from ..storage.models import Container, occupied_fraction
from . import queries, scope, service, shipments
from .models import SHIPPING_CONDITIONS, STATUS_NAMES

blp = Blueprint("network_web", __name__)

CMD_DISPATCH, CMD_AUTO, CMD_CLOSE, CMD_CANCEL = "CMD:DISPATCH", "CMD:AUTO", "CMD:CLOSE", "CMD:CANCEL"


class NewShipmentForm(FlaskForm):
    from_site = SelectField(_l("From"), coerce=int)
    to_site = SelectField(_l("To"), coerce=int)
    condition = SelectField(_l("Shipping condition"), choices=choices(list(SHIPPING_CONDITIONS.items())),
                            default="dry_ice")
    courier = StringField(_l("Courier"), validators=[Optional(), Length(max=120)])
    tracking = StringField(_l("Tracking number"), validators=[Optional(), Length(max=120)])


class ScanForm(FlaskForm):
    barcode = StringField(_l("Scan"), validators=[DataRequired(_l("Scan a barcode.")), Length(max=64)])
    condition = SelectField(_l("Condition on arrival"), choices=choices([("ok", _l("ok")),
                                                                         ("damaged", _l("damaged"))]),
                            default="ok")
    excursion = StringField(_l("Temperature excursion (logger reading), if any"), validators=[Optional(),
                                                                                              Length(max=2000)])


class CloseForm(FlaskForm):
    missing = StringField(validators=[Optional(), Length(max=20000)])
    unexpected = StringField(validators=[Optional(), Length(max=20000)])
    confirm = BooleanField(_l("I checked: these are missing and unexpected"), validators=[DataRequired(
        _l("Tick the box to confirm the discrepancies."))])


def _form_errors(form) -> None:
    for errors in form.errors.values():
        for message in errors:
            flash(str(message), "error")


@blp.route("/shipments", methods=["GET", "POST"])
@login_required
def index():
    actor = current_actor()
    form = NewShipmentForm()
    every = service.list_sites(actor)
    mine = [s for s in every if scope.acts_at(actor, s)]
    form.from_site.choices = choices([(s.id, f"{s.name} ({s.code})") for s in mine])
    form.to_site.choices = choices([(s.id, f"{s.name} ({s.code})") for s in every])
    if form.validate_on_submit():
        shipment = shipments.create_shipment(actor, from_site=form.from_site.data, to_site=form.to_site.data,
                                             condition=form.condition.data, courier=form.courier.data,
                                             tracking=form.tracking.data)
        flash(_("Shipment %(code)s created: scan the tubes and boxes that go in it.", code=shipment.code), "success")
        return redirect(url_for("network_web.detail", shipment_id=shipment.id))
    if request.method == "POST":
        _form_errors(form)
        return redirect(url_for("network_web.index"))
    if len(every) > 1 and mine:
        form.to_site.data = next((s.id for s in every if s.id != mine[0].id), None)
    found = shipments.list_shipments(actor)
    return render_template("network/shipments.html", form=form, shipments=found, conditions=SHIPPING_CONDITIONS,
                           status_names=STATUS_NAMES, can_create=bool(mine) and len(every) > 1)


def _state(actor, shipment) -> dict:
    return {"pack": shipment.status == "draft" and scope.acts_at(actor, shipment.from_site),
            "receive": shipment.status == "in_transit" and scope.acts_at(actor, shipment.to_site)}


@blp.get("/shipments/<int:shipment_id>")
@login_required
def detail(shipment_id):
    actor = current_actor()
    shipment = shipments.visible_shipment(actor, shipment_id)
    view = queries.shipment_view(shipment)
    pending = request.args.get("pending") or None
    target = request.args.get("target", type=int)
    target_box = db.session.get(Container, target) if target else None
    outstanding = [i for i in view["items"] if i["status"] == "in_transit" and not i["box_barcode"]]
    unexpected = [i for i in view["items"] if i["status"] == "unexpected"]
    prompt = _prompt(shipment, view, pending, target_box)
    close_form = CloseForm(formdata=None, missing=" ".join(i["barcode"] for i in outstanding),
                           unexpected=" ".join(i["barcode"] for i in unexpected))
    return render_template("network/shipment.html", shipment=shipment, view=view, form=ScanForm(formdata=None),
                           close_form=close_form, state=_state(actor, shipment), pending=pending,
                           target_box=target_box, prompt=prompt, outstanding=outstanding, unexpected=unexpected,
                           status_names=STATUS_NAMES,
                           commands={"dispatch": CMD_DISPATCH, "auto": CMD_AUTO, "close": CMD_CLOSE,
                                     "cancel": CMD_CANCEL})


def _prompt(shipment, view, pending, target_box) -> str:
    if shipment.status == "draft":
        return _("Scan a tube or a box to pack it; scan %(dispatch)s when everything is in.", dispatch=CMD_DISPATCH)
    if shipment.status != "in_transit":
        return ""
    item = next((i for i in view["items"] if i["barcode"] == pending), None) if pending else None
    if item and item["kind"] == "box":
        return _("Box %(box)s is here: scan the rack it goes into (or scan the next item).", box=pending)
    if item and target_box is not None:
        return _("Scan or type the position in %(box)s for %(barcode)s, then Enter.", box=target_box.path,
                 barcode=pending)
    if item:
        return _("%(barcode)s is in your hands: scan the box it goes into, or %(auto)s to place it automatically.",
                 barcode=pending, auto=CMD_AUTO)
    return _("Scan each tube or box that arrived. %(close)s closes the receipt when nothing is outstanding.",
             close=CMD_CLOSE)


def _back(shipment_id, **state):
    return redirect(url_for("network_web.detail", shipment_id=shipment_id,
                            **{k: v for k, v in state.items() if v is not None}))


@blp.post("/shipments/<int:shipment_id>/scan")
@login_required
def scan(shipment_id):
    actor = current_actor()
    form = ScanForm()
    pending = request.form.get("pending") or None
    target = request.form.get("target", type=int)
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(shipment_id, pending=pending, target=target)
    code = form.barcode.data.strip()
    shipment = shipments.visible_shipment(actor, shipment_id)
    if code == CMD_CANCEL:
        flash(_("Cancelled; scan the next item."), "info")
        return _back(shipment_id)
    if shipment.status == "draft":
        return _pack(actor, shipment, code)
    return _receive(actor, shipment, code, form, pending, target)


def _pack(actor, shipment, code):
    if code == CMD_DISPATCH:
        shipments.dispatch(actor, shipment.id)
        flash(_("Shipment %(code)s dispatched: %(num)d item(s) in transit to %(site)s.", code=shipment.code,
                num=len(shipment.items), site=shipment.to_site.name), "success")
        return _back(shipment.id)
    shipments.add_item(actor, shipment.id, code)
    counts = shipments.shipment_counts(shipment)
    flash(_("Packed %(barcode)s. The shipment holds %(tubes)d tube(s) in %(boxes)d box(es) and loose.",
            barcode=code, tubes=counts["tubes"], boxes=counts["boxes"]), "success")
    return _back(shipment.id)


def _receive(actor, shipment, code, form, pending, target):
    condition, excursion = form.condition.data, form.excursion.data or None
    if code == CMD_CLOSE:
        shipments.close(actor, shipment.id, missing=[], unexpected=[i.barcode for i in shipment.items
                                                                      if i.status == "unexpected"])
        flash(_("Receipt of %(code)s closed: everything arrived.", code=shipment.code), "success")
        return _back(shipment.id)
    item = shipments.item_on(shipment, pending) if pending else None
    if item is not None and item.status == "received":
        if item.kind == "box":
            rack = _container(code)
            if rack is not None and not rack.is_grid:
                shipments.receive(actor, shipment.id, barcode=pending, parent_id=rack.id)
                flash(_("Box %(box)s stored in %(rack)s.", box=pending, rack=rack.path), "success")
                return _back(shipment.id)
        elif code == CMD_AUTO:
            result = shipments.receive(actor, shipment.id, barcode=pending, location={"strategy": "compact"})
            flash(_("%(barcode)s stored at %(place)s.", barcode=pending, place=result["item"].to_location), "success")
            return _back(shipment.id)
        elif target is not None and not find_sample(code) and _container(code) is None:
            shipments.receive(actor, shipment.id, barcode=pending,
                              location={"container_id": target, "position": code})
            flash(_("%(barcode)s stored at %(place)s.", barcode=pending,
                    place=shipments.item_on(shipment, pending).to_location), "success")
            return _back(shipment.id)
        else:
            box = _container(code)
            if box is not None and box.is_grid:
                return _back(shipment.id, pending=pending, target=box.id)
    if code.startswith("CMD:"):
        raise InvalidInput(_("%(command)s does nothing here; scan an item of the shipment.", command=code),
                           code="unknown_command")
    result = shipments.receive(actor, shipment.id, barcode=code, condition=condition, excursion=excursion)
    if result["outcome"] == "unexpected":
        flash(_("%(barcode)s is not on this shipment: recorded as unexpected. Set it aside.", barcode=code), "error")
        return _back(shipment.id)
    flash(_("Received %(barcode)s (damaged).", barcode=code) if condition == "damaged"
          else _("Received %(barcode)s.", barcode=code), "success")
    return _back(shipment.id, pending=code)


def _container(barcode: str):
    return db.session.execute(select(Container).where(Container.barcode == barcode)).scalar_one_or_none()


@blp.post("/shipments/<int:shipment_id>/close")
@login_required
def close(shipment_id):
    actor = current_actor()
    form = CloseForm()
    if not form.validate_on_submit():
        _form_errors(form)
        return _back(shipment_id)
    shipment = shipments.close(actor, shipment_id, missing=(form.missing.data or "").split(),
                               unexpected=(form.unexpected.data or "").split())
    counts = shipments.shipment_counts(shipment)
    flash(_("Receipt of %(code)s closed: %(missing)d missing, %(unexpected)d unexpected recorded.",
            code=shipment.code, missing=counts["missing"], unexpected=counts["unexpected"]), "success")
    return _back(shipment_id)


@blp.get("/shipments/<int:shipment_id>/manifest.<fmt>")
@login_required
def manifest(shipment_id, fmt):
    if fmt not in ("pdf", "csv"):
        raise InvalidInput(_("The manifest is a pdf or csv file."), code="invalid_format")
    build = queries.manifest_pdf if fmt == "pdf" else queries.manifest_csv
    shipment, content = build(current_actor(), shipment_id)
    return Response(content, mimetype="application/pdf" if fmt == "pdf" else "text/csv", headers={
        "Content-Disposition": f"attachment; filename={shipment.code}-manifest.{fmt}"})


@blp.get("/network")
@login_required
def network():
    actor = current_actor()
    rows = queries.network_overview(actor)
    total = {key: sum(r[key] for r in rows)
             for key in ("positions", "used", "held", "free", "tanks", "intake_30_days")}
    total["fraction"] = occupied_fraction(total["used"], total["held"], total["positions"])
    return render_template("network/network.html", rows=rows, total=total,
                           sees_all=scope.is_network_actor(actor), can_audit=allowed(actor, "reports.read"))
