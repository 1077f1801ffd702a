"""Text from outside must be Unicode a database can store, checked once for every request.

JSON may spell any UTF-16 code unit, so `"\\ud800"` decodes to a lone surrogate:
a Python string that cannot be encoded to UTF-8, which SQLite and PostgreSQL
then fail to store (a 500 deep in the driver). Forms and query strings are
decoded by Werkzeug with replacement characters, so bytes that are not UTF-8
would be stored as U+FFFD without a word. Both are refused here with a clear
422 `invalid_text` before any view runs: what is not valid text changes nothing.
"""
import re
from urllib.parse import unquote_to_bytes

from flask import request
from flask_babel import gettext as _

from .errors import InvalidInput

_SURROGATE = re.compile("[\ud800-\udfff]")
_FORM = "application/x-www-form-urlencoded"
_PARTS = re.compile("[&;=]")


def _bad_string(value: str) -> bool:
    return bool(_SURROGATE.search(value))


def _first_bad(data) -> str | None:
    """The path (like `items[2].notes`) of the first string or key that is not valid Unicode."""
    stack = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if _bad_string(value):
                return path or "the body"
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _bad_string(key):
                    return f"{path}.{ascii(key)}" if path else ascii(key)
                stack.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, list):
            stack.extend((item, f"{path}[{i}]") for i, item in enumerate(value))
    return None


def _undecodable(raw: bytes) -> bool:
    """URL-encoded text (a query string or a form body) whose bytes, raw or %-escaped, are not UTF-8."""
    try:
        text = raw.decode("utf-8")
        for part in _PARTS.split(text):
            unquote_to_bytes(part.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _refuse(where: str, place: str | None = None):
    """`where` names the field for machines (details.field); `place` says it for people."""
    raise InvalidInput(_("The text in %(place)s is not valid Unicode (a lone surrogate, or bytes that are not "
                         "UTF-8); send it as UTF-8 text.", place=place or where), code="invalid_text",
                       details={"field": where})


def check_request_text() -> None:
    if request.query_string and _undecodable(request.query_string):
        _refuse("the query string", _("the query string"))
    if any("\x00" in key + value for key, value in request.args.items(multi=True)):  # PostgreSQL text cannot
        raise InvalidInput(_("The query string holds a NUL character; send text without it."),
                           code="invalid_text", status=400, details={"field": "the query string"})
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.is_json:
        data = request.get_json(silent=True)
        where = _first_bad(data) if data is not None else None
        if where is not None:
            _refuse(where)
    elif request.mimetype == _FORM and _undecodable(request.get_data(cache=True)):
        _refuse("the form", _("the form"))
