"""Moving a box or rack from the web: the scan page step (scan the box, scan the new rack,
Enter) and the move field on the container page. The step is checked when the rack is
scanned, so a refusal sounds at once; the post calls the one service."""
from flask import flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import login_required

from ..core.errors import DomainError, InvalidInput, UnknownBarcode
from ..core.permissions import require
from ..core.requests import current_actor
from ..core.web import CONTAINER_STEPS, render_scan, scan_done
from . import moves, service
from .web import blp


def scan_move_step(container, parent, code: str):
    """The scan page after the new place was scanned with a container in hand."""
    try:
        plan = moves.preview_move(current_actor(), container.id, parent.id)
    except DomainError as exc:
        return render_scan(exc.status, error=exc.message, held_box=container, code=code)
    return render_scan(held_box=container, move_to=parent, move_plan=plan, code=code)


CONTAINER_STEPS.append(scan_move_step)


def _parent_of(text: str):
    text = (text or "").strip()
    if not text:
        raise InvalidInput(_("Scan or type the barcode of the rack or tank it goes into."), code="invalid_input")
    try:
        return service.container_by_barcode(text)
    except UnknownBarcode:
        if text.isdigit():
            return service.get_container(int(text))
        raise UnknownBarcode(_("No rack or tank has the barcode %(barcode)s.", barcode=text)) from None


@blp.post("/containers/<int:container_id>/move")
@login_required
def move_container(container_id):
    actor = current_actor()
    require(actor, "containers.move")
    container = service.get_container(container_id)
    seen = request.form.get("from_parent_id", "")
    try:
        parent = _parent_of(request.form.get("parent"))
        moved = moves.move_container(actor, container.id, parent_id=parent.id,
                                     reason=(request.form.get("reason") or "").strip() or None,
                                     from_parent_id=int(seen) if seen.isdigit() else None)
    except DomainError as exc:
        if request.form.get("from_scan"):
            return render_scan(exc.status, error=exc.message, held_box=service.get_container(container_id))
        flash(exc.message, "error")
        return redirect(url_for("storage_web.container", container_id=container_id))
    done = _("Moved %(name)s (%(barcode)s) to %(path)s, with everything in it.", name=moved.name,
             barcode=moved.barcode, path=moved.path)
    if request.form.get("from_scan"):
        return scan_done(done)
    flash(done, "success")
    return redirect(url_for("storage_web.container", container_id=moved.id))
