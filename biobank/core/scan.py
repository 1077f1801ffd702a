"""What the scan page answers when a scan does not fit the step it was scanned into.

Each answer names what was scanned and says what to scan next: the tube that
occupies a position, the range of positions a box has, "that is a box" when a
box label lands in a position field, the stored barcode when a scan differs from
it only by case. The scan page shows the answer with the error sound and keeps
focus in the field that takes the next scan.
"""
from flask_babel import gettext as _

from .lazy_text import lazy_gettext as _l
from ..samples import queries as sample_queries
from ..samples.service import find_sample
from ..storage import positions, queries as storage_queries
from ..storage.service import container_by_barcode
from .errors import DomainError, InvalidPosition, UnknownBarcode

COMMAND_PREFIX = "CMD:"

# "that is a box": what a scanned container is, as a sentence names it.
A_KIND = {
    "site": _l("a site"),
    "tank": _l("a tank"),
    "freezer": _l("a freezer"),
    "rack": _l("a rack"),
    "box": _l("a box"),
    "shelf": _l("a shelf"),
    "drawer": _l("a drawer"),
    "room": _l("a room"),
}


def a_kind(kind: str) -> str:
    """'a box', 'a rack' ... for a container kind; a kind a biobank made up reads as itself."""
    name = A_KIND.get(kind)
    return str(name) if name is not None else _("a %(kind)s", kind=kind)


def find_container(code: str | None):
    """The container with this barcode, or None."""
    if not code:
        return None
    try:
        return container_by_barcode(code.strip())
    except UnknownBarcode:
        return None


def case_suggestion(code: str) -> str | None:
    """The stored sample or container barcode that `code` matches except for case."""
    return sample_queries.barcode_differing_in_case(code) or storage_queries.barcode_differing_in_case(code)


def unknown_barcode(code: str) -> tuple[str, str | None]:
    """(message, suggested barcode) for a scan that no sample or container has."""
    suggestion = case_suggestion(code)
    if suggestion:
        return _("Unknown barcode: %(code)s. Did you mean %(suggestion)s? Press Enter to open %(suggestion)s, "
                 "or scan again.", code=code, suggestion=suggestion), suggestion
    return _("Unknown barcode: %(code)s. No sample or container has this barcode: check the label and scan "
             "again, or register the tube.", code=code), None


def position_range(box) -> str:
    return f"A1..{positions.label(box.rows, box.cols)}"


def _what_it_is(text: str) -> str | None:
    """'a box', 'a rack', 'a tube', 'a command' for a scanned barcode that is not a position."""
    if text.upper().startswith(COMMAND_PREFIX):
        return _("a command")
    container = find_container(text) or find_container(storage_queries.barcode_differing_in_case(text))
    if container is not None:
        return a_kind(container.kind)
    if find_sample(text) is not None or sample_queries.barcode_differing_in_case(text):
        return _("a tube")
    return None


def position_problem(box, text: str | None, error: DomainError | None = None) -> str | None:
    """Why `text`, scanned into the position field of `box`, was not taken, and what to scan instead.

    None when the position itself is fine and nothing about it went wrong."""
    text = (text or "").strip()
    again = _("Scan a position of %(box)s (%(range)s), or press Esc to cancel.", box=box.name,
              range=position_range(box))
    if not text:
        return _("No position given. %(again)s", again=again)
    try:
        row, col = positions.parse(text, box.rows, box.cols)
    except InvalidPosition:
        pass
    else:
        label = positions.label(row, col)
        if error is not None and error.code == "slot_occupied":
            tube = storage_queries.occupant(box.id, row, col)
            if tube:
                return _("%(position)s in %(box)s is taken by tube %(tube)s. Scan a free position of %(box)s "
                         "(%(range)s), or press Esc to cancel.", position=label, box=box.name, tube=tube,
                         range=position_range(box))
        return f"{error.message} {again}" if error is not None else None
    kind = _what_it_is(text)
    if kind:
        return _("You scanned %(code)s: that is %(what)s, not a position. %(again)s", code=text, what=kind,
                 again=again)
    try:
        positions.parse(text)
    except InvalidPosition:
        return _("You scanned %(code)s: that is not a position (such as A1). %(again)s", code=text, again=again)
    return _("%(position)s is outside %(box)s: its positions are %(range)s. Scan a position from A1 to "
             "%(last)s, or press Esc to cancel.", position=text.upper(), box=box.name, range=position_range(box),
             last=positions.label(box.rows, box.cols))
