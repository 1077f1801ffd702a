"""Sample pages: list, register (one or a CSV), details, and the actions.

Each form view parses its form, calls one service, flashes and redirects. A
domain error re-renders the form with the message next to the field.
"""
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from sqlalchemy import func, select
from wtforms import (HiddenField, IntegerField, RadioField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from ..core import display as names
from ..core.web import answer_step_error, choices, scan_done
from ..core.errors import DomainError, ImportRejected, InvalidInput, UnknownBarcode
from ..core.permissions import allowed, require
from ..core.requests import current_actor
from ..core.time import utcnow
from ..extensions import db
from ..storage.models import Container
from ..core.lazy_text import lazy_gettext as _l
from ..storage.placement import STRATEGIES
from . import importer, queries, service
from .models import SAMPLE_TYPES, STATUSES, TEMPERATURES, Sample
from .quantities import UNITS

blp = Blueprint("samples_web", __name__)

PER_PAGE = 25
_PLACEMENTS = [("compact", _l("Automatic: first box with room (compact)")),
               ("spread", _l("Automatic: spread a donor's aliquots over tanks")),
               ("position", _l("At a position I choose"))]
# The placement strategies by name, as the import form lists them.
_STRATEGY_NAMES = {"compact": _l("compact"), "spread": _l("spread")}


# -- forms ---------------------------------------------------------------------------
class RegisterForm(FlaskForm):
    barcode = StringField(_l("Barcode"), validators=[DataRequired(_l("Scan or type the tube's barcode.")), Length(max=64)])
    sample_type = SelectField(_l("Sample type"), choices=choices([("", _l("— choose —"))] + names.options('sample_type', SAMPLE_TYPES)),
                              validators=[DataRequired(_l("Choose the sample type."))])
    donor = StringField(_l("Donor pseudonym"), validators=[Optional(), Length(max=64)])
    collected_at = StringField(_l("Collected at (UTC)"), validators=[Optional()])
    volume = StringField(_l("Volume"), validators=[Optional(), Length(max=20)])
    unit = SelectField(_l("Unit"), choices=choices([(u, u) for u in UNITS]), default="mL")
    anatomical_site = StringField(_l("Anatomical site (ICD-O-3)"), validators=[Optional(), Length(max=16)])
    diagnosis = StringField(_l("Diagnosis (ICD-10)"), validators=[Optional(), Length(max=16)])
    storage_temperature = SelectField(_l("Storage temperature"), default="",
                                      choices=choices([("", _l("— any —"))] + names.options('temperature', TEMPERATURES)))
    sprec = StringField(_l("SPREC code"), validators=[Optional(), Length(max=40)])
    parent_barcode = StringField(_l("Parent barcode (for a derivative)"), validators=[Optional(), Length(max=64)])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=4000)])
    placement = RadioField(_l("Where does it go?"), choices=choices(_PLACEMENTS), default="compact")
    container = StringField(_l("Box (scan its label or type its id)"), validators=[Length(max=64)])
    position = StringField(_l("Position"), validators=[Length(max=8)])

    def validate_container(self, field):
        if self.placement.data == "position" and not (field.data or "").strip():
            raise ValidationError(_("Scan the box, or choose automatic placement."))

    def validate_position(self, field):
        if self.placement.data == "position" and not (field.data or "").strip():
            raise ValidationError(_("Give the position, such as A1."))


class ImportForm(FlaskForm):
    file = FileField(_l("CSV file"), validators=[FileRequired(_l("Choose a CSV file.")),
                                                 FileAllowed(["csv", "txt"], _l("Upload a .csv file."))])
    strategy = SelectField(_l("Placement for rows without container_id/position"),
                           choices=choices([(s, _STRATEGY_NAMES.get(s, s)) for s in STRATEGIES]), default="compact")


class ImportConfirmForm(FlaskForm):
    csv_text = TextAreaField(validators=[DataRequired()])
    strategy = SelectField(choices=choices([(s, s) for s in STRATEGIES]), default="compact")


