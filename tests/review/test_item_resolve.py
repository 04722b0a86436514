"""Resolving and reopening reconciliation items: the service and the item page per role × area,
the history (ItemEvent) and audit rows, refusals that change nothing, and the hand-offs each
category starts (a dibao application, a referral to the poverty office, a household review)."""

import pytest
from django.urls import reverse

from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.models import Referral
from poverty.services.referrals import referral_insert
from review.models import ItemEvent, ItemState, ReconciliationItem
from review.services.resolution import (
    reconciliation_item_refer,
    reconciliation_item_reopen,
    reconciliation_item_resolve,
)
from tests.fixtures.review_items import pick_user

pytestmark = pytest.mark.django_db


def _url(name: str, item) -> str:
    return reverse(f"review:reconciliation_{name}", kwargs={"item_id": item.pk})


def _snapshot(item) -> tuple:
    """Everything a refused write must leave as it was."""
    item = ReconciliationItem.objects.get(pk=item.pk)
    return (
        item.state,
        item.resolved_by_id,
        item.resolved_at,
        item.resolution_note,
        item.details,
        ItemEvent.objects.filter(item=item).count(),
        AuditEvent.objects.filter(object_type="review.reconciliationitem").count(),
        Referral.objects.count(),
    )


# --- the service ----------------------------------------------------------------------------------


def test_resolving_writes_the_state_who_when_note_an_event_and_an_audit_row(recon, case_users):
    item = reconciliation_item_resolve(
        actor=case_users.caseworker,
        item_id=recon.own_item.pk,
        state=ItemState.CORRECTED,
        note="  已通知扶贫办更正贫困户属性  ",
    )

    item.refresh_from_db()
    assert item.state == ItemState.CORRECTED
    assert item.resolved_by == case_users.caseworker
    assert item.resolved_at is not None
    assert item.resolution_note == "已通知扶贫办更正贫困户属性"
    event = ItemEvent.objects.filter(item=item).order_by("-id").first()
    assert (event.action, event.state_from, event.state_to, event.actor, event.note) == (
        ItemEvent.Action.RESOLVED,
        ItemState.OPEN,
        ItemState.CORRECTED,
        case_users.caseworker,
        "已通知扶贫办更正贫困户属性",
    )
    audit = AuditEvent.objects.get(action="reconciliation.item_resolve", object_id=str(item.pk))
    assert audit.area_code == recon.own_item.township.code
    assert audit.changes["state"] == [ItemState.OPEN, ItemState.CORRECTED]
    assert audit.actor_id == case_users.caseworker.pk


