"""Check a username and password against the hospital's LDAP directory (ldap3).

Settings: BIOBANK_LDAP_URL (ldap://host:389 or ldaps://...), BIOBANK_LDAP_BASE_DN (where
users are), BIOBANK_LDAP_BIND_DN and BIOBANK_LDAP_BIND_PASSWORD (a service account that
may search; unset: anonymous search), BIOBANK_LDAP_USER_FILTER ("(uid={username})"),
BIOBANK_LDAP_GROUP_BASE_DN (default: the base DN), BIOBANK_LDAP_GROUP_FILTER
("(|(&(objectClass=groupOfNames)(member={dn}))(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))"),
BIOBANK_LDAP_EMAIL_ATTRIBUTE ("mail"), BIOBANK_LDAP_STARTTLS, BIOBANK_LDAP_TIMEOUT (10 s).
Groups are the cn of each group found, and of each memberOf value the user carries.
"""
import logging
from dataclasses import dataclass

import ldap3
from flask_babel import gettext as _
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import parse_dn

from ..core.errors import DomainError
from . import settings

log = logging.getLogger(__name__)
DEFAULT_GROUP_FILTER = ("(|(&(objectClass=groupOfNames)(member={dn}))"
                        "(&(objectClass=groupOfUniqueNames)(uniqueMember={dn})))")


class DirectoryUnavailable(DomainError):
    status = 503
    code = "directory_unavailable"


@dataclass(frozen=True)
class DirectoryUser:
    username: str
    email: str | None
    groups: tuple


def _server():
    return ldap3.Server(settings.get("BIOBANK_LDAP_URL"), get_info=ldap3.NONE,
                        connect_timeout=int(settings.get("BIOBANK_LDAP_TIMEOUT", 10)))


def _connection(user=None, password=None):
    connection = ldap3.Connection(_server(), user=user, password=password, auto_bind=ldap3.AUTO_BIND_NONE,
                                  receive_timeout=int(settings.get("BIOBANK_LDAP_TIMEOUT", 10)),
                                  raise_exceptions=False)
    connection.open()
    if settings.flag("BIOBANK_LDAP_STARTTLS"):
        connection.start_tls()
    return connection


def _cn(dn: str) -> str:
    try:
        return next((value for attribute, value, _ in parse_dn(dn) if attribute.lower() == "cn"), dn)
    except LDAPException:
        return dn


def verify(username: str, password: str) -> DirectoryUser | None:
    """The directory user when the password is right, None when it is not (or no such user)."""
    if not password:
        return None   # an empty password would be an "unauthenticated bind" that succeeds
    email_attribute = settings.get("BIOBANK_LDAP_EMAIL_ATTRIBUTE", "mail")
    try:
        search = _connection(settings.get("BIOBANK_LDAP_BIND_DN"), settings.get("BIOBANK_LDAP_BIND_PASSWORD"))
        if settings.get("BIOBANK_LDAP_BIND_DN") and not search.bind():
            log.error("LDAP: the service account cannot bind: %s", search.result.get("description"))
            raise DirectoryUnavailable(_("The hospital directory refused the biobank's service account."))
        user_filter = settings.get("BIOBANK_LDAP_USER_FILTER", "(uid={username})").format(
            username=escape_filter_chars(username))
        search.search(settings.get("BIOBANK_LDAP_BASE_DN"), user_filter, search_scope=ldap3.SUBTREE,
                      attributes=[email_attribute, "memberOf"], size_limit=2)
        entries = list(search.entries)
        if len(entries) != 1:
            search.unbind()
            return None
        entry = entries[0]
        dn = entry.entry_dn
        check = _connection(dn, password)
        if not check.bind():
            check.unbind()
            search.unbind()
            return None
        check.unbind()
        groups = {_cn(value) for value in (entry["memberOf"].values if "memberOf" in entry else [])}
        group_filter = settings.get("BIOBANK_LDAP_GROUP_FILTER", DEFAULT_GROUP_FILTER).format(
            dn=escape_filter_chars(dn), username=escape_filter_chars(username))
        search.search(settings.get("BIOBANK_LDAP_GROUP_BASE_DN") or settings.get("BIOBANK_LDAP_BASE_DN"),
                      group_filter, search_scope=ldap3.SUBTREE, attributes=["cn"])
        groups |= {str(g["cn"].value) for g in search.entries if "cn" in g}
        email = str(entry[email_attribute].value) if email_attribute in entry and entry[email_attribute].value \
            else None
        search.unbind()
        return DirectoryUser(username=username, email=email, groups=tuple(sorted(groups)))
    except LDAPException as error:
        log.error("LDAP: %s", error)
        raise DirectoryUnavailable(_("The hospital directory cannot be reached; try again shortly, "
                                     "or sign in with a local account.")) from None
