"""A digest of every table an import may write, to prove that one wrote nothing (quality.md R1,
R6): the domain tables of every ledger kind, the areas and the audit trail. The import's own
bookkeeping (``ImportBatch``/``ImportRow``) is left out: a rejected file is recorded there on
purpose, with every problem."""

import hashlib
import json
from typing import Any

from django.db import connection
from django.db.models import DateTimeField, Field, Model

from cases.models import (
    BenefitPeriod,
    GuaranteeStandard,
    Household,
    HouseholdAsset,
    HouseholdMember,
    MemberIncome,
)
from lowbao.areas.models import Area
from lowbao.audit.models import AuditEvent
from lowbao.people.models import Person
from poverty.models import (
    DisabilityRecord,
    RegistryHousehold,
    RegistryMember,
    VerificationReport,
)

WRITTEN_BY_IMPORTS = (
    Person,
    Household,
    HouseholdMember,
    MemberIncome,
    HouseholdAsset,
    BenefitPeriod,
    GuaranteeStandard,
    RegistryHousehold,
    RegistryMember,
    DisabilityRecord,
    VerificationReport,
    Area,
    AuditEvent,
)


def database_digest() -> str:
    """SHA-256 over every row of ``WRITTEN_BY_IMPORTS`` (all columns, by primary key)."""
    state = {
        model._meta.label: list(model.objects.order_by("pk").values_list())
        for model in WRITTEN_BY_IMPORTS
    }
    return hashlib.sha256(json.dumps(state, default=str).encode()).hexdigest()


STAGING_PATTERN = r"lowbao\_stage\_%"


def staging_tables() -> list[str]:
    """The temporary staging tables left on this connection (there should be none once an
    import has been applied or rejected)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = pg_my_temp_schema() "
                "AND relkind = 'r' AND relname LIKE %s",
                [STAGING_PATTERN],
            )
        else:
            cursor.execute(
                "SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE %s "
                "ESCAPE '\\'",
                [STAGING_PATTERN],
            )
        return sorted(name for (name,) in cursor.fetchall())


# Columns of an audit event that differ between two identical runs: its place in the chain, its
# time and the id of the object it names (ids are not reused after a reset).
VOLATILE_AUDIT_COLUMNS = frozenset({"seq", "at", "prev_hash", "hash", "object_id"})


def _kept_fields(model: type[Model]) -> list[Field]:
    return [
        field
        for field in model._meta.concrete_fields
        if not field.primary_key
        and not isinstance(field, DateTimeField)  # timestamps of the run
        and not field.name.endswith("_ciphertext")  # a fresh random nonce per encryption
        and not (model is AuditEvent and field.name in VOLATILE_AUDIT_COLUMNS)
    ]


def content_digest(*, audit_after_seq: int = 0) -> str:
    """SHA-256 over the *content* of ``WRITTEN_BY_IMPORTS``, comparable between two runs of the
    same import on a database emptied in between (the worker-kill rounds): primary keys,
    timestamps and ciphertexts are left out, a reference to another row of these tables is
    replaced by that row's content digest, rows are compared as a sorted multiset, and only the
    audit events after ``audit_after_seq`` count (the audit trail cannot be emptied)."""
    written = set(WRITTEN_BY_IMPORTS)
    rows: dict[type[Model], dict[Any, dict[str, Any]]] = {}
    for model in WRITTEN_BY_IMPORTS:
        fields = _kept_fields(model)
        queryset = model._base_manager.all()
        if model is AuditEvent:
            queryset = queryset.filter(seq__gt=audit_after_seq)
        rows[model] = {
            values.pop("pk"): values
            for values in queryset.values("pk", *(field.attname for field in fields))
        }
    keys: dict[tuple[type[Model], Any], str] = {}

    def resolved(model: type[Model], values: dict[str, Any]) -> dict[str, Any]:
        out = {}
        for field in _kept_fields(model):
            value = values[field.attname]
            target = field.related_model if field.is_relation else None
            if target in written and value is not None:
                value = key(target, value)
            out[field.name] = value
        return out

    def key(model: type[Model], pk: Any) -> str:
        if (model, pk) not in keys:
            content = json.dumps(resolved(model, rows[model][pk]), sort_keys=True, default=str)
            keys[(model, pk)] = hashlib.sha256(content.encode()).hexdigest()
        return keys[(model, pk)]

    state = {
        model._meta.label: sorted(
            json.dumps(resolved(model, values), sort_keys=True, default=str)
            for values in rows[model].values()
        )
        for model in WRITTEN_BY_IMPORTS
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True).encode()).hexdigest()
