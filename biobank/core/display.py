"""Human names for the codes the data stores (`LN2_vapor`, `tissue_frozen`, `sample.moved`...).

One table per kind of code; templates read them through the `display` filter
(`{{ sample.sample_type | display('sample_type') }}`), forms through `options()`.
A code missing from its table (a new custody action, a container kind a biobank
made up) reads as itself with underscores as spaces, so nothing is ever hidden.
The names are lazy translations (read in the reader's language when shown); keep each
name a whole phrase.
"""
from decimal import ROUND_HALF_UP, Decimal

from .lazy_text import lazy_gettext as _l

SAMPLE_TYPES = {
    "tissue_frozen": _l("Frozen tissue"),
    "tissue_ffpe": _l("FFPE tissue"),
    "plasma": _l("Plasma"),
    "serum": _l("Serum"),
    "buffy_coat": _l("Buffy coat"),
    "whole_blood": _l("Whole blood"),
    "dna": _l("DNA"),
    "rna": _l("RNA"),
    "pbmc": _l("PBMC"),
    "urine": _l("Urine"),
    "other": _l("Other"),
}

TEMPERATURES = {
    "RT": _l("Room temperature"),
    "2to10": _l("2–10 °C"),
    "-18to-35": _l("−18 to −35 °C"),
    "-60to-85": _l("−60 to −85 °C"),
    "LN2_vapor": _l("LN2 vapour phase"),
    "LN2_liquid": _l("LN2 liquid phase"),
}

# Sample statuses read inside sentences ("Not in storage (checked out)"), so lower case.
SAMPLE_STATUSES = {
    "available": _l("available"),
    "reserved": _l("reserved"),
    "checked_out": _l("checked out"),
    "shipped": _l("shipped"),
    "consumed": _l("consumed"),
    "discarded": _l("discarded"),
    "in_transit": _l("in transit"),
    "missing": _l("missing"),
}

