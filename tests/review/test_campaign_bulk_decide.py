"""Bulk decision (and bulk proposal) of a township's review list (年度复核, issue 7).

The county decides many ready items with one outcome that needs nothing per household; every item
goes through the checks and the writes of ``review_item_decide``, all or nothing, and a refusal
names the households. The township proposes in bulk the same way.
"""

import threading
import time
from dataclasses import dataclass
from datetime import date

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cases.choices import ChangeOutcome, ChangeStatus
from cases.models import ChangeReport, Household
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from review.models import ItemOutcome, ListStatus, ReviewItem, ReviewList
from review.services.campaign import (
    BulkAction,
    campaign_open,
    review_item_decide,
    review_item_means_test,
    review_item_visit,
    review_items_bulk_plan,
    review_items_decide_bulk,
    review_items_propose_bulk,
)
from tests.fixtures.campaign import WORK_DAY, YEAR

pytestmark = pytest.mark.django_db
DEFAULT_REASONS = "复核后家庭人口、收入和财产状况无变化，继续保障"


@dataclass
class Opened:
    review_list: ReviewList
    items: list[ReviewItem]  # of the own township's list, in id order


def _work(item: ReviewItem, users, verify, *, visit=True, means_test=True, verified=True) -> None:
    """The township's work on an item (visit, verification, means test), not the decision."""
    if visit:
        review_item_visit(
            actor=users.caseworker,
            item_id=item.pk,
            visited_on=WORK_DAY,
            visitors=["张三", "李四"],
            findings="家庭情况无变化",
            today=WORK_DAY,
        )
    if item.dibao_household_id is not None:
        if verified:
            verify(item.dibao_household, WORK_DAY)
        if means_test:
            review_item_means_test(actor=users.caseworker, item_id=item.pk, today=WORK_DAY)


@pytest.fixture
def opened(areas, campaign_users, review_household, review_registry, verify_household):
    """``opened(dibao=2, registry=0, ready=True)``: the county's campaign with that many
    households in the own township; ``ready`` works every item up to the decision."""

    def _open(*, dibao: int = 2, registry: int = 0, ready: bool = True) -> Opened:
        for _ in range(dibao):
            review_household()
        for _ in range(registry):
            review_registry()
        campaign = campaign_open(
            actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
        )
        review_list = ReviewList.objects.get(campaign=campaign, township=areas.township)
        items = list(
            ReviewItem.objects.filter(review_list=review_list)
            .select_related("review_list", "dibao_household", "registry_household")
            .order_by("pk")
        )
        if ready:
            for item in items:
                _work(item, campaign_users, verify_household)
        return Opened(review_list=review_list, items=items)

    return _open


def _state(review_list: ReviewList) -> tuple[object, ...]:
    """What a refused request must leave as it was."""
    return (
        list(
            ReviewItem.objects.filter(review_list__campaign=review_list.campaign)
            .order_by("pk")
            .values_list("pk", "outcome", "decided_by_id", "proposed_outcome", "updated_at")
        ),
        list(ChangeReport.objects.order_by("pk").values_list("pk", "status", "outcome")),
        list(Household.objects.order_by("pk").values_list("pk", "status", "monthly_amount")),
        AuditEvent.objects.count(),
    )


def _decide(users, opened_list: Opened, items: list[ReviewItem], **kwargs):
    return review_items_decide_bulk(
        actor=kwargs.pop("actor", users.civil_affairs),
        list_id=kwargs.pop("list_id", opened_list.review_list.pk),
        item_ids=[item.pk for item in items],
        outcome=kwargs.pop("outcome", ItemOutcome.CONTINUE),
        note=kwargs.pop("note", ""),
        today=WORK_DAY,
    )


def _changes(action: str, item: ReviewItem) -> dict[str, object]:
    return AuditEvent.objects.get(
        action=action, object_type="review.reviewitem", object_id=str(item.pk)
    ).changes


# --- the service ---------------------------------------------------------------------------------


