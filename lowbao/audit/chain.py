"""The hash chain's format, shared by the writer (``services``) and the verifier (``selectors``).

Changing anything here breaks every stored hash: treat the payload layout as frozen.
"""

import hashlib
import ipaddress
import json
from datetime import UTC, datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, no spaces, UTF-8 text, no NaN/Infinity.

    Dates, decimals and UUIDs become strings (``DjangoJSONEncoder``).
    """
    return json.dumps(
        value,
        cls=DjangoJSONEncoder,
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
        allow_nan=False,
    )


def canonical_time(at: datetime) -> str:
    """UTC with microseconds, the precision both PostgreSQL and SQLite store."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_ip(ip: str | None) -> str | None:
    """The address in one spelling, whatever text the database hands back.

    IPv6 loses any zone id and is compressed; IPv4-mapped IPv6 becomes plain IPv4 (the model
    field unpacks it the same way). Raises ``ValueError`` for text that is not an address.
    """
    if not ip:
        return None
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv6Address):
        address = ipaddress.IPv6Address(int(address))
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
    return str(address)


def plain_json(value: Any) -> Any:
    """JSON data with integral floats as ints.

    PostgreSQL's jsonb prints ``1e20`` as ``100000000000000000000``, which reads back as an int;
    normalising both when storing and when hashing keeps the hash reproducible from the row.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [plain_json(item) for item in value]
    if isinstance(value, dict):
        return {key: plain_json(item) for key, item in value.items()}
    return value


def compute_event_hash(
    *,
    prev_hash: str,
    seq: int,
    at: datetime,
    actor_id: Any,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    area_code: str,
    changes: Any,
    ip: str | None,
    user_agent: str,
) -> str:
    """sha256 hex of ``prev_hash`` followed by the canonical JSON of the row's stored values."""
    payload = canonical_json(
        {
            "seq": seq,
            "at": canonical_time(at),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "area_code": area_code,
            "changes": plain_json(changes),
            "ip": canonical_ip(ip),
            "user_agent": user_agent,
        }
    )
    return hashlib.sha256((prev_hash + payload).encode("utf-8")).hexdigest()
