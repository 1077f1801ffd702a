"""The password rules: long enough, and not one that attackers try first.

The list of common passwords is the 30,000 most frequent leaked passwords that the
zxcvbn package ships (MIT licence)."""
import re
from functools import cache

from flask_babel import gettext as _

from ..core.errors import InvalidInput

MIN_LENGTH = 12
_DECORATION = re.compile(r"[\d\W_]+$")


@cache
def _common() -> frozenset:
    # loaded when a password is first checked, not at app start: the lists are a large module
    from zxcvbn.frequency_lists import FREQUENCY_LISTS
    return frozenset(FREQUENCY_LISTS["passwords"])


def is_common(password: str) -> bool:
    """The password, or the password without the digits and signs tacked onto its end
    ("password2025!"), is on the list of common passwords."""
    lowered = password.lower()
    return lowered in _common() or _DECORATION.sub("", lowered) in _common()


def check_password(password: str | None, username: str | None = None) -> str:
    """The password when it follows the rules, else InvalidInput `weak_password` saying why."""
    password = password or ""
    if len(password) < MIN_LENGTH:
        raise InvalidInput(_("A password has at least %(num)d characters.", num=MIN_LENGTH), code="weak_password")
    if len(password) > 256:
        raise InvalidInput(_("A password has at most %(num)d characters.", num=256), code="weak_password")
    if is_common(password) or len(set(password)) < 4:
        raise InvalidInput(_("That password is one of the most common passwords; choose another "
                             "(a few unrelated words make a good one)."), code="weak_password")
    if username and _DECORATION.sub("", password.lower()) == username.lower():
        raise InvalidInput(_("A password must not be the username."), code="weak_password")
    return password
