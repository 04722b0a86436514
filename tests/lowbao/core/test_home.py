"""The 工作台's cards: each user sees the work waiting in their own areas, and nothing else."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.models import Application
from lowbao.core.home import HomeLine, home_cards
from review.models import ItemState
from tests.fixtures.review_items import make_recon_item, make_run

pytestmark = pytest.mark.django_db


def _cards(user) -> dict[str, tuple[HomeLine, ...]]:
    return {card.title: card.lines for card in home_cards(user)}


def _overdue(application: Application) -> None:
    yesterday = timezone.localdate() - timedelta(days=1)
    Application.objects.filter(pk=application.pk).update(due_on=yesterday)


def test_a_caseworker_counts_the_open_and_overdue_applications_of_their_township_only(
    areas, case_users, new_application
):
    _overdue(new_application())
    new_application(village=areas.sibling_village)
    new_application(village=areas.other_township_village, by=case_users.sibling_caseworker)

    mine = _cards(case_users.caseworker)["低保特困申请"]
    theirs = _cards(case_users.sibling_caseworker)["低保特困申请"]
    county = _cards(case_users.civil_affairs)["低保特困申请"]

    assert mine == (HomeLine("办理中", 2), HomeLine("已超期", 1, alert=True))
    assert theirs == (HomeLine("办理中", 1), HomeLine("已超期", 0, alert=True))
    assert county == (HomeLine("办理中", 3), HomeLine("已超期", 1, alert=True))
    assert _cards(case_users.other_county_civil_affairs)["低保特困申请"] == (
        HomeLine("办理中", 0),
        HomeLine("已超期", 0, alert=True),
    )


def test_reconciliation_items_still_open_are_counted_per_township(areas, case_users):
    run = make_run(areas.county)
    make_recon_item(run, township=areas.township)
    make_recon_item(run, township=areas.township)
    make_recon_item(run, township=areas.township, state=ItemState.VERIFIED)
    make_recon_item(run, township=areas.sibling_township)
    make_recon_item(run, township=None)  # county-wide: not a township's

    assert _cards(case_users.caseworker)["台账比对问题"] == (HomeLine("待处理", 2),)
    assert _cards(case_users.sibling_caseworker)["台账比对问题"] == (HomeLine("待处理", 1),)
    assert _cards(case_users.civil_affairs)["台账比对问题"] == (HomeLine("待处理", 4),)


def test_a_data_admin_gets_no_case_or_reconciliation_card(areas, recon_users):
    assert home_cards(recon_users.data_admin) == []


def test_the_home_page_shows_the_cards_with_links_in_a_fixed_number_of_queries(
    areas, case_users, new_application, login_client
):
    client = login_client(case_users.caseworker)
    _overdue(new_application())
    client.get(reverse("web:home"))  # warm the session and the scope caches

    with CaptureQueriesContext(connection) as one:
        response = client.get(reverse("web:home"))
    new_application(village=areas.sibling_village)
    new_application(village=areas.sibling_village)

    with CaptureQueriesContext(connection) as three:
        again = client.get(reverse("web:home"))

    assert len(three) == len(one)
    html = response.content.decode()
    assert 'id="home-cards"' in html
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in html
    assert f'href="{reverse("cases:worklist")}"' in html
    assert f'href="{reverse("review:reconciliation_worklist")}"' in html
    assert '<dd class="col-6 text-end mb-1 text-danger fw-bold">1</dd>' in html
    assert '<dd class="col-6 text-end mb-1">3</dd>' in again.content.decode()