class FilterForm(FlaskForm):
    class Meta:
        csrf = False  # a search (GET) form changes nothing

    q = StringField(_l("Text"), validators=[Optional(), Length(max=64)])
    sample_type = SelectField(_l("Type"), choices=choices([("", _l("any type"))] + names.options('sample_type', SAMPLE_TYPES)), default="")
    status = SelectField(_l("Status"), choices=choices([("", _l("any status"))] + names.options('status', STATUSES)),
                         default="")
    donor = StringField(_l("Donor"), validators=[Optional(), Length(max=64)])
    container = StringField(_l("In container (barcode)"), validators=[Optional(), Length(max=64)])


class MoveForm(FlaskForm):
    container = StringField(_l("Target box (scan its label)"), validators=[DataRequired(_l("Scan the target box.")),
                                                                           Length(max=64)])
    position = StringField(_l("Position"), validators=[DataRequired(_l("Scan or type the position, such as A1.")),
                                                       Length(max=8)])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])
    from_scan = HiddenField()
    # Where the tube was when the form was shown: a move by someone else meanwhile is refused.
    seen_container = HiddenField()
    seen_position = HiddenField()


class CheckoutForm(FlaskForm):
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])
    due_back = StringField(_l("Due back (UTC, optional)"), validators=[Optional(), Length(max=40)])
    from_scan = HiddenField()


class ReturnForm(FlaskForm):
    thawed = RadioField(_l("Did it thaw?"), choices=choices([("no", _l("No, it stayed frozen")), ("yes", _l("Yes, it thawed"))]),
                        validators=[InputRequired(_l("Say whether the sample thawed."))])
    container = StringField(_l("Box (empty: back to its old place)"), validators=[Optional(), Length(max=64)])
    position = StringField(_l("Position"), validators=[Optional(), Length(max=8)])
    reason = StringField(_l("Reason (optional)"), validators=[Optional(), Length(max=2000)])
    from_scan = HiddenField()


class AliquotForm(FlaskForm):
    count = IntegerField(_l("How many aliquots"), default=2,
                         validators=[InputRequired(_l("How many aliquots?")), NumberRange(1, 96)])
    volume = StringField(_l("Quantity of each (empty when the parent's is unknown)"),
                         validators=[Optional(), Length(max=20)])
    unit = SelectField(_l("Unit"), choices=choices([("", _l("the parent's unit"))] + [(u, u) for u in UNITS]), default="")
    strategy = SelectField(_l("Placement"), choices=choices([("spread", _l("spread over tanks")), ("compact", _l("compact"))]),
                           default="spread")
    from_scan = HiddenField()


class ReleaseHomeForm(FlaskForm):
    reason = StringField(_l("Why is its place given up?"), validators=[DataRequired(_l("Say why its place is given up.")),
                                                                        Length(max=2000)])


class DiscardForm(FlaskForm):
    reason = StringField(_l("Why is it discarded?"), validators=[DataRequired(_l("Say why the sample is discarded.")),
                                                                  Length(max=2000)])
    confirm = StringField(_l("Scan the tube again to confirm"), validators=[DataRequired(
        _l("Scan the tube again to confirm."))])
    from_scan = HiddenField()


# -- helpers -------------------------------------------------------------------------
def _box(text: str):
    """A box given by its scanned label (or its numeric id).

    A view keeps it while the service it calls works on the box's id: the session holds a
    loaded row only as long as something refers to it, and so the service finds it there
    instead of reading it again."""
    from ..storage.service import container_by_barcode, get_container
    text = (text or "").strip()
    try:
        return container_by_barcode(text)
    except UnknownBarcode:
        if text.isdigit():
            return get_container(int(text))
        raise UnknownBarcode(_("No box has the barcode %(barcode)s.", barcode=text)) from None


def _attach(form: FlaskForm, error: DomainError, default_field: str) -> None:
    """Show a domain error next to the field it is about."""
    placed = False
    for detail in error.details if isinstance(error.details, list) else []:
        name = detail.get("field") if isinstance(detail, dict) else None
        if name and hasattr(form, name):
            getattr(form, name).errors = list(getattr(form, name).errors) + [str(detail["message"])]
            placed = True
    if not placed:
        field = getattr(form, default_field)
        field.errors = list(field.errors) + [error.message]


