from datetime import date
from decimal import Decimal

import pytest

from cases.choices import BenefitKind
from cases.models import BenefitPeriod
from cases.services.benefits import benefit_change, benefit_for_month, benefit_start, benefit_stop
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.core.workdays import first_of_next_month

pytestmark = pytest.mark.django_db

MAY, JUNE, JULY, AUGUST = (date(2026, month, 1) for month in (5, 6, 7, 8))


def _periods(household) -> list[tuple]:
    return list(
        BenefitPeriod.objects.filter(household=household)
        .order_by("start_month")
        .values_list(
            "start_month", "end_month", "monthly_amount", "covered_persons", "kind", "is_suspended"
        )
    )


def _audit_actions(household) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_type="cases.household", object_id=str(household.pk))
        .order_by("seq")
        .values_list("action", flat=True)
    )


def test_benefit_starts_the_month_after_approval(make_household, world, users):
    household = make_household(start=None)
    approved_on = date(2026, 5, 20)

    period = benefit_start(
        actor=users.county_officer,
        household=household,
        start_month=first_of_next_month(approved_on),
        monthly_amount=Decimal("420.00"),
        covered_persons=2,
        reason="县级审批",
    )

    assert (period.start_month, period.end_month) == (JUNE, None)
    assert period.created_by == users.county_officer
    assert benefit_for_month(household=household, month=MAY) is None
    assert benefit_for_month(household=household, month=date(2026, 6, 15)) == period
    household.refresh_from_db()
    assert household.monthly_amount == Decimal("420.00")
    assert household.payment_start_month == JUNE
    assert _audit_actions(household) == ["benefit.start"]
    event = AuditEvent.objects.get(action="benefit.start")
    assert event.area_code == world.village.code
    assert event.actor_id == users.county_officer.pk


def test_benefit_start_twice_with_same_values_changes_nothing(make_household):
    household = make_household(amount="300.00", persons=2)

    again = benefit_start(
        actor=None,
        household=household,
        start_month=JUNE,
        monthly_amount=Decimal("300.00"),
        covered_persons=2,
        reason="重复提交",
    )

    assert _periods(household) == [(JUNE, None, Decimal("300.00"), 2, "normal", False)]
    assert again.start_month == JUNE
    assert _audit_actions(household) == ["benefit.start"]


@pytest.mark.parametrize(
    ("_case", "start_month", "amount", "code"),
    [
        ("open_period_with_other_amount", JUNE, "999.00", "conflict"),
        ("open_period_later_start", JULY, "300.00", "conflict"),
        ("not_first_of_month", date(2026, 6, 2), "300.00", "invalid"),
        ("negative_amount", JULY, "-1.00", "invalid"),
    ],
)
def test_benefit_start_is_refused(make_household, _case, start_month, amount, code):
    household = make_household(amount="300.00")

    with pytest.raises(DomainError) as caught:
        benefit_start(
            actor=None,
            household=household,
            start_month=start_month,
            monthly_amount=Decimal(amount),
            covered_persons=2,
            reason="x",
        )

    assert caught.value.code == code
    assert _periods(household) == [(JUNE, None, Decimal("300.00"), 2, "normal", False)]


def test_benefit_change_applies_from_the_effective_month(make_household):
    household = make_household(amount="300.00", persons=2)

    period = benefit_change(
        actor=None,
        household=household,
        effective_month=AUGUST,
        monthly_amount=Decimal("150.00"),
        covered_persons=1,
        reason="成员死亡，减发",
    )

    assert _periods(household) == [
        (JUNE, JULY, Decimal("300.00"), 2, "normal", False),
        (AUGUST, None, Decimal("150.00"), 1, "normal", False),
    ]
    assert benefit_for_month(household=household, month=JULY).monthly_amount == Decimal("300.00")
    assert benefit_for_month(household=household, month=AUGUST) == period
    assert household.monthly_amount == Decimal("150.00")  # the caller's instance is in step
    household.refresh_from_db()
    assert household.monthly_amount == Decimal("150.00")
    assert _audit_actions(household) == ["benefit.start", "benefit.change"]


def test_benefit_change_applied_twice_is_applied_once(make_household):
    household = make_household(amount="300.00")
    change = {
        "actor": None,
        "household": household,
        "effective_month": AUGUST,
        "monthly_amount": Decimal("350.00"),
        "covered_persons": 2,
        "reason": "增发",
    }

    first = benefit_change(**change)
    second = benefit_change(**change)

    assert first.pk == second.pk
    assert len(_periods(household)) == 2
    assert _audit_actions(household) == ["benefit.start", "benefit.change"]


