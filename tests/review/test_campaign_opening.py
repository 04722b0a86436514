"""Opening the annual review generates exactly the right lists and items (set-based)."""

from datetime import date

import pytest

from cases.choices import HouseholdStatus, Programme
from lowbao.core.errors import DomainError
from poverty.choices import PovertyStatus
from review.models import ItemKind, ReviewCampaign, ReviewItem, ReviewList, ReviewPolicy
from review.services.campaign import campaign_open, review_period_for
from tests.fixtures.campaign import WORK_DAY, YEAR, head_id_number

pytestmark = pytest.mark.django_db


def _items(campaign: ReviewCampaign) -> set[tuple]:
    return set(
        ReviewItem.objects.filter(campaign=campaign).values_list(
            "review_list__township__code",
            "kind",
            "dibao_household_id",
            "registry_household_id",
            "in_registry",
        )
    )


def test_opening_lists_every_paid_household_and_every_registry_household_not_out_of_poverty(
    areas, campaign_users, review_household, review_registry
):
    dibao = review_household()
    tekun = review_household(village=areas.other_township_village, programme=Programme.TEKUN)
    grace = review_household(status=HouseholdStatus.GRADUAL_EXIT)
    review_household(status=HouseholdStatus.STOPPED)  # not in payment
    review_household(status=HouseholdStatus.SUSPENDED)  # not paid
    review_household(village=areas.other_county_village)  # another county
    linked_registry = review_registry(id_numbers=(head_id_number(dibao),))
    lone_registry = review_registry(village=areas.sibling_village)
    returned = review_registry(poverty_status=PovertyStatus.RETURNED)
    review_registry(poverty_status=PovertyStatus.OUT)  # out of poverty
    review_registry(in_registry=False)  # left the registry
    review_registry(village=areas.other_county_village)  # another county

    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )

    township, sibling = areas.township.code, areas.sibling_township.code
    assert _items(campaign) == {
        (township, ItemKind.DIBAO, dibao.pk, linked_registry.pk, True),
        (sibling, ItemKind.TEKUN, tekun.pk, None, False),
        (township, ItemKind.DIBAO, grace.pk, None, False),
        (township, ItemKind.REGISTRY, None, lone_registry.pk, True),
        (township, ItemKind.REGISTRY, None, returned.pk, True),
    }
    assert sorted(
        ReviewList.objects.filter(campaign=campaign).values_list("township__code", flat=True)
    ) == [township, sibling]
    assert (campaign.opens_on, campaign.due_on) == (date(2026, 10, 1), date(2026, 12, 31))
    assert ReviewItem.objects.get(dibao_household=dibao).amount_at_opening == 600


def test_opening_uses_a_fixed_number_of_queries_whatever_the_number_of_households(
    areas, campaign_users, review_household, django_assert_max_num_queries
):
    for _ in range(12):
        review_household()
    with django_assert_max_num_queries(30):
        campaign = campaign_open(
            actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
        )
    assert campaign.items.count() == 12


def test_opening_twice_is_refused_and_changes_nothing(areas, campaign_users, review_household):
    review_household()
    campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )

    with pytest.raises(DomainError) as error:
        campaign_open(
            actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
        )

    assert error.value.code == "campaign_exists"
    assert ReviewItem.objects.count() == 1


def test_opening_before_the_policy_date_is_refused(areas, campaign_users, review_household):
    review_household()
    with pytest.raises(DomainError) as error:
        campaign_open(
            actor=campaign_users.civil_affairs,
            county=areas.county,
            year=YEAR,
            today=date(2026, 9, 30),
        )
    assert error.value.code == "not_yet_open"
    assert error.value.message == "2026 年度复核自 2026年10月01日 起才能发起"
    assert not ReviewCampaign.objects.exists()


def test_the_review_period_is_policy_data_with_the_most_specific_area_winning(areas):
    ReviewPolicy.objects.create(
        area=areas.region, effective_from=date(2020, 1, 1), opens_month=11, duration_months=2
    )
    period = review_period_for(county=areas.county, year=YEAR)
    assert (period.opens_on, period.due_on) == (
        date(2026, 11, 1),
        date(2026, 12, 31),
    )
    ReviewPolicy.objects.create(
        area=areas.league, effective_from=date(2020, 1, 1), opens_month=9, duration_months=4
    )
    period = review_period_for(county=areas.county, year=YEAR)
    assert (period.opens_on, period.due_on) == (
        date(2026, 9, 1),
        date(2026, 12, 31),
    )


@pytest.mark.parametrize(
    ("_case", "role_user"),
    [
        ("township caseworker", "caseworker"),
        ("poverty office", "poverty_office"),
        ("county leader", "county_leader"),
        ("other county's civil affairs", "other_county_civil_affairs"),
        ("league officer", "league_officer"),
    ],
)
def test_only_the_countys_civil_affairs_may_open(
    _case, role_user, areas, campaign_users, review_household
):
    review_household()
    with pytest.raises(DomainError) as error:
        campaign_open(
            actor=getattr(campaign_users, role_user),
            county=areas.county,
            year=YEAR,
            today=WORK_DAY,
        )
    assert error.value.code in {"permission_denied", "not_found"}
    assert not ReviewCampaign.objects.exists()
