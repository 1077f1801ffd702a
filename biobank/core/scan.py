"""What the scan page answers when a scan does not fit the step it was scanned into.

Each answer names what was scanned and says what to scan next: the tube that
occupies a position, the range of positions a box has, "that is a box" when a
box label lands in a position field, the stored barcode when a scan differs from
it only by case. The scan page shows the answer with the error sound and keeps
focus in the field that takes the next scan.
"""
from ..samples import queries as sample_queries
from ..samples.service import find_sample
from ..storage import positions, queries as storage_queries
from ..storage.service import container_by_barcode
from .errors import DomainError, InvalidPosition, UnknownBarcode

COMMAND_PREFIX = "CMD:"


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
        return (f"Unknown barcode: {code}. Did you mean {suggestion}? Press Enter to open {suggestion}, "
                "or scan again."), suggestion
    return (f"Unknown barcode: {code}. No sample or container has this barcode: check the label and scan "
            "again, or register the tube."), None


def position_range(box) -> str:
    return f"A1..{positions.label(box.rows, box.cols)}"


def _what_it_is(text: str) -> str | None:
    """'a box', 'a rack', 'a tube', 'a command' for a scanned barcode that is not a position."""
    if text.upper().startswith(COMMAND_PREFIX):
        return "a command"
    container = find_container(text) or find_container(storage_queries.barcode_differing_in_case(text))
    if container is not None:
        return f"a {container.kind}"
    if find_sample(text) is not None or sample_queries.barcode_differing_in_case(text):
        return "a tube"
    return None


def position_problem(box, text: str | None, error: DomainError | None = None) -> str | None:
    """Why `text`, scanned into the position field of `box`, was not taken, and what to scan instead.

    None when the position itself is fine and nothing about it went wrong."""
    text = (text or "").strip()
    again = f"Scan a position of {box.name} ({position_range(box)}), or press Esc to cancel."
    if not text:
        return f"No position given. {again}"
    try:
        row, col = positions.parse(text, box.rows, box.cols)
    except InvalidPosition:
        pass
    else:
        label = positions.label(row, col)
        if error is not None and error.code == "slot_occupied":
            tube = storage_queries.occupant(box.id, row, col)
            if tube:
                return (f"{label} in {box.name} is taken by tube {tube}. Scan a free position of {box.name} "
                        f"({position_range(box)}), or press Esc to cancel.")
        return f"{error.message} {again}" if error is not None else None
    kind = _what_it_is(text)
    if kind:
        return f"You scanned {text}: that is {kind}, not a position. {again}"
    try:
        positions.parse(text)
    except InvalidPosition:
        return f"You scanned {text}: that is not a position (such as A1). {again}"
    return (f"{text.upper()} is outside {box.name}: its positions are {position_range(box)}. "
            f"Scan a position from A1 to {positions.label(box.rows, box.cols)}, or press Esc to cancel.")
