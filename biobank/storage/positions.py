"""Grid position labels: rows as letters, columns as numbers ("A1"; "A01" means "A1")."""
import re
from functools import lru_cache

from flask_babel import gettext as _

from ..core.errors import InvalidPosition

_LABEL = re.compile(r"\A\s*([A-Za-z]{1,2})\s*0*(\d{1,3})\s*\Z")


def row_letters(row: int) -> str:
    letters = ""
    while row:
        row, rem = divmod(row - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@lru_cache(maxsize=4096)  # a box map or an import asks for the same few hundred labels again and again
def label(row: int, col: int) -> str:
    return f"{row_letters(row)}{col}"


@lru_cache(maxsize=64)
def grid(rows: int, cols: int) -> tuple[tuple[str, int, int], ...]:
    """(label, row, col) of every position of a rows x cols box, in reading order."""
    return tuple((label(r, c), r, c) for r in range(1, rows + 1) for c in range(1, cols + 1))


def parse(text: str, rows: int | None = None, cols: int | None = None) -> tuple[int, int]:
    """"B03" -> (2, 3); checked against the grid when its size is given."""
    match = _LABEL.fullmatch(str(text or ""))
    if not match:
        raise InvalidPosition(_("'%(text)s' is not a position; use a row letter and a column number such as A1.",
                                 text=text))
    row = 0
    for ch in match.group(1).upper():
        row = row * 26 + (ord(ch) - 64)
    col = int(match.group(2))
    if col < 1 or (rows is not None and (row > rows or col > cols)):
        last = label(rows, cols) if rows else "?"
        raise InvalidPosition(_("Position %(text)s is outside this box (A1..%(last)s).", text=text, last=last))
    return row, col
