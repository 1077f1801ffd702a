"""The role matrix of DESIGN.md, enforced by services (not only by views)."""
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
}


def allowed(actor, permission: str) -> bool:
    return actor is not None and actor.role in MATRIX[permission]


def require(actor, permission: str) -> None:
    if not allowed(actor, permission):
        role = getattr(actor, "role", "anonymous")
        raise NotPermitted(f"A {role} may not {PERMISSION_NAMES.get(permission, f'do this ({permission})')}.")
