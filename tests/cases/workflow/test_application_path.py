"""The application procedure end to end, per profile, with its records and deadlines."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from cases.choices import ApplicationAction as A
from cases.choices import ApplicationStatus as S
from cases.choices import HouseholdStatus, Relation
from cases.models import Application, BenefitPeriod, HouseholdMember, StatusTransition
from cases.services.applications import StepData, application_transition
from cases.services.payments import payment_sheet_generate
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from tests.fixtures.cases import member

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 2)  # a Monday


def investigation(on: date = TODAY) -> StepData:
    return StepData(
        on=on, investigators=["王一", "李二"], home_visit_record="入户查看住房、收入情况"
    )


def walk_to_county_review(application: Application, users, *, start: date = TODAY) -> Application:
    app_id = application.pk
    application_transition(
        application_id=app_id, action=A.ACCEPT, actor=users.caseworker, today=start
    )
    application_transition(
        application_id=app_id,
        action=A.INVESTIGATE,
        actor=users.caseworker,
        data=investigation(start),
        today=start,
    )
    if application.profile == "2012_trial":
        application_transition(
            application_id=app_id,
            action=A.APPRAISE,
            actor=users.caseworker,
            today=start,
            data=StepData(
                on=start,
                attendees_total=9,
                villager_representatives=6,
                minutes="评议记录",
                outcome="agree",
            ),
        )
    application_transition(
        application_id=app_id,
        action=A.TOWNSHIP_REVIEW,
        actor=users.township_head,
        data=StepData(opinion="recommend", comment="符合条件"),
        today=start,
    )
    application_transition(
        application_id=app_id,
        action=A.START_NOTICE,
        actor=users.caseworker,
        data=StepData(on=start),
        today=start,
    )
    return application_transition(
        application_id=app_id,
        action=A.END_NOTICE,
        actor=users.caseworker,
        today=start + timedelta(days=7),
    )


def test_2021_path_from_application_to_payment_next_month(
    new_application, case_users, areas, verified
):
    application = new_application()
    assert application.profile == "2021"

    application = walk_to_county_review(application, case_users)
    assert application.status == S.COUNTY_REVIEW
    verified(application)
    application = application_transition(
        application_id=application.pk,
        action=A.APPROVE,
        actor=case_users.civil_affairs,
        data=StepData(certificate_number="DB-2026-001"),
        today=date(2026, 11, 16),
    )

    assert application.status == S.APPROVED
    assert application.payment_start_month == date(2026, 12, 1)
    # 2 members, incomes 120 + 200 → per capita 160 → (460 − 160) × 2 = 600
    assert application.approved_amount == Decimal("600.00")
    household = application.household
    household.refresh_from_db()
    assert (household.status, household.monthly_amount) == (
        HouseholdStatus.IN_PAYMENT,
        Decimal("600.00"),
    )
    assert list(
        BenefitPeriod.objects.filter(household=household).values_list(
            "start_month", "monthly_amount", "covered_persons"
        )
    ) == [(date(2026, 12, 1), Decimal("600.00"), 2)]
    assert HouseholdMember.objects.filter(household=household, in_payment=True).count() == 2
    assert list(
        StatusTransition.objects.filter(application=application).values_list("action", flat=True)
    ) == ["accept", "investigate", "township_review", "start_notice", "end_notice", "approve"]
    assert (
        AuditEvent.objects.filter(
            action="application.approve", object_id=str(application.pk)
        ).count()
        == 1
    )

    november = payment_sheet_generate(
        actor=case_users.caseworker, township=areas.township, month=date(2026, 11, 1)
    )
    december = payment_sheet_generate(
        actor=case_users.caseworker, township=areas.township, month=date(2026, 12, 1)
    )
    assert november.household_count == 0
    assert (december.household_count, december.total_amount) == (1, Decimal("600.00"))


def test_2012_path_has_appraisal_and_a_second_notice(new_application, case_users, verified):
    application = new_application(applied_on=date(2021, 6, 1))
    assert application.profile == "2012_trial"

    application = walk_to_county_review(application, case_users)
    verified(application)
    application = application_transition(
        application_id=application.pk,
        action=A.APPROVE,
        actor=case_users.civil_affairs,
        data=StepData(on=date(2026, 11, 10)),
        today=date(2026, 11, 10),
    )
    assert application.status == S.IN_APPROVAL_NOTICE
    with pytest.raises(DomainError) as early:
        application_transition(
            application_id=application.pk,
            action=A.FINALISE,
            actor=case_users.civil_affairs,
            today=date(2026, 11, 16),
        )
    application = application_transition(
        application_id=application.pk,
        action=A.FINALISE,
        actor=case_users.civil_affairs,
        today=date(2026, 11, 17),
    )

    assert early.value.code == "notice_not_over"
    assert application.status == S.APPROVED
    assert application.decided_on == date(2026, 11, 17)
    assert application.payment_start_month == date(2026, 12, 1)


def test_2012_profile_requires_the_appraisal_before_township_review(new_application, case_users):
    application = new_application(applied_on=date(2021, 6, 1))
    application_transition(
        application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker
    )
    application_transition(
        application_id=application.pk,
        action=A.INVESTIGATE,
        actor=case_users.caseworker,
        data=investigation(date(2026, 11, 1)),
    )

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk,
            action=A.TOWNSHIP_REVIEW,
            actor=case_users.township_head,
            data=StepData(opinion="recommend", comment="x"),
        )

    assert error.value.code == "invalid_transition"


def test_appraisal_needs_two_thirds_villager_representatives(new_application, case_users):
    application = new_application(applied_on=date(2021, 6, 1))
    application_transition(
        application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker
    )
    application_transition(
        application_id=application.pk,
        action=A.INVESTIGATE,
        actor=case_users.caseworker,
        data=investigation(date(2026, 11, 1)),
    )

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk,
            action=A.APPRAISE,
            actor=case_users.caseworker,
            data=StepData(
                on=date(2026, 11, 1),
                attendees_total=9,
                villager_representatives=5,
                minutes="记录",
                outcome="agree",
            ),
        )

    assert error.value.fields == {
        "villager_representatives": ["村民代表须占参加人数的三分之二以上（9 人中至少 6 人）"]
    }
    assert Application.objects.get(pk=application.pk).status == S.INVESTIGATED


def test_divided_appraisal_sends_the_case_back_to_investigation(new_application, case_users):
    application = new_application(applied_on=date(2021, 6, 1))
    application_transition(
        application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker
    )
    application_transition(
        application_id=application.pk,
        action=A.INVESTIGATE,
        actor=case_users.caseworker,
        data=investigation(date(2026, 11, 1)),
    )

    application = application_transition(
        application_id=application.pk,
        action=A.APPRAISE,
        actor=case_users.caseworker,
        data=StepData(
            on=date(2026, 11, 1),
            attendees_total=9,
            villager_representatives=7,
            minutes="分歧较大",
            outcome="divided",
        ),
    )

    assert application.status == S.ACCEPTED
    assert application.appraisals.count() == 1


def test_investigation_needs_two_investigators_and_a_record(new_application, case_users):
    application = new_application()
    application_transition(
        application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker
    )

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk,
            action=A.INVESTIGATE,
            actor=case_users.caseworker,
            data=StepData(on=TODAY, investigators=["王一", "王一"]),
        )

    assert error.value.fields == {
        "investigators": ["入户调查须至少 2 名调查人员"],
        "home_visit_record": ["请填写入户调查记录"],
    }
    assert Application.objects.get(pk=application.pk).investigations.count() == 0


def test_acceptance_needs_the_signed_authorisation(new_application, case_users):
    application = new_application(authorisation_signed=False)

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker
        )

    assert error.value.message == "须先由申请人签署家庭经济状况核对授权书"
    assert Application.objects.get(pk=application.pk).status == S.APPLIED


def test_notice_cannot_end_before_seven_days(new_application, case_users):
    application = new_application()
    app_id = application.pk
    application_transition(
        application_id=app_id, action=A.ACCEPT, actor=case_users.caseworker, today=TODAY
    )
    application_transition(
        application_id=app_id,
        action=A.INVESTIGATE,
        actor=case_users.caseworker,
        data=investigation(),
        today=TODAY,
    )
    application_transition(
        application_id=app_id,
        action=A.TOWNSHIP_REVIEW,
        actor=case_users.township_head,
        data=StepData(opinion="recommend", comment="符合"),
        today=TODAY,
    )
    application = application_transition(
        application_id=app_id,
        action=A.START_NOTICE,
        actor=case_users.caseworker,
        data=StepData(on=TODAY),
        today=TODAY,
    )
    notice = application.notices.get()
    assert (notice.starts_on, notice.ends_on) == (date(2026, 11, 2), date(2026, 11, 8))

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=app_id,
            action=A.END_NOTICE,
            actor=case_users.caseworker,
            today=date(2026, 11, 8),
        )

    assert error.value.message == "公示期至 2026年11月08日 止，期满后才能报县审核"


def test_objection_sends_back_and_requires_a_county_visit(new_application, case_users):
    application = new_application()
    app_id = application.pk
    application_transition(
        application_id=app_id, action=A.ACCEPT, actor=case_users.caseworker, today=TODAY
    )
    application_transition(
        application_id=app_id,
        action=A.INVESTIGATE,
        actor=case_users.caseworker,
        data=investigation(),
        today=TODAY,
    )
    application_transition(
        application_id=app_id,
        action=A.TOWNSHIP_REVIEW,
        actor=case_users.township_head,
        data=StepData(opinion="recommend", comment="符合"),
        today=TODAY,
    )
    application_transition(
        application_id=app_id,
        action=A.START_NOTICE,
        actor=case_users.caseworker,
        data=StepData(on=TODAY),
        today=TODAY,
    )

    application = application_transition(
        application_id=app_id,
        action=A.OBJECT,
        actor=case_users.caseworker,
        data=StepData(objection="该户有经营车辆"),
        today=date(2026, 11, 4),
    )

    assert application.status == S.ACCEPTED
    assert application.is_extended is True
    assert application.county_visit_required is True
    assert application.notices.get().objections.get().content == "该户有经营车辆"


def test_rejection_needs_written_reasons_and_marks_the_household(new_application, case_users):
    application = walk_to_county_review(new_application(), case_users)

    with pytest.raises(DomainError):
        application_transition(
            application_id=application.pk, action=A.REJECT, actor=case_users.civil_affairs
        )
    application = application_transition(
        application_id=application.pk,
        action=A.REJECT,
        actor=case_users.civil_affairs,
        data=StepData(comment="家庭人均收入高于保障标准"),
        today=date(2026, 11, 16),
    )

    assert application.status == S.REJECTED
    assert application.rejection_reason == "家庭人均收入高于保障标准"
    assert application.due_on == date(2026, 11, 19)  # written notice within 3 working days
    application.household.refresh_from_db()
    assert application.household.status == HouseholdStatus.NOT_COVERED


def test_ineligible_household_cannot_be_approved(new_application, case_users, verified):
    rich = [member(income="3000"), member(relation=Relation.SPOUSE, income="2000")]
    application = walk_to_county_review(new_application(members=rich), case_users)
    verified(application)

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk, action=A.APPROVE, actor=case_users.civil_affairs
        )

    assert error.value.message == "核算结果不符合保障条件，不能批准"


def test_nobody_approves_what_they_registered(new_application, case_users, areas, make_user):
    both = make_user(
        role="township_caseworker",
        area=areas.township,
        extra=(("county_civil_affairs", areas.county),),
    )
    application = walk_to_county_review(new_application(by=both), case_users)

    with pytest.raises(DomainError) as error:
        application_transition(application_id=application.pk, action=A.APPROVE, actor=both)

    assert error.value.code == "four_eyes"


def test_close_relative_case_needs_the_county_home_visit(new_application, case_users, verified):
    from cases.services.applications import county_visit_record

    application = walk_to_county_review(new_application(declares_close_relative=True), case_users)
    verified(application)
    assert application.county_visit_required is True

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk, action=A.APPROVE, actor=case_users.civil_affairs
        )
    county_visit_record(
        actor=case_users.civil_affairs,
        application_id=application.pk,
        visited_on=TODAY,
        visitors=["赵三", "钱四"],
        record_text="核实无误",
    )
    approved = application_transition(
        application_id=application.pk, action=A.APPROVE, actor=case_users.civil_affairs
    )

    assert error.value.message == "该申请须先完成县级入户核查"
    assert approved.status == S.APPROVED
    assert approved.household.is_close_relative_case is True


def test_person_in_a_paid_household_cannot_be_registered_again(
    new_application, case_users, verified
):
    shared = member(income="100")
    application = walk_to_county_review(new_application(members=[shared]), case_users)
    verified(application)
    application_transition(
        application_id=application.pk, action=A.APPROVE, actor=case_users.civil_affairs
    )

    with pytest.raises(DomainError) as error:
        new_application(members=[shared])

    assert error.value.code == "person_already_covered"
    assert Application.objects.count() == 1


def test_same_person_submitting_twice_changes_nothing(new_application, case_users):
    application = new_application()
    application_transition(
        application_id=application.pk,
        action=A.ACCEPT,
        actor=case_users.caseworker,
        expected_version=0,
    )

    again = application_transition(
        application_id=application.pk,
        action=A.ACCEPT,
        actor=case_users.caseworker,
        expected_version=0,
    )

    assert again.status == S.ACCEPTED
    assert again.transitions.count() == 1


def test_stale_version_from_someone_else_is_a_conflict(
    new_application, case_users, areas, make_user
):
    colleague = make_user(role="township_caseworker", area=areas.township)
    application = new_application()
    application_transition(
        application_id=application.pk,
        action=A.ACCEPT,
        actor=case_users.caseworker,
        expected_version=0,
    )

    with pytest.raises(DomainError) as error:
        application_transition(
            application_id=application.pk,
            action=A.WITHDRAW,
            actor=colleague,
            data=StepData(comment="撤回"),
            expected_version=0,
        )

    assert error.value.code == "conflict"
    assert error.value.message == "该申请已被他人处理，请刷新页面后查看最新状态"


def test_rigid_spending_is_deducted_within_the_policy_caps(areas, case_users, county_standard):
    from cases.models import PolicySetting
    from cases.services.applications import application_register

    PolicySetting.objects.filter(area=areas.region).update(medical_deduction_cap=Decimal("100"))
    application = application_register(
        actor=case_users.caseworker,
        area=areas.village,
        programme="dibao",
        members=[member(income="400")],
        applied_on=TODAY,
        applicant_name="甲",
        authorisation_signed=True,
        deductions={"medical": Decimal("250"), "education": Decimal("50")},
    )
    application_transition(
        application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker, today=TODAY
    )
    application = application_transition(
        application_id=application.pk,
        action=A.INVESTIGATE,
        actor=case_users.caseworker,
        data=investigation(),
        today=TODAY,
    )

    # 400 − (100 capped medical + 50 education) = 250 → 460 − 250 = 210
    assert application.means_test["deductions_allowed_monthly"] == "150.00"
    assert application.proposed_amount == Decimal("210.00")


def test_deadlines_count_working_days_over_national_day(new_application, case_users):
    application = new_application()

    application = application_transition(
        application_id=application.pk,
        action=A.ACCEPT,
        actor=case_users.caseworker,
        today=date(2026, 9, 30),
    )

    # 2021 rules: investigation within 3 working days — Oct 1–7 are holidays, Sat Oct 10 is a
    # make-up working day — and 30 working days overall.
    assert application.due_on == date(2026, 10, 10)
    assert application.overall_due_on == date(2026, 11, 17)
