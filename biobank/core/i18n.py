"""Languages: which one a reader gets, and where the catalogues live.

The language comes from the user's setting, else the browser's Accept-Language,
else the site's default (BABEL_DEFAULT_LOCALE). Catalogues are
biobank/translations/<lang>/LC_MESSAGES/messages.po, compiled to .mo by the install
(`make translations`); the .mo files are not committed.
"""
from pathlib import Path

from flask import has_request_context, request
from flask_babel import get_locale
from flask_login import current_user

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"

# Each language by its own name, as a switcher shows it.
LANGUAGES = {
    "en": "English",
    "uz": "Oʻzbekcha",
    "ru": "Русский",
    "ko": "한국어",
}


def select_locale() -> str:
    if not has_request_context():
        return None  # the CLI and background work: the default language
    chosen = getattr(current_user, "language", None)
    if chosen in LANGUAGES:
        return chosen
    if request:
        best = request.accept_languages.best_match(LANGUAGES)
        if best:
            return best
    return None  # Flask-Babel falls back to BABEL_DEFAULT_LOCALE


def register(app, babel) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(get_locale=get_locale, LANGUAGES=LANGUAGES)
