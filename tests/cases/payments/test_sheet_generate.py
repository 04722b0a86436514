from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from cases.choices import HouseholdStatus
from cases.models import PaymentLine, PaymentSheet
from cases.services.benefits import benefit_change, benefit_start, benefit_stop
from cases.services.payments import payment_sheet_generate, payment_sheet_transition
from lowbao.areas.roles import Role
from lowbao.areas.scoping import actor_has_perm
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.core.workdays import first_of_next_month

pytestmark = pytest.mark.django_db

JANUARY, FEBRUARY, MARCH = (date(2026, month, 1) for month in (1, 2, 3))
MAY, JUNE, JULY, AUGUST = (date(2026, month, 1) for month in (5, 6, 7, 8))


def _lines(sheet: PaymentSheet) -> list[tuple[str, Decimal, int]]:
    return list(
        PaymentLine.objects.filter(sheet=sheet)
        .order_by("household__number")
        .values_list("household__number", "amount", "covered_persons")
    )


def _totals(sheet: PaymentSheet) -> tuple[int, int, Decimal]:
    sheet.refresh_from_db()
    return sheet.household_count, sheet.person_count, sheet.total_amount


def test_sheet_has_one_line_per_owed_household_of_the_township(make_household, world, users):
    make_household(number="DB-A", amount="300.00", persons=2)
    make_household(number="DB-B", village=world.sibling_village, amount="460.00", persons=3)
    make_household(number="DB-X", village=world.other_township_village, amount="999.00")

    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    assert _lines(sheet) == [("DB-A", Decimal("300.00"), 2), ("DB-B", Decimal("460.00"), 3)]
    assert _totals(sheet) == (2, 5, Decimal("760.00"))
    assert (sheet.status, sheet.version, sheet.generated_by) == ("generated", 0, users.caseworker)
    event = AuditEvent.objects.get(action="payment_sheet.generate")
    assert event.area_code == world.township.code
    assert event.changes["total_amount"] == [None, "760.00"]


def test_household_approved_in_may_is_first_paid_on_the_june_sheet(make_household, world, users):
    household = make_household(number="DB-A", start=None)
    benefit_start(
        actor=None,
        household=household,
        start_month=first_of_next_month(date(2026, 5, 12)),
        monthly_amount=Decimal("300.00"),
        covered_persons=2,
        reason="批准",
    )

    may = payment_sheet_generate(actor=users.caseworker, township=world.township, month=MAY)
    june = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    assert _lines(may) == []
    assert _lines(june) == [("DB-A", Decimal("300.00"), 2)]


def test_amount_change_effective_next_month(make_household, world, users):
    household = make_household(number="DB-A", amount="300.00", persons=2)
    benefit_change(
        actor=None,
        household=household,
        effective_month=AUGUST,
        monthly_amount=Decimal("150.00"),
        covered_persons=1,
        reason="减发",
    )

    july = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JULY)
    august = payment_sheet_generate(actor=users.caseworker, township=world.township, month=AUGUST)

    assert _lines(july) == [("DB-A", Decimal("300.00"), 2)]
    assert _lines(august) == [("DB-A", Decimal("150.00"), 1)]


@pytest.mark.parametrize(
    ("_case", "status", "suspended_period", "expected"),
    [
        ("in_payment", HouseholdStatus.IN_PAYMENT, False, ["DB-A"]),
        ("gradual_exit", HouseholdStatus.GRADUAL_EXIT, False, ["DB-A"]),
        ("suspended_period", HouseholdStatus.IN_PAYMENT, True, []),
        # suspended from a later month: the month before the suspension is still owed
        ("suspended_household_month_before", HouseholdStatus.SUSPENDED, False, ["DB-A"]),
        ("suspended_household_suspended_period", HouseholdStatus.SUSPENDED, True, []),
        ("still_applying", HouseholdStatus.APPLYING, False, []),
        ("not_covered", HouseholdStatus.NOT_COVERED, False, []),
    ],
)
def test_only_paying_households_are_on_the_sheet(
    make_household, world, users, _case, status, suspended_period, expected
):
    household = make_household(number="DB-A", status=status)
    if suspended_period:
        benefit_change(
            actor=None,
            household=household,
            effective_month=JULY,
            monthly_amount=Decimal("300.00"),
            covered_persons=2,
            reason="暂停",
            is_suspended=True,
        )

    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JULY)

    assert [number for number, _amount, _persons in _lines(sheet)] == expected


def test_stopped_household_is_paid_up_to_its_last_month_only(make_household, world, users):
    household = make_household(number="DB-A")
    benefit_stop(actor=None, household=household, last_month=JULY, reason="停保")
    household.status = HouseholdStatus.STOPPED
    household.save(update_fields=["status"])

    july = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JULY)
    august = payment_sheet_generate(actor=users.caseworker, township=world.township, month=AUGUST)

    assert _lines(july) == [("DB-A", Decimal("300.00"), 2)]
    assert _lines(august) == []


