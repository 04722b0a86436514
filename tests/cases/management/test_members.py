"""Member events of dynamic management: death (check within 3 months), refusal of work (own
share reduced at the third consecutive refusal), home visits."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import ChangeKind, ChangeOutcome, LabourCapacity, Relation
from cases.models import HomeVisit
from cases.services.management import (
    change_assess,
    change_decide,
    change_report,
    home_visit_record,
    households_due_for_check,
    work_refusal_record,
    work_refusals_reset,
)
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
from tests.fixtures.cases import member

pytestmark = pytest.mark.django_db

D600 = Decimal("600.00")


def _report_death(household, users, *, died_on: date):
    spouse = member_of(household, relation=Relation.SPOUSE)
    change = change_report(
        actor=users.village_assistant,
        household=household,
        kind=ChangeKind.DEATH,
        description="配偶病故",
        reported_on=REPORTED_ON,
        member_left={"member_id": spouse.pk, "left_on": died_on},
        today=REPORTED_ON,
    )
    return change, spouse


@pytest.mark.parametrize(
    ("_case", "died_on", "check_due"),
    [
        ("three_months_later", date(2026, 12, 5), date(2027, 3, 5)),
        ("end_of_a_longer_month", date(2026, 11, 30), date(2027, 2, 28)),
    ],
)
def test_a_death_takes_the_member_out_and_sets_a_check_three_months_later(
    paid_household, case_users, _case, died_on, check_due
):
    household = paid_household()

    _change, spouse = _report_death(household, case_users, died_on=died_on)

    household.refresh_from_db()
    spouse.refresh_from_db()
    assert (spouse.left_at, spouse.left_reason, spouse.in_payment) == (died_on, "死亡", False)
    assert household.check_due == check_due
    assert household.check_reason == (
        f"成员{spouse.person.name}于 {died_on:%Y年%m月%d日} 死亡，"
        f"须在 {check_due:%Y年%m月%d日} 前完成核查并办结手续"
    )
    assert list(households_due_for_check(actor=case_users.caseworker)) == [household]
    assert list(households_due_for_check(actor=case_users.sibling_caseworker)) == []


def test_deciding_after_a_death_recomputes_for_the_survivors_and_ends_the_check(
    paid_household, case_users
):
    household = paid_household()
    change, _spouse = _report_death(household, case_users, died_on=date(2026, 12, 5))

    change = change_assess(actor=case_users.caseworker, change_id=change.pk, today=REPORTED_ON)
    proposal = (change.outcome, change.new_amount)
    change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.DECREASE,
        reasons="配偶死亡，家庭人口减为 1 人",
        today=DECIDED_ON,
    )

    household.refresh_from_db()
    assert proposal == ("decrease", Decimal("340.00"))  # (460 − 120) × 1
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, None, Decimal("340.00"), 1, "normal", False),
    ]
    assert (household.check_due, household.check_reason) == (None, "")


def test_a_death_needs_the_member_and_the_date(paid_household, case_users):
    household = paid_household()

    with pytest.raises(DomainError) as error:
        change_report(
            actor=case_users.caseworker,
            household=household,
            kind=ChangeKind.DEATH,
            description="户主死亡",
            reported_on=REPORTED_ON,
            today=REPORTED_ON,
        )

    household.refresh_from_db()
    assert error.value.fields == {"member_id": ["成员死亡须选择死亡的成员并填写死亡日期"]}
    assert household.check_due is None


def _able_spouse_household(paid_household):
    return paid_household(
        members=[
            member(income="120"),
            member(relation=Relation.SPOUSE, income="200", labour_capacity=LabourCapacity.ORDINARY),
        ]
    )


def _refuse_work(users, spouse, times: int):
    for day in range(1, times + 1):
        spouse = work_refusal_record(
            actor=users.caseworker,
            member=spouse,
            refused_on=date(2026, 12, day),
            note=f"介绍到镇上养殖场务工，第 {day} 次无正当理由拒绝",
            today=REPORTED_ON,
        )
    return spouse


def test_two_refusals_of_work_change_nothing(paid_household, case_users):
    household = _able_spouse_household(paid_household)
    spouse = member_of(household, relation=Relation.SPOUSE)

    spouse = _refuse_work(case_users, spouse, 2)

    assert (spouse.work_refusals, spouse.share_reduced, spouse.is_covered) == (2, False, True)
    assert periods(household) == [(DECEMBER, None, D600, 2, "normal", False)]


def test_the_third_refusal_of_work_reduces_that_members_share_from_next_month(
    paid_household, case_users
):
    household = _able_spouse_household(paid_household)
    spouse = member_of(household, relation=Relation.SPOUSE)

    spouse = _refuse_work(case_users, spouse, 3)

    household.refresh_from_db()
    assert (spouse.work_refusals, spouse.share_reduced, spouse.is_covered, spouse.in_payment) == (
        3,
        True,
        False,
        False,
    )
    # per capita still (120 + 200) / 2 = 160; one share of 300 comes off
    assert periods(household) == [
        (DECEMBER, DECEMBER, D600, 2, "normal", False),
        (JANUARY, None, Decimal("300.00"), 1, "normal", False),
    ]
    assert household.monthly_amount == Decimal("300.00")
    assert AuditEvent.objects.filter(action="member.share_reduce").count() == 1


def test_a_reassessment_keeps_the_reduced_share_off(paid_household, case_users):
    household = _able_spouse_household(paid_household)
    _refuse_work(case_users, member_of(household, relation=Relation.SPOUSE), 3)
    change = change_report(
        actor=case_users.caseworker,
        household=household,
        kind=ChangeKind.OTHER,
        description="年度复核",
        reported_on=REPORTED_ON,
        today=REPORTED_ON,
    )

    change = change_assess(actor=case_users.civil_affairs, change_id=change.pk, today=REPORTED_ON)

    assert (change.outcome, change.new_amount) == ("unchanged", Decimal("300.00"))
    assert change.means_test["members_covered"] == 1


def test_taking_a_job_restarts_the_count_of_refusals(paid_household, case_users):
    household = _able_spouse_household(paid_household)
    spouse = _refuse_work(case_users, member_of(household, relation=Relation.SPOUSE), 2)

    work_refusals_reset(actor=case_users.caseworker, member=spouse, note="已到养殖场上班")
    spouse = _refuse_work(case_users, spouse, 1)

    assert (spouse.work_refusals, spouse.share_reduced) == (1, False)
    assert periods(household) == [(DECEMBER, None, D600, 2, "normal", False)]


def test_refusal_of_work_does_not_apply_to_a_member_without_labour_capacity(
    paid_household, case_users
):
    household = paid_household()  # both members 丧失劳动力
    spouse = member_of(household, relation=Relation.SPOUSE)

    with pytest.raises(DomainError) as error:
        _refuse_work(case_users, spouse, 1)

    spouse.refresh_from_db()
    assert error.value.code == "change_state"
    assert spouse.work_refusals == 0


def test_a_home_visit_is_recorded_with_its_visitors(paid_household, case_users):
    household = paid_household()

    visit = home_visit_record(
        actor=case_users.village_assistant,
        household=household,
        visited_on=REPORTED_ON,
        visitors=["王一", " 李二 ", "王一", ""],
        findings="入户查看，家庭情况无变化",
        change_found=False,
        today=REPORTED_ON,
    )

    assert (visit.visitors, visit.recorded_by) == (["王一", "李二"], case_users.village_assistant)
    assert AuditEvent.objects.filter(action="home_visit.record").count() == 1


@pytest.mark.parametrize(
    ("_case", "visitors", "findings", "visited_on", "field"),
    [
        ("no_visitor", [" "], "无变化", REPORTED_ON, "visitors"),
        ("no_findings", ["王一"], "  ", REPORTED_ON, "findings"),
        ("in_the_future", ["王一"], "无变化", date(2026, 12, 11), "visited_on"),
    ],
)
def test_an_incomplete_home_visit_is_refused(
    paid_household, case_users, _case, visitors, findings, visited_on, field
):
    household = paid_household()

    with pytest.raises(DomainError) as error:
        home_visit_record(
            actor=case_users.caseworker,
            household=household,
            visited_on=visited_on,
            visitors=visitors,
            findings=findings,
            change_found=False,
            today=REPORTED_ON,
        )

    assert list(error.value.fields) == [field]
    assert HomeVisit.objects.count() == 0
