"""User administration (admin) and passwords: list, change role, disable and enable, one-time
reset codes, changing one's own password. Every change is a custody event; the last active
admin can be neither disabled nor demoted, so the inventory always has somebody to run it."""
import hashlib
import math
import secrets
from datetime import timedelta

from flask import current_app, has_app_context
from flask_babel import gettext as _
from sqlalchemy import func, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..core.actor import Actor
from ..core.errors import Conflict, InvalidInput, NotAuthenticated, NotFound
from ..core.languages import checked_language
from ..core.permissions import ROLES, require
from ..core.time import utcnow
from ..custody import service as custody
from ..custody.models import CustodyEvent
from ..extensions import db
from ..network.service import set_user_sites
from .models import ApiToken, PasswordReset, User, UserSession
from .passwords import check_password
from .service import create_user

RESET_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
RESET_LENGTH = 16


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def normalise_code(code: str | None) -> str:
    """A reset code as typed: case, spaces and dashes do not matter."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())[:64]


def format_code(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def _reset_hours() -> int:
    return int(current_app.config.get("PASSWORD_RESET_HOURS", 24)) if has_app_context() else 24


# -- reading ------------------------------------------------------------------------------
def user_by_name(actor, username: str) -> User:
    require(actor, "users.manage")
    user = db.session.execute(select(User).where(User.username == (username or "")[:64])).scalar_one_or_none()
    if user is None:
        raise NotFound(_("No user is called %(user)s.", user=username), code="unknown_user")
    return user


def list_users(actor, q: str | None = None, role: str | None = None, active: bool | None = None,
               page: int = 1, per_page: int = 25) -> dict:
    """Users by name, searchable (part of the name), filtered by role and state, paged."""
    require(actor, "users.manage")
    query = select(User)
    if q:
        pattern = "%" + q.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(func.lower(User.username).like(pattern, escape="\\"))
    if role:
        query = query.where(User.role == role)
    if active is not None:
        query = query.where(User.active.is_(active))
    total = db.session.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    items = db.session.execute(query.order_by(User.username).offset((page - 1) * per_page)
                               .limit(per_page)).scalars().all()
    return {"items": items, "total": total, "page": page, "per_page": per_page,
            "pages": max(1, math.ceil(total / per_page))}


def user_history(actor, username: str, limit: int = 20) -> list[CustodyEvent]:
    """The latest custody events about this user account, newest first."""
    require(actor, "users.manage")
    return db.session.execute(select(CustodyEvent).where(CustodyEvent.subject_type == "user",
                                                         CustodyEvent.subject == username)
                              .order_by(CustodyEvent.seq.desc()).limit(limit)).scalars().all()


# -- changing -----------------------------------------------------------------------------
def _other_active_admins(user: User) -> int:
    """Active admins besides this user, locked so that two admins demoting each other at the same
    moment cannot both succeed."""
    rows = db.session.execute(select(User.id).where(User.role == "admin", User.active.is_(True),
                                                    User.id != user.id).with_for_update()).all()
    return len(rows)


def _guard_last_admin(user: User, demoting: bool) -> None:
    if user.role == "admin" and user.active and _other_active_admins(user) == 0:
        if demoting:
            message = _("%(user)s is the last active admin and cannot be demoted; make another user admin first.",
                        user=user.username)
        else:
            message = _("%(user)s is the last active admin and cannot be disabled; make another user admin "
                        "first.", user=user.username)
        raise Conflict(message, code="last_admin")


def end_sessions(user_id: int, *, keep_session_id: int | None = None) -> int:
    """Log the user out everywhere (every browser session) and revoke their bearer tokens."""
    now = utcnow()
    sessions = update(UserSession).where(UserSession.user_id == user_id, UserSession.ended_at.is_(None))
    if keep_session_id is not None:
        sessions = sessions.where(UserSession.id != keep_session_id)
    ended = db.session.execute(sessions.values(ended_at=now), execution_options={"synchronize_session": False})
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now), execution_options={"synchronize_session": False})
    return ended.rowcount or 0


def update_user(actor, username: str, *, role: str | None = None, active: bool | None = None,
                sites: list[str] | None = None) -> User:
    """Change a user's role, whether they may log in and/or their sites; one custody event per change."""
    user = user_by_name(actor, username)
    if sites is not None:
        set_user_sites(actor, username, sites)
    if role is not None and role not in ROLES:
        raise InvalidInput(_("Unknown role %(role)s; use one of %(roles)s.", role=role, roles=", ".join(ROLES)),
                           code="invalid_role")
    if role is not None and role != user.role:
        if user.role == "admin":
            _guard_last_admin(user, demoting=True)
        before, user.role = user.role, role
        db.session.flush()
        custody.record(actor, "user.role_changed", "user", user.username, changes={"role": [before, role]})
    if active is not None and active != user.active:
        if not active:
            _guard_last_admin(user, demoting=False)
        user.active = active
        db.session.flush()
        if not active:
            end_sessions(user.id)
        custody.record(actor, "user.enabled" if active else "user.disabled", "user", user.username,
                       changes={"active": [not active, active]})
    return user


