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
    "samples.correct_identity": _MANAGERS,  # donor, sample type
    "samples.correct_record": _MANAGERS,    # collection time, anatomical site, diagnosis, SPREC, temperature
    "samples.correct_quantity": _STAFF,     # volume, unit, notes
    "containers.move": _STAFF,              # a box to another rack, a rack to another tank
    "monitoring.read": _STAFF,       # readings, alarms, charts, tank log
    "monitoring.ingest": _STAFF,     # sensor readings in (a gateway signs in as a staff account)
    "monitoring.record": _STAFF,     # LN2 refills and maintenance
    "monitoring.limits": _MANAGERS,  # a tank's alarm limits
    "alarms.acknowledge": _STAFF,
}


def allowed(actor, permission: str) -> bool:
    return actor is not None and actor.role in MATRIX[permission]


def require(actor, permission: str) -> None:
    if not allowed(actor, permission):
        role = getattr(actor, "role", "anonymous")
        raise NotPermitted(f"A {role} may not do this ({permission}).")
