"""Confirmation, joint confirmation, signatures, reopening, filing and the frozen snapshot."""

import pytest
from django.db import IntegrityError, transaction

from cases.models import Household
from lowbao.areas.scoping import forget_assignments
from lowbao.areas.services import role_assign
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.people.models import Person
from review.models import (
    CampaignStatus,
    ListStatus,
    ReviewConfirmation,
    ReviewFiling,
    ReviewItem,
    ReviewList,
    ReviewListSnapshot,
    ReviewSignature,
)
from review.services.campaign import campaign_open
from review.services.campaign_signoff import (
    campaign_file,
    campaign_joint_confirm,
    list_content,
    review_list_confirm,
    review_list_sign,
    review_reopen,
)
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.campaign import WORK_DAY, YEAR, head_id_number, work_item

pytestmark = pytest.mark.django_db


@pytest.fixture
def worked_campaign(areas, campaign_users, review_household, review_registry, verify_household):
    """Two townships: a dibao household linked to the registry and a registry-only household in
    察素齐镇, a dibao household in 毕克齐镇; every item decided "continue"."""
    linked = review_household(names=("巴特尔", "其其格"))
    review_registry(id_numbers=(head_id_number(linked),))
    review_registry(name="乌云")
    review_household(village=areas.other_township_village, names=("那日苏",))
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    for item in ReviewItem.objects.filter(campaign=campaign).select_related("review_list"):
        work_item(item, campaign_users, verify=verify_household)
    return campaign


def _lists(campaign):
    return {row.township.code: row for row in ReviewList.objects.filter(campaign=campaign)}


def _confirm_townships(campaign, users, areas):
    lists = _lists(campaign)
    review_list_confirm(
        actor=users.township_head,
        campaign_id=campaign.pk,
        list_id=lists[areas.township.code].pk,
    )
    review_list_confirm(
        actor=users.sibling_head,
        campaign_id=campaign.pk,
        list_id=lists[areas.sibling_township.code].pk,
    )
    return lists


def _sign_townships(campaign, users, areas, lists):
    for head, code in (
        (users.township_head, areas.township),
        (users.sibling_head, areas.sibling_township),
    ):
        review_list_sign(
            actor=head, campaign_id=campaign.pk, list_id=lists[code.code].pk, password=PASSWORD
        )


def _status(campaign):
    campaign.refresh_from_db()
    return campaign.status


def test_the_whole_sign_off_from_confirmation_to_filing(worked_campaign, campaign_users, areas):
    campaign, users = worked_campaign, campaign_users
    lists = _confirm_townships(campaign, users, areas)
    assert _status(campaign) == CampaignStatus.LISTS_CONFIRMED

    campaign_joint_confirm(actor=users.civil_affairs_head, campaign_id=campaign.pk)
    assert _status(campaign) == CampaignStatus.LISTS_CONFIRMED
    campaign_joint_confirm(actor=users.poverty_office, campaign_id=campaign.pk)
    assert _status(campaign) == CampaignStatus.JOINTLY_CONFIRMED

    _sign_townships(campaign, users, areas, lists)
    assert _status(campaign) == CampaignStatus.JOINTLY_CONFIRMED
    county = review_list_sign(
        actor=users.county_leader, campaign_id=campaign.pk, list_id=None, password=PASSWORD
    )
    assert _status(campaign) == CampaignStatus.SIGNED

    filing = campaign_file(actor=users.civil_affairs, campaign_id=campaign.pk)

    assert _status(campaign) == CampaignStatus.FILED
    assert filing.county_sha256 == county.content_sha256 == county.snapshot.content_sha256
    assert filing.league == areas.league
    assert [row["name"] for row in filing.township_hashes] == ["察素齐镇", "毕克齐镇"]
    assert (filing.registry_dibao_households, filing.registry_dibao_persons) == (1, 2)
    assert county.snapshot.row_count == 3
    assert {row["head_name"] for row in county.snapshot.rows} == {"巴特尔", "乌云", "那日苏"}
    assert ReviewSignature.objects.filter(campaign=campaign).count() == 3


def test_joint_confirmation_needs_both_offices(worked_campaign, campaign_users, areas):
    campaign = worked_campaign
    _confirm_townships(campaign, campaign_users, areas)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)

    with pytest.raises(DomainError) as error:
        review_list_sign(
            actor=campaign_users.township_head,
            campaign_id=campaign.pk,
            list_id=_lists(campaign)[areas.township.code].pk,
            password=PASSWORD,
        )

    assert error.value.code == "invalid_transition"
    assert _status(campaign) == CampaignStatus.LISTS_CONFIRMED
    assert not ReviewSignature.objects.exists()


