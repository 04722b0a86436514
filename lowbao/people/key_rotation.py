"""Key rotation of the protected (encrypted) columns (quality.md S4).

A protected column is a text column named ``*_ciphertext`` holding ``lowbao.people.protection``
tokens (``"<key_id>:<payload>"``). ``protected_columns()`` finds them on every installed model,
so a new one is rotated without touching this module.

``field_keys_rotate`` re-encrypts, under ``FIELD_ENCRYPTION_CURRENT_KEY_ID``, every token still
written under another key:

- in batches, walking each table by primary key (keyset, never OFFSET);
- with a conditional update — a row is rewritten only if it still holds the token that was read,
  so a concurrent writer (which always writes under the current key) wins and nothing is lost;
- idempotent and safe to interrupt: rows already under the current key are never selected, so a
  re-run continues where the last one stopped and a complete run changes nothing the second time;
- audited per column when the column is done (``protection.key_rotate``, counts per key id).

``updated_at`` is left alone: rotation changes no business data.
"""

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import models
from django.db.models import Case, F, Q, Value, When

from lowbao.audit.services import record
from lowbao.people.protection import (
    KEY_ID_SEPARATOR,
    DecryptionError,
    UnknownKeyError,
    current_key_id,
    decrypt,
    key_id_of,
    reencrypt,
)

CIPHERTEXT_SUFFIX = "_ciphertext"
DEFAULT_BATCH_SIZE = 1000
MALFORMED = "(格式错误)"
ACTOR_LABEL = "system:rotate_field_keys"


@dataclass(frozen=True)
class ProtectedColumn:
    model: type[models.Model]
    field_name: str

    @property
    def label(self) -> str:
        return f"{self.model._meta.label_lower}.{self.field_name}"


def protected_columns() -> list[ProtectedColumn]:
    """Every ``*_ciphertext`` text column of every installed, managed, concrete model."""
    columns = []
    for model in apps.get_models():
        meta = model._meta
        if meta.abstract or meta.proxy or not meta.managed:
            continue
        for model_field in meta.concrete_fields:
            if model_field.name.endswith(CIPHERTEXT_SUFFIX) and isinstance(
                model_field, models.TextField | models.CharField
            ):
                columns.append(ProtectedColumn(model=model, field_name=model_field.name))
    return sorted(columns, key=lambda column: column.label)


@dataclass
class ColumnRotation:
    label: str
    # Rows per key id before this run (empty values not counted).
    before: dict[str, int] = field(default_factory=dict)
    rotated: int = 0
    # Rows that changed between read and write (a concurrent writer): left for the next run.
    skipped: int = 0
    # Rows that cannot be read: key id not configured, or a damaged token.
    unreadable: dict[str, int] = field(default_factory=dict)


@dataclass
class RotationReport:
    current_key_id: str
    dry_run: bool
    columns: list[ColumnRotation]

    @property
    def rotated(self) -> int:
        return sum(column.rotated for column in self.columns)

    @property
    def unreadable(self) -> int:
        return sum(sum(column.unreadable.values()) for column in self.columns)


def _batches(
    column: ProtectedColumn, *, current: str, batch_size: int
) -> Iterator[list[tuple[int, str]]]:
    """``(pk, token)`` of rows not under the current key, ``batch_size`` at a time, by pk."""
    name = column.field_name
    candidates = (
        column.model._default_manager.exclude(**{name: ""})
        .exclude(**{f"{name}__isnull": True})
        .exclude(**{f"{name}__startswith": f"{current}{KEY_ID_SEPARATOR}"})
    )
    last_pk = None
    while True:
        page = candidates if last_pk is None else candidates.filter(pk__gt=last_pk)
        rows = list(page.order_by("pk").values_list("pk", name)[:batch_size])
        if not rows:
            return
        yield rows
        last_pk = rows[-1][0]


def _conditional_update(column: ProtectedColumn, changes: list[tuple[int, str, str]]) -> int:
    """One UPDATE per batch: each row gets its new token only if it still holds the old one."""
    name = column.field_name
    manager = column.model._default_manager
    manager.filter(pk__in=[pk for pk, _old, _new in changes]).update(
        **{
            name: Case(
                *(When(Q(pk=pk) & Q(**{name: old}), then=Value(new)) for pk, old, new in changes),
                default=F(name),
                output_field=column.model._meta.get_field(name),
            )
        }
    )
    return manager.filter(
        pk__in=[pk for pk, _old, _new in changes], **{f"{name}__in": [new for *_, new in changes]}
    ).count()


def _rotate_column(
    column: ProtectedColumn, *, current: str, batch_size: int, dry_run: bool
) -> ColumnRotation:
    result = ColumnRotation(label=column.label)
    manager = column.model._default_manager
    under_current = manager.filter(
        **{f"{column.field_name}__startswith": f"{current}{KEY_ID_SEPARATOR}"}
    ).count()
    before: Counter[str] = Counter()
    unreadable: Counter[str] = Counter()
    for rows in _batches(column, current=current, batch_size=batch_size):
        changes = []
        for pk, token in rows:
            try:
                key_id = key_id_of(token)
            except DecryptionError:
                before[MALFORMED] += 1
                unreadable[MALFORMED] += 1
                continue
            before[key_id] += 1
            try:
                if dry_run:
                    decrypt(token)
                else:
                    changes.append((pk, token, reencrypt(token)))
            except UnknownKeyError:
                unreadable[key_id] += 1
            except DecryptionError:
                unreadable[MALFORMED] += 1
        if changes:
            rotated = _conditional_update(column, changes)
            result.rotated += rotated
            result.skipped += len(changes) - rotated
    if under_current:
        before[current] += under_current
    result.before = dict(sorted(before.items()))
    result.unreadable = dict(sorted(unreadable.items()))
    return result


def field_keys_rotate(
    *, actor: object = None, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> RotationReport:
    """Re-encrypt every protected value still under an older key with the current key.

    ``dry_run`` counts rows per key id and checks that each can be decrypted, writing nothing.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    current = current_key_id()
    report = RotationReport(current_key_id=current, dry_run=dry_run, columns=[])
    for column in protected_columns():
        result = _rotate_column(column, current=current, batch_size=batch_size, dry_run=dry_run)
        report.columns.append(result)
        if not dry_run and (result.rotated or result.skipped or result.unreadable):
            record(
                actor=actor if getattr(actor, "pk", None) else None,
                action="protection.key_rotate",
                object_type=column.model._meta.label_lower,
                object_id=column.field_name,
                changes={
                    "current_key_id": current,
                    "before": result.before,
                    "rotated": result.rotated,
                    "skipped": result.skipped,
                    "unreadable": result.unreadable,
                },
                actor_label="" if getattr(actor, "pk", None) else ACTOR_LABEL,
            )
    return report