def test_bulk_decision_decides_every_item_as_the_single_decision_does(campaign_users, opened):
    world = opened(dibao=3, registry=1)
    single, *bulk = world.items
    review_item_decide(
        actor=campaign_users.civil_affairs,
        item_id=single.pk,
        outcome=ItemOutcome.CONTINUE,
        today=WORK_DAY,
    )

    result = _decide(campaign_users, world, bulk)

    assert [item.pk for item in result.changed] == [item.pk for item in bulk]
    assert result.done == []
    rows = ReviewItem.objects.filter(pk__in=[item.pk for item in world.items]).order_by("pk")
    december = date(2026, 12, 1)
    assert [
        (row.outcome, row.decided_by_id, row.decision_note, row.new_amount, row.effective_month)
        for row in rows
    ] == [
        *[(ItemOutcome.CONTINUE, campaign_users.civil_affairs.pk, DEFAULT_REASONS, 600, december)]
        * 3,
        (ItemOutcome.CONTINUE, campaign_users.civil_affairs.pk, DEFAULT_REASONS, None, None),
    ]
    dibao = [row for row in rows if row.dibao_household_id is not None]
    assert [
        ChangeReport.objects.values_list("status", "outcome", "decided_by_id").get(pk=row.change_id)
        for row in dibao
    ] == [(ChangeStatus.DECIDED, ChangeOutcome.UNCHANGED, campaign_users.civil_affairs.pk)] * 3
    assert (
        list(
            Household.objects.filter(pk__in=[row.dibao_household_id for row in dibao])
            .order_by("pk")
            .values_list("monthly_amount", flat=True)
        )
        == [600] * 3
    )
    expected = _changes("review_item.decide", single)
    for item in bulk[:2]:  # the dibao items: as the single decision, with their own change
        assert _changes("review_item.decide", item) == {
            **expected,
            "change": rows.get(pk=item.pk).change_id,
        }
    assert _changes("review_item.decide", bulk[2]) == {
        **expected,
        "change": None,
        "new_amount": None,
        "effective_month": None,
    }
    assert AuditEvent.objects.filter(action="change.decide").count() == 3
    batch = AuditEvent.objects.get(action="review_list.decide_bulk")
    assert (batch.object_id, batch.area_code) == (
        str(world.review_list.pk),
        world.review_list.township.code,
    )
    assert batch.changes == {
        "outcome": "continue",
        "items": [item.pk for item in bulk],
        "already_done": [],
        "note": "",
    }


def test_the_note_becomes_the_decision_reasons_of_every_item(campaign_users, opened):
    world = opened(dibao=2)

    _decide(campaign_users, world, world.items, note="  入户核实，家庭情况稳定  ")

    assert (
        list(
            ReviewItem.objects.filter(review_list=world.review_list).values_list(
                "decision_note", flat=True
            )
        )
        == ["入户核实，家庭情况稳定"] * 2
    )
    assert (
        list(ChangeReport.objects.values_list("reasons", flat=True))
        == ["入户核实，家庭情况稳定"] * 2
    )


@pytest.mark.parametrize(
    ("_case", "work", "expected"),
    [
        ("not visited", {"visit": False}, "尚未登记入户走访"),
        ("no means test", {"means_test": False}, "尚未按现行标准重新核算"),
        ("verification incomplete", {"verified": False}, "逢救必核："),
    ],
)
def test_a_not_ready_item_refuses_the_whole_batch_naming_its_household(
    _case, work, expected, campaign_users, opened, verify_household
):
    world = opened(dibao=3, ready=False)
    first, lagging, last = world.items
    _work(first, campaign_users, verify_household)
    _work(last, campaign_users, verify_household)
    _work(lagging, campaign_users, verify_household, **work)
    before = _state(world.review_list)
    with pytest.raises(DomainError) as single, transaction.atomic():
        review_item_decide(
            actor=campaign_users.civil_affairs,
            item_id=lagging.pk,
            outcome=ItemOutcome.CONTINUE,
            today=WORK_DAY,
        )

    with pytest.raises(DomainError) as error:
        _decide(campaign_users, world, world.items)

    assert error.value.code == "step_incomplete"
    assert error.value.message == (
        f"以下 1 户不能批量作出复核结果，本次未作任何更改："
        f"{lagging.household_number}（{single.value.message}）"
    )
    assert expected in error.value.message
    assert error.value.fields == {"items": [f"{lagging.household_number}：{single.value.message}"]}
    assert _state(world.review_list) == before