@pytest.mark.parametrize(
    ("_case", "state", "note", "code", "field"),
    [
        ("note missing", ItemState.VERIFIED, "   ", "invalid", "note"),
        ("note too long", ItemState.VERIFIED, "长" * 501, "invalid", "note"),
        ("state open is not a resolution", ItemState.OPEN, "说明", "invalid", "state"),
        ("closed by data is set by runs", ItemState.CLOSED_BY_DATA, "说明", "invalid", "state"),
        ("unknown state", "done", "说明", "invalid", "state"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(
    _case, state, note, code, field, recon, case_users
):
    before = _snapshot(recon.own_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_resolve(
            actor=case_users.caseworker, item_id=recon.own_item.pk, state=state, note=note
        )

    assert (refused.value.code, refused.value.status) == (code, 400)
    assert list(refused.value.fields) == [field]
    assert _snapshot(recon.own_item) == before


@pytest.mark.parametrize(
    ("_case", "user", "item", "status"),
    [
        ("sibling township caseworker", "sibling_caseworker", "own_item", 404),
        ("township caseworker on a county-wide item", "caseworker", "county_item", 404),
        ("other county officer", "other_county_civil_affairs", "own_item", 404),
        ("county leader: sees, may not resolve", "county_leader", "own_item", 403),
        ("league officer: read only", "league_officer", "own_item", 403),
        ("region officer: read only", "region_officer", "own_item", 403),
        ("village assistant", "village_assistant", "own_item", 404),
        ("a role without any capability here", "data_admin", "own_item", 404),
    ],
)
def test_resolving_outside_scope_or_capability_is_refused_and_changes_nothing(
    _case, user, item, status, recon, case_users, recon_users
):
    target = getattr(recon, item)
    before = _snapshot(target)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_resolve(
            actor=pick_user(user, case_users, recon_users),
            item_id=target.pk,
            state=ItemState.VERIFIED,
            note="核实无误",
        )

    assert refused.value.status == status
    assert _snapshot(target) == before


@pytest.mark.parametrize(
    ("_case", "user", "item"),
    [
        ("township caseworker", "caseworker", "own_item"),
        ("township head", "township_head", "own_item"),
        ("county civil affairs on a township item", "civil_affairs", "own_item"),
        ("county poverty office on a county-wide item", "poverty_office", "county_item"),
    ],
)
def test_the_resolving_roles(_case, user, item, recon, case_users):
    resolved = reconciliation_item_resolve(
        actor=getattr(case_users, user),
        item_id=getattr(recon, item).pk,
        state=ItemState.VERIFIED,
        note="核实无误",
    )

    assert resolved.state == ItemState.VERIFIED


def test_resolving_a_resolved_item_again_is_a_conflict_naming_who_resolved_it(recon, case_users):
    reconciliation_item_resolve(
        actor=case_users.caseworker,
        item_id=recon.own_item.pk,
        state=ItemState.VERIFIED,
        note="第一次",
    )
    before = _snapshot(recon.own_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_resolve(
            actor=case_users.township_head,
            item_id=recon.own_item.pk,
            state=ItemState.CORRECTED,
            note="第二次",
        )

    assert (refused.value.code, refused.value.status) == ("item_already_resolved", 409)
    assert case_users.caseworker.get_username() in refused.value.message
    assert "已核实无误" in refused.value.message
    assert _snapshot(recon.own_item) == before


def test_an_item_closed_by_the_data_cannot_be_resolved(recon, case_users):
    ReconciliationItem.objects.filter(pk=recon.own_item.pk).update(state=ItemState.CLOSED_BY_DATA)
    before = _snapshot(recon.own_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_resolve(
            actor=case_users.caseworker,
            item_id=recon.own_item.pk,
            state=ItemState.VERIFIED,
            note="核实",
        )

    assert (refused.value.code, refused.value.status) == ("item_closed_by_data", 409)
    assert _snapshot(recon.own_item) == before


def test_reopening_puts_the_item_back_and_keeps_the_whole_history(recon, case_users):
    reconciliation_item_resolve(
        actor=case_users.caseworker,
        item_id=recon.own_item.pk,
        state=ItemState.VERIFIED,
        note="核实无误",
    )

    item = reconciliation_item_reopen(
        actor=case_users.civil_affairs, item_id=recon.own_item.pk, note="抽查发现仍不一致"
    )

    item.refresh_from_db()
    assert (item.state, item.resolved_by, item.resolved_at, item.resolution_note) == (
        ItemState.OPEN,
        None,
        None,
        "",
    )
    history = list(
        ItemEvent.objects.filter(item=item)
        .order_by("at", "id")
        .values_list("action", "state_from", "state_to", "note")
    )
    assert history == [
        (ItemEvent.Action.FOUND, "", ItemState.OPEN, ""),
        (ItemEvent.Action.RESOLVED, ItemState.OPEN, ItemState.VERIFIED, "核实无误"),
        (ItemEvent.Action.REOPENED, ItemState.VERIFIED, ItemState.OPEN, "抽查发现仍不一致"),
    ]
    assert AuditEvent.objects.filter(
        action="reconciliation.item_reopen", object_id=str(item.pk)
    ).exists()


@pytest.mark.parametrize(
    ("_case", "state", "code"),
    [
        ("an open item", ItemState.OPEN, "item_not_resolved"),
        ("an item closed by the data", ItemState.CLOSED_BY_DATA, "item_closed_by_data"),
    ],
)
def test_only_resolved_items_can_be_reopened(_case, state, code, recon, case_users):
    ReconciliationItem.objects.filter(pk=recon.own_item.pk).update(state=state)
    before = _snapshot(recon.own_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_reopen(
            actor=case_users.caseworker, item_id=recon.own_item.pk, note="重新打开"
        )

    assert (refused.value.code, refused.value.status) == (code, 409)
    assert _snapshot(recon.own_item) == before


def test_reopening_needs_a_note(recon, case_users):
    reconciliation_item_resolve(
        actor=case_users.caseworker, item_id=recon.own_item.pk, state=ItemState.VERIFIED, note="x"
    )
    before = _snapshot(recon.own_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_reopen(actor=case_users.caseworker, item_id=recon.own_item.pk, note="")

    assert refused.value.fields == {"note": ["请填写重新打开的原因"]}
    assert _snapshot(recon.own_item) == before


# --- the item page ----------------------------------------------------------------------------


def test_the_caseworker_resolves_on_the_item_page(recon, case_users, login_client):
    client = login_client(case_users.caseworker)

    page = client.get(_url("item", recon.own_item))
    response = client.post(
        _url("item_resolve", recon.own_item),
        {"state": ItemState.CORRECTED, "note": "已更正贫困户属性"},
        follow=True,
    )

    assert 'id="resolve-form"' in page.content.decode()
    assert response.redirect_chain == [(_url("item", recon.own_item), 302)]
    content = response.content.decode()
    assert "已处理：已更正。" in content
    assert '<span id="item-state" class="fw-bold">已更正</span>' in content
    assert "已更正贫困户属性" in content
    assert 'id="reopen-form"' in content
    assert ReconciliationItem.objects.get(pk=recon.own_item.pk).state == ItemState.CORRECTED


def test_a_missing_note_on_the_page_is_a_400_with_a_chinese_message(
    recon, case_users, login_client
):
    before = _snapshot(recon.own_item)

    response = login_client(case_users.caseworker).post(
        _url("item_resolve", recon.own_item), {"state": ItemState.VERIFIED, "note": ""}
    )

    assert response.status_code == 400
    assert "请选择处理结果并填写处理说明" in response.content.decode()
    assert _snapshot(recon.own_item) == before


def test_the_second_of_two_resolutions_gets_a_409_page(recon, case_users, login_client):
    first = login_client(case_users.caseworker)
    second = login_client(case_users.township_head)
    second.get(_url("item", recon.own_item))  # both have the open item on screen

    first.post(_url("item_resolve", recon.own_item), {"state": ItemState.VERIFIED, "note": "甲"})
    before = _snapshot(recon.own_item)
    response = second.post(
        _url("item_resolve", recon.own_item), {"state": ItemState.CORRECTED, "note": "乙"}
    )

    assert response.status_code == 409
    assert "请刷新页面查看" in response.content.decode()
    assert _snapshot(recon.own_item) == before


@pytest.mark.parametrize(
    ("_case", "user", "item", "status"),
    [
        ("sibling township", "sibling_caseworker", "own_item", 404),
        ("other county", "other_county_civil_affairs", "own_item", 404),
        ("county-wide item for a township user", "caseworker", "county_item", 404),
        ("county leader without the capability", "county_leader", "own_item", 403),
        ("league officer", "league_officer", "own_item", 403),
        ("region officer", "region_officer", "own_item", 403),
        ("village assistant", "village_assistant", "own_item", 403),
    ],
)
@pytest.mark.parametrize("action", ["item_resolve", "item_reopen", "item_refer"])
def test_denied_writes_on_the_pages_change_nothing(
    _case, user, item, status, action, recon, case_users, recon_users, login_client
):
    target = getattr(recon, item)
    before = _snapshot(target)

    response = login_client(pick_user(user, case_users, recon_users)).post(
        _url(action, target),
        {"state": ItemState.VERIFIED, "note": "x", "reopen-note": "x", "refer-note": "x"},
    )

    assert response.status_code == status
    assert _snapshot(target) == before


@pytest.mark.parametrize("action", ["item_resolve", "item_reopen", "item_refer"])
def test_anonymous_writes_go_to_login_and_change_nothing(action, recon, client):
    before = _snapshot(recon.own_item)

    response = client.post(_url(action, recon.own_item), {"state": "verified", "note": "x"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert _snapshot(recon.own_item) == before


def test_a_get_on_a_write_url_is_405(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(_url("item_resolve", recon.own_item))

    assert response.status_code == 405


def test_reopen_on_the_page(recon, case_users, login_client):
    client = login_client(case_users.caseworker)
    client.post(_url("item_resolve", recon.own_item), {"state": ItemState.VERIFIED, "note": "甲"})

    response = client.post(
        _url("item_reopen", recon.own_item), {"reopen-note": "复查"}, follow=True
    )

    assert "已重新打开，问题回到待处理。" in response.content.decode()
    assert ReconciliationItem.objects.get(pk=recon.own_item.pk).state == ItemState.OPEN


def test_the_page_offers_no_resolve_form_to_read_only_roles(recon, case_users, login_client):
    content = login_client(case_users.county_leader).get(_url("item", recon.own_item)).content

    assert b'id="resolve-form"' not in content
    assert b'id="reopen-form"' not in content


# --- hand-offs --------------------------------------------------------------------------------


def test_should_register_is_referred_to_the_poverty_office_and_resolved(recon, case_users):
    item, referral = reconciliation_item_refer(
        actor=case_users.caseworker, item_id=recon.register_item.pk, note="收入低于扶贫标准"
    )

    item.refresh_from_db()
    assert (referral.direction, referral.household, referral.status, referral.reason) == (
        ReferralDirection.PROPOSE_REGISTRY,
        recon.register_item.dibao_household,
        ReferralStatus.PENDING,
        "收入低于扶贫标准",
    )
    assert item.state == ItemState.REFERRED
    assert item.details["referral_id"] == referral.pk
    assert item.resolution_note == "已移交扶贫部门建议纳入建档立卡：收入低于扶贫标准"
    assert AuditEvent.objects.filter(action="referral.create", object_id=str(referral.pk)).exists()
    audit = AuditEvent.objects.get(action="reconciliation.item_resolve", object_id=str(item.pk))
    assert audit.changes["referral_id"] == referral.pk


def test_an_open_proposal_of_the_household_is_linked_instead_of_a_second_one(recon, case_users):
    existing, _ = referral_insert(
        actor=case_users.civil_affairs,
        direction=ReferralDirection.PROPOSE_REGISTRY,
        reason="县里已建议",
        household=recon.register_item.dibao_household,
    )

    item, referral = reconciliation_item_refer(
        actor=case_users.caseworker, item_id=recon.register_item.pk, note="收入低"
    )

    assert referral == existing
    assert Referral.objects.count() == 1
    assert item.details["referral_id"] == existing.pk
    assert item.state == ItemState.REFERRED


def test_the_poverty_office_may_resolve_but_not_refer(recon, case_users):
    before = _snapshot(recon.register_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_refer(
            actor=case_users.poverty_office, item_id=recon.register_item.pk, note="移交"
        )

    assert refused.value.status == 403
    assert _snapshot(recon.register_item) == before


def test_only_should_register_items_can_be_referred(recon, case_users):
    before = _snapshot(recon.own_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_refer(actor=case_users.caseworker, item_id=recon.own_item.pk, note="x")

    assert (refused.value.code, refused.value.status) == ("action_not_applicable", 422)
    assert _snapshot(recon.own_item) == before


def test_a_household_no_longer_in_payment_is_not_referred(recon, case_users):
    household = recon.register_item.dibao_household
    household.status = "stopped"
    household.save(update_fields=["status"])
    before = _snapshot(recon.register_item)

    with pytest.raises(DomainError) as refused:
        reconciliation_item_refer(
            actor=case_users.caseworker, item_id=recon.register_item.pk, note="移交"
        )

    assert refused.value.code == "not_in_payment"
    assert _snapshot(recon.register_item) == before


def test_the_refer_form_on_the_page(recon, case_users, login_client):
    client = login_client(case_users.caseworker)

    page = client.get(_url("item", recon.register_item)).content.decode()
    response = client.post(
        _url("item_refer", recon.register_item), {"refer-note": "收入低于扶贫标准"}, follow=True
    )

    assert 'id="refer-form"' in page
    assert "移交扶贫部门（建议纳入建档立卡）" in page
    assert "问题已处理为“已转办”" in response.content.decode()
    assert Referral.objects.get().household == recon.register_item.dibao_household


def test_the_refer_form_without_a_reason_is_a_400(recon, case_users, login_client):
    before = _snapshot(recon.register_item)

    response = login_client(case_users.caseworker).post(
        _url("item_refer", recon.register_item), {"refer-note": ""}
    )

    assert response.status_code == 400
    assert "请填写移交原因" in response.content.decode()
    assert _snapshot(recon.register_item) == before


def test_should_protect_links_to_the_application_register_page(recon, case_users, login_client):
    content = login_client(case_users.caseworker).get(_url("item", recon.protect_item)).content

    assert f'href="{reverse("cases:application_new")}" id="hand-off-apply"'.encode() in content
    assert b"1501210202" in content


def test_only_roles_that_may_apply_see_the_application_link(recon, case_users, login_client):
    content = login_client(case_users.county_leader).get(_url("item", recon.protect_item)).content

    assert b'id="hand-off-apply"' not in content


def test_should_exit_review_links_to_the_household_review_page(recon, case_users, login_client):
    household = recon.exit_item.dibao_household
    content = login_client(case_users.caseworker).get(_url("item", recon.exit_item)).content
    review_url = reverse("cases:household_manage", kwargs={"household_id": household.pk})

    assert f'href="{review_url}" id="hand-off-review"'.encode() in content
    assert login_client(case_users.caseworker).get(review_url).status_code == 200


def test_resolved_items_offer_no_hand_offs(recon, case_users, login_client):
    reconciliation_item_resolve(
        actor=case_users.caseworker,
        item_id=recon.exit_item.pk,
        state=ItemState.VERIFIED,
        note="已核实，仍符合条件",
    )

    content = login_client(case_users.caseworker).get(_url("item", recon.exit_item)).content

    assert b'id="hand-offs"' not in content
