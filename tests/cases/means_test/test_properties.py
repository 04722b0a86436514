"""Properties of the means test that hold for any household (hypothesis)."""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cases.choices import Health, Relation, RoundingRule
from cases.means_test import AssetsInput, MemberInput
from cases.models import PolicySetting
from tests.cases.means_test.conftest import born_aged
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

amounts = st.decimals(min_value=0, max_value=3000, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def members(draw: st.DrawFn) -> MemberInput:
    return MemberInput(
        id_number=make_id_number(birth_date=born_aged(draw(st.integers(1, 95)))),
        relation=draw(st.sampled_from([Relation.HEAD, Relation.SPOUSE, Relation.SON])),
        counted=draw(st.booleans()),
        covered=draw(st.one_of(st.none(), st.booleans())),
        income_monthly=draw(amounts),
        health=draw(st.sampled_from(["", *Health.values])),
        disability_grade=draw(st.one_of(st.none(), st.integers(1, 4))),
    )


@st.composite
def households(draw: st.DrawFn) -> dict:
    first = replace(draw(members()), counted=True)
    others = draw(st.lists(members(), max_size=5))
    return {
        "members": [first, *others],
        "deductions": {
            "medical": draw(st.decimals(min_value=0, max_value=800, places=2)),
            "employment": draw(st.decimals(min_value=0, max_value=300, places=2)),
        },
        "assets": AssetsInput(
            deposits=draw(st.decimals(min_value=0, max_value=50000, places=2)),
            vehicles=draw(st.integers(0, 1)),
            houses=draw(st.integers(0, 3)),
            business_registered=draw(st.booleans()),
        ),
        "coverage": draw(st.sampled_from(["household", "single_person"])),
    }


def _configure(policy: PolicySetting, *, rounding: str, minimum: Decimal) -> None:
    PolicySetting.objects.filter(pk=policy.pk).update(
        rounding=rounding, minimum_per_person_monthly=minimum, deposit_limit_per_person=10000
    )


roundings = st.sampled_from(RoundingRule.values)
minimums = st.decimals(min_value=0, max_value=80, places=2)


@PROPERTY_SETTINGS
@given(household=households(), rounding=roundings, minimum=minimums)
def test_benefit_is_never_negative_and_zero_when_not_eligible(
    run, region_policy, household, rounding, minimum
):
    _configure(region_policy, rounding=rounding, minimum=minimum)

    result = run(**household)

    assert result.monthly_benefit >= 0
    if not result.eligible:
        assert (result.monthly_benefit, result.base_benefit_monthly, result.uplifts) == (0, 0, ())
        assert result.reasons
    else:
        assert result.reasons == ()


@PROPERTY_SETTINGS
@given(household=households())
def test_eligible_household_has_per_capita_below_the_standard(run, household):
    result = run(**{**household, "coverage": "household"})

    if result.eligible:
        assert result.per_capita_income_monthly < result.standard_monthly
        assert result.members_covered == result.members_counted


@PROPERTY_SETTINGS
@given(
    household=households(),
    extra=st.decimals(min_value="0.01", max_value=1000, places=2),
    pick=st.integers(0, 5),
    rounding=roundings,
    minimum=minimums,
)
def test_more_income_never_increases_the_benefit(
    run, region_policy, household, extra, pick, rounding, minimum
):
    _configure(region_policy, rounding=rounding, minimum=minimum)
    people = household["members"]
    index = pick % len(people)
    richer = [
        replace(person, income_monthly=person.income_monthly + extra) if i == index else person
        for i, person in enumerate(people)
    ]

    before = run(**household)
    after = run(**{**household, "members": richer})

    assert after.monthly_benefit <= before.monthly_benefit


@PROPERTY_SETTINGS
@given(household=households())
def test_per_capita_times_counted_is_net_income(run, household):
    result = run(**household)

    net = max(Decimal("0"), result.household_income_monthly - result.deductions_allowed_monthly)
    tolerance = Decimal("0.005") * result.members_counted
    assert abs(result.per_capita_income_monthly * result.members_counted - net) <= tolerance
    assert result.household_income_monthly == sum(
        person.income_monthly for person in household["members"] if person.counted
    )


@PROPERTY_SETTINGS
@given(household=households())
def test_edge_family_is_never_eligible_and_always_below_the_edge_line(run, household):
    result = run(**household)

    if result.edge_family:
        assert result.eligible is False
        assert result.per_capita_income_monthly < Decimal("1.5") * result.standard_monthly
