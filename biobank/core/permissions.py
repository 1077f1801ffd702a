"""The role matrix of DESIGN.md, enforced by services (not only by views)."""
from flask_babel import gettext as _

from .lazy_text import lazy_gettext as _l
from ..network import scope
from .display import ROLES as ROLE_NAMES
from .errors import NotPermitted

ROLES = ("admin", "manager", "technician", "researcher")

_ALL = frozenset(ROLES)
_STAFF = frozenset({"admin", "manager", "technician"})
_MANAGERS = frozenset({"admin", "manager"})

MATRIX: dict[str, frozenset] = {
    "users.manage": frozenset({"admin"}),
    "storage.layout": _MANAGERS,
    "samples.handle": _STAFF,        # register, store, move, check out, return, aliquot, discard, labels
    "catalogue.search": _ALL,
    "samples.identified": _STAFF,    # donor pseudonym, location, notes
    "requests.create": frozenset({"admin", "manager", "researcher"}),
    "requests.decide": _MANAGERS,
    "requests.fulfil": _STAFF,       # pick, ship
    "reports.read": _STAFF,          # capacity, audit log, reconciliation (technician: read)
    "reports.act": _MANAGERS,        # apply reconciliation corrections
    "consent.withdraw": _MANAGERS,
    "samples.correct_identity": _MANAGERS,  # donor, sample type
    "samples.correct_record": _MANAGERS,    # collection time, anatomical site, diagnosis, SPREC, temperature
    "samples.correct_quantity": _STAFF,     # volume, unit, notes
    "containers.move": _STAFF,              # a box to another rack, a rack to another tank
    "monitoring.read": _STAFF,       # readings, alarms, charts, tank log
    "monitoring.ingest": _STAFF,     # sensor readings in (a gateway signs in as a staff account)
    "monitoring.record": _STAFF,     # LN2 refills and maintenance
    "monitoring.limits": _MANAGERS,  # a tank's alarm limits
    "alarms.acknowledge": _STAFF,
    "shipments.handle": _STAFF,      # shipments between sites (pack, dispatch, receive, close)
}


# What each permission lets a person do, as the refusal says it ("A technician may not ...").
PERMISSION_NAMES = {
    "users.manage": _l("manage users"),
    "storage.layout": _l("build or change the storage layout"),
    "samples.handle": _l("register, move or handle samples"),
    "catalogue.search": _l("search the catalogue"),
    "samples.identified": _l("see donors and storage locations"),
    "requests.create": _l("create sample requests"),
    "requests.decide": _l("approve or reject requests"),
    "requests.fulfil": _l("pick or ship requests"),
    "reports.read": _l("open capacity, audit and reconciliation reports"),
    "reports.act": _l("apply reconciliation corrections"),
    "consent.withdraw": _l("withdraw a donor's consent"),
    "samples.correct_identity": _l("correct a sample's donor or type"),
    "samples.correct_record": _l("correct a sample's clinical record"),
    "samples.correct_quantity": _l("correct a sample's quantity or notes"),
    "containers.move": _l("move boxes or racks"),
    "monitoring.read": _l("see tank readings and alarms"),
    "monitoring.ingest": _l("send tank readings"),
    "monitoring.record": _l("record LN2 refills or maintenance"),
    "monitoring.limits": _l("change a tank's alarm limits"),
    "alarms.acknowledge": _l("acknowledge tank alarms"),
    "shipments.handle": _l("pack, dispatch or receive shipments between sites"),
}


def allowed(actor, permission: str) -> bool:
    return actor is not None and actor.role in MATRIX[permission]


def require(actor, permission: str) -> None:
    if not allowed(actor, permission):
        role = getattr(actor, "role", "anonymous")
        action = PERMISSION_NAMES.get(permission) or _("do this (%(permission)s)", permission=permission)
        raise NotPermitted(_("A %(role)s may not %(action)s.", role=ROLE_NAMES.get(role, role), action=action))


# -- site scope (DESIGN.md "Sites") ---------------------------------------------------
# Outside the network roles every row of the matrix holds only at the user's own sites.
# network_manager: a manager's rights, at every site.
ROLES = ROLES + ("network_manager",)
MATRIX = {name: (roles | {"network_manager"}) if "manager" in roles else roles for name, roles in MATRIX.items()}


def require_at(actor, permission: str, where) -> None:
    """require(), and that the actor may act at the site of `where` (a Site, a Container, a
    container id, or a sample: its place, else its last place). Admin and network_manager act
    at every site; everyone else only at their own sites. The one check every service calls."""
    require(actor, permission)
    if scope.is_network_actor(actor):
        return
    site = scope.site_of(where)
    if not scope.acts_at(actor, site):
        who = getattr(actor, "username", None) or _("You")
        if site is None:
            raise NotPermitted(_("That is not at any site now (in transit between sites?); %(who)s may not act on "
                                 "it.", who=who), code="other_site")
        raise NotPermitted(_("%(who)s does not work at %(site)s; only its own staff and network managers may "
                             "do this there.", who=who, site=site.name), code="other_site", details={"site": site.code})