def issue_reset(actor, username: str) -> tuple[str, PasswordReset]:
    """A one-time reset code for a user, valid PASSWORD_RESET_HOURS (24); earlier unused codes of
    that user stop working. The code is returned once: only its hash is kept."""
    user = user_by_name(actor, username)
    now = utcnow()
    db.session.execute(update(PasswordReset).where(PasswordReset.user_id == user.id,
                                                   PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
                       .values(expires_at=now), execution_options={"synchronize_session": False})
    code = "".join(secrets.choice(RESET_ALPHABET) for _ in range(RESET_LENGTH))
    reset = PasswordReset(code_hash=_digest(code), user_id=user.id, created_by=actor.username, created_at=now,
                          expires_at=now + timedelta(hours=_reset_hours()))
    db.session.add(reset)
    db.session.flush()
    custody.record(actor, "user.password_reset_issued", "user", user.username,
                   changes={"reset_expires_at": [None, reset.expires_at.isoformat(timespec="seconds")]})
    return code, reset


def _set_password(user: User, password: str) -> None:
    user.password_hash = generate_password_hash(check_password(password, user.username))
    user.password_changed_at = utcnow()


def live_reset(code: str) -> PasswordReset | None:
    """The reset a code opens, when it is unused and unexpired."""
    code = normalise_code(code)
    if not code:
        return None
    reset = db.session.execute(select(PasswordReset).where(PasswordReset.code_hash == _digest(code))
                               ).scalar_one_or_none()
    if reset is None or reset.used_at is not None or reset.expires_at <= utcnow() or not reset.user.active:
        return None
    return reset


def use_reset(code: str, new_password: str) -> User:
    """Set a new password with a one-time code; the code then stops working, and the user is
    logged out everywhere (sessions and tokens)."""
    reset = live_reset(code)
    if reset is None:
        raise NotFound(_("This reset code is unknown, already used or expired; ask an admin for a new one."),
                       code="invalid_reset_code")
    user = reset.user
    _set_password(user, new_password)
    reset.used_at = utcnow()
    db.session.flush()
    end_sessions(user.id)
    custody.record(Actor.of(user, via="web"), "user.password_reset", "user", user.username,
                   reason=f"one-time code issued by {reset.created_by}")
    return user


def change_own_password(actor, current_password: str, new_password: str, *,
                        keep_session_id: int | None = None) -> User:
    """A user changes their own password. Every other session of theirs ends, and every bearer token
    is revoked."""
    user = db.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.active:
        raise NotAuthenticated(_("Log in to change your password."))
    if not check_password_hash(user.password_hash, current_password or ""):
        raise InvalidInput(_("The current password is not right."), code="wrong_password")
    if new_password == current_password:
        raise InvalidInput(_("The new password must differ from the current one."), code="weak_password")
    _set_password(user, new_password)
    db.session.flush()
    end_sessions(user.id, keep_session_id=keep_session_id)
    custody.record(actor, "user.password_changed", "user", user.username)
    return user


def own_user(actor) -> User:
    """The actor's own account; 401 for an actor without one (or a disabled one)."""
    user = db.session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.active:
        raise NotAuthenticated(_("Log in to see your account."))
    return user


def set_own_language(actor, language: str | None) -> User:
    """A user chooses the language of their pages and messages; None: as their browser asks."""
    user = own_user(actor)
    language = checked_language(language)
    if language != user.language:
        before, user.language = user.language, language
        db.session.flush()
        custody.record(actor, "user.language_changed", "user", user.username,
                       changes={"language": [before, language]})
    return user


def create_account(actor, username: str, role: str, password: str | None = None) -> tuple[User, str | None]:
    """A new user with a password the admin chose, or (without one) with a one-time reset code the
    admin hands over: (user, code or None)."""
    from_service = create_user(actor, username, password, role)
    if password:
        return from_service, None
    code = issue_reset(actor, username)[0]
    return from_service, code
