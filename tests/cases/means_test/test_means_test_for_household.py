"""The means test of a stored household: members, incomes and assets read from the database."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import AssetKind, CoverageScope, ExclusionReason, Health, Programme, Relation
from cases.means_test import household_calculation_sheet, means_test_for_household
from cases.models import Household, HouseholdAsset, HouseholdMember, MemberIncome
from lowbao.people.services import person_upsert
from tests.cases.means_test.conftest import ON, born_aged
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

D = Decimal


def add_member(
    household: Household,
    *,
    relation: str = Relation.HEAD,
    age: int = 40,
    incomes: tuple[tuple[str, bool], ...] = (),
    **fields,
) -> HouseholdMember:
    person, _ = person_upsert(
        actor=None, id_number=make_id_number(birth_date=born_aged(age)), name="测试成员"
    )
    member = HouseholdMember.objects.create(
        household=household, person=person, relation=relation, **fields
    )
    for amount, exempt in incomes:
        MemberIncome.objects.create(
            member=member, category="wages", amount_monthly=D(amount), is_exempt=exempt
        )
    return member


@pytest.fixture
def household(areas, standard, region_policy) -> Household:
    return Household.objects.create(
        area=areas.village,
        county=areas.county,
        programme=Programme.DIBAO,
        number="DB-0001",
        status="in_payment",
    )


def test_contract_example_household(household):
    add_member(household, incomes=(("320", False),), health=Health.DISABLED, disability_grade=2)
    HouseholdAsset.objects.create(household=household, kind=AssetKind.HOUSE, quantity=1)

    result = means_test_for_household(household=household, on=ON)

    assert (result.per_capita_income_monthly, result.monthly_benefit) == (D("320.00"), D("186"))
    assert [uplift.category for uplift in result.uplifts] == ["severe_disability"]


def test_left_excluded_members_and_exempt_incomes_are_ignored(household):
    add_member(household, incomes=(("200", False), ("500", True)))
    add_member(household, relation=Relation.SPOUSE, incomes=(("100", False),))
    add_member(
        household,
        relation=Relation.SON,
        incomes=(("3000", False),),
        is_counted=False,
        exclusion_reason=ExclusionReason.PRISON,
    )
    add_member(
        household, relation=Relation.FATHER, incomes=(("900", False),), left_at=date(2026, 5, 1)
    )

    result = means_test_for_household(household=household, on=ON)

    assert (result.household_income_monthly, result.members_counted) == (D("300.00"), 2)
    assert result.monthly_benefit == D("620")


def test_member_who_leaves_after_the_date_still_counts(household):
    add_member(household, incomes=(("0", False),))
    add_member(household, relation=Relation.SPOUSE, left_at=date(2026, 12, 1))

    assert means_test_for_household(household=household, on=ON).members_counted == 2


def test_assets_sum_by_kind_and_exempt_assets_are_left_out(household, region_policy):
    region_policy.deposit_limit_per_person = D("10000")
    region_policy.save(update_fields=["deposit_limit_per_person"])
    add_member(household, incomes=(("0", False),))
    for kind, quantity, value, exempt in [
        (AssetKind.DEPOSITS, 1, "6000", False),
        (AssetKind.SECURITIES, 1, "3000", False),
        (AssetKind.INSURANCE, 1, "2000", False),
        (AssetKind.VEHICLE, 1, "30000", True),
        (AssetKind.VEHICLE, 1, "8000", False),
        (AssetKind.HOUSE, 2, "0", False),
        (AssetKind.HOUSE, 1, "0", False),
        (AssetKind.BUSINESS, 1, "0", False),
        (AssetKind.LIVESTOCK, 40, "80000", False),
    ]:
        HouseholdAsset.objects.create(
            household=household, kind=kind, quantity=quantity, value=D(value), is_exempt=exempt
        )

    result = means_test_for_household(household=household, on=ON)

    assert result.reasons == (
        "人均存款等金融资产 11000.00 元，超过限额 10000.00 元",
        "机动车辆 1 辆，超过限额 0 辆",
        "房产 3 套，超过限额 2 套",
        "家庭成员有工商登记（正常经营）",
    )


def test_single_person_household_and_tekun_programme_come_from_the_household(household):
    household.coverage_scope = CoverageScope.SINGLE_PERSON
    household.programme = Programme.TEKUN
    household.save(update_fields=["coverage_scope", "programme"])
    add_member(household, incomes=(("0", False),), disability_grade=1, is_covered=True)
    add_member(household, relation=Relation.SPOUSE, incomes=(("1000", False),), is_covered=False)

    result = means_test_for_household(household=household, on=ON)

    assert (result.coverage, result.programme) == ("single_person", "tekun")
    assert (result.eligible, result.members_covered) == (True, 1)
    assert result.base_benefit_monthly == D("760.00")


def test_calculation_sheet_lists_members_masked(household):
    head = add_member(household, incomes=(("320", False),), disability_grade=2)

    sheet = household_calculation_sheet(household=household, on=ON)

    assert [
        (row.id_number_masked, row.relation_label, row.income_monthly) for row in sheet.members
    ] == [(head.person.id_number_masked, "户主", D("320.00"))]
    assert sheet.result == means_test_for_household(household=household, on=ON)


@pytest.mark.parametrize(("_case", "size"), [("two_members", 2), ("six_members", 6)])
def test_query_count_does_not_grow_with_the_household(
    household, django_assert_num_queries, _case, size
):
    for index in range(size):
        add_member(
            household,
            relation=Relation.HEAD if index == 0 else Relation.SON,
            incomes=(("50", False), ("10", True)),
        )
    HouseholdAsset.objects.create(household=household, kind=AssetKind.HOUSE, quantity=1)
    household = Household.objects.select_related("area").get(pk=household.pk)

    # members + incomes, assets, policy + uplifts, standard
    with django_assert_num_queries(6):
        result = means_test_for_household(household=household, on=ON)

    assert result.members_counted == size
