"""Every page of the annual review × role × area relation (quality.md S1), denied writes that
change nothing, and query counts of the township list."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from review.models import (
    ReconciliationCategory,
    ReconciliationItem,
    ReconciliationRun,
    ReviewItem,
    ReviewList,
    SpotCheck,
)
from review.services.campaign import campaign_open
from review.services.campaign_signoff import (
    campaign_file,
    campaign_joint_confirm,
    list_progress,
    review_list_confirm,
    review_list_sign,
)
from review.services.campaign_spotcheck import spot_check_draw
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.campaign import WORK_DAY, YEAR, work_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(areas, campaign_users, review_household, verify_household):
    """A filed campaign with a household in each township, and a spot check drawn."""
    own = review_household(names=("巴特尔",))
    review_household(village=areas.other_township_village, names=("那日苏",))
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    for item in ReviewItem.objects.filter(campaign=campaign).select_related("review_list"):
        work_item(item, campaign_users, verify=verify_household)
    lists = {row.township_id: row for row in ReviewList.objects.filter(campaign=campaign)}
    heads = {
        areas.township.pk: campaign_users.township_head,
        areas.sibling_township.pk: campaign_users.sibling_head,
    }
    for township_id, review_list in lists.items():
        review_list_confirm(
            actor=heads[township_id], campaign_id=campaign.pk, list_id=review_list.pk
        )
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    for township_id, review_list in lists.items():
        review_list_sign(
            actor=heads[township_id],
            campaign_id=campaign.pk,
            list_id=review_list.pk,
            password=PASSWORD,
        )
    review_list_sign(
        actor=campaign_users.county_leader, campaign_id=campaign.pk, list_id=None, password=PASSWORD
    )
    filing = campaign_file(actor=campaign_users.civil_affairs, campaign_id=campaign.pk)
    check = spot_check_draw(
        actor=campaign_users.region_officer, league=areas.league, year=YEAR, sample_size=1, seed="s"
    )
    own_list = lists[areas.township.pk]
    return {
        "campaign": campaign,
        "list": own_list,
        "item": ReviewItem.objects.get(dibao_household=own),
        "snapshot": own_list.signatures.get().snapshot_id,
        "county_snapshot": filing.county_snapshot_id,
        "check": check,
    }


def _pages(world) -> dict[str, str]:
    return {
        "campaign_list": reverse("campaign:campaign_list"),
        "campaign_detail": reverse("campaign:campaign_detail", args=[world["campaign"].pk]),
        "list_detail": reverse("campaign:list_detail", args=[world["list"].pk]),
        "item_detail": reverse("campaign:item_detail", args=[world["item"].pk]),
        "snapshot_detail": reverse("campaign:snapshot_detail", args=[world["snapshot"]]),
        "snapshot_pdf": reverse("campaign:snapshot_pdf", args=[world["snapshot"]]),
        "county_snapshot": reverse("campaign:snapshot_detail", args=[world["county_snapshot"]]),
        "filing_list": reverse("campaign:filing_list"),
        "spot_check_list": reverse("campaign:spot_check_list"),
        "spot_check_detail": reverse("campaign:spot_check_detail", args=[world["check"].pk]),
    }


OK, NOT_FOUND, FORBIDDEN = 200, 404, 403
# role → expected status per page (own township = 察素齐镇, whose list/item/snapshot are used)
MATRIX = {
    "caseworker": {  # own township
        "campaign_list": OK,
        "campaign_detail": OK,
        "list_detail": OK,
        "item_detail": OK,
        "snapshot_detail": OK,
        "snapshot_pdf": OK,
        "county_snapshot": NOT_FOUND,
        "filing_list": OK,
        "spot_check_list": FORBIDDEN,
        "spot_check_detail": FORBIDDEN,
    },
    "sibling_caseworker": {  # sibling township
        "campaign_list": OK,
        "campaign_detail": OK,
        "list_detail": NOT_FOUND,
        "item_detail": NOT_FOUND,
        "snapshot_detail": NOT_FOUND,
        "snapshot_pdf": NOT_FOUND,
        "county_snapshot": NOT_FOUND,
        "filing_list": OK,
        "spot_check_list": FORBIDDEN,
        "spot_check_detail": FORBIDDEN,
    },
    "civil_affairs": {  # the county
        **dict.fromkeys(
            [
                "campaign_list",
                "campaign_detail",
                "list_detail",
                "item_detail",
                "snapshot_detail",
                "snapshot_pdf",
                "county_snapshot",
                "filing_list",
            ],
            OK,
        ),
        "spot_check_list": FORBIDDEN,
        "spot_check_detail": FORBIDDEN,
    },
    "other_county_civil_affairs": {  # another county of the same league
        "campaign_list": OK,
        "campaign_detail": NOT_FOUND,
        "list_detail": NOT_FOUND,
        "item_detail": NOT_FOUND,
        "snapshot_detail": NOT_FOUND,
        "snapshot_pdf": NOT_FOUND,
        "county_snapshot": NOT_FOUND,
        "filing_list": OK,
        "spot_check_list": FORBIDDEN,
        "spot_check_detail": FORBIDDEN,
    },
    "league_officer": {  # parent level
        **dict.fromkeys(
            [
                "campaign_list",
                "campaign_detail",
                "list_detail",
                "item_detail",
                "snapshot_detail",
                "snapshot_pdf",
                "county_snapshot",
                "filing_list",
            ],
            OK,
        ),
        "spot_check_list": FORBIDDEN,
        "spot_check_detail": FORBIDDEN,
    },
    "other_league_officer": {
        "campaign_list": OK,
        "campaign_detail": NOT_FOUND,
        "list_detail": NOT_FOUND,
        "item_detail": NOT_FOUND,
        "snapshot_detail": NOT_FOUND,
        "snapshot_pdf": NOT_FOUND,
        "county_snapshot": NOT_FOUND,
        "filing_list": OK,
        "spot_check_list": FORBIDDEN,
        "spot_check_detail": FORBIDDEN,
    },
    "region_officer": {
        **dict.fromkeys(
            [
                "campaign_list",
                "campaign_detail",
                "list_detail",
                "item_detail",
                "snapshot_detail",
                "snapshot_pdf",
                "county_snapshot",
                "filing_list",
                "spot_check_list",
                "spot_check_detail",
            ],
            OK,
        ),
    },
}
CASES = [(role, page, status) for role, pages in MATRIX.items() for page, status in pages.items()]


@pytest.mark.parametrize(("role", "page", "status"), CASES)
def test_page_by_role_and_area(role, page, status, world, campaign_users, login_client):
    response = login_client(getattr(campaign_users, role)).get(_pages(world)[page])
    assert response.status_code == status


@pytest.mark.parametrize("page", list(MATRIX["caseworker"]))
def test_anonymous_is_sent_to_the_login(page, world):
    response = Client().get(_pages(world)[page])
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_user_without_a_role_is_forbidden(world, make_user, login_client):
    response = login_client(make_user()).get(reverse("campaign:campaign_list"))
    assert response.status_code == 403


def test_the_lists_show_only_the_own_township_to_a_township(world, campaign_users, login_client):
    content = (
        login_client(campaign_users.caseworker)
        .get(reverse("campaign:campaign_detail", args=[world["campaign"].pk]))
        .content.decode()
    )
    assert "察素齐镇" in content
    assert "毕克齐镇" not in content


def test_the_signed_list_page_shows_the_hash_and_the_signer(world, campaign_users, login_client):
    content = (
        login_client(campaign_users.league_officer)
        .get(reverse("campaign:snapshot_detail", args=[world["snapshot"]]))
        .content.decode()
    )
    snapshot = world["list"].signatures.get().snapshot
    assert snapshot.content_sha256 in content
    assert "巴特尔" in content
    assert "苏木乡镇负责人" in content


def test_a_sibling_caseworker_posting_on_the_item_gets_404_and_nothing_changes(
    areas, campaign_users, review_household, login_client
):
    household = review_household()
    campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    item = ReviewItem.objects.get(dibao_household=household)
    response = login_client(campaign_users.sibling_caseworker).post(
        reverse("campaign:item_act", args=[item.pk, "visit"]),
        {"visited_on": "2026-11-20", "visitors": "张三", "findings": "无变化"},
    )
    assert response.status_code == 404
    assert ReviewItem.objects.get(pk=item.pk).visited_on is None


def test_the_caseworker_records_a_visit_through_the_page(
    areas, campaign_users, review_household, login_client
):
    household = review_household()
    campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    item = ReviewItem.objects.get(dibao_household=household)
    client = login_client(campaign_users.caseworker)
    response = client.post(
        reverse("campaign:item_act", args=[item.pk, "visit"]),
        {"visited_on": "2026-11-20", "visitors": "张三、李四", "findings": "家中无变化"},
        follow=True,
    )
    assert response.status_code == 200
    assert "已登记走访。" in response.content.decode()
    assert ReviewItem.objects.get(pk=item.pk).visit_findings == "家中无变化"


def test_a_caseworker_cannot_open_a_campaign(areas, campaign_users, review_household, login_client):
    review_household()
    response = login_client(campaign_users.caseworker).post(
        reverse("campaign:campaign_open"), {"county": areas.county.code, "year": YEAR}
    )
    assert response.status_code == 403


def test_the_joint_confirmation_refused_to_a_caseworker_is_shown_in_chinese(
    world, campaign_users, login_client
):
    response = login_client(campaign_users.caseworker).post(
        reverse("campaign:joint_confirm", args=[world["campaign"].pk]), follow=True
    )
    assert response.status_code == 200
    assert "共同确认纳入建档立卡的低保对象名单须由旗县民政局、旗县扶贫办办理" in (
        response.content.decode()
    )


def test_the_region_draws_a_spot_check_through_the_page(world, areas, campaign_users, login_client):
    response = login_client(campaign_users.region_officer).post(
        reverse("campaign:spot_check_draw"),
        {"league": areas.league.code, "year": YEAR, "sample_size": 2, "seed": "页面种子"},
        follow=True,
    )
    assert response.status_code == 200
    check = SpotCheck.objects.get(seed="页面种子")
    assert check.sample_size == 2
    assert "页面种子" in response.content.decode()


def test_the_township_list_page_has_the_same_query_count_for_few_and_many_items(
    areas, campaign_users, review_household, login_client, django_assert_num_queries
):
    def count_queries(client, url) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    review_household()
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    review_list = campaign.lists.get()
    client = login_client(campaign_users.civil_affairs)
    url = reverse("campaign:list_detail", args=[review_list.pk])
    client.get(url)  # the session is renewed on the first request after login, then not
    few = count_queries(client, url)

    for _ in range(5):
        household = review_household()
        ReviewItem.objects.create(
            campaign=campaign,
            review_list=review_list,
            area=household.area,
            kind="dibao",
            dibao_household=household,
        )
    many = count_queries(client, url)

    assert many == few


def test_the_periods_reconciliation_findings_show_on_the_items(
    areas, campaign_users, review_household, login_client
):
    household = review_household()
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    run = ReconciliationRun.objects.create(
        county=areas.county, as_of=date(2026, 7, 1), period="2026H2", trigger="manual"
    )
    ReconciliationItem.objects.create(
        county=areas.county,
        township=areas.township,
        category=ReconciliationCategory.SHOULD_REGISTER,
        key=household.number,
        dibao_household=household,
        state="open",
        first_run=run,
        last_run=run,
    )
    item = ReviewItem.objects.get(campaign=campaign)
    client = login_client(campaign_users.caseworker)

    listing = client.get(reverse("campaign:list_detail", args=[item.review_list_id]))
    detail = client.get(reverse("campaign:item_detail", args=[item.pk]))

    assert "应扶尽扶（疑似应纳未纳）" in listing.content.decode()
    assert "台账比对提示：应扶尽扶（疑似应纳未纳）（2026H2，待处理）" in detail.content.decode()


def test_undecided_items_are_overdue_after_the_last_day(areas, campaign_users, review_household):
    review_household()
    review_household()
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    lists = campaign.lists.all()
    on_time = list_progress(lists, today=date(2026, 12, 31))[0]
    late = list_progress(lists, today=date(2027, 1, 1))[0]
    assert (on_time.total, on_time.decided, on_time.overdue) == (2, 0, 0)
    assert (late.total, late.decided, late.overdue) == (2, 0, 2)
