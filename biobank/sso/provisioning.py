"""Directory users in the inventory: the role their groups map to, created on the first
sign-in, role and e-mail brought up to date on every later one.

BIOBANK_SSO_ROLE_MAP maps group names (or claim values) to roles, e.g.
"biobank-admins=admin, biobank-managers=manager, lab=technician, research=researcher";
a user in several mapped groups gets the strongest role. BIOBANK_SSO_DEFAULT_ROLE is the
role of a directory user in no mapped group (unset: such a user is refused).

Provisioned users carry no password: their password hash reads "sso:<source>", which no
password matches, so they sign in only through their directory.
"""
import logging
import re

from flask_babel import gettext as _
from sqlalchemy import select

from ..core.actor import system_actor
from ..core.errors import NotAuthenticated, NotPermitted
from ..core.permissions import ROLES
from ..custody import service as custody
from ..auth.models import User
from ..extensions import db
from . import settings

log = logging.getLogger(__name__)
SSO_HASH = "sso:"
STRENGTH = {"admin": 4, "manager": 3, "technician": 2, "researcher": 1}
_USERNAME = re.compile(r"[^A-Za-z0-9_.-]")


def role_map() -> dict[str, str]:
    mapping = {}
    for part in re.split(r"[,;\n]", settings.get("BIOBANK_SSO_ROLE_MAP", "") or ""):
        if "=" in part:
            group, role = (p.strip() for p in part.rsplit("=", 1))
            if role in ROLES and group:
                mapping[group.lower()] = role
            else:
                log.warning("BIOBANK_SSO_ROLE_MAP: ignored %r (roles are %s)", part, ", ".join(ROLES))
    return mapping


def role_for(groups) -> str | None:
    mapping = role_map()
    roles = {mapping[g.lower()] for g in groups if g and g.lower() in mapping}
    if roles:
        return max(roles, key=STRENGTH.get)
    default = settings.get("BIOBANK_SSO_DEFAULT_ROLE")
    return default if default in ROLES else None


def is_directory_user(user: User) -> bool:
    return user.password_hash.startswith(SSO_HASH)


def username_from(value: str) -> str:
    name = _USERNAME.sub("_", (value or "").strip())[:64]
    if len(name) < 2:
        raise NotAuthenticated(_("The directory gave no usable user name."), code="sso_no_username")
    return name


def provision(source: str, username: str, email: str | None, groups) -> User:
    """The inventory user for a directory user who just proved who they are (in the caller's
    transaction; the adapter commits)."""
    role = role_for(groups)
    actor = system_actor(f"sso-{source}")
    user = db.session.execute(select(User).where(User.username == username)).scalar_one_or_none()
    if user is not None and not is_directory_user(user):
        raise NotAuthenticated(_("%(user)s is a local account here; sign in with its password.", user=username),
                               code="local_account")
    if role is None:
        raise NotPermitted(_("%(user)s signed in, but none of their groups gives a role in the biobank; "
                             "ask the biobank's administrator.", user=username), code="sso_no_role")
    if user is None:
        user = User(username=username, password_hash=SSO_HASH + source, role=role, active=True, email=email)
        db.session.add(user)
        db.session.flush()
        custody.record(actor, "user.provisioned", "user", username, reason=f"first sign-in through {source}",
                       changes={"role": [None, role], "email": [None, email]})
        return user
    changes = {}
    if user.role != role:
        changes["role"] = [user.role, role]
    if not user.active:
        changes["active"] = [False, True]
    if email and user.email != email:
        changes["email"] = [user.email, email]
    if changes:
        user.role, user.active, user.email = role, True, email or user.email
        custody.record(actor, "user.updated", "user", username, reason=f"sign-in through {source}", changes=changes)
    return user