def test_quarterly_county_pays_three_months_in_the_quarters_first_month(
    make_household, world, users, quarterly_county
):
    make_household(number="DB-A", amount="300.00", persons=2, start=JANUARY)
    changed = make_household(number="DB-B", amount="200.00", persons=2, start=JANUARY)
    benefit_change(
        actor=None,
        household=changed,
        effective_month=MARCH,
        monthly_amount=Decimal("100.00"),
        covered_persons=1,
        reason="减发",
    )
    make_household(number="DB-C", amount="460.00", persons=1, start=FEBRUARY)

    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JANUARY)

    assert _lines(sheet) == [
        ("DB-A", Decimal("900.00"), 2),
        ("DB-B", Decimal("500.00"), 1),  # 200 + 200 + 100; persons of the quarter's last month
        ("DB-C", Decimal("920.00"), 1),
    ]
    assert _totals(sheet) == (3, 4, Decimal("2320.00"))


def test_quarterly_county_has_no_sheet_outside_a_quarters_first_month(
    make_household, world, users, quarterly_county
):
    make_household(start=JANUARY)

    with pytest.raises(DomainError) as caught:
        payment_sheet_generate(actor=users.caseworker, township=world.township, month=FEBRUARY)

    assert caught.value.code == "invalid"
    assert not PaymentSheet.objects.exists()


def test_regenerating_an_unchanged_sheet_gives_the_same_result(make_household, world, users):
    make_household(number="DB-A", amount="300.00")
    make_household(number="DB-B", amount="200.00")
    first = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)
    lines_before, totals_before = _lines(first), _totals(first)

    second = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    assert second.pk == first.pk
    assert _lines(second) == lines_before
    assert _totals(second) == totals_before
    assert PaymentSheet.objects.count() == 1
    assert PaymentLine.objects.count() == 2
    assert second.version == 0
    assert AuditEvent.objects.filter(action__startswith="payment_sheet.").count() == 1


def test_regenerating_after_a_change_recomputes_lines_and_totals(make_household, world, users):
    household = make_household(number="DB-A", amount="300.00")
    payment_sheet_generate(actor=users.caseworker, township=world.township, month=JULY)
    benefit_change(
        actor=None,
        household=household,
        effective_month=JULY,
        monthly_amount=Decimal("350.00"),
        covered_persons=2,
        reason="增发",
    )
    make_household(number="DB-B", amount="100.00", persons=1)

    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JULY)

    assert _lines(sheet) == [("DB-A", Decimal("350.00"), 2), ("DB-B", Decimal("100.00"), 1)]
    assert _totals(sheet) == (2, 3, Decimal("450.00"))
    assert sheet.version == 1
    assert PaymentLine.objects.count() == 2
    event = AuditEvent.objects.get(action="payment_sheet.regenerate")
    assert event.changes["total_amount"] == ["300.00", "450.00"]


def test_regenerating_a_checked_sheet_is_refused(make_household, world, users):
    make_household(number="DB-A", amount="300.00")
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)
    payment_sheet_transition(actor=users.head, sheet_id=sheet.pk, action="check")
    make_household(number="DB-B", amount="100.00")

    with pytest.raises(DomainError) as caught:
        payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    assert caught.value.code == "payment_sheet_state"
    assert "已核对" in caught.value.message
    assert _lines(sheet) == [("DB-A", Decimal("300.00"), 2)]


@pytest.mark.parametrize(
    ("_case", "user_attr", "error"),
    [
        ("township_head_may_not_generate", "head", "permission_denied"),
        ("county_officer_may_not_generate", "county_officer", "permission_denied"),
        ("sibling_township_gets_404", "sibling_caseworker", Http404),
    ],
)
def test_generating_is_denied(make_household, world, users, _case, user_attr, error):
    make_household()

    with pytest.raises((DomainError, Http404)) as caught:
        payment_sheet_generate(actor=getattr(users, user_attr), township=world.township, month=JUNE)

    if error is Http404:
        assert isinstance(caught.value, Http404)
    else:
        assert caught.value.code == error
    assert not PaymentSheet.objects.exists()


def test_generating_for_a_village_is_refused(make_household, world, users):
    with pytest.raises(DomainError) as caught:
        payment_sheet_generate(actor=users.caseworker, township=world.village, month=JUNE)

    assert caught.value.code == "invalid"


def test_generating_runs_a_fixed_number_of_queries(make_household, world, make_user):
    for _ in range(2):
        make_household(village=world.village)
    for _ in range(20):
        make_household(village=world.other_township_village)
    caseworker = make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=world.township,
        extra=((Role.TOWNSHIP_CASEWORKER, world.sibling_township),),
    )
    actor_has_perm(caseworker, "warm the assignment cache")

    with CaptureQueriesContext(connection) as small:
        payment_sheet_generate(actor=caseworker, township=world.township, month=JUNE)
    with CaptureQueriesContext(connection) as large:
        payment_sheet_generate(actor=caseworker, township=world.sibling_township, month=JUNE)

    assert PaymentLine.objects.filter(sheet__township=world.sibling_township).count() == 20
    assert len(small.captured_queries) == len(large.captured_queries)
