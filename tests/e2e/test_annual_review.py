"""The annual review in the browser, from opening to filing: the county opens it, the township
visits and re-assesses, the county decides, the township head confirms, civil affairs and the
poverty office confirm jointly, the township head and the county leader sign (password again),
the county files it and the league sees the filing with its hash."""

import pytest
from django.utils import timezone

from review.models import CampaignStatus, ReviewCampaign, ReviewFiling, ReviewItem
from tests.e2e.navigation import open_menu
from tests.fixtures.accounts import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _review_year() -> int:
    today = timezone.localdate()
    return today.year if today.month >= 10 else today.year - 1


def _submit(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)


def test_the_county_runs_the_annual_review_from_opening_to_filing(
    open_as, live_server, areas, campaign_users, review_household, verify_household, screenshot
):
    household = review_household(names=("巴特尔", "其其格"))
    verify_household(household, timezone.localdate())
    year = _review_year()

    county = open_as("ca")
    open_menu(county, "年度复核")
    county.select_option("#campaign-open-form [name=county]", areas.county.code)
    county.fill("#campaign-open-form [name=year]", str(year))
    _submit(county, "#campaign-open-form button[type=submit]")
    assert f"已发起土默特左旗 {year} 年度复核：1 个苏木乡镇、1 户" in county.inner_text("main")
    campaign = ReviewCampaign.objects.get()
    item = ReviewItem.objects.get()

    township = open_as("cw")
    open_menu(township, "年度复核")
    township.click("#campaigns >> text=土默特左旗")
    township.click("#township-progress >> text=察素齐镇")
    township.click(f"#item-{item.pk} a")
    township.fill("#visit-visitors", "张三，李四")
    township.fill("#visit-findings", "家庭人口、收入无变化")
    _submit(township, "#form-visit button[type=submit]")
    assert "已登记走访。" in township.inner_text("main")
    township.click("#form-means_test >> xpath=.. >> summary")
    _submit(township, "#form-means_test button[type=submit]")
    assert "已重新核算。" in township.inner_text("main")
    township.click("#form-propose >> xpath=.. >> summary")
    township.select_option("#propose-outcome", "continue")
    _submit(township, "#form-propose button[type=submit]")
    assert "已提出建议。" in township.inner_text("main")

    county.goto(f"{live_server.url}/review/campaign/items/{item.pk}/")
    county.click("#form-decide >> xpath=.. >> summary")
    county.select_option("#decide-outcome", "continue")
    _submit(county, "#form-decide button[type=submit]")
    assert "已作出复核结果。" in county.inner_text("main")

    head = open_as("th")
    head.goto(f"{live_server.url}/review/campaign/lists/{item.review_list_id}/")
    _submit(head, "#list-confirm-form button")
    assert "已确认察素齐镇复核名单。" in head.inner_text("main")

    chief = open_as("ca_head")
    chief.goto(f"{live_server.url}/review/campaign/{campaign.pk}/")
    _submit(chief, "#joint-confirm-county_civil_affairs button")
    office = open_as("po")
    office.goto(f"{live_server.url}/review/campaign/{campaign.pk}/")
    _submit(office, "#joint-confirm-county_poverty_office button")
    assert "民政扶贫已共同确认" in office.inner_text("#campaign-status")

    head.reload()
    head.fill("#list-sign-reauth_password", "wrong-password")
    _submit(head, "#list-sign-form button")
    assert "登录密码不正确，签批未完成。" in head.inner_text("main")
    head.fill("#list-sign-reauth_password", PASSWORD)
    _submit(head, "#list-sign-form button")
    assert "已签字确认察素齐镇复核名单，名单已冻结。" in head.inner_text("main")
    assert "巴特尔" in head.inner_text("#review-items")
    screenshot("annual_review_list", head)

    leader = open_as("cl")
    leader.goto(f"{live_server.url}/review/campaign/{campaign.pk}/")
    leader.fill("#county-sign-reauth_password", PASSWORD)
    _submit(leader, "#county-sign-form button")
    assert "已签字确认" in leader.inner_text("#campaign-status")

    county.goto(f"{live_server.url}/review/campaign/{campaign.pk}/")
    _submit(county, "#file-form button")
    assert "已报呼和浩特市备案。" in county.inner_text("main")
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.FILED
    filing = ReviewFiling.objects.get()

    league = open_as("lg")
    open_menu(league, "年度复核")
    league.click("#campaign-nav >> text=备案名单")
    assert filing.county_sha256 in league.inner_text("#filings")
    league.click(f"#filing-{filing.pk} a >> nth=0")
    assert filing.county_sha256 in league.inner_text("#snapshot-hash")
    assert "巴特尔" in league.inner_text("#snapshot-rows")