def test_items_decided_otherwise_or_worked_by_the_decider_are_named(
    areas, make_user, campaign_users, opened, verify_household
):
    world = opened(dibao=3, registry=1, ready=False)
    stopped, plain, own, registry = world.items
    both = make_user(
        role="township_caseworker",
        area=areas.township,
        extra=(("county_civil_affairs", areas.county),),
    )
    for item in (stopped, plain, registry):
        _work(item, campaign_users, verify_household)
    review_item_visit(
        actor=both,
        item_id=own.pk,
        visited_on=WORK_DAY,
        visitors=["王五"],
        findings="无变化",
        today=WORK_DAY,
    )
    verify_household(own.dibao_household, WORK_DAY)
    review_item_means_test(actor=both, item_id=own.pk, today=WORK_DAY)
    review_item_decide(
        actor=campaign_users.civil_affairs_head,
        item_id=stopped.pk,
        outcome=ItemOutcome.STOP,
        reasons="家庭收入超过保障标准",
        today=WORK_DAY,
    )
    review_item_decide(
        actor=campaign_users.civil_affairs_head,
        item_id=registry.pk,
        outcome=ItemOutcome.PROPOSE_REGISTRY_EXIT,
        reasons="已稳定脱贫",
        today=WORK_DAY,
    )
    before = _state(world.review_list)

    with pytest.raises(DomainError) as error:
        _decide(campaign_users, world, world.items, actor=both)

    assert error.value.message == (
        "以下 3 户不能批量作出复核结果，本次未作任何更改："
        f"{stopped.household_number}（已作出复核结果“停发（退出）”）；"
        f"{own.household_number}（不能对自己经办或提出建议的复核对象作出结果）；"
        f"{registry.household_number}（已作出复核结果“建议退出建档立卡”）"
    )
    assert _state(world.review_list) == before


def test_an_item_id_outside_the_list_or_the_actors_area_refuses_the_batch(
    areas, campaign_users, review_household, review_registry, opened, verify_household
):
    review_household(village=areas.other_township_village)
    foreign = review_registry(village=areas.other_county_village)
    world = opened(dibao=2)
    campaign_open(
        actor=campaign_users.other_county_civil_affairs,
        county=areas.sibling_county,
        year=YEAR,
        today=WORK_DAY,
    )
    sibling = ReviewItem.objects.get(review_list__township=areas.sibling_township)
    other_county = ReviewItem.objects.get(registry_household=foreign)
    before = _state(world.review_list)

    for injected in (sibling, other_county):
        with pytest.raises(DomainError) as error:
            _decide(campaign_users, world, [*world.items, injected])

        assert error.value.code == "not_found"
        assert error.value.status == 404
        assert error.value.message == (
            f"所选复核对象（ID {injected.pk}）不存在或不在本名单、您的管辖范围内，本次未作任何更改"
        )
        assert _state(world.review_list) == before
    assert ReviewItem.objects.get(pk=other_county.pk).outcome == ""


def test_another_countys_officer_cannot_reach_the_list(campaign_users, opened):
    world = opened(dibao=1)
    before = _state(world.review_list)

    with pytest.raises(DomainError) as error:
        _decide(campaign_users, world, world.items, actor=campaign_users.other_county_civil_affairs)

    assert (error.value.code, error.value.message) == (
        "not_found",
        "复核名单不存在或不在您的管辖范围内",
    )
    assert _state(world.review_list) == before


@pytest.mark.parametrize(
    ("_case", "status", "label"),
    [("confirmed", ListStatus.CONFIRMED, "乡镇已确认"), ("signed", ListStatus.SIGNED, "已签字")],
)
def test_a_confirmed_or_signed_list_is_refused(_case, status, label, campaign_users, opened):
    world = opened(dibao=2)
    ReviewList.objects.filter(pk=world.review_list.pk).update(
        status=status, confirmed_at=timezone.now()
    )
    before = _state(world.review_list)

    with pytest.raises(DomainError) as error:
        _decide(campaign_users, world, world.items)

    assert error.value.code == "list_locked"
    assert error.value.message == (
        f"察素齐镇复核名单{label}，不能再修改；确需修改的，由旗县民政部门说明原因后重新打开"
    )
    assert _state(world.review_list) == before


@pytest.mark.parametrize("outcome", [ItemOutcome.ADJUST_AMOUNT, ItemOutcome.STOP, "nonsense"])
def test_only_outcomes_without_household_input_may_be_decided_in_bulk(
    outcome, campaign_users, opened
):
    world = opened(dibao=1)
    before = _state(world.review_list)

    with pytest.raises(DomainError) as error:
        _decide(campaign_users, world, world.items, outcome=outcome)

    assert (error.value.code, error.value.message) == (
        "outcome_not_allowed",
        "批量作出复核结果只能选择“继续保障（维持）”；其他结果须逐户办理",
    )
    assert _state(world.review_list) == before