# A request's status reads as the word people use for it at the bench and in e-mails.
REQUEST_STATUSES = {
    "draft": _l("draft"),
    "submitted": _l("submitted"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "picking": _l("picking"),
    "shipped": _l("shipped"),
    "completed": _l("completed"),
    "cancelled": _l("cancelled"),
}

# A request's part at one site (requests/parts.py).
REQUEST_PART_STATUSES = {
    "pending": _l("waiting for the site's decision"),
    "approved": _l("approved"),
    "rejected": _l("rejected"),
    "picking": _l("picking"),
    "shipped": _l("shipped"),
    "cancelled": _l("cancelled"),
}

CONTAINER_KINDS = {
    "site": _l("Site"),
    "tank": _l("Tank"),
    "freezer": _l("Freezer"),
    "rack": _l("Rack"),
    "box": _l("Box"),
    "shelf": _l("Shelf"),
    "drawer": _l("Drawer"),
    "room": _l("Room"),
}

ACTIONS = {
    "sample.registered": _l("Registered"),
    "sample.moved": _l("Moved"),
    "sample.checked_out": _l("Checked out"),
    "sample.returned": _l("Returned"),
    "sample.aliquoted": _l("Aliquoted"),
    "sample.discarded": _l("Discarded"),
    "sample.reserved": _l("Reserved for a request"),
    "sample.released": _l("Released from a request"),
    "sample.picked": _l("Picked for a request"),
    "sample.shipped": _l("Shipped"),
    "sample.corrected": _l("Corrected"),
    "sample.consumed": _l("Used up"),
    "container.created": _l("Container created"),
    "container.layout_built": _l("Tank layout built"),
    "container.moved": _l("Container moved"),
    "donor.consent_withdrawn": _l("Consent withdrawn"),
    "request.created": _l("Request created"),
    "request.submitted": _l("Request submitted"),
    "request.approved": _l("Request approved"),
    "request.rejected": _l("Request rejected"),
    "request.picking": _l("Request picking started"),
    "request.shipped": _l("Request shipped"),
    "request.completed": _l("Request completed"),
    "request.cancelled": _l("Request cancelled"),
    "label.printed": _l("Label printed"),
    "audit.verified": _l("Chain verified"),
    "user.created": _l("User created"),
    "user.updated": _l("User changed"),
    "user.role_changed": _l("Role changed"),
    "user.disabled": _l("User disabled"),
    "user.enabled": _l("User enabled"),
    "user.password_changed": _l("Password changed"),
    "user.password_reset_issued": _l("Password reset code issued"),
    "user.password_reset": _l("Password set with a reset code"),
    "user.provisioned": _l("User signed in from the directory"),
    "user.email_changed": _l("E-mail address changed"),
    "user.language_changed": _l("Language changed"),
    "user.sites_changed": _l("User's sites changed"),
    "sample.moved_with_container": _l("Moved with its box"),
    "sample.home_released": _l("Held place released"),
    "sample.dispatched": _l("Dispatched between sites"),
    "sample.received": _l("Received from another site"),
    "sample.missing": _l("Missing from a shipment"),
    "container.dispatched": _l("Box dispatched between sites"),
    "container.received": _l("Box received from another site"),
    "container.stored": _l("Box stored"),
    "container.missing": _l("Box missing from a shipment"),
    "request.item_removed": _l("Item taken off a request"),
    "request.filled": _l("Request line filled by criteria"),
    "request.part_approved": _l("Request part approved at a site"),
    "request.part_rejected": _l("Request part rejected at a site"),
    "request.part_shipped": _l("Request part shipped from a site"),
    "shipment.created": _l("Shipment created"),
    "shipment.item_added": _l("Added to a shipment"),
    "shipment.item_removed": _l("Taken off a shipment"),
    "shipment.dispatched": _l("Shipment dispatched"),
    "shipment.unexpected_item": _l("Unexpected item received"),
    "shipment.closed": _l("Shipment receipt closed"),
    "shipment.cancelled": _l("Shipment cancelled"),
    "site.created": _l("Site created"),
    "site.updated": _l("Site changed"),
    "alarm.opened": _l("Alarm opened"),
    "alarm.acknowledged": _l("Alarm acknowledged"),
    "alarm.closed": _l("Alarm closed"),
    "monitor.limits_set": _l("Alarm limits changed"),
    "tank.refilled": _l("LN2 refilled"),
    "tank.maintained": _l("Maintenance recorded"),
}

ROLES = {
    "admin": _l("admin"),
    "manager": _l("manager"),
    "technician": _l("technician"),
    "researcher": _l("researcher"),
    "network_manager": _l("network manager"),
}

# The facet and field names a person reads on the catalogue and in forms.
FIELDS = {
    "sample_type": _l("Sample type"),
    "diagnosis": _l("Diagnosis (ICD-10)"),
    "anatomical_site": _l("Anatomical site (ICD-O-3)"),
    "collection_year": _l("Year collected"),
    "unit": _l("Unit"),
    "storage_temperature": _l("Storage temperature"),
}

TABLES = {
    "sample_type": SAMPLE_TYPES,
    "temperature": TEMPERATURES,
    "status": SAMPLE_STATUSES,
    "request_status": REQUEST_STATUSES,
    "request_part_status": REQUEST_PART_STATUSES,
    "kind": CONTAINER_KINDS,
    "action": ACTIONS,
    "role": ROLES,
    "field": FIELDS,
}


def _name(code, table: str):
    """The (lazy) human name of `code` in `table`; an unknown code reads as itself, underscores as spaces."""
    if code is None or code == "":
        return ""
    text = str(code)
    name = TABLES[table].get(text)
    return name if name is not None else text.replace("_", " ")


def display(code, table: str) -> str:
    """The human name of `code` in `table`, in the reader's language."""
    return str(_name(code, table))


def options(table: str, codes=None) -> list[tuple[str, str]]:
    """(code, name) pairs for a select list, in the table's order (or the order of `codes`); the names
    stay lazy, so a form built at import time still shows them in the reader's language."""
    return [(code, _name(code, table)) for code in (codes if codes is not None else TABLES[table])]


def percent(part, whole) -> int:
    """Whole percent of part in whole, rounded half up: the one rounding every page uses."""
    if not whole:
        return 0
    value = (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    if value == 100 and part < whole:
        return 99   # never "100%" while a position is still free
    if value == 0 and part > 0:
        return 1    # never "0%" once something is stored
    return int(value)


def fraction_percent(fraction) -> int:
    """The same rounding for a fraction already computed (0.905 -> 91)."""
    if fraction is None:
        return 0
    return percent(Decimal(str(fraction)) * 1000000, 1000000)
