"""Storage pages: the tree with capacity bars, box maps, acting on a position,
and the layout builder. Views only read or call one service."""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from sqlalchemy import select

from ..core import display as names
from ..core.web import choices
from ..core.errors import DomainError
from ..core.permissions import require
from ..core.requests import current_actor
from ..extensions import db
from ..samples import service as samples
from ..samples.models import TEMPERATURES, Sample
from . import positions, queries, service
from ..core.lazy_text import lazy_gettext as _l
from .models import Container
from .service import MAX_GRID

blp = Blueprint("storage_web", __name__)


@blp.app_template_global()
def position_label(row: int, col: int) -> str:
    return positions.label(row, col)


class LayoutForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the tank a name.")), Length(max=120)])
    kind = SelectField(_l("Kind"), choices=choices(names.options("kind", ("tank", "freezer"))), default="tank")
    parent_id = SelectField(_l("Inside"), coerce=str, default="")
    racks = IntegerField(_l("Racks"), default=10, validators=[InputRequired(_l("How many racks?")), NumberRange(1, 100)])
    boxes_per_rack = IntegerField(_l("Boxes per rack"), default=10,
                                  validators=[InputRequired(_l("How many boxes per rack?")), NumberRange(1, 100)])
    rows = IntegerField(_l("Rows per box"), default=9,
                        validators=[InputRequired(_l("How many rows per box?")), NumberRange(1, MAX_GRID)])
    cols = IntegerField(_l("Columns per box"), default=9,
                        validators=[InputRequired(_l("How many columns per box?")), NumberRange(1, MAX_GRID)])
    storage_temperature = SelectField(_l("Storage temperature"), default="",
                                      choices=choices([("", _l("— not restricted —"))] + names.options('temperature', TEMPERATURES)))


class StoreForm(FlaskForm):
    barcode = StringField(_l("Sample barcode"), validators=[DataRequired(_l("Scan the tube to put here.")), Length(max=64)])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])


def _identified():
    require(current_actor(), "samples.identified")


@blp.get("/containers")
@login_required
def index():
    _identified()
    return render_template("storage/index.html", roots=queries.roots())


@blp.get("/containers/<int:container_id>")
@login_required
def container(container_id):
    _identified()
    box = service.get_container(container_id)
    ancestors = _ancestors(box)
    if box.is_grid:
        grid = queries.box_map(current_actor(), container_id)
        rows = [grid["positions"][r * box.cols:(r + 1) * box.cols] for r in range(box.rows)]
        return render_template("storage/box.html", box=box, rows=rows, ancestors=ancestors,
                               highlight=(request.args.get("highlight") or "").upper())
    return render_template("storage/container.html", container=box, ancestors=ancestors)


def _ancestors(container: Container) -> list[Container]:
    ids = container.ancestor_ids[:-1]
    return [service.get_container(i) for i in ids]


@blp.route("/containers/<int:container_id>/at/<position>", methods=["GET", "POST"])
@login_required
def position(container_id, position):
    """An empty position: put a sample here (scan it). An occupied one: open its sample."""
    _identified()
    box = service.get_container(container_id)
    if not box.is_grid:
        flash(_("%(path)s has no positions.", path=box.path), "error")
        return redirect(url_for("storage_web.container", container_id=box.id))
    row, col = positions.parse(position, box.rows, box.cols)
    label = positions.label(row, col)
    # A held position (its tube is checked out) opens that tube, as an occupied one does.
    occupant = db.session.execute(select(Sample.barcode).where(
        Sample.home_container_id == box.id, Sample.home_row == row, Sample.home_col == col)).scalar_one_or_none()
    if occupant is not None and request.method == "GET":
        return redirect(url_for("samples_web.detail", barcode=occupant))
    form = StoreForm()
    status = 200
    if form.validate_on_submit():
        barcode = form.barcode.data.strip()
        held = samples.find_sample(barcode)
        if held is not None and held.status == "checked_out":
            # Coming back from check-out: the return form asks whether it thawed.
            return redirect(url_for("samples_web.return_sample", barcode=barcode, container=box.barcode,
                                    position=label))
        try:
            moved = samples.move_sample(current_actor(), barcode, container_id=box.id, position=label,
                                        reason=form.reason.data or None)
        except DomainError as exc:
            form.barcode.errors.append(exc.message)
            status = exc.status
        else:
            flash(_("Moved %(barcode)s to %(place)s.", barcode=moved.barcode, place=moved.location_path), "success")
            return redirect(url_for("storage_web.container", container_id=box.id, highlight=label))
    elif form.errors:
        status = 422
    return render_template("storage/position.html", box=box, position=label, form=form,
                           occupant=occupant), status


@blp.route("/containers/layout", methods=["GET", "POST"])
@login_required
def layout():
    """Build a whole tank (admin, manager)."""
    actor = current_actor()
    require(actor, "storage.layout")
    form = LayoutForm()
    parents = [c for c in queries.roots() if not c.is_grid]
    form.parent_id.choices = choices([("", _("— top level —"))] + [(str(c.id), c.path) for c in parents])
    status = 200
    if form.validate_on_submit():
        try:
            tank = service.build_layout(
                actor, name=form.name.data.strip(), kind=form.kind.data, racks=form.racks.data,
                boxes_per_rack=form.boxes_per_rack.data, rows=form.rows.data, cols=form.cols.data,
                parent_id=int(form.parent_id.data) if form.parent_id.data else None,
                storage_temperature=form.storage_temperature.data or None)
        except DomainError as exc:
            form.name.errors.append(exc.message)
            status = exc.status
        else:
            flash(_("Built %(path)s: %(racks)s racks × %(boxes)s boxes of %(rows)s×%(cols)s (%(capacity)s positions), "
                    "label %(barcode)s.", path=tank.path, racks=form.racks.data, boxes=form.boxes_per_rack.data,
                    rows=form.rows.data, cols=form.cols.data, capacity=tank.capacity, barcode=tank.barcode), "success")
            return redirect(url_for("storage_web.container", container_id=tank.id))
    elif form.errors:
        status = 422
    return render_template("storage/layout.html", form=form), status