def test_a_township_head_may_not_decide_in_bulk(campaign_users, opened):
    world = opened(dibao=1)
    before = _state(world.review_list)

    with pytest.raises(DomainError) as error:
        _decide(campaign_users, world, world.items, actor=campaign_users.township_head)

    assert (error.value.code, error.value.message) == (
        "permission_denied",
        "您的角色不能批量作出复核结果",
    )
    assert _state(world.review_list) == before


def test_the_same_bulk_decision_twice_decides_once_and_reports_the_items_as_done(
    campaign_users, opened
):
    world = opened(dibao=2, registry=1)
    _decide(campaign_users, world, world.items)
    after_first = _state(world.review_list)

    again = _decide(campaign_users, world, world.items)

    assert again.changed == []
    assert [item.pk for item in again.done] == [item.pk for item in world.items]
    assert _state(world.review_list) == after_first
    assert AuditEvent.objects.filter(action="review_item.decide").count() == 3
    assert AuditEvent.objects.filter(action="review_list.decide_bulk").count() == 1


def test_a_bulk_proposal_records_each_proposal_and_the_county_then_decides(campaign_users, opened):
    world = opened(dibao=2, registry=1)

    proposed = review_items_propose_bulk(
        actor=campaign_users.caseworker,
        list_id=world.review_list.pk,
        item_ids=[item.pk for item in world.items],
        outcome=ItemOutcome.CONTINUE,
        note="无变化，建议继续保障",
    )
    decided = _decide(campaign_users, world, world.items)

    assert len(proposed.changed) == 3
    assert (
        list(
            ReviewItem.objects.filter(review_list=world.review_list)
            .order_by("pk")
            .values_list("proposed_outcome", "proposal_note", "proposed_by_id", "outcome")
        )
        == [
            (
                ItemOutcome.CONTINUE,
                "无变化，建议继续保障",
                campaign_users.caseworker.pk,
                ItemOutcome.CONTINUE,
            )
        ]
        * 3
    )
    assert [_changes("review_item.propose", item) for item in world.items] == [
        {"proposed_outcome": "continue", "note": "无变化，建议继续保障"}
    ] * 3
    assert len(decided.changed) == 3
    assert AuditEvent.objects.filter(action="review_list.propose_bulk").count() == 1


def test_the_county_may_not_propose_in_bulk(campaign_users, opened):
    world = opened(dibao=1)
    before = _state(world.review_list)

    with pytest.raises(DomainError) as error:
        review_items_propose_bulk(
            actor=campaign_users.civil_affairs,
            list_id=world.review_list.pk,
            item_ids=[world.items[0].pk],
            outcome=ItemOutcome.CONTINUE,
        )

    assert (error.value.code, error.value.message) == (
        "permission_denied",
        "您的角色不能批量提出复核建议",
    )
    assert _state(world.review_list) == before


def test_the_plan_offers_only_the_ready_items(campaign_users, opened, verify_household):
    world = opened(dibao=3, ready=False)
    ready, unvisited, decided = world.items
    _work(ready, campaign_users, verify_household)
    _work(decided, campaign_users, verify_household)
    review_item_decide(
        actor=campaign_users.civil_affairs,
        item_id=decided.pk,
        outcome=ItemOutcome.CONTINUE,
        today=WORK_DAY,
    )

    plan = review_items_bulk_plan(
        actor=campaign_users.civil_affairs,
        action=BulkAction.DECIDE,
        list_id=world.review_list.pk,
        item_ids=[item.pk for item in world.items],
        today=WORK_DAY,
    )

    assert [item.pk for item in plan.ready] == [ready.pk]
    assert [item.pk for item in plan.done] == [decided.pk]
    assert [(item.pk, reason.split("；")[0]) for item, reason in plan.blocked] == [
        (unvisited.pk, "复核工作未完成：尚未登记入户走访")
    ]


# --- the pages -----------------------------------------------------------------------------------


def _post(client, world: Opened, items, *, action="decide", confirmed=True, **extra):
    data = {"outcome": "continue", "note": "", "items": [item.pk for item in items], **extra}
    if confirmed:
        data["confirmed"] = "1"
    return client.post(
        reverse(f"campaign:list_bulk_{action}", args=[world.review_list.pk]), data, follow=False
    )


