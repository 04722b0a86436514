"""Documents of a signed list (PDF read back, .xlsx), filings seen by the league and not by
another league, and the region's reproducible spot checks."""

from io import BytesIO

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from lowbao.core.errors import DomainError
from review.documents import signed_list_pdf
from review.models import CampaignStatus, ReviewFiling, ReviewItem, SpotCheck, SpotCheckStatus
from review.services.campaign import campaign_open
from review.services.campaign_signoff import (
    campaign_file,
    campaign_joint_confirm,
    review_list_confirm,
    review_list_sign,
)
from review.services.campaign_spotcheck import (
    spot_check_draw,
    spot_check_population,
    spot_check_record_finding,
    spot_check_return,
    spot_check_sample,
)
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.campaign import WORK_DAY, YEAR, work_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def filed(areas, campaign_users, review_household, verify_household):
    """A filed campaign of one township with three households (names known)."""
    for names in (("巴特尔",), ("其木格",), ("苏和",)):
        review_household(names=names, incomes=("100",), amount="360")
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    for item in ReviewItem.objects.filter(campaign=campaign).select_related("review_list"):
        work_item(item, campaign_users, verify=verify_household)
    township_list = campaign.lists.get()
    review_list_confirm(
        actor=campaign_users.township_head, campaign_id=campaign.pk, list_id=township_list.pk
    )
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    review_list_sign(
        actor=campaign_users.township_head,
        campaign_id=campaign.pk,
        list_id=township_list.pk,
        password=PASSWORD,
    )
    review_list_sign(
        actor=campaign_users.county_leader, campaign_id=campaign.pk, list_id=None, password=PASSWORD
    )
    return campaign_file(actor=campaign_users.civil_affairs, campaign_id=campaign.pk)


def test_the_signed_list_pdf_carries_the_names_the_hash_and_page_numbers(filed):
    snapshot = filed.county_snapshot
    signature = snapshot.campaign.signatures.get(review_list__isnull=True)

    reader = PdfReader(BytesIO(signed_list_pdf(snapshot, signature)))
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")

    for name in ("巴特尔", "其木格", "苏和"):
        assert name in text
    assert snapshot.content_sha256 in text
    assert "第1页" in text
    assert "土默特左旗2026年度农村牧区低保对象和建档立卡贫困人口复核名单" in text
    assert "旗县主要领导" in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("WenQuanYi" in font for font in fonts)


def test_the_signed_list_downloads_as_xlsx_with_the_hash(filed, campaign_users, login_client):
    client = login_client(campaign_users.civil_affairs)
    response = client.get(reverse("campaign:snapshot_xlsx", args=[filed.county_snapshot_id]))

    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.content)).active
    values = [cell for row in sheet.iter_rows(values_only=True) for cell in row if cell]
    assert {"巴特尔", "其木格", "苏和"} <= set(values)
    assert f"名单内容摘要（SHA-256）：{filed.county_sha256}" in values


def test_the_league_sees_the_filing_with_its_hashes_and_another_league_does_not(
    filed, campaign_users, login_client
):
    own = login_client(campaign_users.league_officer).get(reverse("campaign:filing_list"))
    other = login_client(campaign_users.other_league_officer).get(reverse("campaign:filing_list"))

    assert own.status_code == other.status_code == 200
    assert filed.county_sha256 in own.content.decode()
    assert filed.county_sha256 not in other.content.decode()
    assert (
        login_client(campaign_users.other_league_officer)
        .get(reverse("campaign:snapshot_detail", args=[filed.county_snapshot_id]))
        .status_code
        == 404
    )


def test_the_spot_check_sample_is_reproducible_from_the_recorded_seed(filed, areas, campaign_users):
    check = spot_check_draw(
        actor=campaign_users.region_officer,
        league=areas.league,
        year=YEAR,
        sample_size=2,
        seed="2026-spot-7",
    )

    population = spot_check_population(league=areas.league, year=YEAR)
    assert check.population_size == len(population) == 3
    assert check.sampled_item_ids == spot_check_sample(population, seed="2026-spot-7", size=2)
    again = spot_check_draw(
        actor=campaign_users.region_officer,
        league=areas.league,
        year=YEAR,
        sample_size=2,
        seed="2026-spot-7",
    )
    assert again.sampled_item_ids == check.sampled_item_ids
    assert len(check.sampled_item_ids) == 2


def test_spot_check_results_go_back_to_the_county_once_returned(
    filed, areas, campaign_users, login_client
):
    check = spot_check_draw(
        actor=campaign_users.region_officer, league=areas.league, year=YEAR, sample_size=1, seed="a"
    )
    item_id = check.sampled_item_ids[0]
    spot_check_record_finding(
        actor=campaign_users.region_officer,
        spot_check_id=check.pk,
        item_id=item_id,
        result="problem",
        note="入户走访记录缺少签字",
    )
    detail = reverse("campaign:campaign_detail", args=[filed.campaign_id])
    county = login_client(campaign_users.civil_affairs)
    assert "入户走访记录缺少签字" not in county.get(detail).content.decode()

    spot_check_return(
        actor=campaign_users.region_officer, spot_check_id=check.pk, summary="基本规范"
    )

    assert SpotCheck.objects.get(pk=check.pk).status == SpotCheckStatus.RETURNED
    assert "入户走访记录缺少签字" in county.get(detail).content.decode()


def test_a_problem_finding_needs_a_note_and_a_league_officer_cannot_draw(
    filed, areas, campaign_users
):
    with pytest.raises(DomainError) as denied:
        spot_check_draw(
            actor=campaign_users.league_officer, league=areas.league, year=YEAR, sample_size=1
        )
    assert denied.value.code == "permission_denied"
    check = spot_check_draw(
        actor=campaign_users.region_officer, league=areas.league, year=YEAR, sample_size=1
    )
    assert len(check.seed) == 16
    with pytest.raises(DomainError) as error:
        spot_check_record_finding(
            actor=campaign_users.region_officer,
            spot_check_id=check.pk,
            item_id=check.sampled_item_ids[0],
            result="problem",
            note="",
        )
    assert error.value.code == "step_incomplete"
    assert not check.findings.exists()


def test_a_filing_is_recorded_once_per_round(filed, campaign_users):
    with pytest.raises(DomainError) as error:
        campaign_file(actor=campaign_users.civil_affairs, campaign_id=filed.campaign_id)
    assert error.value.code == "conflict"
    assert ReviewFiling.objects.count() == 1
    assert filed.campaign.status == CampaignStatus.FILED
