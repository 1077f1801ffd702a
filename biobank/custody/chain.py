"""Pure hashing of custody events: canonical JSON + the previous hash, SHA-256."""
import hashlib
import json
from datetime import datetime

GENESIS = "0" * 64

# The fields covered by the hash, in the order they are written out.
HASHED_FIELDS = ("seq", "at", "actor", "actor_role", "via", "action", "subject_type", "subject",
                 "sample_barcode", "container_id", "request_id", "from_location", "to_location",
                 "reason", "changes")


def canonical_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_default)


def _default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)  # Decimal, date, ...


def event_bytes(fields: dict) -> bytes:
    body = {name: fields[name] for name in HASHED_FIELDS}
    if isinstance(body["at"], datetime):
        body["at"] = body["at"].isoformat(timespec="microseconds")
    return canonical_json(body).encode()


def event_hash(fields: dict, prev_hash: str) -> str:
    return hashlib.sha256(event_bytes(fields) + prev_hash.encode()).hexdigest()
