"""Fixtures for the registry: ledger rows as the poverty office sends them, snapshots applied
through the real validation and service, and dibao households in payment made with the ORM."""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from itertools import count

import pytest

from cases.choices import HouseholdStatus, Programme, Relation
from cases.models import BenefitPeriod, Household, HouseholdMember
from lowbao.accounts.services import api_client_create
from lowbao.areas.models import Area
from lowbao.areas.roles import Role
from lowbao.people.models import Person
from lowbao.people.selectors import person_get_by_id_number
from lowbao.people.services import person_upsert
from poverty.choices import SnapshotSource
from poverty.models import RegistrySnapshot
from poverty.services.registry import registry_snapshot_apply
from poverty.validation import validate_registry_rows
from tests.lowbao.people.factories import make_id_number

VILLAGE_CODE = "150121100201"  # 察素齐镇 察素齐一村
SIBLING_VILLAGE_CODE = "150121100202"  # 察素齐镇 察素齐二村
OTHER_TOWNSHIP_VILLAGE_CODE = "150121101201"  # 毕克齐镇 毕克齐一村
OTHER_COUNTY_VILLAGE_CODE = "150122100201"  # 托克托县 双河镇 双河一村
FIRST_SNAPSHOT = date(2026, 1, 15)
SECOND_SNAPSHOT = date(2026, 4, 15)
ADULT_BIRTH = date(1980, 5, 1)

_numbers = count(1)


def person_row(
    *,
    household: str = "1501210001",
    relation: str = "户主",
    id_number: str | None = None,
    name: str | None = None,
    birth_date: date = ADULT_BIRTH,
    sex: str | None = None,
    cells: dict[str, object] | None = None,
) -> dict[str, object]:
    """One person row of the registry export, valid and free of data-quality issues."""
    id_number = id_number or make_id_number(birth_date=birth_date, sex=sex)
    row: dict[str, object] = {
        "户编号": household,
        "人编号": f"P{next(_numbers):06d}",
        "嘎查村代码": VILLAGE_CODE,
        "姓名": name or f"成员{id_number[-4:]}",
        "证件号码": id_number,
        "与户主关系": relation,
        "民族": "蒙古族",
        "文化程度": "初中",
        "在校生状况": "非在校生",
        "健康状况": "健康",
        "劳动能力": "普通劳动力",
        "务工状况": "",
        "务工时间": "",
        "贫困户属性": "一般贫困户",
        "主要致贫原因": "缺资金",
        "脱贫状态": "未脱贫",
        "识别年度": "2014",
        "家庭年人均纯收入": "3,200.00",
        "享受低保金额": "",
        "帮扶责任人": "王帮扶",
    }
    row.update(cells or {})
    return row


def household_rows(
    number: str,
    *,
    size: int = 2,
    cells: dict[str, object] | None = None,
    village_code: str = VILLAGE_CODE,
) -> list[dict[str, object]]:
    """A head (male) and ``size - 1`` more members (the first a female spouse)."""
    base = {"嘎查村代码": village_code, **(cells or {})}
    rows = [person_row(household=number, sex="男", cells=base)]
    for index in range(1, size):
        relation = "配偶" if index == 1 else "子"
        sex = "女" if index == 1 else "男"
        rows.append(person_row(household=number, relation=relation, sex=sex, cells=base))
    return rows


ApplyRows = Callable[..., RegistrySnapshot]


@pytest.fixture
def apply_rows(areas) -> ApplyRows:
    """``apply_rows(rows, on=…, county=…, partial=…)``: validate (must be valid) and apply."""

    def _apply(
        rows: list[dict[str, object]],
        *,
        on: date = FIRST_SNAPSHOT,
        county: Area | None = None,
        partial: bool = False,
        actor: object = None,
    ) -> RegistrySnapshot:
        county = county or areas.county
        result = validate_registry_rows(rows, county=county)
        assert result.errors == []
        return registry_snapshot_apply(
            actor=actor,
            county=county,
            households=result.households,
            snapshot_date=on,
            source=SnapshotSource.IMPORT,
            source_name="tests.xlsx",
            partial=partial,
        )

    return _apply


MakePaidHousehold = Callable[..., Household]


@pytest.fixture
def paid_household(areas) -> MakePaidHousehold:
    """``paid_household(id_numbers=[…], programme=…)``: a cases household in payment (ORM), its
    members ``in_payment``, with an open benefit period."""

    def _make(
        *,
        id_numbers: list[str],
        programme: str = Programme.DIBAO,
        village: Area | None = None,
        amount: str = "300.00",
        status: str = HouseholdStatus.IN_PAYMENT,
    ) -> Household:
        village = village or areas.village
        household = Household.objects.create(
            area=village,
            county=village.parent.parent,
            programme=programme,
            number=f"DB-{next(_numbers):04d}",
            status=status,
            monthly_amount=Decimal(amount),
            per_capita_income_monthly=Decimal("150.00"),
            payment_start_month=date(2026, 2, 1),
        )
        for index, id_number in enumerate(id_numbers):
            known = person_get_by_id_number(id_number=id_number)
            name = known.name if known else f"低保成员{index}"
            person, _ = person_upsert(actor=None, id_number=id_number, name=name)
            HouseholdMember.objects.create(
                household=household,
                person=person,
                relation=Relation.HEAD if index == 0 else Relation.SPOUSE,
                in_payment=status in (HouseholdStatus.IN_PAYMENT, HouseholdStatus.GRADUAL_EXIT),
            )
        BenefitPeriod.objects.create(
            household=household,
            start_month=date(2026, 2, 1),
            monthly_amount=Decimal(amount),
            covered_persons=len(id_numbers),
            reason="测试纳入",
        )
        return household

    return _make


@pytest.fixture
def push_client(areas):
    """The poverty office's system for the test county (token)."""
    return api_client_create(
        actor=None, name="poverty-system", role=Role.POVERTY_OFFICE_SYSTEM, area=areas.county
    )


def person_by_id_number(id_number: str) -> Person:
    person = person_get_by_id_number(id_number=id_number)
    assert person is not None
    return person