def test_the_list_page_offers_checkboxes_on_the_ready_items_only(
    campaign_users, opened, verify_household, login_client
):
    world = opened(dibao=2, ready=False)
    ready, unvisited = world.items
    _work(ready, campaign_users, verify_household)

    page = (
        login_client(campaign_users.civil_affairs)
        .get(reverse("campaign:list_detail", args=[world.review_list.pk]))
        .content.decode()
    )

    assert f'name="items" value="{ready.pk}" form="bulk-form"' in page
    assert f'name="items" value="{unvisited.pk}"' not in page
    assert 'data-select-all="bulk-items"' in page
    assert "全选本页可批量决定的 1 户" in page
    assert reverse("campaign:list_bulk_decide", args=[world.review_list.pk]) in page
    assert '<option value="continue">继续保障（维持）</option>' in page
    assert "adjust_amount" not in page
    assert "<script>" not in page
    assert " onclick=" not in page


@pytest.mark.parametrize(
    ("_case", "role", "url_name"),
    [
        ("caseworker proposes", "caseworker", "campaign:list_bulk_propose"),
        ("township head: no bulk form", "township_head", None),
        ("league officer: no bulk form", "league_officer", None),
    ],
)
def test_the_bulk_form_follows_the_role(
    _case, role, url_name, campaign_users, opened, login_client
):
    world = opened(dibao=1)

    page = (
        login_client(getattr(campaign_users, role))
        .get(reverse("campaign:list_detail", args=[world.review_list.pk]))
        .content.decode()
    )

    assert ('id="bulk-form"' in page) is (url_name is not None)
    assert "list_bulk_decide" not in page
    if url_name:
        assert reverse(url_name, args=[world.review_list.pk]) in page


def test_the_confirmation_states_how_many_households_and_changes_nothing(
    campaign_users, opened, login_client
):
    world = opened(dibao=2, registry=1)
    client = login_client(campaign_users.civil_affairs)
    before = _state(world.review_list)

    response = _post(client, world, world.items, confirmed=False)

    content = response.content.decode()
    assert response.status_code == 200
    assert "将对以下 <strong>3</strong> 户作出复核结果“继续保障（维持）”。" in content
    assert "确认批量作出复核结果（3 户）" in content
    assert 'name="confirmed" value="1"' in content
    assert "data-submit-once" in content
    for item in world.items:
        assert item.household_number in content
    assert _state(world.review_list) == before


def test_the_confirmation_lists_what_cannot_be_done_without_a_confirm_button(
    campaign_users, opened, verify_household, login_client
):
    world = opened(dibao=2, ready=False)
    ready, unvisited = world.items
    _work(ready, campaign_users, verify_household)

    content = _post(
        login_client(campaign_users.civil_affairs), world, world.items, confirmed=False
    ).content.decode()

    assert (
        f"{unvisited.household_number}（察素齐一村）：复核工作未完成：尚未登记入户走访" in content
    )
    assert 'id="bulk-confirm-form"' not in content


def test_the_same_post_twice_decides_once_and_says_already_done(
    campaign_users, opened, login_client
):
    world = opened(dibao=2)
    client = login_client(campaign_users.civil_affairs)

    first = _post(client, world, world.items)
    after_first = _state(world.review_list)
    second = client.get(first["Location"])
    repeat = _post(client, world, world.items)
    shown = client.get(repeat["Location"]).content.decode()

    assert first.status_code == 302
    assert "已对 2 户作出复核结果“继续保障（维持）”。" in second.content.decode()
    assert repeat.status_code == 302
    numbers = "、".join(item.household_number for item in world.items)
    assert f"2 户已处理（此前已作出复核结果“继续保障（维持）”），未重复办理：{numbers}" in shown
    assert _state(world.review_list) == after_first


def test_a_refusal_on_the_page_names_the_household_and_changes_nothing(
    campaign_users, opened, verify_household, login_client
):
    world = opened(dibao=2, ready=False)
    ready, unvisited = world.items
    _work(ready, campaign_users, verify_household)
    client = login_client(campaign_users.civil_affairs)
    before = _state(world.review_list)

    response = _post(client, world, world.items)
    shown = client.get(response["Location"]).content.decode()

    assert response.status_code == 302
    assert (
        "以下 1 户不能批量作出复核结果，本次未作任何更改："
        f"{unvisited.household_number}（复核工作未完成：尚未登记入户走访" in shown
    )
    assert _state(world.review_list) == before


