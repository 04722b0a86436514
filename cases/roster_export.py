"""Export of the 低保/特困 roster of a county in the ``dibao`` import layout (ledgers.md §2, §7).

One row per current member (not moved out or deceased) of every household in payment (保障中,
渐退期) that the user may see in the county, household columns repeated on each member row, the
head first. Importing the file (``import_ledger dibao``, revealed export) changes nothing: every
value the roster import compares comes from the same field here —

- household: 嘎查村代码 (the village), 救助类型, 保障类别, 月人均收入, 月保障金额 (the household's
  current monthly amount), 保障起始年月 (``payment_start_month``), 开户银行, 银行账号, 联系电话;
- member: 姓名 and 民族 (the person), 与户主关系, 是否保障对象, 劳动能力, 健康状况, 残疾等级.

Reads are scoped by ``household_queryset`` and done in chunks: one streamed query for the
households, one query for the members of each chunk of ``CHUNK`` households; memory stays flat.
The list page's filters (状态, 救助类型, 成员姓名) narrow the export; a status other than 保障中 or
渐退期 gives an empty roster, since only paid households belong on it.
"""

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date

from django.db.models import Exists, OuterRef, QuerySet

from cases.choices import (
    PAYING_STATUSES,
    Health,
    HouseholdStatus,
    LabourCapacity,
    Programme,
    Relation,
)
from cases.models import Household, HouseholdMember
from cases.roster_import import (
    BANK_ACCOUNT,
    COLUMN_ALIASES,
    ID_NUMBER,
    PHONE,
)
from cases.selectors import household_queryset
from lowbao.areas.roles import Perm
from lowbao.exports.registry import ExportQuery, register_export
from lowbao.people.choices import Ethnicity
from lowbao.people.protection import decrypt

CHUNK = 2000
HEADERS: tuple[str, ...] = tuple(COLUMN_ALIASES)
FILTER_NAMES = ("status", "programme", "name")
GRADE_LABELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}
RELATION_LABELS = dict(Relation.choices)
ETHNICITY_LABELS = dict(Ethnicity.choices)
LABOUR_LABELS = dict(LabourCapacity.choices)
HEALTH_LABELS = dict(Health.choices)
PROGRAMME_LABELS = dict(Programme.choices)

HOUSEHOLD_VALUES = (
    "pk",
    "number",
    "area__parent__name",
    "area__name",
    "area__code",
    "programme",
    "classification",
    "per_capita_income_monthly",
    "monthly_amount",
    "payment_start_month",
    "bank_name",
    "bank_account_ciphertext",
    "phone_ciphertext",
)
MEMBER_VALUES = (
    "household_id",
    "person__name",
    "person__id_number_ciphertext",
    "relation",
    "person__ethnicity",
    "is_covered",
    "labour_capacity",
    "health",
    "disability_grade",
)


def roster_export_households(*, actor: object, query: ExportQuery) -> QuerySet[Household]:
    """The county's paid households the actor may see, narrowed by the list page's filters."""
    queryset = household_queryset(actor=actor, perm=Perm.CASE_VIEW).filter(
        county=query.area, status__in=PAYING_STATUSES
    )
    status = query.filters.get("status", "")
    if status in HouseholdStatus.values:
        queryset = queryset.filter(status=status)
    programme = query.filters.get("programme", "")
    if programme in Programme.values:
        queryset = queryset.filter(programme=programme)
    name = query.filters.get("name", "")
    if name:
        queryset = queryset.filter(
            Exists(
                HouseholdMember.objects.filter(
                    household_id=OuterRef("pk"), person__name__contains=name
                )
            )
        )
    return queryset


def roster_export_members(household_ids: Sequence[int]) -> dict[int, list[tuple]]:
    """Current members of these households (one query), head first."""
    members: dict[int, list[tuple]] = defaultdict(list)
    rows = (
        HouseholdMember.objects.filter(household_id__in=household_ids, left_at__isnull=True)
        .order_by("household_id", "relation", "id")
        .values_list(*MEMBER_VALUES)
    )
    for row in rows:
        members[row[0]].append(row)
    return members


def _month(value: date | None) -> str:
    return f"{value:%Y-%m}" if value else ""


def _rows_of_chunk(households: list[tuple]) -> Iterator[list[object]]:
    members = roster_export_members([household[0] for household in households])
    for household in households:
        (
            household_id,
            number,
            township,
            village,
            village_code,
            programme,
            classification,
            income,
            amount,
            start_month,
            bank_name,
            account_ciphertext,
            phone_ciphertext,
        ) = household
        shared = [
            PROGRAMME_LABELS.get(programme, ""),
            classification,
            income,
            amount,
            _month(start_month),
            bank_name,
            decrypt(account_ciphertext) if account_ciphertext else "",
            decrypt(phone_ciphertext) if phone_ciphertext else "",
        ]
        for member in members.get(household_id, ()):
            (
                _household_id,
                name,
                id_ciphertext,
                relation,
                ethnicity,
                is_covered,
                labour,
                health,
                grade,
            ) = member
            yield [
                number,
                township or "",
                village,
                village_code,
                name,
                decrypt(id_ciphertext),
                RELATION_LABELS.get(relation, ""),
                ETHNICITY_LABELS.get(ethnicity, ""),
                "是" if is_covered else "否",
                LABOUR_LABELS.get(labour, ""),
                HEALTH_LABELS.get(health, ""),
                GRADE_LABELS.get(grade, ""),
                *shared,
            ]


def roster_export_rows(query: ExportQuery) -> Iterator[list[object]]:
    """The rows in ``HEADERS`` order (full ID numbers, accounts and phones: the export framework
    masks them unless the export reveals them)."""
    households = (
        roster_export_households(actor=query.actor, query=query)
        .order_by("number")
        .values_list(*HOUSEHOLD_VALUES)
    )
    chunk: list[tuple] = []
    for household in households.iterator(chunk_size=CHUNK):
        chunk.append(household)
        if len(chunk) >= CHUNK:
            yield from _rows_of_chunk(chunk)
            chunk = []
    if chunk:
        yield from _rows_of_chunk(chunk)


def roster_export_count(query: ExportQuery) -> int:
    households = roster_export_households(actor=query.actor, query=query)
    return HouseholdMember.objects.filter(
        household__in=households.values("pk"), left_at__isnull=True
    ).count()


ROSTER_EXPORT = register_export(
    "dibao",
    "低保特困花名册",
    Perm.CASE_VIEW,
    roster_export_rows,
    headers=HEADERS,
    count_rows=roster_export_count,
    filter_names=FILTER_NAMES,
    id_columns={ID_NUMBER},
    account_columns={BANK_ACCOUNT},
    phone_columns={PHONE},
    note="只包含保障中和渐退期的保障户，每人一行。导出完整信息的文件可用“低保/特困花名册”导入重新导入。",
)
