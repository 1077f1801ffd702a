"""Pure hashing of custody events: canonical JSON + the previous hash, SHA-256."""
import hashlib
import json
from datetime import datetime
from json.encoder import c_make_encoder, encode_basestring

GENESIS = "0" * 64

# The fields covered by the hash, in the order they are written out.
HASHED_FIELDS = ("seq", "at", "actor", "actor_role", "via", "action", "subject_type", "subject",
                 "sample_barcode", "container_id", "request_id", "from_location", "to_location",
                 "reason", "changes")


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # Decimal, date, ...


def _reusable_encoder(sort_keys: bool):
    """A function writing the same text as json.dumps(value, sort_keys=sort_keys,
    separators=(",", ":"), ensure_ascii=False, default=_default).

    json.dumps, and JSONEncoder.encode too, build a new C encoder for every call,
    about a third of the cost of encoding a custody event; an import encodes two
    texts per sample, so the C encoder is built once here. Without the C
    accelerator (some other Pythons), or with one called differently,
    JSONEncoder.encode does the work. The text is the one check_circular=False
    gives: event values never refer to themselves."""
    encoder = json.JSONEncoder(sort_keys=sort_keys, separators=(",", ":"), ensure_ascii=False,
                               default=_default, check_circular=False)
    try:  # the arguments JSONEncoder.iterencode gives it
        encode = c_make_encoder(None, encoder.default, encode_basestring, None, encoder.key_separator,
                                encoder.item_separator, sort_keys, encoder.skipkeys, encoder.allow_nan)
    except TypeError:  # no accelerator (None), or one that takes other arguments
        return encoder.encode
    return lambda value: "".join(encode(value, 0))


canonical_json = _reusable_encoder(sort_keys=True)


def timestamp_text(at: datetime) -> str:
    """How an event's time is written into the hashed text."""
    return at.isoformat(timespec="microseconds")


def _body(fields: dict, names=HASHED_FIELDS) -> dict:
    body = {name: fields[name] for name in names}
    if isinstance(body.get("at"), datetime):
        body["at"] = timestamp_text(body["at"])
    return body


def event_bytes(fields: dict) -> bytes:
    return canonical_json(_body(fields)).encode()


_BEFORE_SEQ = tuple(name for name in HASHED_FIELDS if name < "seq")
_AFTER_SEQ = tuple(name for name in HASHED_FIELDS if name > "seq")


def event_text_around_seq(fields: dict) -> tuple[str, str]:
    """The canonical text of an event cut where its sequence number goes, so that
    before + str(seq) + after == event_bytes(fields).decode(). Lets the database
    fill in the number (and the hash) while it holds the chain's head."""
    before = canonical_json(_body(fields, _BEFORE_SEQ))
    after = canonical_json(_body(fields, _AFTER_SEQ))
    return before[:-1] + ',"seq":', "," + after[1:]


def event_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(event_bytes(fields) + prev_hash.encode()).hexdigest()


# The hashed fields in the order canonical JSON writes them (sorted keys).
SORTED_FIELDS = tuple(sorted(HASHED_FIELDS))
# For a flat dict whose keys are already in that order, an encoder that keeps the
# order writes the same text as canonical_json without sorting it again.
in_order_json = _reusable_encoder(sort_keys=False)


def body_hash(body: dict, prev_hash: str) -> str:
    """event_hash for a body that holds exactly SORTED_FIELDS, in that order, with
    `at` as text and no nested values (every hashed column is a scalar): the bulk
    and verify paths build it so, and skip re-picking and re-sorting the fields."""
    return hashlib.sha256((in_order_json(body) + prev_hash).encode()).hexdigest()
