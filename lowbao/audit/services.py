"""Writing the audit trail. There is deliberately no update or delete service."""

import json
import re
from typing import Any, Protocol

from django.db import connection, models, transaction
from django.http import HttpRequest
from django.utils import timezone

from lowbao.audit.chain import canonical_ip, canonical_json, compute_event_hash, plain_json
from lowbao.audit.models import GENESIS_HASH, AuditEvent
from lowbao.people.masking import mask_value_in_text

# Key of the PostgreSQL advisory lock that serialises chain writers: the bytes b"lowbaoAU".
AUDIT_CHAIN_LOCK_KEY = 0x6C6F7762616F4155
SYSTEM_ACTOR_LABEL = "system"
_AREA_CODE = re.compile(r"\d{12}")


def _max_length(field_name: str) -> int:
    return AuditEvent._meta.get_field(field_name).max_length  # type: ignore[return-value]


_ACTION_LENGTH = _max_length("action")
_ACTOR_LABEL_LENGTH = _max_length("actor_label")
_OBJECT_TYPE_LENGTH = _max_length("object_type")
_OBJECT_ID_LENGTH = _max_length("object_id")
_USER_AGENT_LENGTH = _max_length("user_agent")


class HasAreaCode(Protocol):
    code: str


def record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    changes: dict[str, Any] | None = None,
    area: HasAreaCode | str | None = None,
    request: HttpRequest | None = None,
    object_type: str = "",
    object_id: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Append one event to the audit trail, inside the caller's transaction.

    Call it from the service that makes the change, in the same ``transaction.atomic()``: if the
    change rolls back, so does the event, and no ``seq`` is used up.

    - ``actor``: the acting user, or ``None`` (or an anonymous user) for system work; then
      ``actor_label`` names it (``"system:<task>"``, or the attempted username of a failed login)
      and defaults to ``"system"``.
    - ``obj`` fills ``object_type`` (``"app_label.model"``) and ``object_id``; explicit
      ``object_type``/``object_id`` win.
    - ``area``: an object with a 12-digit ``code``, or the code itself.
    - ``changes``: ``{"field": [before, after]}`` or free data. Dates, decimals and UUIDs become
      strings, and every ID-number-looking string is masked before it is stored.
    - ``request`` supplies the client address and user agent.

    Writers are serialised (PostgreSQL: a transaction-level advisory lock, held until the caller
    commits; SQLite: its single writer), so keep audited transactions short. Under REPEATABLE READ
    or SERIALIZABLE a stale snapshot makes the insert fail on the unique ``seq`` instead of forking
    the chain.
    """
    if not action or len(action) > _ACTION_LENGTH:
        raise ValueError(f"audit action must be 1-{_ACTION_LENGTH} characters, got {action!r}")
    actor_pk = getattr(actor, "pk", None)
    if actor_pk is None:
        actor = None
    label = actor_label or (actor.get_username() if actor is not None else SYSTEM_ACTOR_LABEL)
    if obj is not None:
        if obj.pk is None:
            raise ValueError("audit record() needs a saved object")
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    object_id = str(object_id)
    if len(object_type) > _OBJECT_TYPE_LENGTH or len(object_id) > _OBJECT_ID_LENGTH:
        raise ValueError(f"audit object too long: {object_type!r} {object_id!r}")
    fields: dict[str, Any] = {
        "actor_id": actor_pk,
        "actor_label": _clean_text(label)[:_ACTOR_LABEL_LENGTH],
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "area_code": _area_code(area),
        "changes": _stored_changes(changes),
        "ip": _client_ip(request),
        "user_agent": _user_agent(request),
    }
    # No savepoint of its own: a failed insert fails the caller's transaction anyway, and the
    # SAVEPOINT/RELEASE pair would be two more round trips on every audited write (quality.md P4).
    with transaction.atomic(savepoint=False):
        _lock_chain()
        last = AuditEvent.objects.order_by("-seq").values_list("seq", "hash").first()
        seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
        at = timezone.now()
        event = AuditEvent(
            seq=seq,
            at=at,
            prev_hash=prev_hash,
            hash=compute_event_hash(prev_hash=prev_hash, seq=seq, at=at, **fields),
            **fields,
        )
        event.save(force_insert=True)
    return event


def _lock_chain() -> None:
    """Serialise chain writers until the surrounding transaction ends.

    SQLite allows one writer at a time already; a second writer that read the old last row fails
    with "database is locked" (or on the unique ``seq``) rather than forking the chain.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [AUDIT_CHAIN_LOCK_KEY])


def _area_code(area: HasAreaCode | str | None) -> str:
    if area is None or area == "":
        return ""
    code = area if isinstance(area, str) else area.code
    if not _AREA_CODE.fullmatch(code or ""):
        raise ValueError(f"audit area code must be 12 digits, got {code!r}")
    return code


def _stored_changes(changes: dict[str, Any] | None) -> dict[str, Any]:
    """Plain JSON (what the JSONField will hand back), NUL-free and with ID numbers masked."""
    if changes is None:
        return {}
    if not isinstance(changes, dict):
        raise TypeError("audit changes must be a dict")
    return _mask(plain_json(json.loads(canonical_json(changes))))


def _mask(value: Any) -> Any:
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, list):
        return [_mask(item) for item in value]
    if isinstance(value, dict):
        return {_clean_text(key): _mask(item) for key, item in value.items()}
    return value


def _clean_text(text: str) -> str:
    """No NUL (PostgreSQL text refuses it) and never a plain ID number."""
    return mask_value_in_text(text.replace("\x00", ""))


def _client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    try:
        return canonical_ip(request.META.get("REMOTE_ADDR"))
    except ValueError:
        return None


def _user_agent(request: HttpRequest | None) -> str:
    if request is None:
        return ""
    return _clean_text(str(request.META.get("HTTP_USER_AGENT", "")))[:_USER_AGENT_LENGTH]
