from datetime import date

import pytest
from django.http import Http404

from cases.models import PaymentSheet
from cases.services.payments import (
    PAYMENT_SHEET_TRANSITIONS,
    payment_sheet_generate,
    payment_sheet_transition,
)
from lowbao.areas.roles import Perm, Role
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError

pytestmark = pytest.mark.django_db

JUNE = date(2026, 6, 1)


@pytest.fixture
def sheet(make_household, world, users) -> PaymentSheet:
    make_household(number="DB-A")
    return payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)


def _state(sheet: PaymentSheet) -> tuple[str, int]:
    sheet.refresh_from_db()
    return sheet.status, sheet.version


def test_transition_table_is_declared_once():
    assert PAYMENT_SHEET_TRANSITIONS == {
        ("generated", "check"): ("checked", Perm.PAYMENT_CHECK),
        ("checked", "send_to_bank"): ("sent_to_bank", Perm.PAYMENT_BANK),
        ("sent_to_bank", "mark_paid"): ("paid", Perm.PAYMENT_BANK),
    }


def test_sheet_walks_from_generated_to_paid(sheet, users, world):
    checked = payment_sheet_transition(
        actor=users.head, sheet_id=sheet.pk, action="check", expected_version=0
    )
    sent = payment_sheet_transition(
        actor=users.county_officer, sheet_id=sheet.pk, action="send_to_bank", expected_version=1
    )
    paid = payment_sheet_transition(
        actor=users.county_officer, sheet_id=sheet.pk, action="mark_paid", expected_version=2
    )

    assert (checked.status, checked.version, checked.checked_by) == ("checked", 1, users.head)
    assert (sent.status, sent.version) == ("sent_to_bank", 2)
    assert (paid.status, paid.version) == ("paid", 3)
    events = AuditEvent.objects.filter(
        object_type="cases.paymentsheet",
        action__in=["payment_sheet.check", "payment_sheet.send_to_bank", "payment_sheet.mark_paid"],
    ).order_by("seq")
    assert [(e.action, e.actor_id, e.changes["status"], e.area_code) for e in events] == [
        ("payment_sheet.check", users.head.pk, ["generated", "checked"], world.township.code),
        (
            "payment_sheet.send_to_bank",
            users.county_officer.pk,
            ["checked", "sent_to_bank"],
            world.township.code,
        ),
        (
            "payment_sheet.mark_paid",
            users.county_officer.pk,
            ["sent_to_bank", "paid"],
            world.township.code,
        ),
    ]


def test_county_officer_may_check_too(sheet, users):
    checked = payment_sheet_transition(
        actor=users.county_officer, sheet_id=sheet.pk, action="check"
    )

    assert checked.status == "checked"


@pytest.mark.parametrize(
    ("_case", "user_attr", "action", "code"),
    [
        ("caseworker_cannot_check", "caseworker", "check", "permission_denied"),
        ("head_cannot_send_to_bank", "head", "send_to_bank", "permission_denied"),
        ("head_cannot_mark_paid", "head", "mark_paid", "permission_denied"),
        ("league_officer_cannot_check", "league_officer", "check", "permission_denied"),
        ("send_before_check", "county_officer", "send_to_bank", "invalid_transition"),
        ("paid_before_sent", "county_officer", "mark_paid", "invalid_transition"),
        ("unknown_action", "county_officer", "approve", "invalid_transition"),
    ],
)
def test_transition_is_denied(sheet, users, _case, user_attr, action, code):
    with pytest.raises(DomainError) as caught:
        payment_sheet_transition(actor=getattr(users, user_attr), sheet_id=sheet.pk, action=action)

    assert caught.value.code == code
    assert _state(sheet) == ("generated", 0)
    assert not AuditEvent.objects.filter(action=f"payment_sheet.{action}").exists()


def test_generator_cannot_check_their_own_sheet_even_with_both_roles(
    make_household, world, make_user
):
    both = make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=world.township,
        extra=((Role.TOWNSHIP_HEAD, world.township),),
    )
    make_household()
    sheet = payment_sheet_generate(actor=both, township=world.township, month=JUNE)

    with pytest.raises(DomainError) as caught:
        payment_sheet_transition(actor=both, sheet_id=sheet.pk, action="check")

    assert caught.value.code == "four_eyes"
    assert caught.value.message == "花名册须由生成人以外的人员核对"
    assert _state(sheet) == ("generated", 0)


@pytest.mark.parametrize("user_attr", ["sibling_head", "sibling_caseworker"])
def test_sibling_township_user_gets_404(sheet, users, user_attr):
    with pytest.raises(Http404):
        payment_sheet_transition(actor=getattr(users, user_attr), sheet_id=sheet.pk, action="check")

    assert _state(sheet) == ("generated", 0)


def test_repeated_transition_without_version_returns_the_sheet_unchanged(sheet, users):
    payment_sheet_transition(actor=users.head, sheet_id=sheet.pk, action="check")

    again = payment_sheet_transition(actor=users.county_officer, sheet_id=sheet.pk, action="check")

    assert (again.status, again.version, again.checked_by) == ("checked", 1, users.head)
    assert AuditEvent.objects.filter(action="payment_sheet.check").count() == 1


def test_stale_version_is_a_conflict(sheet, users):
    payment_sheet_transition(
        actor=users.head, sheet_id=sheet.pk, action="check", expected_version=0
    )

    with pytest.raises(DomainError) as caught:
        payment_sheet_transition(
            actor=users.county_officer, sheet_id=sheet.pk, action="check", expected_version=0
        )

    assert caught.value.code == "conflict"
    assert caught.value.status == 409
    assert caught.value.message == "花名册已被他人修改，请刷新后重试"
    assert _state(sheet) == ("checked", 1)


def test_regenerating_with_changes_makes_a_loaded_version_stale(
    sheet, make_household, world, users
):
    make_household(number="DB-B")
    payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    with pytest.raises(DomainError) as caught:
        payment_sheet_transition(
            actor=users.head, sheet_id=sheet.pk, action="check", expected_version=0
        )

    assert caught.value.code == "conflict"
