"""The texts the browser scripts (static/app.js) show, in the reader's language.

base.html writes them into a JSON data block (`<script type="application/json" id="i18n-strings">`),
which the Content-Security-Policy allows because it is never executed; the scripts read a text
by its key and fill in its %(name)s placeholders, falling back to their own English text.
"""
from flask_babel import gettext as _


def strings() -> dict[str, str]:
    """Key -> text for this request's language."""
    return {
        "wrong_scan": _("You scanned %(scanned)s: that is not %(expected)s. Nothing was done; scan "
                        "%(expected)s again to confirm."),
    }
