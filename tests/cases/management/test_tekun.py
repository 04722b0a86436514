"""特困 (domain.md §7): the three conditions, the self-care tiers, the form of support, and
termination after a 7-day notice (minors stay covered)."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import ChangeOutcome, DisabilityType, Programme, SchoolStatus
from cases.models import HouseholdMember, SelfCareAssessment
from cases.services.management import change_decide
from cases.services.tekun import (
    self_care_assess,
    tekun_eligibility,
    tekun_support_mode_set,
    tekun_terminate,
)
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from tests.cases.management.helpers import DECEMBER, REPORTED_ON, periods
from tests.fixtures.cases import member

pytestmark = pytest.mark.django_db

ACTIVITIES = ("can_eat", "can_dress", "can_transfer", "can_toilet", "can_walk_indoors", "can_bathe")


def _tekun_household(new_application, **person):
    return new_application(programme=Programme.TEKUN, members=[member(**person)]).household


@pytest.mark.parametrize(
    ("_case", "person", "supporter_unable", "conditions"),
    [
        ("aged_60_or_more", {"birth_year": 1960}, True, (True, True, True)),
        ("under_16", {"birth_year": 2016}, True, (True, True, True)),
        (
            "intellectual_grade_3",
            {"disability_type": DisabilityType.INTELLECTUAL, "disability_grade": 3},
            True,
            (True, True, True),
        ),
        (
            "mental_grade_3",
            {"disability_type": DisabilityType.MENTAL, "disability_grade": 3},
            True,
            (True, True, True),
        ),
        (
            "physical_grade_2",
            {"disability_type": DisabilityType.PHYSICAL, "disability_grade": 2},
            True,
            (True, True, True),
        ),
        (
            "visual_grade_1",
            {"disability_type": DisabilityType.VISUAL, "disability_grade": 1},
            True,
            (True, True, True),
        ),
        ("working_age_no_disability", {}, True, (False, True, True)),
        (
            "physical_grade_3",
            {"disability_type": DisabilityType.PHYSICAL, "disability_grade": 3},
            True,
            (False, True, True),
        ),
        (
            "visual_grade_2",
            {"disability_type": DisabilityType.VISUAL, "disability_grade": 2},
            True,
            (False, True, True),
        ),
        (
            "income_at_the_dibao_standard",
            {"birth_year": 1950, "income": "460"},
            True,
            (True, False, True),
        ),
        ("supporter_able_to_pay", {"birth_year": 1950}, False, (True, True, False)),
    ],
)
def test_tekun_needs_all_three_conditions(
    new_application, _case, person, supporter_unable, conditions
):
    person = {"birth_year": 1980, **person}
    household = _tekun_household(new_application, **person)

    result = tekun_eligibility(
        household=household, on=REPORTED_ON, supporter_unable=supporter_unable
    )

    assert tuple(c.is_met for c in result.conditions) == conditions
    assert result.eligible is all(conditions)
    assert len(result.reasons) == conditions.count(False)


def test_tekun_findings_name_the_person_and_why(new_application):
    household = _tekun_household(new_application, birth_year=1980)
    head = HouseholdMember.objects.select_related("person").get(household=household)

    result = tekun_eligibility(household=household, on=REPORTED_ON, supporter_unable=True)

    assert [(p.member_id, p.age, p.has_no_capacity) for p in result.persons] == [
        (head.pk, 46, False)
    ]
    assert result.reasons == (
        f"{head.person.name}（{head.person.id_number_masked}）具备劳动能力：46 周岁，"
        "不属于年满 60 周岁、未满 16 周岁、1–3 级智力或精神残疾、1–2 级肢体残疾或 1 级视力残疾",
    )


@pytest.mark.parametrize(
    ("_case", "not_done", "tier"),
    [
        ("all_six_done", 0, "full"),
        ("one_not_done", 1, "partial"),
        ("three_not_done", 3, "partial"),
        ("four_not_done", 4, "complete"),
        ("none_done", 6, "complete"),
    ],
)
def test_self_care_tier_follows_the_activities_not_done(
    new_application, case_users, _case, not_done, tier
):
    household = _tekun_household(new_application, birth_year=1945)
    person = HouseholdMember.objects.get(household=household)
    answers = {name: index >= not_done for index, name in enumerate(ACTIVITIES)}

    assessment = self_care_assess(
        actor=case_users.caseworker,
        member=person,
        assessed_on=REPORTED_ON,
        today=REPORTED_ON,
        **answers,
    )

    assert assessment.tier == tier
    assert SelfCareAssessment.objects.filter(member=person).count() == 1


def test_self_care_assessment_is_for_tekun_people_only(new_application, case_users):
    household = new_application().household
    head = household.members.first()

    with pytest.raises(DomainError) as error:
        self_care_assess(
            actor=case_users.caseworker,
            member=head,
            assessed_on=REPORTED_ON,
            **dict.fromkeys(ACTIVITIES, True),
        )

    assert error.value.code == "change_state"


def test_the_person_chooses_the_form_of_support(new_application, case_users):
    household = _tekun_household(new_application, birth_year=1945)

    tekun_support_mode_set(actor=case_users.caseworker, household=household, mode="dispersed")
    tekun_support_mode_set(actor=case_users.caseworker, household=household, mode="dispersed")

    household.refresh_from_db()
    assert household.tekun_support_mode == "dispersed"
    assert AuditEvent.objects.filter(action="tekun.support_mode_set").count() == 1


@pytest.mark.parametrize(
    ("_case", "person", "message"),
    [
        ("minor_of_12", {"birth_year": 2014}, "未满 18 周岁（12 周岁）"),
        (
            "19_year_old_in_high_school",
            {"birth_year": 2007, "school_status": SchoolStatus.SENIOR},
            "年满 18 周岁但仍在高中1-3就读",
        ),
    ],
)
def test_a_minor_is_not_terminated_for_gaining_capacity(
    paid_household, case_users, _case, person, message
):
    household = paid_household(programme=Programme.TEKUN, members=[member(**person)])

    with pytest.raises(DomainError) as error:
        tekun_terminate(
            actor=case_users.caseworker,
            household=household,
            reason_code="capacity",
            reasons="已满 16 周岁",
            today=REPORTED_ON,
        )

    assert error.value.code == "change_state"
    assert message in error.value.message
    assert household.changes.count() == 0


def test_termination_is_posted_for_7_days_and_stops_the_month_after(paid_household, case_users):
    household = paid_household(programme=Programme.TEKUN, members=[member(birth_year=1950)])
    amount = household.monthly_amount

    change = tekun_terminate(
        actor=case_users.caseworker,
        household=household,
        reason_code="voluntary",
        reasons="本人书面申请退出，随子女生活",
        today=REPORTED_ON,
    )
    with pytest.raises(DomainError) as early:
        change_decide(
            actor=case_users.civil_affairs,
            change_id=change.pk,
            outcome=ChangeOutcome.STOP,
            reasons=change.reasons,
            today=date(2026, 12, 16),
        )
    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.STOP,
        reasons=change.reasons,
        today=date(2026, 12, 17),
    )

    household.refresh_from_db()
    assert early.value.code == "notice_not_over"
    assert (change.status, change.effective_month) == ("decided", date(2027, 1, 1))
    assert household.status == "stopped"
    assert periods(household) == [(DECEMBER, DECEMBER, amount, 1, "normal", False)]
    assert change.notice_text.splitlines()[0] == "终止特困人员救助供养告知书"


def test_the_planned_termination_carries_its_posting(paid_household, case_users):
    household = paid_household(programme=Programme.TEKUN, members=[member(birth_year=1950)])

    change = tekun_terminate(
        actor=case_users.caseworker,
        household=household,
        reason_code="imprisoned",
        reasons="被判处有期徒刑二年",
        today=REPORTED_ON,
    )

    assert (change.status, change.outcome, change.effective_month, change.new_amount) == (
        "assessed",
        "stop",
        date(2027, 1, 1),
        Decimal("0.00"),
    )
    assert change.means_test["termination"] == {
        "reason_code": "imprisoned",
        "reason_label": "依法被判处刑罚，且在监狱服刑",
        "notice_starts_on": "2026-12-10",
        "notice_ends_on": "2026-12-16",
    }
    assert change.notice_text.splitlines()[0] == "拟终止特困人员救助供养公示"
    assert "公示期：2026年12月10日至2026年12月16日。" in change.notice_text


def test_an_objection_upheld_keeps_the_person_in_support(paid_household, case_users):
    household = paid_household(programme=Programme.TEKUN, members=[member(birth_year=1950)])
    change = tekun_terminate(
        actor=case_users.caseworker,
        household=household,
        reason_code="supporter",
        reasons="其子已外出务工",
        today=REPORTED_ON,
    )

    change = change_decide(
        actor=case_users.civil_affairs,
        change_id=change.pk,
        outcome=ChangeOutcome.UNCHANGED,
        reasons="经核实其子收入低，无履行义务能力",
        today=date(2026, 12, 17),
    )

    household.refresh_from_db()
    assert household.status == "in_payment"
    assert change.notice_text.splitlines()[0] == "不予终止特困供养告知书"
