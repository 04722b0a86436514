"""Export of the poverty registry (建档立卡) of a county in the ``poverty`` import layout
(ledgers.md §3, §7).

One row per member of every household *in the current registry* that the user may see in the
county, household columns repeated on each member row, the head first. The values are those the
registry import stores, written the way it reads them, so a revealed export imported again
(``import_ledger poverty``) finds every household unchanged: the snapshot digest of a household
(``poverty.services.registry.household_data_hash``) is computed from the same fields.

Importing a registry file is a snapshot of the whole county (households absent from the file
leave the registry), so the export page warns that a filtered export must not be imported as the
county's registry. Households that already left the registry are never exported (importing them
would bring them back); the list page's 台账 filter is therefore not carried over. The other
filters (苏木乡镇, 贫困户属性, 脱贫状态, 成员姓名) are those of ``registry_household_list``.

Reads are scoped by ``registry_household_list`` and done in chunks: one streamed query for the
households, one query for the members of each chunk of ``CHUNK`` households.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence

from django.db.models import QuerySet

from cases.choices import Health, LabourCapacity, Relation, SchoolStatus
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.exports.registry import ExportQuery, register_export
from lowbao.people.choices import Ethnicity
from lowbao.people.protection import decrypt
from poverty import validation as columns
from poverty.choices import PovertyAttribute, PovertyCause, PovertyStatus, WorkStatus
from poverty.models import RegistryHousehold, RegistryMember
from poverty.selectors import registry_household_list, township_choices

CHUNK = 2000
HEADERS: tuple[str, ...] = tuple(columns.COLUMN_ALIASES)
FILTER_NAMES = ("township", "attribute", "status", "name")
CAUSE_SEPARATOR = "、"

RELATION_LABELS = dict(Relation.choices)
ETHNICITY_LABELS = dict(Ethnicity.choices)
SCHOOL_LABELS = dict(SchoolStatus.choices)
HEALTH_LABELS = dict(Health.choices)
WORK_LABELS = dict(WorkStatus.choices)
LABOUR_LABELS = dict(LabourCapacity.choices)
ATTRIBUTE_LABELS = dict(PovertyAttribute.choices)
CAUSE_LABELS = dict(PovertyCause.choices)
STATUS_LABELS = dict(PovertyStatus.choices)

HOUSEHOLD_VALUES = (
    "pk",
    "number",
    "area__parent__name",
    "area__name",
    "area__code",
    "attribute",
    "main_cause",
    "other_causes",
    "poverty_status",
    "exit_year",
    "identified_year",
    "annual_income_per_capita",
    "dibao_amount_recorded",
    "helper_name",
    "helper_unit",
)
MEMBER_VALUES = (
    "household_id",
    "person_number",
    "person__name",
    "person__id_number_ciphertext",
    "relation",
    "person__ethnicity",
    "education",
    "school_status",
    "health",
    "work_status",
    "labour_capacity",
    "work_months",
    "disability_certificate",
)


def _township(actor: object, code: str) -> Area | None:
    return (
        next((t for t in township_choices(actor=actor) if t.code == code), None) if code else None
    )


def registry_export_households(query: ExportQuery) -> QuerySet[RegistryHousehold]:
    """The county's households in the registry that the actor may see, with the list filters."""
    filters = query.filters
    attribute = filters.get("attribute", "")
    status = filters.get("status", "")
    return registry_household_list(
        actor=query.actor,
        area=_township(query.actor, filters.get("township", "")),
        attribute=attribute if attribute in PovertyAttribute.values else "",
        poverty_status=status if status in PovertyStatus.values else "",
        in_registry=True,
        name=filters.get("name", ""),
    ).filter(county=query.area)


def registry_export_members(household_ids: Sequence[int]) -> dict[int, list[tuple]]:
    """Members of these households (one query), head first."""
    members: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        RegistryMember.objects.filter(household_id__in=household_ids)
        .order_by("household_id", "relation", "id")
        .values_list(*MEMBER_VALUES)
    )
    for row in rows:
        members[row[0]].append(row)
    return members


def _rows_of_chunk(households: list[tuple]) -> Iterator[list[object]]:
    members = registry_export_members([household[0] for household in households])
    for household in households:
        (
            household_id,
            number,
            township,
            village,
            village_code,
            attribute,
            main_cause,
            other_causes,
            poverty_status,
            exit_year,
            identified_year,
            income,
            dibao_amount,
            helper_name,
            helper_unit,
        ) = household
        shared = [
            ATTRIBUTE_LABELS.get(attribute, ""),
            CAUSE_LABELS.get(main_cause, ""),
            CAUSE_SEPARATOR.join(CAUSE_LABELS.get(code, "") for code in other_causes or ()),
            STATUS_LABELS.get(poverty_status, ""),
            exit_year,
            identified_year,
            income,
            dibao_amount,
            helper_name,
            helper_unit,
        ]
        for member in members.get(household_id, ()):
            (
                _household_id,
                person_number,
                name,
                id_ciphertext,
                relation,
                ethnicity,
                education,
                school_status,
                health,
                work_status,
                labour,
                work_months,
                certificate,
            ) = member
            yield [
                number,
                person_number,
                township or "",
                village,
                village_code,
                name,
                decrypt(id_ciphertext),
                RELATION_LABELS.get(relation, ""),
                ETHNICITY_LABELS.get(ethnicity, ""),
                education,
                SCHOOL_LABELS.get(school_status, ""),
                HEALTH_LABELS.get(health, ""),
                WORK_LABELS.get(work_status, ""),
                LABOUR_LABELS.get(labour, ""),
                work_months,
                certificate,
                *shared,
            ]


def registry_export_rows(query: ExportQuery) -> Iterator[list[object]]:
    """The rows in ``HEADERS`` order (full ID and disability-certificate numbers: the export
    framework masks them unless the export reveals them)."""
    households = registry_export_households(query).order_by("number").values_list(*HOUSEHOLD_VALUES)
    chunk: list[tuple] = []
    for household in households.iterator(chunk_size=CHUNK):
        chunk.append(household)
        if len(chunk) >= CHUNK:
            yield from _rows_of_chunk(chunk)
            chunk = []
    if chunk:
        yield from _rows_of_chunk(chunk)


def registry_export_count(query: ExportQuery) -> int:
    return RegistryMember.objects.filter(
        household__in=registry_export_households(query).values("pk")
    ).count()


REGISTRY_EXPORT = register_export(
    "poverty",
    "建档立卡贫困人口",
    Perm.REGISTRY_VIEW,
    registry_export_rows,
    headers=HEADERS,
    count_rows=registry_export_count,
    filter_names=FILTER_NAMES,
    id_columns={columns.ID_NUMBER, columns.DISABILITY_CERTIFICATE},
    note=(
        "只包含在台账的建档立卡户，每人一行。建档立卡导入按旗县整体替换（文件中没有的户将标记为"
        "退出台账），按苏木乡镇、属性等筛选后导出的文件不要作为全旗县台账导入。"
    ),
)
