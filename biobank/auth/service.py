"""Users, roles, passwords and API tokens."""
import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, has_request_context, request
from flask_babel import gettext as _
from flask_login import UserMixin
from sqlalchemy import bindparam, delete, func, insert, select
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.errors import Conflict, DomainError, InvalidInput, NotAuthenticated
from ..core.permissions import ROLES, require
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from ..sso import ldap, settings
from ..sso.provisioning import is_directory_user, provision
from ..network.staff import place_user
from .models import ApiToken, LoginFailure, User
from .passwords import MIN_LENGTH, check_password

USERNAME_RE = re.compile(r"\A[A-Za-z0-9_.\-]{2,64}\Z")
MIN_PASSWORD = MIN_LENGTH
# The account as a whole (all addresses together) is slowed, never locked: after the limit each
# further try waits twice as long as the one before, up to this many seconds.
MAX_ACCOUNT_DELAY_SECONDS = 60
# A hash to compare against when the user does not exist, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_user(actor, username: str, password: str | None, role: str, sites: list[str] | None = None) -> User:
    """A new user; `sites` are site codes where their role holds (default: the default site).
    Without a password (None) nothing logs in until a reset code sets one."""
    require(actor, "users.manage")
    if not USERNAME_RE.fullmatch(username or ""):
        raise InvalidInput(_("A username is 2..64 characters of letters, digits, _ . -"), code="invalid_username")
    if role not in ROLES:
        raise InvalidInput(_("Unknown role %(role)s; use one of %(roles)s.", role=role, roles=", ".join(ROLES)),
                           code="invalid_role")
    if password is not None:
        check_password(password, username)
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(_("The user %(user)s already exists.", user=username), code="duplicate_user")
    stored = generate_password_hash(password if password is not None else secrets.token_urlsafe(32))
    user = User(username=username, password_hash=stored, role=role, active=True)
    db.session.add(user)
    db.session.flush()
    codes = place_user(user, sites)
    custody.record(actor, "user.created", "user", username, changes={"role": [None, role], "sites": [None, codes]})
    return user


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = max(1, int(retry_after))


def _throttle_settings() -> tuple[int, int, int]:
    config = current_app.config
    return (config.get("LOGIN_MAX_FAILURES", 5), config.get("LOGIN_MAX_FAILURES_PER_ADDRESS", 20),
            config.get("LOGIN_WINDOW_MINUTES", 15))


def _client_address() -> str | None:
    return (request.remote_addr or None) if has_request_context() else None


def _recent_failures(since, *conditions) -> tuple[int, object]:
    """How many failures match since `since`, and when the latest was."""
    return db.session.execute(select(func.count(), func.max(LoginFailure.at))
                              .where(LoginFailure.at >= since, *conditions)).one()


def _check_throttle(username: str, address: str | None) -> None:
    """Three limits, none of which lets a stranger lock somebody out for good:
    - this account from this address: LOGIN_MAX_FAILURES in the window, then that address waits;
    - this address, any account: LOGIN_MAX_FAILURES_PER_ADDRESS in the window;
    - this account from anywhere: past LOGIN_MAX_FAILURES each try waits 1, 2, 4 ... seconds after
      the last failure, at most MAX_ACCOUNT_DELAY_SECONDS, so its owner can always get in."""
    per_account, per_address, minutes = _throttle_settings()
    now = utcnow()
    since = now - timedelta(minutes=minutes)
    if address:
        pair = _recent_failures(since, LoginFailure.username == username, LoginFailure.address == address)[0]
        from_address = _recent_failures(since, LoginFailure.address == address)[0]
        if pair >= per_account or from_address >= per_address:
            raise TooManyAttempts(_("Too many failed logins from this address; try again in %(minutes)s minutes, "
                                    "or ask an admin to reset the password.", minutes=minutes), 60 * minutes)
    count, last = _recent_failures(since, LoginFailure.username == username)
    if count >= per_account and last is not None:
        delay = min(2 ** (count - per_account), MAX_ACCOUNT_DELAY_SECONDS)
        wait = (last + timedelta(seconds=delay) - now).total_seconds()
        if wait > 0:
            seconds = int(wait) + 1
            raise TooManyAttempts(_("Too many failed logins for this account; wait %(seconds)s seconds "
                                    "and try again.", seconds=seconds), seconds)


