"""Quantities of material: a volume, a mass or a count, kept exact.

The sample table stores a quantity as NUMERIC(12, 4): four decimal places in
the sample's own unit. An amount that needs a fifth place cannot be stored as
given, so it is refused rather than rounded; zero, negative and non-finite
amounts are refused too. Converting between units of one kind (mL and µL, mg
and µg) is exact or refused; counts (pieces, slides, cells) are whole numbers
and convert only to themselves.
"""
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from flask_babel import gettext as _

from ..core.lazy_text import lazy_gettext as _l
from ..core.errors import InvalidInput

SCALE = 4                           # decimal places the sample table keeps
STEP = Decimal(1).scaleb(-SCALE)    # 0.0001
MAX_AMOUNT = Decimal("1e7")

# unit -> (kind, size in the smallest unit of that kind)
UNIT_SIZES = {
    "mL": ("volume", 1000), "uL": ("volume", 1), "µL": ("volume", 1),
    "g": ("mass", 10 ** 9), "mg": ("mass", 10 ** 6), "ug": ("mass", 1000), "µg": ("mass", 1000),
    "ng": ("mass", 1),
    "pieces": ("pieces", 1), "slides": ("slides", 1), "cells": ("cells", 1),
}
UNITS = tuple(UNIT_SIZES)
COUNT_KINDS = frozenset({"pieces", "slides", "cells"})
KIND_NAMES = {"volume": _l("a volume"), "mass": _l("a mass"), "pieces": _l("a count of pieces"),
              "slides": _l("a count of slides"), "cells": _l("a count of cells")}


def kind_of(unit: str | None) -> str | None:
    return UNIT_SIZES[unit][0] if unit in UNIT_SIZES else None


def amount_problem(value, unit: str | None) -> tuple[Decimal | None, str | None]:
    """(the exact amount, None) or (None, why it is refused)."""
    if isinstance(value, bool) or value is None:
        return None, _("'%(value)s' is not a quantity.", value=value)
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None, _("'%(value)s' is not a quantity (a number more than zero).", value=value)
    if not amount.is_finite():
        return None, _("'%(value)s' is not a quantity (a finite number more than zero).", value=value)
    if amount <= 0:
        return None, _("A quantity must be more than zero, not %(value)s.", value=value)
    if amount > MAX_AMOUNT:
        return None, _("%(value)s is more than any tube holds (at most %(max)s).", value=value, max=f"{MAX_AMOUNT:f}")
    if amount != amount.quantize(STEP):
        return None, _("%(value)s %(unit)s is finer than the %(step)s %(unit)s quantities are kept to; "
                       "give it with at most four decimal places (or in a smaller unit).", value=value,
                       unit=unit or "", step=STEP).replace("  ", " ")
    if kind_of(unit) in COUNT_KINDS and amount != amount.to_integral_value():
        return None, _("%(value)s %(unit)s is not a whole number of %(unit)s.", value=value, unit=unit)
    return amount.quantize(STEP), None


@lru_cache(maxsize=4096)
def known_amount(text: str, unit: str | None) -> Decimal | None:
    """amount_problem's exact amount for a text, or None where it refuses the text; worked out
    once per distinct text and unit (a file's rows share few volumes). The refusal's words
    are amount_problem's, in the language of the moment, so they are not kept here."""
    amount, problem = amount_problem(text, unit)
    return None if problem else amount


def parse_amount(value, unit: str | None) -> Decimal:
    """The exact amount, or 422 invalid_quantity saying why not."""
    amount, problem = amount_problem(value, unit)
    if problem:
        raise InvalidInput(problem, code="invalid_quantity")
    return amount


def convert(amount: Decimal, from_unit: str, to_unit: str) -> Decimal:
    """The same amount in another unit of the same kind, exactly; refused otherwise."""
    if from_unit == to_unit:
        return amount
    from_kind, to_kind = kind_of(from_unit), kind_of(to_unit)
    if from_kind is None or from_kind != to_kind:
        raise InvalidInput(_("%(amount)s %(unit)s cannot be taken from a sample measured in %(other)s: that is "
                             "%(kind)s.", amount=f"{amount:f}", unit=from_unit, other=to_unit,
                             kind=KIND_NAMES.get(to_kind) or _("another kind of quantity")),
                           code="unit_mismatch")
    converted = amount * UNIT_SIZES[from_unit][1] / UNIT_SIZES[to_unit][1]
    if converted != converted.quantize(STEP):
        raise InvalidInput(_("%(amount)s %(unit)s is %(converted)s %(other)s, finer than the %(step)s %(other)s the "
                             "parent's quantity is kept to.", amount=f"{amount:f}", unit=from_unit,
                             converted=f"{converted.normalize():f}", other=to_unit, step=STEP),
                           code="invalid_quantity")
    return converted.quantize(STEP)


def shown(amount: Decimal | None, unit: str | None) -> str:
    """'0.5 mL', 'unknown quantity'."""
    if amount is None:
        return _("an unknown quantity")
    return f"{amount.normalize():f} {unit or ''}".strip()
