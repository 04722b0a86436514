"""临时救助 (domain.md §8): help first for emergencies, the township's delegated limit,
four-eyes, refusal with reasons."""

from decimal import Decimal

import pytest

from cases.models import TemporaryAssistance
from cases.services.temporary import (
    TOWNSHIP_APPROVAL_LIMIT,
    temporary_apply,
    temporary_complete_paperwork,
    temporary_decide,
)
from lowbao.areas.roles import Role
from lowbao.core.errors import DomainError
from tests.cases.management.helpers import REPORTED_ON
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db


def _apply(areas, actor, **overrides) -> TemporaryAssistance:
    values = {
        "area": areas.village,
        "person_id_number": make_id_number(),
        "name": "乌日娜",
        "kind": "emergency",
        "reason": "住房失火，生活用品烧毁",
        "household_size": 3,
        "per_capita_income_monthly": None,
        "amount": Decimal("800"),
        "pay_first": False,
        "today": REPORTED_ON,
        **overrides,
    }
    return temporary_apply(actor=actor, **values)


def test_an_emergency_is_helped_first_and_decided_once_the_paperwork_is_done(areas, case_users):
    assistance = _apply(areas, case_users.caseworker, pay_first=True)
    first = (assistance.status, assistance.paperwork_completed)

    with pytest.raises(DomainError) as before_paperwork:
        temporary_decide(
            actor=case_users.township_head, assistance_id=assistance.pk, approve=True, note=""
        )
    temporary_complete_paperwork(actor=case_users.village_assistant, assistance_id=assistance.pk)
    assistance = temporary_decide(
        actor=case_users.township_head,
        assistance_id=assistance.pk,
        approve=True,
        note="情况属实",
        today=REPORTED_ON,
    )

    assert first == ("paid_first", False)
    assert before_paperwork.value.code == "step_incomplete"
    assert (assistance.status, assistance.paperwork_completed, assistance.decided_by) == (
        "approved",
        True,
        case_users.township_head,
    )


@pytest.mark.parametrize(
    ("_case", "overrides", "field"),
    [
        (
            "expenditure_paid_first",
            {"kind": "expenditure", "per_capita_income_monthly": Decimal("300"), "pay_first": True},
            "pay_first",
        ),
        ("expenditure_without_income", {"kind": "expenditure"}, "per_capita_income_monthly"),
        ("negative_amount", {"amount": Decimal("-1")}, "amount"),
        ("no_reason", {"reason": " "}, "reason"),
        ("nobody_in_the_household", {"household_size": 0}, "household_size"),
    ],
)
def test_an_invalid_application_is_refused(areas, case_users, _case, overrides, field):
    with pytest.raises(DomainError) as error:
        _apply(areas, case_users.caseworker, **overrides)

    assert list(error.value.fields) == [field]
    assert TemporaryAssistance.objects.count() == 0


def test_an_expenditure_case_waits_for_its_decision(areas, case_users):
    assistance = _apply(
        areas,
        case_users.village_assistant,
        kind="expenditure",
        per_capita_income_monthly=Decimal("350"),
        reason="子女上大学学费",
    )

    assert (assistance.status, assistance.paperwork_completed) == ("applied", True)


@pytest.mark.parametrize(
    ("_case", "amount", "user_name", "outcome"),
    [
        ("township_head_at_the_limit", TOWNSHIP_APPROVAL_LIMIT, "township_head", "approved"),
        ("township_head_over_the_limit", Decimal("1000.01"), "township_head", "permission_denied"),
        ("county_over_the_limit", Decimal("5000"), "civil_affairs", "approved"),
    ],
)
def test_township_heads_approve_only_up_to_the_delegated_limit(
    areas, case_users, _case, amount, user_name, outcome
):
    assistance = _apply(areas, case_users.caseworker, amount=amount)

    try:
        result = temporary_decide(
            actor=getattr(case_users, user_name),
            assistance_id=assistance.pk,
            approve=True,
            note="",
        ).status
    except DomainError as error:
        result = error.code

    assistance.refresh_from_db()
    assert result == outcome
    assert assistance.status == ("approved" if outcome == "approved" else "applied")


def test_nobody_decides_what_they_recorded(areas, case_users, make_user):
    both = make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=areas.township,
        extra=((Role.TOWNSHIP_HEAD, areas.township),),
    )
    assistance = _apply(areas, both)

    with pytest.raises(DomainError) as error:
        temporary_decide(actor=both, assistance_id=assistance.pk, approve=True, note="")

    assistance.refresh_from_db()
    assert error.value.code == "four_eyes"
    assert assistance.status == "applied"


def test_a_refusal_needs_reasons(areas, case_users):
    assistance = _apply(areas, case_users.caseworker)

    with pytest.raises(DomainError) as error:
        temporary_decide(
            actor=case_users.civil_affairs, assistance_id=assistance.pk, approve=False, note=""
        )
    refused = temporary_decide(
        actor=case_users.civil_affairs,
        assistance_id=assistance.pk,
        approve=False,
        note="经核实已获保险理赔",
    )

    assert error.value.fields == {"note": ["请写明理由"]}
    assert (refused.status, refused.decision_note) == ("rejected", "经核实已获保险理赔")


def test_a_case_is_decided_once(areas, case_users):
    assistance = _apply(areas, case_users.caseworker)
    temporary_decide(
        actor=case_users.civil_affairs, assistance_id=assistance.pk, approve=True, note=""
    )

    with pytest.raises(DomainError) as error:
        temporary_decide(
            actor=case_users.civil_affairs, assistance_id=assistance.pk, approve=False, note="x"
        )

    assert error.value.code == "change_state"


@pytest.mark.parametrize(
    ("_case", "user_name", "code"),
    [
        ("sibling_township", "sibling_caseworker", "area_out_of_scope"),
        ("no_capability", "township_head", "permission_denied"),
    ],
)
def test_applying_needs_the_capability_in_the_village(areas, case_users, _case, user_name, code):
    with pytest.raises(DomainError) as error:
        _apply(areas, getattr(case_users, user_name))

    assert error.value.code == code
    assert TemporaryAssistance.objects.count() == 0


def test_township_limit_is_policy_data(areas, policy_defaults):
    from cases.models import PolicySetting
    from cases.services.temporary import township_approval_limit

    PolicySetting.objects.filter(area=areas.region).update(temporary_township_limit=Decimal("800"))

    assert township_approval_limit(areas.village) == Decimal("800.00")


def test_the_new_form_states_the_limit_in_force(areas, case_users, login_client, policy_defaults):
    from cases.models import PolicySetting

    PolicySetting.objects.filter(area=areas.region).update(temporary_township_limit=Decimal("800"))

    html = login_client(case_users.caseworker).get("/cases/temporary/new/").content.decode()

    assert "苏木乡镇可审批 800.00 元以内的救助" in html
