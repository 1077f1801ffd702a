"""The languages the application ships, by their codes; low so services can check a choice."""
from flask_babel import gettext as _

from .errors import InvalidInput

# Each language by its own name, as a switcher shows it (never translated: a reader who cannot
# read the current language still finds their own).
LANGUAGES = {
    "en": "English",
    "uz": "Oʻzbekcha",
    "ru": "Русский",
    "ko": "한국어",
}


def checked_language(value) -> str | None:
    """A language code we ship, or None for "no setting" (empty or None); 422 for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    code = value.strip().lower() if isinstance(value, str) else None
    if code not in LANGUAGES:
        raise InvalidInput(_("Choose one of the languages: %(codes)s.", codes=", ".join(LANGUAGES)),
                           code="invalid_language")
    return code
