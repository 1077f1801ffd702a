"""Label files for the browser: plain GET links the UI's buttons point at.

    /samples/<barcode>/label.<fmt>        one sample's label
    /containers/<id>/labels.<fmt>         every sample of a box, in position order
    /containers/<id>/label.<fmt>          the box's own label

fmt is png, svg, pdf or zpl; the query string takes the API's options (dpi,
sheet, skip, template, reason). Each file handed out is recorded as printed.
"""
from flask import Blueprint, request
from flask_login import login_required
from marshmallow import ValidationError

from ..core.db import write_intent
from ..core.errors import InvalidInput
from ..core.requests import current_actor
from . import service
from .api import send
from .schemas import LabelOptionsSchema

blp = Blueprint("labels_web", __name__)

_FORMATS = "any(png, svg, pdf, zpl)"


@blp.before_request
def _writes():
    write_intent.set(True)   # printing writes custody events


def _options(fmt: str) -> dict:
    try:
        options = LabelOptionsSchema().load({k: v for k, v in request.args.items() if k != "format"})
    except ValidationError as exc:
        problems = "; ".join(f"{field}: {' '.join(map(str, errors))}" for field, errors in exc.messages.items())
        raise InvalidInput(f"Invalid label options: {problems}.", details=exc.messages) from None
    options["format"] = fmt
    return options


@blp.get(f"/samples/<barcode>/label.<{_FORMATS}:fmt>")
@login_required
def sample_label(barcode, fmt):
    return send(service.print_sample_labels(current_actor(), [barcode], **_options(fmt)))


@blp.get(f"/containers/<int:container_id>/labels.<{_FORMATS}:fmt>")
@login_required
def box_labels(container_id, fmt):
    return send(service.print_box_labels(current_actor(), container_id, **_options(fmt)))


@blp.get(f"/containers/<int:container_id>/label.<{_FORMATS}:fmt>")
@login_required
def container_label(container_id, fmt):
    return send(service.print_container_label(current_actor(), container_id, **_options(fmt)))
