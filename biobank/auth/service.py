"""Users, roles, passwords and API tokens."""
import hashlib
import re
import secrets
from datetime import timedelta

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.errors import Conflict, InvalidInput, NotAuthenticated
from ..core.permissions import ROLES, require
from ..core.time import utcnow
from ..custody import service as custody
from ..extensions import db
from .models import ApiToken, User

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 8
# A hash to compare against when the user does not exist, so timing does not tell.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_user(actor, username: str, password: str, role: str) -> User:
    require(actor, "users.manage")
    if not USERNAME_RE.match(username or ""):
        raise InvalidInput("A username is 2..64 characters of letters, digits, _ . -", code="invalid_username")
    if role not in ROLES:
        raise InvalidInput(f"Unknown role {role}; use one of {', '.join(ROLES)}.", code="invalid_role")
    if len(password or "") < MIN_PASSWORD:
        raise InvalidInput(f"A password has at least {MIN_PASSWORD} characters.", code="weak_password")
    if db.session.execute(select(User.id).where(User.username == username)).first():
        raise Conflict(f"The user {username} already exists.", code="duplicate_user")
    user = User(username=username, password_hash=generate_password_hash(password), role=role, active=True)
    db.session.add(user)
    db.session.flush()
    custody.record(actor, "user.created", "user", username, changes={"role": [None, role]})
    return user


def authenticate(username: str, password: str) -> User:
    user = db.session.execute(select(User).where(User.username == (username or ""))).scalar_one_or_none()
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        raise NotAuthenticated("Wrong username or password.", code="invalid_credentials")
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        raise NotAuthenticated("Wrong username or password.", code="invalid_credentials")
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


def user_for_token(token: str) -> User | None:
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is None or row.revoked_at is not None or row.expires_at < utcnow() or not row.user.active:
        return None
    return row.user


def revoke_token(token: str) -> None:
    row = db.session.execute(select(ApiToken).where(ApiToken.token_hash == _digest(token))).scalar_one_or_none()
    if row is not None and row.revoked_at is None:
        row.revoked_at = utcnow()
