"""Human names for the codes the data stores (`LN2_vapor`, `tissue_frozen`, `sample.moved`...).

One table per kind of code; templates read them through the `display` filter
(`{{ sample.sample_type | display('sample_type') }}`), forms through `options()`.
A code missing from its table (a new custody action, a container kind a biobank
made up) reads as itself with underscores as spaces, so nothing is ever hidden.
The names are plain strings; the message catalogues of a later release wrap
them, so keep each name a whole phrase.
"""
from decimal import ROUND_HALF_UP, Decimal

SAMPLE_TYPES = {
    "tissue_frozen": "Frozen tissue",
    "tissue_ffpe": "FFPE tissue",
    "plasma": "Plasma",
    "serum": "Serum",
    "buffy_coat": "Buffy coat",
    "whole_blood": "Whole blood",
    "dna": "DNA",
    "rna": "RNA",
    "pbmc": "PBMC",
    "urine": "Urine",
    "other": "Other",
}

TEMPERATURES = {
    "RT": "Room temperature",
    "2to10": "2–10 °C",
    "-18to-35": "−18 to −35 °C",
    "-60to-85": "−60 to −85 °C",
    "LN2_vapor": "LN2 vapour phase",
    "LN2_liquid": "LN2 liquid phase",
}

# Sample statuses read inside sentences ("Not in storage (checked out)"), so lower case.
SAMPLE_STATUSES = {
    "available": "available",
    "reserved": "reserved",
    "checked_out": "checked out",
    "shipped": "shipped",
    "consumed": "consumed",
    "discarded": "discarded",
}

# A request's status reads as the word people use for it at the bench and in e-mails.
REQUEST_STATUSES = {
    "draft": "draft",
    "submitted": "submitted",
    "approved": "approved",
    "rejected": "rejected",
    "picking": "picking",
    "shipped": "shipped",
    "completed": "completed",
    "cancelled": "cancelled",
}

# A request's part at one site (requests/parts.py).
REQUEST_PART_STATUSES = {
    "pending": "waiting for the site's decision",
    "approved": "approved",
    "rejected": "rejected",
    "picking": "picking",
    "shipped": "shipped",
    "cancelled": "cancelled",
}

CONTAINER_KINDS = {
    "site": "Site",
    "tank": "Tank",
    "freezer": "Freezer",
    "rack": "Rack",
    "box": "Box",
    "shelf": "Shelf",
    "drawer": "Drawer",
    "room": "Room",
}

ACTIONS = {
    "sample.registered": "Registered",
    "sample.moved": "Moved",
    "sample.checked_out": "Checked out",
    "sample.returned": "Returned",
    "sample.aliquoted": "Aliquoted",
    "sample.discarded": "Discarded",
    "sample.reserved": "Reserved for a request",
    "sample.released": "Released from a request",
    "sample.picked": "Picked for a request",
    "sample.shipped": "Shipped",
    "sample.corrected": "Corrected",
    "sample.consumed": "Used up",
    "container.created": "Container created",
    "container.layout_built": "Tank layout built",
    "container.moved": "Container moved",
    "donor.consent_withdrawn": "Consent withdrawn",
    "request.created": "Request created",
    "request.submitted": "Request submitted",
    "request.approved": "Request approved",
    "request.rejected": "Request rejected",
    "request.picking": "Request picking started",
    "request.shipped": "Request shipped",
    "request.completed": "Request completed",
    "request.cancelled": "Request cancelled",
    "label.printed": "Label printed",
    "audit.verified": "Chain verified",
    "user.created": "User created",
    "user.updated": "User changed",
    "user.role_changed": "Role changed",
    "user.disabled": "User disabled",
    "user.enabled": "User enabled",
    "user.password_changed": "Password changed",
    "user.password_reset_issued": "Password reset code issued",
    "user.password_reset": "Password set with a reset code",
    "user.provisioned": "User signed in from the directory",
    "user.email_changed": "E-mail address changed",
    "user.sites_changed": "User's sites changed",
    "sample.moved_with_container": "Moved with its box",
    "sample.home_released": "Held place released",
    "sample.dispatched": "Dispatched between sites",
    "sample.received": "Received from another site",
    "sample.missing": "Missing from a shipment",
    "container.dispatched": "Box dispatched between sites",
    "container.received": "Box received from another site",
    "container.stored": "Box stored",
    "container.missing": "Box missing from a shipment",
    "request.item_removed": "Item taken off a request",
    "request.filled": "Request line filled by criteria",
    "request.part_approved": "Request part approved at a site",
    "request.part_rejected": "Request part rejected at a site",
    "request.part_shipped": "Request part shipped from a site",
    "shipment.created": "Shipment created",
    "shipment.item_added": "Added to a shipment",
    "shipment.item_removed": "Taken off a shipment",
    "shipment.dispatched": "Shipment dispatched",
    "shipment.unexpected_item": "Unexpected item received",
    "shipment.closed": "Shipment receipt closed",
    "shipment.cancelled": "Shipment cancelled",
    "site.created": "Site created",
    "site.updated": "Site changed",
    "alarm.opened": "Alarm opened",
    "alarm.acknowledged": "Alarm acknowledged",
    "alarm.closed": "Alarm closed",
    "monitor.limits_set": "Alarm limits changed",
    "tank.refilled": "LN2 refilled",
    "tank.maintained": "Maintenance recorded",
}

ROLES = {
    "admin": "admin",
    "manager": "manager",
    "technician": "technician",
    "researcher": "researcher",
}

# The facet and field names a person reads on the catalogue and in forms.
FIELDS = {
    "sample_type": "Sample type",
    "diagnosis": "Diagnosis (ICD-10)",
    "anatomical_site": "Anatomical site (ICD-O-3)",
    "collection_year": "Year collected",
    "unit": "Unit",
    "storage_temperature": "Storage temperature",
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


def display(code, table: str) -> str:
    """The human name of `code` in `table`; an unknown code reads as itself, underscores as spaces."""
    if code is None or code == "":
        return ""
    names = TABLES[table]
    text = str(code)
    name = names.get(text)
    if name is not None:
        return name
    return text.replace("_", " ")


def options(table: str, codes=None) -> list[tuple[str, str]]:
    """(code, name) pairs for a select list, in the table's order (or the order of `codes`)."""
    return [(code, display(code, table)) for code in (codes if codes is not None else TABLES[table])]


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