def test_second_decision_for_the_same_month_corrects_the_period(make_household):
    household = make_household(amount="300.00")
    benefit_change(
        actor=None,
        household=household,
        effective_month=AUGUST,
        monthly_amount=Decimal("350.00"),
        covered_persons=2,
        reason="增发",
    )

    benefit_change(
        actor=None,
        household=household,
        effective_month=AUGUST,
        monthly_amount=Decimal("200.00"),
        covered_persons=2,
        reason="渐退",
        kind=BenefitKind.GRADUAL_EXIT,
    )

    assert _periods(household) == [
        (JUNE, JULY, Decimal("300.00"), 2, "normal", False),
        (AUGUST, None, Decimal("200.00"), 2, "gradual_exit", False),
    ]


def test_benefit_change_before_the_open_period_is_refused(make_household):
    household = make_household(amount="300.00", start=JULY)

    with pytest.raises(DomainError) as caught:
        benefit_change(
            actor=None,
            household=household,
            effective_month=JUNE,
            monthly_amount=Decimal("1.00"),
            covered_persons=1,
            reason="x",
        )

    assert caught.value.code == "invalid"
    assert _periods(household) == [(JULY, None, Decimal("300.00"), 2, "normal", False)]


def test_benefit_change_without_open_period_is_refused(make_household):
    household = make_household(start=None)

    with pytest.raises(DomainError) as caught:
        benefit_change(
            actor=None,
            household=household,
            effective_month=JULY,
            monthly_amount=Decimal("1.00"),
            covered_persons=1,
            reason="x",
        )

    assert caught.value.code == "invalid_transition"


def test_benefit_suspension_is_a_change_with_the_flag(make_household):
    household = make_household(amount="300.00")

    benefit_change(
        actor=None,
        household=household,
        effective_month=JULY,
        monthly_amount=Decimal("300.00"),
        covered_persons=2,
        reason="暂停",
        is_suspended=True,
    )

    assert _periods(household) == [
        (JUNE, JUNE, Decimal("300.00"), 2, "normal", False),
        (JULY, None, Decimal("300.00"), 2, "normal", True),
    ]


def test_benefit_stop_closes_the_open_period(make_household):
    household = make_household(amount="300.00")

    benefit_stop(actor=None, household=household, last_month=JULY, reason="收入超标，停保")
    benefit_stop(actor=None, household=household, last_month=JULY, reason="重复提交")

    assert _periods(household) == [(JUNE, JULY, Decimal("300.00"), 2, "normal", False)]
    assert benefit_for_month(household=household, month=AUGUST) is None
    household.refresh_from_db()
    assert household.monthly_amount == Decimal("0.00")
    assert _audit_actions(household) == ["benefit.start", "benefit.stop"]


def test_benefit_stop_before_the_first_month_removes_the_period(make_household):
    household = make_household(amount="300.00", start=JUNE)

    benefit_stop(actor=None, household=household, last_month=MAY, reason="批准后死亡")

    assert _periods(household) == []
    assert _audit_actions(household) == ["benefit.start", "benefit.stop"]


def test_benefit_stop_earlier_than_a_past_stop_is_refused(make_household):
    household = make_household(amount="300.00", start=JUNE)
    benefit_stop(actor=None, household=household, last_month=AUGUST, reason="停保")

    with pytest.raises(DomainError) as caught:
        benefit_stop(actor=None, household=household, last_month=JULY, reason="提前")

    assert caught.value.code == "invalid_transition"
    assert _periods(household) == [(JUNE, AUGUST, Decimal("300.00"), 2, "normal", False)]


def test_benefit_restarts_after_a_stop(make_household):
    household = make_household(amount="300.00", start=JUNE)
    benefit_stop(actor=None, household=household, last_month=JUNE, reason="停保")

    with pytest.raises(DomainError):
        benefit_start(
            actor=None,
            household=household,
            start_month=JUNE,
            monthly_amount=Decimal("280.00"),
            covered_persons=2,
            reason="重叠",
        )
    benefit_start(
        actor=None,
        household=household,
        start_month=AUGUST,
        monthly_amount=Decimal("280.00"),
        covered_persons=2,
        reason="重新纳入",
    )

    assert _periods(household) == [
        (JUNE, JUNE, Decimal("300.00"), 2, "normal", False),
        (AUGUST, None, Decimal("280.00"), 2, "normal", False),
    ]
    household.refresh_from_db()
    assert (household.monthly_amount, household.payment_start_month) == (Decimal("280.00"), AUGUST)
