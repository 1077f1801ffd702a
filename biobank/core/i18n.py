"""Languages: which one a reader gets, dates and times as they read them, and where the
catalogues live.

The language is the first of: the user's own setting; a choice made with the switcher and kept
in the session (before logging in, or by a user without a setting); the browser's
Accept-Language; the default language of the user's site; BABEL_DEFAULT_LOCALE. Times are shown
in the time zone of the reader's site (UTC without one). Catalogues are
biobank/translations/<lang>/LC_MESSAGES/messages.po, compiled to .mo by the install
(`make translations`); the .mo files are not committed.
"""
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import support
from flask import current_app, g, has_request_context, request, session
from flask_babel import format_date, format_decimal, format_time, get_locale, refresh
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from wtforms.i18n import messages_path

from ..extensions import db
from .db import write_intent
from .languages import LANGUAGES

TRANSLATIONS_DIR = Path(__file__).resolve().parent.parent / "translations"
SESSION_KEY = "language"


def _signed_in_user():
    if g.get("database_unavailable"):
        return None  # an error page while the database is away: nobody is looked up
    user = current_user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _home_site(user):
    """The reader's site (their first, else the network's default) as (language, time zone), read
    once a request: in the request's transaction when one is open, else on a connection of its own
    in a reading transaction, so that choosing the language of an answer never waits for (nor
    takes) SQLite's write lock."""
    if "reader_site" not in g:
        session = db.session()
        if session.in_transaction():
            g.reader_site = _site_row(session.connection(), user)
        else:
            token = write_intent.set(False)
            try:
                with db.engine.connect() as connection:
                    g.reader_site = _site_row(connection, user)
            finally:
                write_intent.reset(token)
    return g.reader_site


def _site_row(connection, user):
    lookup = current_app.extensions.get("home_site_settings")
    return lookup(connection, getattr(user, "id", None)) if lookup is not None else None


def select_locale() -> str | None:
    if not has_request_context():
        return None  # the CLI and background work: the default language
    try:
        return _chosen_locale()
    except SQLAlchemyError:  # an error page while the database is away: the default language
        return None


def _chosen_locale() -> str | None:
    user = _signed_in_user()
    chosen = getattr(user, "language", None)
    if chosen in LANGUAGES:
        return chosen
    if session.get(SESSION_KEY) in LANGUAGES:
        return session[SESSION_KEY]
    best = request.accept_languages.best_match(LANGUAGES)
    if best:
        return best
    site = _home_site(user) if not g.get("database_unavailable") else None
    if site is not None and site.language in LANGUAGES:
        return site.language
    return None  # Flask-Babel falls back to BABEL_DEFAULT_LOCALE


def select_timezone() -> str | None:
    if not has_request_context():
        return None  # BABEL_DEFAULT_TIMEZONE (UTC)
    try:
        user = _signed_in_user()
        site = _home_site(user) if user is not None else None
    except SQLAlchemyError:  # an error page while the database is away: UTC
        return None
    return site.time_zone if site is not None and site.time_zone else None


def when(value: datetime | None, seconds: bool = False) -> str:
    """A stored (UTC) date and time as the reader writes it, in their site's time zone:
    "1 мар. 2026 г., 19:05", "2026. 3. 1. 19:05". A 24-hour clock in every language (a lab's)."""
    if value is None:
        return ""
    clock = format_time(value, "HH:mm:ss" if seconds else "HH:mm")
    return get_locale().datetime_formats["medium"].format(clock, format_date(value, "medium"))


def day(value: date | datetime | None) -> str:
    """A date as the reader writes it (a stored date and time: the day at their site)."""
    return "" if value is None else format_date(value, "medium")


def clock(value: datetime | None) -> str:
    """Only the time of day, at the reader's site."""
    return "" if value is None else format_time(value, "HH:mm")


def month(value: date | datetime | None) -> str:
    """Month and year ("мар. 2026 г.", "2026년 3월"): how the catalogue shows a collection date."""
    if value is None:
        return ""
    return format_date(value, get_locale().datetime_skeletons["yMMM"])


def number(value) -> str:
    """A number with the reader's decimal sign and digit grouping (1 234,5 in Russian)."""
    return "" if value is None else format_decimal(value)


@lru_cache(maxsize=None)
def _wtforms_catalogue(locale: str):
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages (and field labels) in the reader's language. Flask-WTF reads the
    catalogue from disk again for every request that builds a form (about a millisecond each);
    it takes this object from `request.wtforms_translations` instead, and the catalogue of each
    language is read once a process."""

    def ugettext(self, text):
        return _wtforms_catalogue(str(get_locale())).ugettext(text)

    def ungettext(self, singular, plural, n):
        return _wtforms_catalogue(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


def _wtforms_messages() -> None:
    request.wtforms_translations = _WTFORMS_MESSAGES


def register(app, babel, home_site_settings=None) -> None:
    """home_site_settings(connection, user id or None): the (language, time_zone) of the reader's
    home site, which the sites' domain knows (network.scope); without it, none."""
    app.extensions["home_site_settings"] = home_site_settings
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", "UTC")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    app.config.setdefault("WTF_I18N_ENABLED", True)  # WTForms' own messages in the reader's language
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    # Flask-Babel keeps the choice in `g`, and Flask reuses an application context that is already
    # pushed (tests, embedded servers): choose again for every request.
    app.before_request(refresh)
    app.before_request(_wtforms_messages)
    app.jinja_env.globals.update(get_locale=get_locale, LANGUAGES=LANGUAGES)
    app.jinja_env.filters.update(when=when, day=day, clock=clock, month=month, number=number)