def test_an_office_confirms_only_once_per_round(worked_campaign, campaign_users, areas):
    campaign = worked_campaign
    _confirm_townships(campaign, campaign_users, areas)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)

    with pytest.raises(DomainError) as error:
        campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)

    assert error.value.code == "conflict"
    assert ReviewConfirmation.objects.filter(review_list__isnull=True).count() == 1
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewConfirmation.objects.create(
            campaign=campaign,
            scope="county",
            round=campaign.round,
            role="county_poverty_office",
            confirmed_by=campaign_users.poverty_office,
            confirmed_at=campaign.created_at,
            content_sha256="x",
        )


def test_the_officer_who_decided_items_cannot_confirm_the_county_list(
    worked_campaign, campaign_users, areas
):
    campaign = worked_campaign
    _confirm_townships(campaign, campaign_users, areas)
    with pytest.raises(DomainError) as error:
        campaign_joint_confirm(actor=campaign_users.civil_affairs, campaign_id=campaign.pk)
    assert error.value.code == "four_eyes"
    assert not ReviewConfirmation.objects.filter(review_list__isnull=True).exists()


def test_a_caseworker_who_worked_items_cannot_confirm_even_with_the_head_role(
    worked_campaign, campaign_users, areas
):
    role_assign(
        actor=None, user=campaign_users.caseworker, role="township_head", area=areas.township
    )
    forget_assignments(campaign_users.caseworker)
    with pytest.raises(DomainError) as error:
        review_list_confirm(
            actor=campaign_users.caseworker,
            campaign_id=worked_campaign.pk,
            list_id=_lists(worked_campaign)[areas.township.code].pk,
        )
    assert error.value.code == "four_eyes"
    assert ReviewList.objects.get(campaign=worked_campaign, township=areas.township).status == (
        ListStatus.OPEN
    )


def test_a_list_with_undecided_items_cannot_be_confirmed(areas, campaign_users, review_registry):
    review_registry()
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    with pytest.raises(DomainError) as error:
        review_list_confirm(
            actor=campaign_users.township_head,
            campaign_id=campaign.pk,
            list_id=_lists(campaign)[areas.township.code].pk,
        )
    assert error.value.message == "名单中还有 1 户未作出复核结果，不能确认"


def test_signing_with_a_wrong_password_records_nothing(worked_campaign, campaign_users, areas):
    campaign = worked_campaign
    lists = _confirm_townships(campaign, campaign_users, areas)
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)

    with pytest.raises(DomainError) as error:
        review_list_sign(
            actor=campaign_users.township_head,
            campaign_id=campaign.pk,
            list_id=lists[areas.township.code].pk,
            password="wrong-password",
        )

    assert error.value.code == "reauth_password"
    assert not ReviewSignature.objects.exists()
    assert not ReviewListSnapshot.objects.exists()


def test_signing_twice_is_a_conflict(worked_campaign, campaign_users, areas):
    campaign = worked_campaign
    lists = _confirm_townships(campaign, campaign_users, areas)
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    list_id = lists[areas.township.code].pk
    review_list_sign(
        actor=campaign_users.township_head,
        campaign_id=campaign.pk,
        list_id=list_id,
        password=PASSWORD,
    )

    with pytest.raises(DomainError) as error:
        review_list_sign(
            actor=campaign_users.township_head,
            campaign_id=campaign.pk,
            list_id=list_id,
            password=PASSWORD,
        )

    assert error.value.code == "conflict"
    assert "已由测试用户于" in error.value.message
    assert ReviewSignature.objects.filter(review_list_id=list_id).count() == 1


def test_the_county_leader_signs_only_after_every_township(worked_campaign, campaign_users, areas):
    campaign = worked_campaign
    lists = _confirm_townships(campaign, campaign_users, areas)
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    review_list_sign(
        actor=campaign_users.township_head,
        campaign_id=campaign.pk,
        list_id=lists[areas.township.code].pk,
        password=PASSWORD,
    )
    with pytest.raises(DomainError) as error:
        review_list_sign(
            actor=campaign_users.county_leader,
            campaign_id=campaign.pk,
            list_id=None,
            password=PASSWORD,
        )
    assert error.value.message == (
        "以下苏木乡镇复核名单尚未签字：毕克齐镇；旗县主要领导须在其后签字"
    )