def _remember_failure(username: str, address: str | None) -> None:
    """Store a failed login in its own short transaction: the request that failed is rolled back,
    the record of the failure must stay (it is what every worker counts)."""
    db.session.rollback()  # the failing request changes nothing; on SQLite this also frees the write lock
    with db.engine.begin() as connection:
        connection.execute(insert(LoginFailure).values(at=utcnow(), username=username, address=address))


def authenticate(username: str, password: str, address: str | None = None) -> User:
    """The user for a username and password, throttled per account and per client address
    (LOGIN_MAX_FAILURES / LOGIN_MAX_FAILURES_PER_ADDRESS failures in LOGIN_WINDOW_MINUTES -> 429)."""
    username = (username or "")[:64]
    address = (address or _client_address() or None)
    address = address[:64] if address else None
    _check_throttle(username, address)
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if settings.ldap_configured() and (user is None or is_directory_user(user)):
        return _directory_sign_in(username, password, address)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        _remember_failure(username, address)
        raise NotAuthenticated(_("Wrong username or password."), code="invalid_credentials")
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        _remember_failure(username, address)
        raise NotAuthenticated(_("Wrong username or password."), code="invalid_credentials")
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


def _directory_sign_in(username: str, password: str, address: str | None) -> User:
    """LDAP: the directory checks the password; the user is provisioned or brought up to date."""
    found = ldap.verify(username, password or "")
    if found is None:
        _remember_failure(username, address)
        raise NotAuthenticated(_("Wrong username or password."), code="invalid_credentials")
    user = provision("ldap", found.username, found.email, found.groups)
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username))
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, lifetime_hours: int) -> tuple[str, ApiToken]:
    token = secrets.token_urlsafe(32)
    row = ApiToken(token_hash=_digest(token), user_id=user.id,
                   expires_at=utcnow() + timedelta(hours=lifetime_hours))
    db.session.add(row)
    db.session.flush()
    return token, row


@dataclass(frozen=True)
class TokenHolder(UserMixin):
    """The active user behind a bearer token, as a request needs it: who and which role."""
    id: int
    username: str
    role: str


# Every API call runs this: one statement, built once, read as a plain row.
_users, _tokens = User.__table__, ApiToken.__table__
_USER_FOR_TOKEN = select(_users.c.id, _users.c.username, _users.c.role).join(
    _tokens, _tokens.c.user_id == _users.c.id).where(
    _tokens.c.token_hash == bindparam("digest"), _tokens.c.revoked_at.is_(None),
    _tokens.c.expires_at >= bindparam("now"), _users.c.active.is_(True))


def user_for_token(token: str) -> TokenHolder | None:
    """The active user behind a live (unexpired, unrevoked) token, in one query."""
    row = db.session.connection().execute(_USER_FOR_TOKEN, {"digest": _digest(token), "now": utcnow()}).first()
    return TokenHolder(*row) if row is not None else None


def revoke_token(token: str) -> bool:
    """Revoke a bearer token: from now on it answers 401. False when it was unknown or already revoked."""
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    db.session.flush()
    return True


EMAIL_RE = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")


def set_email(actor, username: str, email: str | None) -> User:
    """Where a user's notifications go; empty or None: no e-mail."""
    require(actor, "users.manage")
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is None:
        raise InvalidInput(_("There is no user %(user)s.", user=username), code="unknown_user")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 254 or not EMAIL_RE.match(email)):
        raise InvalidInput(_("'%(email)s' is not an e-mail address.", email=email), code="invalid_email")
    before, user.email = user.email, email
    custody.record(actor, "user.email_changed", "user", username, changes={"email": [before, email]})
    return user
