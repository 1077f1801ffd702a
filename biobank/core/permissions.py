"""The role matrix of DESIGN.md, enforced by services (not only by views)."""
from ..network import scope
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
    "users.manage": "manage users",
    "storage.layout": "build or change the storage layout",
    "samples.handle": "register, move or handle samples",
    "catalogue.search": "search the catalogue",
    "samples.identified": "see donors and storage locations",
    "requests.create": "create sample requests",
    "requests.decide": "approve or reject requests",
    "requests.fulfil": "pick or ship requests",
    "reports.read": "open capacity, audit and reconciliation reports",
    "reports.act": "apply reconciliation corrections",
    "consent.withdraw": "withdraw a donor's consent",
    "samples.correct_identity": "correct a sample's donor or type",
    "samples.correct_record": "correct a sample's clinical record",
    "samples.correct_quantity": "correct a sample's quantity or notes",
    "containers.move": "move boxes or racks",
    "monitoring.read": "see tank readings and alarms",
    "monitoring.ingest": "send tank readings",
    "monitoring.record": "record LN2 refills or maintenance",
    "monitoring.limits": "change a tank's alarm limits",
    "alarms.acknowledge": "acknowledge tank alarms",
    "shipments.handle": "pack, dispatch or receive shipments between sites",
}


def allowed(actor, permission: str) -> bool:
    return actor is not None and actor.role in MATRIX[permission]


def require(actor, permission: str) -> None:
    if not allowed(actor, permission):
        role = getattr(actor, "role", "anonymous")
        raise NotPermitted(f"A {role} may not {PERMISSION_NAMES.get(permission, f'do this ({permission})')}.")


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
        who = getattr(actor, "username", "You")
        if site is None:
            raise NotPermitted(f"That is not at any site now (in transit between sites?); {who} may not act on "
                               "it.", code="other_site")
        raise NotPermitted(f"{who} does not work at {site.name}; only its own staff and network managers may "
                           "do this there.", code="other_site", details={"site": site.code})
