"""Browser sessions kept on the server. The signed session cookie carries a random key; the row
for that key must be open for the cookie to log anyone in, so logging out (or a password change,
or an admin disabling the account) ends the session for every copy of the cookie."""
import hashlib
import secrets

from flask import session
from sqlalchemy import select, update

from ..core.time import utcnow
from ..extensions import db
from .models import User, UserSession

SESSION_KEY = "sid"


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def start(user: User) -> None:
    """Open a session for a user who just proved who they are; its key goes into the cookie."""
    key = secrets.token_urlsafe(32)
    db.session.add(UserSession(key_hash=_digest(key), user_id=user.id, created_at=utcnow()))
    db.session.flush()
    session[SESSION_KEY] = key


def current_id() -> int | None:
    """The id of this request's open session row, if any."""
    key = session.get(SESSION_KEY)
    if not isinstance(key, str):
        return None
    return db.session.execute(select(UserSession.id).where(UserSession.key_hash == _digest(key),
                                                           UserSession.ended_at.is_(None))).scalar_one_or_none()


def end_current() -> None:
    """End this request's session on the server (logout)."""
    key = session.pop(SESSION_KEY, None)
    if isinstance(key, str):
        db.session.execute(update(UserSession).where(UserSession.key_hash == _digest(key),
                                                     UserSession.ended_at.is_(None)).values(ended_at=utcnow()),
                           execution_options={"synchronize_session": False})


def user_for_session(user_id: str) -> User | None:
    """Flask-Login's user loader: the active user whose open session this cookie carries."""
    key = session.get(SESSION_KEY)
    if not str(user_id).isdigit() or not isinstance(key, str):
        return None
    return db.session.execute(
        select(User).join(UserSession, UserSession.user_id == User.id)
        .where(User.id == int(user_id), User.active.is_(True), UserSession.key_hash == _digest(key),
               UserSession.ended_at.is_(None))).scalar_one_or_none()
