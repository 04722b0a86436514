"""Fixtures for payment tests: households made with the ORM, benefits started by the services,
and one user per role of the payment workflow.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import count

import pytest

from cases.choices import HouseholdStatus, Programme, Relation
from cases.models import Household, HouseholdMember, PolicySetting
from cases.services.benefits import benefit_start
from lowbao.accounts.models import User
from lowbao.areas.models import Area
from lowbao.areas.roles import Role
from lowbao.people.protection import encrypt
from lowbao.people.services import person_upsert
from tests.fixtures.areas import AreaWorld
from tests.lowbao.people.factories import make_id_number

JUNE = date(2026, 6, 1)
BANK_ACCOUNT = "6228480012345678901"
_numbers = count(1)

MakeHousehold = Callable[..., Household]


@pytest.fixture
def world(areas: AreaWorld, policy_defaults: None) -> AreaWorld:
    return areas


@pytest.fixture
def make_household(world: AreaWorld) -> MakeHousehold:
    """``make_household(village=…, amount=…, start=…)``: a household with a head (and
    ``persons - 1`` more members), a bank account, and — unless ``start`` is None — a benefit
    started by ``benefit_start``.
    """

    def _make(
        *,
        village: Area | None = None,
        number: str | None = None,
        status: str = HouseholdStatus.IN_PAYMENT,
        amount: Decimal | str = "300.00",
        persons: int = 2,
        start: date | None = JUNE,
        head_name: str = "巴特尔",
        head_id_number: str | None = None,
        bank_account: str = BANK_ACCOUNT,
    ) -> Household:
        village = village or world.village
        household = Household.objects.create(
            area=village,
            county=village.parent.parent,
            programme=Programme.DIBAO,
            number=number or f"DB-{next(_numbers):04d}",
            status=status,
            bank_name="农村信用社",
            bank_account_ciphertext=encrypt(bank_account) if bank_account else "",
        )
        for index in range(persons):
            person, _ = person_upsert(
                actor=None,
                id_number=head_id_number if index == 0 and head_id_number else make_id_number(),
                name=head_name if index == 0 else f"成员{index}",
            )
            HouseholdMember.objects.create(
                household=household,
                person=person,
                relation=Relation.HEAD if index == 0 else Relation.SPOUSE,
            )
        if start is not None:
            benefit_start(
                actor=None,
                household=household,
                start_month=start,
                monthly_amount=Decimal(amount),
                covered_persons=persons,
                reason="测试纳入",
            )
        return household

    return _make


@dataclass(frozen=True)
class PaymentUsers:
    caseworker: User
    head: User
    county_officer: User
    sibling_caseworker: User
    sibling_head: User
    league_officer: User


@pytest.fixture
def users(world: AreaWorld, make_user) -> PaymentUsers:
    return PaymentUsers(
        caseworker=make_user(role=Role.TOWNSHIP_CASEWORKER, area=world.township),
        head=make_user(role=Role.TOWNSHIP_HEAD, area=world.township),
        county_officer=make_user(role=Role.COUNTY_CIVIL_AFFAIRS, area=world.county),
        sibling_caseworker=make_user(role=Role.TOWNSHIP_CASEWORKER, area=world.sibling_township),
        sibling_head=make_user(role=Role.TOWNSHIP_HEAD, area=world.sibling_township),
        league_officer=make_user(role=Role.LEAGUE_OFFICER, area=world.league),
    )


@pytest.fixture
def quarterly_county(world: AreaWorld) -> PolicySetting:
    """The test county pays quarterly from 2026 on (its own policy row overrides the region's)."""
    return PolicySetting.objects.create(
        area=world.county, effective_from=date(2026, 1, 1), payment_frequency="quarterly"
    )