def _after_action(sample: Sample, from_scan: bool, message: str):
    """Done: back to the scan page when the action began there, else to the sample's page."""
    if from_scan:
        return scan_done(message, sample)
    flash(message, "success")
    return redirect(url_for("samples_web.detail", barcode=sample.barcode))


def _started_from_scan(form) -> bool:
    """The action was started on the scan page (or by a command barcode): it ends there too."""
    if request.method == "GET" and request.args.get("from_scan"):
        form.from_scan.data = "1"
    return bool(form.from_scan.data)


def _field_errors(form) -> list[str]:
    return [str(message) for name, messages in form.errors.items() if name != "csrf_token" for message in messages]


def _form_status(form) -> int:
    return 422 if form.errors else 200


def _handle():
    actor = current_actor()
    require(actor, "samples.handle")
    return actor


# -- list and details -----------------------------------------------------------------
@blp.get("/samples")
@login_required
def index():
    actor = current_actor()
    require(actor, "samples.identified")
    form = FilterForm(request.args)
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    filters = {k: (form[k].data or "").strip() for k in ("q", "sample_type", "status", "donor")}
    filters = {k: v for k, v in filters.items() if v}
    args = dict(filters)
    error = None
    if form.container.data:
        args["container"] = form.container.data.strip()
        try:
            filters["container_id"] = _box(form.container.data).id
        except DomainError as exc:
            error = exc.message
    result = queries.search(actor, filters, page, PER_PAGE) if error is None else \
        {"items": [], "total": 0, "page": 1, "pages": 1, "per_page": PER_PAGE}
    return render_template("samples/index.html", form=form, page=result, args=args, error=error,
                           filtered=bool(args)), (404 if error else 200)


@blp.get("/samples/<barcode>")
@login_required
def detail(barcode):
    actor = current_actor()
    sample = queries.sample_for(actor, barcode)
    identified = allowed(actor, "samples.identified")
    events = queries.history(actor, barcode) if identified else []
    return render_template("samples/detail.html", sample=sample, events=events, identified=identified,
                           new=request.args.get("new") == "1")


# -- registration -----------------------------------------------------------------------
@blp.route("/samples/new", methods=["GET", "POST"])
@login_required
def register():
    actor = _handle()
    form = RegisterForm()
    if request.method == "GET":
        if request.args.get("container"):
            form.container.data = request.args["container"]
            form.position.data = request.args.get("position", "")
            form.placement.data = "position"
        form.parent_barcode.data = request.args.get("parent", form.parent_barcode.data)
    status = 200
    if form.validate_on_submit():
        try:
            if form.placement.data == "position":
                box = _box(form.container.data)
                location = {"container_id": box.id, "position": form.position.data.strip()}
            else:
                location = {"strategy": form.placement.data}
            fields = {name: (getattr(form, name).data or None) for name in (
                "barcode", "sample_type", "donor", "collected_at", "volume", "unit", "anatomical_site",
                "diagnosis", "storage_temperature", "sprec", "parent_barcode", "notes")}
            fields["barcode"] = fields["barcode"].strip()
            if not fields["volume"]:
                fields["unit"] = None
            sample = service.register_sample(actor, location=location, **fields)
        except DomainError as exc:
            _attach(form, exc, "container" if exc.code in ("unknown_barcode", "unknown_container",
                                                           "slot_occupied", "invalid_position",
                                                           "not_allowed_here", "no_free_position")
                    and form.placement.data == "position" else "barcode")
            status = exc.status
        else:
            flash(_("Registered %(barcode)s at %(place)s.", barcode=sample.barcode, place=sample.location_path), "success")
            return redirect(url_for("samples_web.detail", barcode=sample.barcode, new=1))
    elif form.errors:
        status = 422
    return render_template("samples/register.html", form=form), status