def _to_signed(campaign, users, areas):
    lists = _confirm_townships(campaign, users, areas)
    campaign_joint_confirm(actor=users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=users.poverty_office, campaign_id=campaign.pk)
    _sign_townships(campaign, users, areas, lists)
    review_list_sign(
        actor=users.county_leader, campaign_id=campaign.pk, list_id=None, password=PASSWORD
    )
    return lists


def test_a_signed_list_is_unchanged_after_later_edits_to_its_households(
    worked_campaign, campaign_users, areas
):
    campaign = worked_campaign
    lists = _to_signed(campaign, campaign_users, areas)
    signature = ReviewSignature.objects.get(review_list=lists[areas.township.code])
    before = (signature.snapshot.rows, signature.snapshot.content_sha256)
    head = Household.objects.get(
        pk=ReviewItem.objects.filter(
            review_list=lists[areas.township.code], dibao_household__isnull=False
        ).values_list("dibao_household_id", flat=True)[0]
    )
    Household.objects.filter(pk=head.pk).update(monthly_amount=999, number="CHANGED-1")
    Person.objects.filter(name="巴特尔").update(name="改名")

    snapshot = ReviewListSnapshot.objects.get(pk=signature.snapshot_id)
    assert (snapshot.rows, snapshot.content_sha256) == before
    assert list_content(campaign, lists[areas.township.code]).sha256 != before[1]
    with pytest.raises(IntegrityError), transaction.atomic():
        ReviewListSnapshot.objects.filter(pk=snapshot.pk).update(title="篡改")
    assert ReviewListSnapshot.objects.get(pk=snapshot.pk).title == snapshot.title


def test_reopening_needs_a_reason_and_then_a_new_confirmation_and_signature(
    worked_campaign, campaign_users, areas
):
    campaign = worked_campaign
    lists = _to_signed(campaign, campaign_users, areas)
    campaign_file(actor=campaign_users.civil_affairs, campaign_id=campaign.pk)
    township_list = lists[areas.township.code]

    with pytest.raises(DomainError) as error:
        review_reopen(
            actor=campaign_users.civil_affairs,
            campaign_id=campaign.pk,
            reason=" ",
            list_id=township_list.pk,
        )
    assert error.value.code == "step_incomplete"

    review_reopen(
        actor=campaign_users.civil_affairs,
        campaign_id=campaign.pk,
        reason="发现一户家庭成员信息有误，需更正",
        list_id=township_list.pk,
    )

    township_list.refresh_from_db()
    campaign.refresh_from_db()
    assert (township_list.status, township_list.round) == (ListStatus.OPEN, 2)
    assert (campaign.status, campaign.round) == (CampaignStatus.OPEN, 2)
    assert AuditEvent.objects.filter(action="review_list.reopen").count() == 1
    # the sibling township's signature still stands; the county's joint confirmation does not
    assert lists[areas.sibling_township.code].signatures.count() == 1

    review_list_confirm(
        actor=campaign_users.township_head, campaign_id=campaign.pk, list_id=township_list.pk
    )
    assert _status(campaign) == CampaignStatus.LISTS_CONFIRMED
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
    campaign_file(actor=campaign_users.civil_affairs, campaign_id=campaign.pk)

    assert _status(campaign) == CampaignStatus.FILED
    assert list(
        ReviewFiling.objects.filter(campaign=campaign)
        .order_by("round")
        .values_list("round", flat=True)
    ) == [1, 2]
    assert ReviewSignature.objects.filter(review_list=township_list).count() == 2


def test_only_the_county_civil_affairs_may_reopen(worked_campaign, campaign_users, areas):
    campaign = worked_campaign
    lists = _to_signed(campaign, campaign_users, areas)
    with pytest.raises(DomainError) as error:
        review_reopen(
            actor=campaign_users.county_leader,
            campaign_id=campaign.pk,
            reason="理由",
            list_id=lists[areas.township.code].pk,
        )
    assert error.value.code == "permission_denied"
    assert _status(campaign) == CampaignStatus.SIGNED


def test_signing_asks_for_the_second_factor_when_sign_offs_require_it(
    worked_campaign, campaign_users, areas, settings
):
    campaign = worked_campaign
    lists = _confirm_townships(campaign, campaign_users, areas)
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    settings.LOWBAO_OTP_ENFORCED = True
    settings.LOWBAO_OTP_REQUIRED_FOR_SIGNOFF = True

    with pytest.raises(DomainError) as error:
        review_list_sign(
            actor=campaign_users.township_head,
            campaign_id=campaign.pk,
            list_id=lists[areas.township.code].pk,
            password=PASSWORD,
        )

    assert error.value.code == "reauth_otp_required"
    assert not ReviewSignature.objects.exists()
