"""Twenty concurrent signatures of one list on real PostgreSQL: exactly one is recorded, the
others get a clear conflict (quality.md R4)."""

import threading

import pytest
from django.db import connection

from lowbao.areas.roles import Role
from lowbao.core.errors import DomainError
from review.models import ListStatus, ReviewItem, ReviewList, ReviewListSnapshot, ReviewSignature
from review.services.campaign import campaign_open
from review.services.campaign_signoff import (
    campaign_joint_confirm,
    review_list_confirm,
    review_list_sign,
)
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.campaign import WORK_DAY, YEAR, work_item

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _run_parallel(count: int, work) -> list[object]:
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # collected and asserted below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_twenty_parallel_signatures_of_one_list_record_exactly_one(
    areas, campaign_users, review_household, verify_household, make_user
):
    review_household()
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    for item in ReviewItem.objects.filter(campaign=campaign).select_related("review_list"):
        work_item(item, campaign_users, verify=verify_household)
    review_list = ReviewList.objects.get(campaign=campaign)
    review_list_confirm(
        actor=campaign_users.township_head, campaign_id=campaign.pk, list_id=review_list.pk
    )
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    heads = [campaign_users.township_head] * 5 + [
        make_user(role=Role.TOWNSHIP_HEAD, area=areas.township) for _ in range(15)
    ]

    results = _run_parallel(
        20,
        lambda i: review_list_sign(
            actor=heads[i], campaign_id=campaign.pk, list_id=review_list.pk, password=PASSWORD
        ),
    )

    winners = [r for r in results if isinstance(r, ReviewSignature)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1
    assert len(losers) == 19
    assert {error.code for error in losers} == {"conflict"}
    assert all("不能重复签字" in error.message for error in losers)
    assert ReviewSignature.objects.filter(review_list=review_list).count() == 1
    assert ReviewListSnapshot.objects.filter(review_list=review_list).count() == 1
    assert ReviewList.objects.get(pk=review_list.pk).status == ListStatus.SIGNED