def _planned(barcodes: list[str], limit: int = 100) -> tuple[list, list]:
    """Where an import put its samples (read inside the preview's savepoint)."""
    rows = db.session.execute(
        select(Sample.barcode, Container.path, Sample.pos_row, Sample.pos_col)
        .join(Container, Sample.container_id == Container.id)
        .where(Sample.barcode.in_(barcodes[:limit]))).all()
    from ..storage.positions import label
    where = {r.barcode: f"{r.path} / {label(r.pos_row, r.pos_col)}" for r in rows}
    boxes: dict[str, int] = {}
    for start in range(0, len(barcodes), 500):
        chunk = barcodes[start:start + 500]
        for path, count in db.session.execute(
                select(Container.path, func.count()).join(Sample, Sample.container_id == Container.id)
                .where(Sample.barcode.in_(chunk)).group_by(Container.path)):
            boxes[path] = boxes.get(path, 0) + count
    return [(b, where.get(b)) for b in barcodes[:limit]], sorted(boxes.items())


def _preview(actor, text: str, strategy: str) -> dict:
    """Run the whole import in a savepoint and roll it back: every row checked, nothing stored.

    This adapter owns its transaction like any other; here it never keeps the work.
    """
    nested = db.session.begin_nested()
    try:
        barcodes = importer.import_samples(actor, text, strategy=strategy)
        planned, boxes = _planned(barcodes)
    finally:
        if nested.is_active:
            nested.rollback()
    return {"count": len(barcodes), "planned": planned, "boxes": boxes}


def _decode(upload) -> str:
    data = upload.read()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(_("The file is not UTF-8 text; save it as CSV (UTF-8)."), code="invalid_encoding") from None


@blp.route("/samples/import", methods=["GET", "POST"])
@login_required
def import_csv():
    """Upload → preview (all rows checked, nothing stored) → import."""
    actor = _handle()
    form = ImportForm()
    if not form.validate_on_submit():
        return render_template("samples/import.html", form=form), _form_status(form)
    try:
        text = _decode(form.file.data)
        preview = _preview(actor, text, form.strategy.data)
    except ImportRejected as exc:
        return render_template("samples/import.html", form=form, rejected=exc,
                               filename=form.file.data.filename), exc.status
    except DomainError as exc:
        form.file.errors = list(form.file.errors) + [exc.message]
        return render_template("samples/import.html", form=form), exc.status
    confirm = ImportConfirmForm(formdata=None, csv_text=text, strategy=form.strategy.data)
    return render_template("samples/import_preview.html", preview=preview, confirm=confirm,
                           filename=form.file.data.filename)


@blp.post("/samples/import/confirm")
@login_required
def import_confirm():
    actor = _handle()
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        flash(_("The import form was incomplete; upload the file again."), "error")
        return redirect(url_for("samples_web.import_csv"))
    try:
        barcodes = importer.import_samples(actor, form.csv_text.data.replace("\r\n", "\n"),
                                           strategy=form.strategy.data)
    except ImportRejected as exc:
        return render_template("samples/import.html", form=ImportForm(formdata=None), rejected=exc,
                               filename=_("the file")), exc.status
    boxes = set()
    for start in range(0, len(barcodes), 500):
        boxes |= {r[0] for r in db.session.execute(select(Sample.container_id).where(
            Sample.barcode.in_(barcodes[start:start + 500])).distinct())}
    flash(ngettext("Imported %(num)d samples.", "Imported %(num)d samples.", len(barcodes)), "success")
    return redirect(url_for("samples_web.import_done", count=len(barcodes),
                            boxes=",".join(str(b) for b in sorted(boxes) if b)))


@blp.get("/samples/import/done")
@login_required
def import_done():
    _handle()
    ids = [int(b) for b in (request.args.get("boxes") or "").split(",") if b.isdigit()][:500]
    boxes = db.session.execute(select(Container).where(Container.id.in_(ids)).order_by(Container.id)
                               ).scalars().all() if ids else []
    return render_template("samples/import_done.html", count=request.args.get("count", type=int) or 0,
                           boxes=boxes)


