"""Each outcome of a review item feeds the right cases/poverty service, and the work rules
(逢救必核, four eyes, locked lists) hold."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from cases.choices import ChangeOutcome, ChangeStatus, HouseholdStatus
from cases.models import BenefitPeriod, ChangeReport, HomeVisit, Household
from cases.policy import policy_for
from lowbao.core.errors import DomainError
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.models import Referral, VerificationRequest
from review.models import ItemOutcome, ReviewItem, ReviewList
from review.services.campaign import (
    campaign_open,
    outcomes_for,
    review_item_decide,
    review_item_means_test,
    review_item_propose,
    review_item_request_verification,
    review_item_visit,
)
from tests.fixtures.campaign import WORK_DAY, YEAR, head_id_number, work_item

pytestmark = pytest.mark.django_db
DECEMBER = date(2026, 12, 1)


@pytest.fixture
def opened(areas, campaign_users):
    def _open():
        return campaign_open(
            actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
        )

    return _open


def _item(household=None, registry=None) -> ReviewItem:
    if household is not None:
        return ReviewItem.objects.select_related("review_list").get(dibao_household=household)
    return ReviewItem.objects.select_related("review_list").get(registry_household=registry)


def test_continue_decides_the_change_unchanged_and_leaves_the_amount(
    campaign_users, review_household, opened, verify_household
):
    household = review_household()
    opened()

    item = work_item(_item(household), campaign_users, verify=verify_household)

    change = ChangeReport.objects.get(pk=item.change_id)
    assert (change.status, change.outcome) == (ChangeStatus.DECIDED, ChangeOutcome.UNCHANGED)
    assert item.outcome == ItemOutcome.CONTINUE
    assert Household.objects.get(pk=household.pk).monthly_amount == Decimal("600.00")
    assert HomeVisit.objects.filter(household=household).count() == 1


def test_adjusting_the_amount_changes_it_from_the_next_month(
    campaign_users, review_household, opened, verify_household
):
    household = review_household()
    opened()

    item = work_item(
        _item(household),
        campaign_users,
        outcome=ItemOutcome.ADJUST_AMOUNT,
        verify=verify_household,
        new_amount=Decimal("640"),
        reasons="重新核算后月人均收入减少",
    )

    assert (item.new_amount, item.effective_month) == (Decimal("640.00"), DECEMBER)
    assert ChangeReport.objects.get(pk=item.change_id).outcome == ChangeOutcome.INCREASE
    assert list(
        BenefitPeriod.objects.filter(household=household)
        .order_by("start_month")
        .values_list("start_month", "end_month", "monthly_amount")
    ) == [
        (date(2026, 1, 1), date(2026, 11, 1), Decimal("600.00")),
        (DECEMBER, None, Decimal("640.00")),
    ]


def test_gradual_exit_of_a_registry_dibao_household_uses_the_registry_months(
    campaign_users, review_household, review_registry, opened, verify_household
):
    household = review_household()
    review_registry(id_numbers=(head_id_number(household),))
    opened()

    work_item(
        _item(household),
        campaign_users,
        outcome=ItemOutcome.GRADUAL_EXIT,
        verify=verify_household,
        reasons="务工收入增加，超过保障标准",
    )

    household.refresh_from_db()
    assert household.status == HouseholdStatus.GRADUAL_EXIT
    assert (household.grace_start, household.grace_months) == (DECEMBER, 12)


def test_stop_ends_payment_after_the_decision_month(
    campaign_users, review_household, opened, verify_household
):
    household = review_household()
    opened()

    work_item(
        _item(household),
        campaign_users,
        outcome=ItemOutcome.STOP,
        verify=verify_household,
        reasons="家庭收入超过保障标准",
    )

    household.refresh_from_db()
    assert household.status == HouseholdStatus.STOPPED
    assert not household.members.filter(in_payment=True).exists()
    assert BenefitPeriod.objects.get(household=household).end_month == date(2026, 11, 1)


def test_proposing_a_dibao_household_for_the_registry_refers_it_to_the_poverty_office(
    campaign_users, review_household, opened, verify_household
):
    household = review_household()
    opened()

    item = work_item(
        _item(household),
        campaign_users,
        outcome=ItemOutcome.PROPOSE_REGISTRY,
        verify=verify_household,
        reasons="年人均收入低于扶贫标准",
    )

    referral = Referral.objects.get(pk=item.referral_id)
    assert (referral.direction, referral.household_id, referral.status) == (
        ReferralDirection.PROPOSE_REGISTRY,
        household.pk,
        ReferralStatus.PENDING,
    )
    assert Household.objects.get(pk=household.pk).status == HouseholdStatus.IN_PAYMENT


def test_proposing_a_registry_exit_refers_the_registry_household(
    areas, campaign_users, review_registry, opened
):
    registry = review_registry()
    opened()

    item = work_item(
        _item(registry=registry),
        campaign_users,
        outcome=ItemOutcome.PROPOSE_REGISTRY_EXIT,
        reasons="家庭人均纯收入稳定超过扶贫标准，两不愁三保障已实现",
    )

    referral = Referral.objects.get(pk=item.referral_id)
    assert (referral.direction, referral.registry_household_id, referral.household_id) == (
        ReferralDirection.TO_POVERTY_OFFICE,
        registry.pk,
        None,
    )
    assert referral.reason.startswith("2026 年度复核建议退出建档立卡：")


@pytest.mark.parametrize(
    ("_case", "linked", "expected"),
    [
        (
            "dibao outside the registry",
            False,
            ["continue", "adjust_amount", "gradual_exit", "stop", "propose_registry"],
        ),
        (
            "dibao in the registry",
            True,
            ["continue", "adjust_amount", "gradual_exit", "stop", "propose_registry_exit"],
        ),
    ],
)
def test_the_outcomes_offered_depend_on_the_kind_and_the_registry_link(
    _case, linked, expected, review_household, review_registry, opened
):
    household = review_household()
    if linked:
        review_registry(id_numbers=(head_id_number(household),))
    opened()
    assert [value for value, _label in outcomes_for(_item(household))] == expected


def test_a_decision_without_a_complete_verification_is_refused_and_changes_nothing(
    campaign_users, review_household, opened
):
    household = review_household()
    opened()
    item = _item(household)
    review_item_visit(
        actor=campaign_users.caseworker,
        item_id=item.pk,
        visited_on=WORK_DAY,
        visitors=["张三"],
        findings="无变化",
        today=WORK_DAY,
    )
    review_item_means_test(actor=campaign_users.caseworker, item_id=item.pk, today=WORK_DAY)

    with pytest.raises(DomainError) as error:
        review_item_decide(
            actor=campaign_users.civil_affairs,
            item_id=item.pk,
            outcome=ItemOutcome.CONTINUE,
            today=WORK_DAY,
        )

    assert error.value.code == "step_incomplete"
    assert "逢救必核" in error.value.message
    item.refresh_from_db()
    assert item.outcome == ""
    assert ChangeReport.objects.get(pk=item.change_id).status == ChangeStatus.ASSESSED


def test_whoever_proposed_an_item_may_not_decide_it(
    areas, make_user, campaign_users, review_registry, opened
):
    registry = review_registry()
    opened()
    both = make_user(
        role="township_caseworker",
        area=areas.township,
        extra=(("county_civil_affairs", areas.county),),
    )
    item = _item(registry=registry)
    review_item_visit(
        actor=both,
        item_id=item.pk,
        visited_on=WORK_DAY,
        visitors=["王五"],
        findings="无变化",
        today=WORK_DAY,
    )
    review_item_propose(actor=both, item_id=item.pk, outcome=ItemOutcome.CONTINUE)

    with pytest.raises(DomainError) as error:
        review_item_decide(actor=both, item_id=item.pk, outcome=ItemOutcome.CONTINUE)

    assert error.value.code == "four_eyes"
    assert ReviewItem.objects.get(pk=item.pk).outcome == ""


def test_a_verification_request_goes_to_the_platform_with_the_policy_items(
    campaign_users, review_household, opened
):
    household = review_household()
    opened()
    item = review_item_request_verification(
        actor=campaign_users.caseworker,
        item_id=_item(household).pk,
        authorisation_reference="授权书 2026-118",
        requested_on=WORK_DAY,
    )
    request = VerificationRequest.objects.get(pk=item.verification_request_id)
    assert request.household_id == household.pk
    required = policy_for(household.area, WORK_DAY).verification_required_items
    assert required
    assert request.items == list(required)
    assert request.authorisation_reference == "授权书 2026-118"


def test_items_of_a_confirmed_list_cannot_be_worked(areas, campaign_users, review_registry, opened):
    registry = review_registry()
    opened()
    ReviewList.objects.update(status="confirmed", confirmed_at=timezone.now())

    with pytest.raises(DomainError) as error:
        review_item_visit(
            actor=campaign_users.caseworker,
            item_id=_item(registry=registry).pk,
            visited_on=WORK_DAY,
            visitors=["张三"],
            findings="无变化",
            today=WORK_DAY,
        )
    assert error.value.code == "list_locked"


def test_a_sibling_township_caseworker_cannot_see_the_item(campaign_users, review_registry, opened):
    registry = review_registry()
    opened()
    with pytest.raises(DomainError) as error:
        review_item_visit(
            actor=campaign_users.sibling_caseworker,
            item_id=_item(registry=registry).pk,
            visited_on=WORK_DAY,
            visitors=["张三"],
            findings="无变化",
            today=WORK_DAY,
        )
    assert error.value.code == "not_found"
    assert ReviewItem.objects.get(registry_household=registry).visited_on is None
