"""Change reports → re-assessment → decision (domain.md §6): amounts from the month after the
decision, suspension, stop, gradual exit, reasons and four-eyes."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import (
    AssetKind,
    ChangeKind,
    ChangeOutcome,
    HouseholdStatus,
    IncomeCategory,
    Relation,
)
from cases.models import ChangeReport, HouseholdMember
from cases.services.management import (
    change_assess,
    change_decide,
    change_report,
    gradual_exit_finish,
    household_asset_set,
    member_income_set,
)
from cases.services.payments import payment_sheet_generate
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from tests.cases.management.helpers import (
    DECEMBER,
    DECIDED_ON,
    JANUARY,
    REPORTED_ON,
    member_of,
    periods,
)

pytestmark = pytest.mark.django_db

D600 = Decimal("600.00")


def _head_income(household, users, amount: str) -> None:
    member_income_set(
        actor=users.caseworker,
        member=member_of(household, relation=Relation.HEAD),
        category=IncomeCategory.WAGES,
        amount_monthly=Decimal(amount),
    )


def _reported_and_assessed(household, users, *, kind=ChangeKind.INCOME) -> ChangeReport:
    change = change_report(
        actor=users.village_assistant,
        household=household,
        kind=kind,
        description="户主收入发生变化",
        reported_on=REPORTED_ON,
        today=REPORTED_ON,
    )
    return change_assess(actor=users.caseworker, change_id=change.pk, today=REPORTED_ON)


def _sheet_households(users, areas, month: date) -> int:
    return payment_sheet_generate(
        actor=users.caseworker, township=areas.township, month=month
    ).household_count


def test_income_rise_decreases_the_benefit_from_next_month(paid_household, case_users):
    household = paid_household()
    _head_income(household, case_users, "320")  # per capita (320 + 200) / 2 = 260
    change = _reported_and_assessed(household, case_users)

    proposal = (change.status, change.outcome, change.new_amount)
    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.DECREASE,
        reasons="户主务工收入增加，家庭月人均收入 260 元",
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert proposal == ("assessed", "decrease", Decimal("400.00"))
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, None, Decimal("400.00"), 2, "normal", False),
    ]
    assert (household.status, household.monthly_amount) == ("in_payment", Decimal("400.00"))
    assert (change.status, change.effective_month, change.decided_on) == (
        "decided",
        JANUARY,
        DECIDED_ON,
    )
    assert change.notice_text.splitlines()[0] == "减发告知书"
    assert (
        "决定自2027年01月起减发你户最低生活保障金，月保障金额由 600.00 元调整为 400.00 元。"
        in change.notice_text
    )
    assert "理由：户主务工收入增加，家庭月人均收入 260 元" in change.notice_text
    assert "六十日内向土默特左旗人民政府申请行政复议" in change.notice_text


def test_income_fall_increases_the_benefit_from_next_month(paid_household, case_users):
    household = paid_household()
    _head_income(household, case_users, "0")  # per capita 100 → (460 − 100) × 2 = 720
    change = _reported_and_assessed(household, case_users)

    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=change.outcome,
        reasons="",
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert (change.outcome, change.new_amount) == ("increase", Decimal("720.00"))
    assert periods(household)[-1] == (JANUARY, None, Decimal("720.00"), 2, "normal", False)
    assert change.notice_text.splitlines()[0] == "增发告知书"
    assert "行政复议" not in change.notice_text
    assert change.reasons.startswith("重新核算月保障金 720.00 元")


def test_nothing_changed_keeps_the_amount_and_writes_no_period(paid_household, case_users):
    household = paid_household()
    change = _reported_and_assessed(household, case_users, kind=ChangeKind.OTHER)

    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.UNCHANGED,
        reasons="",
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert (change.outcome, change.new_amount, change.status) == ("unchanged", D600, "decided")
    assert periods(household) == [(DECEMBER, None, D600, 2, "normal", False)]
    assert household.status == HouseholdStatus.IN_PAYMENT
    assert change.notice_text.splitlines()[0] == "复核结果告知书"


def test_suspension_leaves_no_line_on_next_months_sheet(paid_household, case_users, areas):
    household = paid_household()
    december = _sheet_households(case_users, areas, DECEMBER)  # generated before the 10th
    change = _reported_and_assessed(household, case_users, kind=ChangeKind.OTHER)

    change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.SUSPEND,
        reasons="拒不配合复核入户调查",
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert household.status == HouseholdStatus.SUSPENDED
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, None, D600, 2, "normal", True),
    ]
    assert (december, _sheet_households(case_users, areas, JANUARY)) == (1, 0)


def test_stop_takes_members_out_of_payment_from_next_month(paid_household, case_users, areas):
    household = paid_household()
    change = _reported_and_assessed(household, case_users, kind=ChangeKind.ASSETS)

    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.STOP,
        reasons="家庭购置小轿车一辆，财产超过规定",
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert (household.status, household.monthly_amount) == ("stopped", Decimal("0.00"))
    assert (household.stopped_at, household.stop_reason) == (
        DECIDED_ON,
        "家庭购置小轿车一辆，财产超过规定",
    )
    assert HouseholdMember.objects.filter(household=household, in_payment=True).count() == 0
    assert periods(household) == [(DECEMBER, DECEMBER, D600, 2, "normal", False)]
    assert _sheet_households(case_users, areas, DECEMBER) == 1
    assert _sheet_households(case_users, areas, JANUARY) == 0
    assert change.notice_text.splitlines()[0] == "停发告知书"
    assert "决定自2027年01月起停发你户最低生活保障金" in change.notice_text
    assert "行政诉讼" in change.notice_text


@pytest.mark.parametrize(
    ("_case", "is_registry_household", "months", "grace_end"),
    [
        ("ordinary_household_6_months", False, 6, date(2027, 7, 1)),
        ("registry_household_12_months", True, 12, date(2028, 1, 1)),
    ],
)
def test_income_above_the_standard_starts_a_gradual_exit(
    paid_household, case_users, _case, is_registry_household, months, grace_end
):
    household = paid_household()
    _head_income(household, case_users, "800")  # per capita 500 ≥ 460
    change = _reported_and_assessed(household, case_users)

    proposed = change.outcome
    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.GRADUAL_EXIT,
        reasons="家庭月人均收入 500 元，超过保障标准 460 元",
        is_registry_household=is_registry_household,
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert proposed == ChangeOutcome.GRADUAL_EXIT
    assert (
        household.status,
        household.grace_start,
        household.grace_months,
        household.grace_end,
        household.original_amount,
    ) == ("gradual_exit", JANUARY, months, grace_end, D600)
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, None, D600, 2, "gradual_exit", False),
    ]
    assert change.notice_text.splitlines()[0] == "渐退告知书"
    assert f"给予 {months} 个月渐退期" in change.notice_text


def test_gradual_exit_stops_once_the_grace_is_over(paid_household, case_users, areas):
    household = paid_household()
    _head_income(household, case_users, "800")
    change = _reported_and_assessed(household, case_users)
    change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.GRADUAL_EXIT,
        reasons="收入超过保障标准",
        today=DECIDED_ON,
    )

    with pytest.raises(DomainError) as early:
        gradual_exit_finish(
            actor=case_users.civil_affairs, household=household, today=date(2027, 6, 30)
        )
    gradual_exit_finish(actor=case_users.civil_affairs, household=household, today=date(2027, 7, 1))

    household.refresh_from_db()
    assert early.value.code == "change_state"
    assert (household.status, household.stop_reason, household.stopped_at) == (
        "stopped",
        "渐退期满",
        date(2027, 7, 1),
    )
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, date(2027, 6, 1), D600, 2, "gradual_exit", False),
    ]
    assert HouseholdMember.objects.filter(household=household, in_payment=True).count() == 0
    assert _sheet_households(case_users, areas, date(2027, 6, 1)) == 1
    assert _sheet_households(case_users, areas, date(2027, 7, 1)) == 0


@pytest.mark.parametrize(
    ("_case", "outcome"),
    [
        ("decrease", ChangeOutcome.DECREASE),
        ("suspend", ChangeOutcome.SUSPEND),
        ("stop", ChangeOutcome.STOP),
        ("gradual_exit", ChangeOutcome.GRADUAL_EXIT),
    ],
)
def test_decisions_against_the_household_need_reasons(paid_household, case_users, _case, outcome):
    household = paid_household()
    change = _reported_and_assessed(household, case_users)

    with pytest.raises(DomainError) as error:
        change_decide(
            actor=case_users.civil_affairs,
            change_id=change.pk,
            outcome=outcome,
            reasons="  ",
            new_amount=Decimal("100"),
            today=DECIDED_ON,
        )

    change.refresh_from_db()
    assert error.value.code == "step_incomplete"
    assert list(error.value.fields) == ["reasons"]
    assert change.status == "assessed"
    assert periods(household) == [(DECEMBER, None, D600, 2, "normal", False)]


def test_nobody_decides_a_change_they_reported(paid_household, case_users, areas, make_user):
    both = make_user(
        role=Role.COUNTY_CIVIL_AFFAIRS,
        area=areas.county,
        extra=((Role.TOWNSHIP_CASEWORKER, areas.township),),
    )
    household = paid_household()
    change = change_report(
        actor=both,
        household=household,
        kind=ChangeKind.OTHER,
        description="复核",
        reported_on=REPORTED_ON,
        today=REPORTED_ON,
    )
    change_assess(actor=both, change_id=change.pk, today=REPORTED_ON)

    with pytest.raises(DomainError) as error:
        change_decide(
            actor=both,
            change_id=change.pk,
            outcome=ChangeOutcome.UNCHANGED,
            reasons="",
            today=DECIDED_ON,
        )
    decided = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.UNCHANGED,
        reasons="",
        today=DECIDED_ON,
    )

    assert error.value.code == "four_eyes"
    assert decided.decided_by == case_users.civil_affairs


def test_a_change_is_assessed_before_it_is_decided(paid_household, case_users):
    household = paid_household()
    change = change_report(
        actor=case_users.caseworker,
        household=household,
        kind=ChangeKind.OTHER,
        description="复核",
        reported_on=REPORTED_ON,
        today=REPORTED_ON,
    )

    with pytest.raises(DomainError) as error:
        change_decide(
            actor=case_users.civil_affairs,
            change_id=change.pk,
            outcome=ChangeOutcome.UNCHANGED,
            reasons="",
            today=DECIDED_ON,
        )

    assert error.value.code == "step_incomplete"


@pytest.mark.parametrize(
    ("_case", "user_name", "code"),
    [
        ("caseworker_cannot_decide", "caseworker", "permission_denied"),
        ("township_head_cannot_decide", "township_head", "permission_denied"),
        ("other_county", "other_county_civil_affairs", "not_found"),
    ],
)
def test_only_the_county_civil_affairs_decides(paid_household, case_users, _case, user_name, code):
    household = paid_household()
    change = _reported_and_assessed(household, case_users)

    with pytest.raises(DomainError) as error:
        change_decide(
            actor=getattr(case_users, user_name),
            change_id=change.pk,
            outcome=ChangeOutcome.STOP,
            reasons="x",
            today=DECIDED_ON,
        )

    change.refresh_from_db()
    assert error.value.code == code
    assert change.status == "assessed"


def test_a_decided_change_is_decided_once(paid_household, case_users):
    household = paid_household()
    change = _reported_and_assessed(household, case_users)
    change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.UNCHANGED,
        reasons="",
        today=DECIDED_ON,
    )

    with pytest.raises(DomainError) as again:
        change_decide(
            actor=case_users.civil_affairs,
            change_id=change.pk,
            outcome=ChangeOutcome.STOP,
            reasons="x",
            today=DECIDED_ON,
        )
    with pytest.raises(DomainError) as reassess:
        change_assess(actor=case_users.caseworker, change_id=change.pk, today=DECIDED_ON)

    assert (again.value.code, reassess.value.code) == ("change_state", "change_state")
    assert AuditEvent.objects.filter(action="change.decide", object_id=str(change.pk)).count() == 1


def test_assets_over_the_limit_propose_a_stop(paid_household, case_users):
    household = paid_household()
    household_asset_set(
        actor=case_users.caseworker,
        household=household,
        kind=AssetKind.VEHICLE,
        quantity=1,
        value=Decimal("80000"),
    )

    change = _reported_and_assessed(household, case_users, kind=ChangeKind.ASSETS)

    assert (change.outcome, change.new_amount) == ("stop", Decimal("0.00"))
    assert change.means_test["reasons"] == ["机动车辆 1 辆，超过限额 0 辆"]


def test_reporting_needs_the_capability_in_the_households_area(paid_household, case_users):
    household = paid_household()

    with pytest.raises(DomainError) as sibling:
        change_report(
            actor=case_users.sibling_caseworker,
            household=household,
            kind=ChangeKind.OTHER,
            description="x",
            reported_on=REPORTED_ON,
            today=REPORTED_ON,
        )
    with pytest.raises(DomainError) as poverty_office:
        change_report(
            actor=case_users.poverty_office,
            household=household,
            kind=ChangeKind.OTHER,
            description="x",
            reported_on=REPORTED_ON,
            today=REPORTED_ON,
        )

    assert (sibling.value.code, poverty_office.value.code) == (
        "area_out_of_scope",
        "permission_denied",
    )
    assert ChangeReport.objects.filter(household=household).count() == 0


def test_a_change_is_refused_for_a_household_not_in_payment(new_application, case_users):
    household = new_application().household

    with pytest.raises(DomainError) as error:
        change_report(
            actor=case_users.caseworker,
            household=household,
            kind=ChangeKind.OTHER,
            description="x",
            reported_on=REPORTED_ON,
            today=REPORTED_ON,
        )

    assert error.value.code == "change_state"


def test_a_suspended_household_that_qualifies_again_resumes_payment(paid_household, case_users):
    household = paid_household()
    change = _reported_and_assessed(household, case_users, kind=ChangeKind.OTHER)
    change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.SUSPEND,
        reasons="拒不配合复核入户调查",
        today=DECIDED_ON,
    )
    resumed = change_report(
        actor=case_users.caseworker,
        household=household,
        kind=ChangeKind.OTHER,
        description="已配合完成复核",
        reported_on=date(2027, 1, 10),
        today=date(2027, 1, 10),
    )
    resumed = change_assess(
        actor=case_users.caseworker, change_id=resumed.pk, today=date(2027, 1, 10)
    )

    proposal = (resumed.outcome, resumed.new_amount)
    resumed = change_decide(
        actor=case_users.civil_affairs,
        change_id=resumed.pk,
        outcome=resumed.outcome,
        reasons="",
        today=date(2027, 1, 15),
    )

    household.refresh_from_db()
    assert proposal == ("increase", D600)
    assert household.status == HouseholdStatus.IN_PAYMENT
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, JANUARY, D600, 2, "normal", True),
        (date(2027, 2, 1), None, D600, 2, "normal", False),
    ]
    assert resumed.notice_text.splitlines()[0] == "恢复正常发放告知书"
