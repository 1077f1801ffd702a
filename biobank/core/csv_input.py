"""Reading uploaded CSV: what the csv module refuses becomes a 422 naming the line.

The csv module raises `csv.Error` on a cell longer than its field limit
(131,072 characters) and on other malformed input; unhandled, that is a 500.
Every CSV upload reads through `checked` (or catches `CsvProblem` per line)."""
import csv

from flask_babel import gettext as _

from .errors import InvalidInput

FIELD_LIMIT = csv.field_size_limit()


def problem_text(exc: csv.Error) -> str:
    """A sentence for the user instead of the csv module's wording."""
    if "field limit" in str(exc):
        limit = f"{FIELD_LIMIT:,}"
        return _("a cell is longer than %(limit)s characters, the most a CSV cell may hold", limit=limit)
    return _("not a CSV line (%(problem)s)", problem=exc)


def checked(reader, *, code: str = "invalid_csv"):
    """Iterate a csv.reader or csv.DictReader; a csv.Error becomes InvalidInput naming its line."""
    iterator = iter(reader)
    while True:
        try:
            row = next(iterator)
        except StopIteration:
            return
        except csv.Error as exc:
            # the csv.reader underneath (a DictReader's own line_num lags one line behind) has counted
            # the line that failed
            line = getattr(getattr(reader, "reader", reader), "line_num", None)
            raise InvalidInput(_("Line %(line)s: %(problem)s.", line=line, problem=problem_text(exc)) if line else f"{problem_text(exc).capitalize()}.",
                               code=code, details=[{"line": line, "problem": problem_text(exc)}]) from None
        yield row


def header_of(reader: csv.DictReader, *, code: str = "invalid_csv") -> list[str]:
    """The header line of a DictReader (reading it can fail like any other line)."""
    try:
        return list(reader.fieldnames or [])
    except csv.Error as exc:
        raise InvalidInput(_("Line %(line)s: %(problem)s.", line=1, problem=problem_text(exc)), code=code,
                           details=[{"line": 1, "problem": problem_text(exc)}]) from None