# -- actions --------------------------------------------------------------------------------
@blp.route("/samples/<barcode>/move", methods=["GET", "POST"])
@login_required
def move(barcode):
    actor = _handle()
    sample = service.get_sample(barcode)
    form = MoveForm()
    from_scan = _started_from_scan(form)
    if request.method == "GET":
        form.container.data = request.args.get("container", "")
        form.position.data = request.args.get("position", "")
        if sample.container_id:
            form.seen_container.data, form.seen_position.data = sample.container_id, sample.position
    status = 200
    if form.validate_on_submit():
        seen = form.seen_container.data
        try:
            box = _box(form.container.data)
            moved = service.move_sample(actor, barcode, container_id=box.id,
                                        position=form.position.data.strip(), reason=form.reason.data or None,
                                        from_container_id=int(seen) if str(seen or "").isdigit() else None,
                                        from_position=form.seen_position.data or None)
        except DomainError as exc:
            if from_scan:
                return answer_step_error(sample, form.container.data, form.position.data, exc)
            _attach(form, exc, "container" if exc.code in ("unknown_barcode", "unknown_container") else "position")
            status = exc.status
        else:
            return _after_action(sample, from_scan,
                                 _("Moved %(barcode)s to %(place)s.", barcode=barcode, place=moved.location_path))
    elif form.errors:
        if from_scan:
            return answer_step_error(sample, form.container.data, form.position.data,
                                     form_errors=_field_errors(form))
        status = 422
    return render_template("samples/action.html", sample=sample, form=form, action="move", from_scan=from_scan,
                           title=_("Move %(barcode)s", barcode=barcode), submit=_("Move")), status


@blp.route("/samples/<barcode>/checkout", methods=["GET", "POST"])
@login_required
def checkout(barcode):
    actor = _handle()
    sample = service.get_sample(barcode)
    form = CheckoutForm()
    from_scan = _started_from_scan(form)
    status = 200
    if form.validate_on_submit():
        try:
            service.checkout_sample(actor, barcode, reason=form.reason.data or None,
                                    due_back=(form.due_back.data or "").strip() or None)
        except DomainError as exc:
            _attach(form, exc, "due_back" if exc.code == "invalid_due_back" else "reason")
            status = exc.status
        else:
            if sample.home_container_id:
                done = _("Checked out %(barcode)s: it is now with %(who)s. Its place %(place)s is held.",
                         barcode=barcode, who=actor.username, place=sample.home_path)
            else:
                done = _("Checked out %(barcode)s: it is now with %(who)s.", barcode=barcode, who=actor.username)
            return _after_action(sample, from_scan, done)
    elif form.errors:
        status = 422
    return render_template("samples/action.html", sample=sample, form=form, action="checkout", from_scan=from_scan,
                           title=_("Check out %(barcode)s", barcode=barcode), submit=_("Check out")), status


@blp.route("/samples/<barcode>/return", methods=["GET", "POST"])
@login_required
def return_sample(barcode):
    actor = _handle()
    sample = service.get_sample(barcode)
    form = ReturnForm()
    from_scan = _started_from_scan(form)
    if request.method == "GET":
        form.container.data = request.args.get("container", "")
        form.position.data = request.args.get("position", "")
    status = 200
    if form.validate_on_submit():
        try:
            box = _box(form.container.data) if (form.container.data or "").strip() else None
            returned = service.return_sample(actor, barcode, thawed=form.thawed.data == "yes",
                                             container_id=box.id if box is not None else None,
                                             position=(form.position.data or "").strip() or None,
                                             reason=form.reason.data or None)
        except DomainError as exc:
            if from_scan and (form.container.data or "").strip():
                return answer_step_error(sample, form.container.data, form.position.data, exc)
            _attach(form, exc, "container" if exc.code in ("unknown_barcode", "unknown_container") else "position")
            status = exc.status
        else:
            if form.thawed.data == "yes":
                done = _("Returned %(barcode)s to %(place)s. Freeze–thaw count is now %(count)d.", barcode=barcode,
                         place=returned.location_path, count=returned.freeze_thaw_count)
            else:
                done = _("Returned %(barcode)s to %(place)s.", barcode=barcode, place=returned.location_path)
            return _after_action(sample, from_scan, done)
    elif form.errors:
        if from_scan and (form.container.data or "").strip():
            return answer_step_error(sample, form.container.data, form.position.data,
                                     form_errors=_field_errors(form))
        status = 422
    home = sample.home_path if sample.status == "checked_out" else None
    return render_template("samples/action.html", sample=sample, form=form, action="return", home=home, from_scan=from_scan,
                           title=_("Return %(barcode)s", barcode=barcode), submit=_("Return")), status