@pytest.mark.parametrize(
    ("_case", "items"), [("not a number", ["12a"]), ("huge", ["9" * 30]), ("none", [])]
)
def test_malformed_item_ids_are_refused_in_chinese(
    _case, items, campaign_users, opened, login_client
):
    world = opened(dibao=1)
    client = login_client(campaign_users.civil_affairs)
    before = _state(world.review_list)

    response = client.post(
        reverse("campaign:list_bulk_decide", args=[world.review_list.pk]),
        {"outcome": "continue", "items": items, "confirmed": "1"},
    )
    shown = client.get(response["Location"]).content.decode()

    assert response.status_code == 302
    expected = "所选复核对象无效" if items else "请勾选要批量办理的复核对象"
    assert expected in shown
    assert _state(world.review_list) == before


def test_every_role_on_the_bulk_urls(areas, campaign_users, opened, make_user, login_client):
    """Only the county's civil affairs decides, only the township's caseworker proposes; every
    other role, another county, and anonymous are refused and change nothing."""
    world = opened(dibao=2)
    expected = {
        "caseworker": {"decide": 403, "propose": 302},
        "township_head": {"decide": 403, "propose": 403},
        "civil_affairs": {"decide": 302, "propose": 403},
        "poverty_office": {"decide": 403, "propose": 403},
        "league_officer": {"decide": 403, "propose": 403},
        "region_officer": {"decide": 403, "propose": 403},
        "sibling_caseworker": {"decide": 403, "propose": 404},
        "other_county_civil_affairs": {"decide": 404, "propose": 403},
        "anonymous": {"decide": 302, "propose": 302},
    }
    mismatches = []
    for role, by_action in expected.items():
        for action, status in by_action.items():
            if status == 302 and role != "anonymous":
                continue  # the allowed requests are made last, below
            client = (
                Client() if role == "anonymous" else login_client(getattr(campaign_users, role))
            )
            before = _state(world.review_list)
            response = _post(client, world, world.items, action=action)
            if response.status_code != status:
                mismatches.append(f"{role} {action}: {response.status_code}, expected {status}")
            if role == "anonymous" and "/accounts/login/" not in response["Location"]:
                mismatches.append(f"anonymous {action}: redirected to {response['Location']}")
            if _state(world.review_list) != before:
                mismatches.append(f"{role} {action}: a refused request changed the data")
    assert mismatches == []

    proposed = _post(login_client(campaign_users.caseworker), world, world.items, action="propose")
    decided = _post(login_client(campaign_users.civil_affairs), world, world.items)

    assert (proposed.status_code, decided.status_code) == (302, 302)
    assert (
        list(
            ReviewItem.objects.filter(review_list=world.review_list).values_list(
                "proposed_outcome", "outcome"
            )
        )
        == [(ItemOutcome.CONTINUE, ItemOutcome.CONTINUE)] * 2
    )


# --- cost ----------------------------------------------------------------------------------------


def test_the_bulk_post_costs_a_constant_plus_a_fixed_number_of_queries_per_item(
    campaign_users, opened, login_client
):
    """Measured: 17 + 16 per dibao item on PostgreSQL (16 + 14 on SQLite, no advisory lock).
    The checks of all items are batched (the constant); per item remain the writes of the
    single decision: the cases decision with its locks and audit event (11, two savepoints
    included) and the item's update with its audit event (5)."""
    world = opened(dibao=7)
    client = login_client(campaign_users.civil_affairs)
    client.get(reverse("campaign:list_detail", args=[world.review_list.pk]))  # session warm

    def queries(items) -> int:
        with CaptureQueriesContext(connection) as context:
            assert _post(client, world, items).status_code == 302
        return len(context.captured_queries)

    one = queries(world.items[:1])
    two = queries(world.items[1:3])
    four = queries(world.items[3:7])

    per_item = two - one
    assert four - two == 2 * per_item
    assert per_item <= 16
    assert one - per_item <= 17
    assert ReviewItem.objects.filter(review_list=world.review_list, outcome="").count() == 0


