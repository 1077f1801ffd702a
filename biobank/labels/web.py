"""Label files for the browser.

    /samples/<barcode>/label.<fmt>        one sample's label
    /containers/<id>/labels.<fmt>         every sample of a box, in position order
    /containers/<id>/label.<fmt>          the box's own label

fmt is png, svg, pdf or zpl; the query string (and a POST's form) takes the API's
options (dpi, sheet, skip, template, reason). A GET is a preview that writes
nothing; the pages' print buttons POST a form with its CSRF token, and each
file handed out that way is recorded as printed.
"""
from flask import Blueprint, request
from flask_babel import gettext as _
from flask_login import login_required
from marshmallow import ValidationError

from ..core.errors import InvalidInput
from ..core.requests import current_actor
from . import service
from .api import send
from .schemas import LabelOptionsSchema

blp = Blueprint("labels_web", __name__)

_FORMATS = "any(png, svg, pdf, zpl)"


def _options(fmt: str) -> dict:
    given = {k: v for k, v in request.values.items() if k not in ("format", "csrf_token")}
    try:
        options = LabelOptionsSchema().load(given)
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in exc.messages.items())
        raise InvalidInput(_("Invalid label options: %(problems)s.", problems=problems), details=exc.messages) from None
    options["format"] = fmt
    options["record"] = request.method == "POST"
    return options


@blp.route(f"/samples/<barcode>/label.<{_FORMATS}:fmt>", methods=["GET", "POST"])
@login_required
def sample_label(barcode, fmt):
    return send(service.print_sample_labels(current_actor(), [barcode], **_options(fmt)))


@blp.route(f"/containers/<int:container_id>/labels.<{_FORMATS}:fmt>", methods=["GET", "POST"])
@login_required
def box_labels(container_id, fmt):
    return send(service.print_box_labels(current_actor(), container_id, **_options(fmt)))


@blp.route(f"/containers/<int:container_id>/label.<{_FORMATS}:fmt>", methods=["GET", "POST"])
@login_required
def container_label(container_id, fmt):
    return send(service.print_container_label(current_actor(), container_id, **_options(fmt)))
