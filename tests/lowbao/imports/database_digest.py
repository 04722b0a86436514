"""A digest of every table an import may write, to prove that one wrote nothing (quality.md R1,
R6): the domain tables of every ledger kind, the areas and the audit trail. The import's own
bookkeeping (``ImportBatch``/``ImportRow``) is left out: a rejected file is recorded there on
purpose, with every problem."""

import hashlib
import json

from django.db import connection

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
