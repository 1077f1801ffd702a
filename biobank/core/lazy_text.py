"""Form texts translated when they are read, escaped like any other text.

Flask-Babel's lazy strings hand themselves to templates as markup (`__html__`
returns the text unescaped), so "the tube's barcode" in a validator message
would reach the page as a raw apostrophe, and a `<` in one as a tag. This lazy
string escapes itself as a plain string does. Every lazy text of the app (forms, human
names) is one of these, under the usual name `_l`.
"""
from flask_babel import gettext
from flask_babel.speaklater import LazyString
from markupsafe import escape


class LazyText(LazyString):
    def __html__(self):
        return str(escape(str(self)))


def lazy_gettext(string: str, **variables) -> LazyText:
    return LazyText(gettext, string, **variables)