@blp.route("/samples/<barcode>/aliquot", methods=["GET", "POST"])
@login_required
def aliquot(barcode):
    actor = _handle()
    sample = service.get_sample(barcode)
    form = AliquotForm()
    from_scan = _started_from_scan(form)
    status = 200
    if form.validate_on_submit():
        try:
            children = service.aliquot_sample(actor, barcode, count=form.count.data,
                                              volume=(form.volume.data or "").strip() or None,
                                              unit=form.unit.data or None, strategy=form.strategy.data)
        except DomainError as exc:
            _attach(form, exc, "volume" if exc.code in ("insufficient_volume", "invalid_quantity", "quantity_required",
                                                        "unit_mismatch", "invalid_unit") else "count")
            status = exc.status
        else:
            made = ", ".join(_("%(barcode)s at %(place)s", barcode=c.barcode, place=c.location_path) for c in children)
            if from_scan:
                done = _("Made %(num)d aliquot(s) of %(barcode)s: %(made)s. Scan the next tube.", num=len(children),
                         barcode=barcode, made=made)
            else:
                done = _("Made %(num)d aliquot(s) of %(barcode)s: %(made)s. Print their labels below.",
                         num=len(children), barcode=barcode, made=made)
            return _after_action(sample, from_scan, done)
    elif form.errors:
        status = 422
    return render_template("samples/action.html", sample=sample, form=form, action="aliquot", from_scan=from_scan,
                           title=_("Aliquot %(barcode)s", barcode=barcode), submit=_("Make aliquots")), status


@blp.route("/samples/<barcode>/discard", methods=["GET", "POST"])
@login_required
def discard(barcode):
    actor = _handle()
    sample = service.get_sample(barcode)
    form = DiscardForm()
    from_scan = _started_from_scan(form)
    status = 200
    if form.validate_on_submit():
        if form.confirm.data.strip() != barcode:
            form.confirm.errors = [_("You scanned %(scanned)s: that is not %(barcode)s. Nothing was discarded; scan "
                                     "the same tube again to confirm.", scanned=form.confirm.data.strip(), barcode=barcode)]
            form.confirm.data = ""   # the next scan goes into an empty field
            status = 422
        else:
            try:
                service.discard_sample(actor, barcode, reason=form.reason.data.strip())
            except DomainError as exc:
                _attach(form, exc, "reason")
                status = exc.status
            else:
                return _after_action(sample, from_scan, _("Discarded %(barcode)s.", barcode=barcode))
    elif form.errors:
        status = 422
    return render_template("samples/action.html", sample=sample, form=form, action="discard", from_scan=from_scan,
                           title=_("Discard %(barcode)s", barcode=barcode), submit=_("Discard for good")), status


@blp.route("/samples/<barcode>/release-home", methods=["GET", "POST"])
@login_required
def release_home(barcode):
    """Give up the position held for a checked-out tube, with a reason."""
    actor = _handle()
    sample = service.get_sample(barcode)
    form = ReleaseHomeForm()
    status = 200
    if form.validate_on_submit():
        path = sample.home_path
        try:
            service.release_home(actor, barcode, reason=form.reason.data.strip())
        except DomainError as exc:
            _attach(form, exc, "reason")
            status = exc.status
        else:
            flash(_("Released %(place)s: other tubes may be stored there now.", place=path), "success")
            return redirect(url_for("samples_web.detail", barcode=barcode))
    elif form.errors:
        status = 422
    return render_template("samples/action.html", sample=sample, form=form, action="release_home",
                           title=_("Release the place of %(barcode)s", barcode=barcode), submit=_("Release its place")), status


@blp.get("/checkouts/overdue")
@login_required
def overdue():
    """Checked-out tubes past their due-back time, the longest overdue first."""
    actor = current_actor()
    tubes = queries.overdue_checkouts(actor, limit=500)
    return render_template("samples/overdue.html", tubes=tubes, now=utcnow())
