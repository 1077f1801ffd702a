"""Catalogue ids: what researchers see instead of tube barcodes.

A barcode may encode the donor (and consecutive sample ids often are one donor's
aliquots), so researchers get `CAT-XXXX-XXXX` instead: the sample id put through a
keyed permutation (a four-round Feistel network over 40 bits, its round function an
HMAC-SHA256 under a key derived from the app's secret). It is stable per sample, reveals
neither the barcode, the donor nor the order of registration, needs no column, and
turns back into the sample id for the cart and for requests. Changing the secret key
changes every catalogue id (carts and requests hold sample ids, so nothing is lost).
"""
import hashlib
import hmac
import re

from flask import current_app

_HALF = 20
_MASK = (1 << _HALF) - 1
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
_SHAPE = re.compile(r"^CAT-([0-9A-Z]{4})-?([0-9A-Z]{4})$")


def _key() -> bytes:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"biobank catalogue ids", hashlib.sha256).digest()


def _round(key: bytes, number: int, half: int) -> int:
    digest = hmac.new(key, bytes([number]) + half.to_bytes(3, "big"), hashlib.sha256).digest()
    return int.from_bytes(digest[:3], "big") & _MASK


def _permute(value: int, rounds) -> int:
    key = _key()
    left, right = value >> _HALF, value & _MASK
    for number in rounds:
        left, right = right, left ^ _round(key, number, right)
    return (right << _HALF) | left


def catalogue_id(sample_id: int) -> str:
    """The catalogue id of a sample (by its database id)."""
    value = _permute(sample_id, range(4))
    chars = "".join(_ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))
    return f"CAT-{chars[:4]}-{chars[4:]}"


def sample_id_of(text) -> int | None:
    """The sample id behind a catalogue id; None when the text is not one."""
    match = _SHAPE.match(text.strip().upper()) if isinstance(text, str) else None
    if match is None:
        return None
    value = 0
    for char in match.group(1) + match.group(2):
        value = (value << 5) | _ALPHABET.index(char)
    left, right = value & _MASK, value >> _HALF  # undo the final swap, then the rounds backwards
    key = _key()
    for number in reversed(range(4)):
        left, right = right ^ _round(key, number, left), left
    return (left << _HALF) | right