def test_the_list_page_query_count_does_not_grow_with_ready_items(
    areas, campaign_users, opened, review_household, verify_household, login_client
):
    world = opened(dibao=1)
    client = login_client(campaign_users.civil_affairs)
    url = reverse("campaign:list_detail", args=[world.review_list.pk])

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    queries()  # warm: the first request of a session loads more
    few = queries()
    for _ in range(4):
        household = review_household()
        item = ReviewItem.objects.create(
            campaign=world.review_list.campaign,
            review_list=world.review_list,
            area=household.area,
            kind="dibao",
            dibao_household=household,
        )
        _work(item, campaign_users, verify_household)
    many = queries()

    assert many == few


# --- concurrency (PostgreSQL row locks) ----------------------------------------------------------


def _run_parallel(work: list) -> list[object]:
    results: list[object] = [None] * len(work)
    barrier = threading.Barrier(len(work))

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work[index]()
        except Exception as exc:  # collected and asserted below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(len(work))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def _wait_until_another_session_waits_for_a_lock() -> None:
    for _ in range(400):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_clear_snapshot()")  # else one snapshot a transaction
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
            if cursor.fetchone()[0]:
                return
        time.sleep(0.025)
    raise AssertionError("the second request never waited for the first one's row locks")


def _one_after_the_other(first_work, second_work) -> tuple[object, object]:
    """``first_work`` runs in a transaction kept open until ``second_work`` (started once the
    first has its locks) is waiting for them; then the first commits and the second goes on."""
    results: list[object] = [None, None]
    locked = threading.Event()

    def first() -> None:
        try:
            with transaction.atomic():
                results[0] = first_work()
                locked.set()
                _wait_until_another_session_waits_for_a_lock()
        except Exception as exc:  # collected and asserted by the caller
            results[0] = exc
        finally:
            locked.set()
            connection.close()

    def second() -> None:
        try:
            locked.wait(60)
            results[1] = second_work()
        except Exception as exc:  # collected and asserted by the caller
            results[1] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results[0], results[1]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
@pytest.mark.parametrize("single_first", [True, False], ids=["single first", "bulk first"])
def test_a_bulk_decision_and_a_single_decision_of_one_item_end_consistently(
    single_first, campaign_users, opened
):
    world = opened(dibao=4)
    contested = world.items[2]

    def bulk_work():
        return _decide(campaign_users, world, world.items)

    def single_work():
        return review_item_decide(
            actor=campaign_users.civil_affairs_head,
            item_id=contested.pk,
            outcome=ItemOutcome.STOP,
            reasons="家庭收入超过保障标准",
            today=WORK_DAY,
        )

    if single_first:
        single, bulk = _one_after_the_other(single_work, bulk_work)
    else:
        bulk, single = _one_after_the_other(bulk_work, single_work)

    outcomes = list(
        ReviewItem.objects.filter(review_list=world.review_list)
        .order_by("pk")
        .values_list("outcome", flat=True)
    )
    decided_events = AuditEvent.objects.filter(action="review_item.decide").count()
    if single_first:
        assert isinstance(single, ReviewItem), single
        assert isinstance(bulk, DomainError), bulk
        assert bulk.message == (
            "以下 1 户不能批量作出复核结果，本次未作任何更改："
            f"{contested.household_number}（已作出复核结果“停发（退出）”）"
        )
        assert outcomes == ["", "", ItemOutcome.STOP, ""]
        assert decided_events == 1
    else:
        assert isinstance(single, DomainError), single
        assert (single.code, single.message) == (
            "conflict",
            "该户已作出复核结果“继续保障（维持）”；如需改变，请先重新核算",
        )
        assert [item.pk for item in bulk.changed] == [item.pk for item in world.items]
        assert outcomes == [ItemOutcome.CONTINUE] * 4
        assert decided_events == 4
    assert ChangeReport.objects.filter(status=ChangeStatus.DECIDED).count() == decided_events


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_two_identical_bulk_decisions_at_once_decide_each_item_once(campaign_users, opened):
    world = opened(dibao=3)

    first, second = _run_parallel(
        [lambda: _decide(campaign_users, world, world.items) for _ in range(2)]
    )

    results = sorted([first, second], key=lambda result: len(result.changed))
    assert [len(result.changed) for result in results] == [0, 3]
    assert [len(result.done) for result in results] == [3, 0]
    assert AuditEvent.objects.filter(action="review_item.decide").count() == 3
    assert AuditEvent.objects.filter(action="change.decide").count() == 3
    assert AuditEvent.objects.filter(action="review_list.decide_bulk").count() == 1
