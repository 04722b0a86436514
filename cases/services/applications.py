"""The application procedure: one entry point, ``application_transition`` (style B.4).

Each action names what it must record (``StepData``); deadlines are in working days with the
Chinese holiday calendar (``lowbao.core.workdays``). Approval starts payment from the month after
the decision and puts the members in payment; the database refuses a person in two paid
households.
"""

import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.utils import timezone

from cases.choices import (
    CLOSED_APPLICATION_STATUSES,
    PAYING_STATUSES,
    AppraisalOutcome,
    CountyVisitReason,
    HouseholdStatus,
    NoticeStage,
    Programme,
    TownshipOpinion,
)
from cases.choices import ApplicationAction as A
from cases.choices import ApplicationStatus as S
from cases.errors import CaseErrorCode
from cases.hooks import AFTER_ACCEPT, AFTER_REJECT, APPROVAL_GATES
from cases.means_test import means_test_for_household
from cases.models import (
    Application,
    CountySample,
    CountyVisit,
    DemocraticAppraisal,
    Household,
    HouseholdMember,
    Investigation,
    Objection,
    PolicySetting,
    PublicNotice,
    StatusTransition,
)
from cases.policy import policy_for
from cases.services.benefits import benefit_start
from cases.services.households import AssetData, MemberData, household_register
from cases.workflow import transition_for
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.core.workdays import add_working_days, first_of_next_month

OPEN_STATUSES = [status for status in S.values if status not in CLOSED_APPLICATION_STATUSES]


@dataclass
class StepData:
    """What an action records. Only the fields of the action at hand are read."""

    comment: str = ""
    on: date | None = None
    investigators: list[str] = field(default_factory=list)
    home_visit_record: str = ""
    neighbour_interviews: str = ""
    letters: str = ""
    data_check_summary: str = ""
    applicant_signed: bool = False
    attendees_total: int = 0
    villager_representatives: int = 0
    minutes: str = ""
    outcome: str = ""
    opinion: str = ""
    location: str = ""
    objection: str = ""
    amount: Decimal | None = None
    certificate_number: str = ""


def _refuse(code: str, message: str, **fields: list[str]) -> DomainError:
    return DomainError(code=code, message=message, fields=dict(fields))


@transaction.atomic
def application_create(
    *,
    actor: object,
    household: Household,
    applied_on: date,
    applicant_name: str,
    reason: str = "",
    authorisation_signed: bool = False,
    declares_close_relative: bool = False,
    close_relative_note: str = "",
) -> Application:
    """Register an application (申请) for a household of the actor's scope."""
    if not actor_covers_area(actor, household.area, perm=Perm.CASE_APPLY):
        raise _refuse("area_out_of_scope", "该保障户不在您的管辖范围内")
    if household.status in PAYING_STATUSES:
        raise _refuse(CaseErrorCode.HOUSEHOLD_INVALID, "该户正在保障中，请办理变更而不是新申请")
    if Application.objects.filter(
        household=household, programme=household.programme, status__in=OPEN_STATUSES
    ).exists():
        raise _refuse(CaseErrorCode.OPEN_APPLICATION_EXISTS, "该户已有正在办理的申请")
    if applied_on > timezone.localdate():
        raise _refuse(
            CaseErrorCode.STEP_INCOMPLETE,
            "申请日期不能晚于今天",
            applied_on=["申请日期不能晚于今天"],
        )
    policy = policy_for(household.area, applied_on)
    try:
        with transaction.atomic():
            application = Application.objects.create(
                household=household,
                area=household.area,
                programme=household.programme,
                profile=policy.procedure_profile,
                applied_on=applied_on,
                applicant_name=applicant_name,
                reason=reason,
                authorisation_signed=authorisation_signed,
                declares_close_relative=declares_close_relative,
                close_relative_note=close_relative_note,
                submitted_by=actor,
            )
    except IntegrityError as exc:  # the partial unique constraint, under a race
        raise _refuse(CaseErrorCode.OPEN_APPLICATION_EXISTS, "该户已有正在办理的申请") from exc
    if household.status != HouseholdStatus.APPLYING:
        household.status = HouseholdStatus.APPLYING
        household.save(update_fields=["status", "updated_at"])
    record(
        actor=actor,
        action="application.create",
        obj=application,
        area=household.area,
        changes={
            "household": household.number,
            "programme": household.programme,
            "profile": application.profile,
        },
    )
    return application


@transaction.atomic
def application_register(
    *,
    actor: object,
    area: Area,
    programme: str,
    members: list[MemberData],
    assets: list[AssetData] = (),
    address: str = "",
    coverage_scope: str = "whole_household",
    bank_name: str = "",
    bank_account: str = "",
    applied_on: date,
    applicant_name: str,
    reason: str = "",
    authorisation_signed: bool = False,
    declares_close_relative: bool = False,
    close_relative_note: str = "",
    deductions: dict[str, Decimal] | None = None,
) -> Application:
    """申请登记 for a new household: the household and its application, all or nothing."""
    household = household_register(
        actor=actor,
        area=area,
        programme=programme,
        members=members,
        assets=assets,
        address=address,
        coverage_scope=coverage_scope,
        bank_name=bank_name,
        bank_account=bank_account,
        deductions=deductions,
    )
    return application_create(
        actor=actor,
        household=household,
        applied_on=applied_on,
        applicant_name=applicant_name,
        reason=reason,
        authorisation_signed=authorisation_signed,
        declares_close_relative=declares_close_relative,
        close_relative_note=close_relative_note,
    )


def _lock(application_id: int) -> Application:
    application = (
        Application.objects.select_for_update(of=("self",), no_key=True)
        .select_related("household", "area")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise _refuse("not_found", "申请不存在")
    return application


def _days(policy: PolicySetting, application: Application, name: str) -> int:
    if application.programme == Programme.TEKUN:
        name = {
            "investigation_days": "tekun_investigation_days",
            "county_review_days": "tekun_county_review_days",
        }.get(name, name)
    return getattr(policy, name)


def _open_notice(application: Application, stage: str) -> PublicNotice | None:
    return application.notices.filter(stage=stage, closed_on__isnull=True).order_by("-id").first()


def application_transition(
    *,
    application_id: int,
    action: str,
    actor: object,
    data: StepData | None = None,
    expected_version: int | None = None,
    today: date | None = None,
) -> Application:
    """Apply ``action`` to an application. Exactly one of two concurrent callers wins."""
    data = data or StepData()
    today = today or timezone.localdate()
    with transaction.atomic():
        application = _lock(application_id)
        if not actor_covers_area(actor, application.area, perm=Perm.CASE_VIEW):
            raise _refuse("not_found", "申请不存在或不在您的管辖范围内")
        transition = transition_for(
            profile=application.profile,
            programme=application.programme,
            from_status=application.status,
            action=action,
        )
        last = application.transitions.order_by("-id").first()
        if (
            last is not None
            and last.action == action
            and last.actor_id == actor.pk
            and last.to_status == application.status
            and expected_version in (None, application.version - 1)
        ):
            return application  # the same person submitted the same step twice: nothing to do
        if expected_version is not None and expected_version != application.version:
            raise _refuse(CaseErrorCode.CONFLICT, "该申请已被他人处理，请刷新页面后查看最新状态")
        if transition is None:
            raise _refuse(
                CaseErrorCode.INVALID_TRANSITION,
                f"当前状态“{application.get_status_display()}”不能执行“{A(action).label}”"
                if action in A.values
                else "未知操作",
            )
        if not actor_covers_area(actor, application.area, perm=transition.perm):
            raise _refuse(CaseErrorCode.NOT_ALLOWED, f"您的角色不能执行“{A(action).label}”")
        from_status = application.status
        to_status = _STEPS[action](application, actor, data, today)
        application.status = to_status or transition.to_status
        application.version += 1
        application.save()
        StatusTransition.objects.create(
            application=application,
            from_status=from_status,
            to_status=application.status,
            action=action,
            actor=actor,
            comment=data.comment,
        )
        record(
            actor=actor,
            action=f"application.{action}",
            obj=application,
            area=application.area,
            changes={"status": [from_status, application.status], "comment": data.comment},
        )
    return application


# Steps: each checks what the action needs, records it, sets deadlines; may return a target.


def _accept(application: Application, actor: object, data: StepData, today: date) -> None:
    if not application.authorisation_signed:
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "须先由申请人签署家庭经济状况核对授权书")
    policy = policy_for(application.area, today)
    application.accepted_on, application.accepted_by = today, actor
    application.due_on = add_working_days(today, _days(policy, application, "investigation_days"))
    application.overall_due_on = add_working_days(today, policy.overall_days)
    if application.declares_close_relative:
        application.county_visit_required = True
        application.county_visit_reason = CountyVisitReason.CLOSE_RELATIVE
        Household.objects.filter(pk=application.household_id).update(is_close_relative_case=True)
    for hook in AFTER_ACCEPT:
        hook(application, actor, today)


def _investigate(application: Application, actor: object, data: StepData, today: date) -> None:
    names = [name.strip() for name in data.investigators if name.strip()]
    problems = {}
    if len(set(names)) < 2:
        problems["investigators"] = ["入户调查须至少 2 名调查人员"]
    if not data.home_visit_record.strip():
        problems["home_visit_record"] = ["请填写入户调查记录"]
    if data.on is None or data.on > today:
        problems["on"] = ["请填写入户日期（不能晚于今天）"]
    if problems:
        raise DomainError(
            code=CaseErrorCode.STEP_INCOMPLETE, message="入户调查记录不完整", fields=problems
        )
    Investigation.objects.create(
        application=application,
        investigators=names,
        visited_on=data.on,
        home_visit_record=data.home_visit_record,
        neighbour_interviews=data.neighbour_interviews,
        letters=data.letters,
        data_check_summary=data.data_check_summary,
        applicant_signed=data.applicant_signed,
        recorded_by=actor,
    )
    result = means_test_for_household(household=application.household, on=today)
    application.means_test = result.to_snapshot()
    application.proposed_amount = result.monthly_benefit
    Household.objects.filter(pk=application.household_id).update(
        per_capita_income_monthly=result.per_capita_income_monthly
    )
    policy = policy_for(application.area, today)
    days = (
        policy.appraisal_days
        if application.profile == "2012_trial"
        else policy.township_review_days
    )
    application.due_on = add_working_days(today, days)


def _reinvestigate(application: Application, actor: object, data: StepData, today: date) -> None:
    if not data.comment.strip():
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "请填写重新调查的原因", comment=["请填写原因"])
    policy = policy_for(application.area, today)
    application.due_on = add_working_days(today, _days(policy, application, "investigation_days"))


def _appraise(application: Application, actor: object, data: StepData, today: date) -> str | None:
    problems = {}
    if data.attendees_total <= 0:
        problems["attendees_total"] = ["请填写参加人数"]
    elif data.villager_representatives * 3 < data.attendees_total * 2:
        problems["villager_representatives"] = [
            f"村民代表须占参加人数的三分之二以上（{data.attendees_total} 人中至少 "
            f"{math.ceil(data.attendees_total * 2 / 3)} 人）"
        ]
    if data.villager_representatives > data.attendees_total:
        problems["villager_representatives"] = ["村民代表人数不能多于参加人数"]
    if not data.minutes.strip():
        problems["minutes"] = ["请填写评议记录"]
    if data.outcome not in AppraisalOutcome.values:
        problems["outcome"] = ["请选择评议结论"]
    if data.on is None or data.on > today:
        problems["on"] = ["请填写评议日期（不能晚于今天）"]
    if problems:
        raise DomainError(
            code=CaseErrorCode.STEP_INCOMPLETE, message="民主评议记录不完整", fields=problems
        )
    DemocraticAppraisal.objects.create(
        application=application,
        held_on=data.on,
        attendees_total=data.attendees_total,
        villager_representatives=data.villager_representatives,
        minutes=data.minutes,
        outcome=data.outcome,
        recorded_by=actor,
    )
    policy = policy_for(application.area, today)
    if data.outcome == AppraisalOutcome.DIVIDED:
        # 意见分歧较大 → investigate again (S3): the appraisal is kept, the case goes back.
        application.due_on = add_working_days(
            today, _days(policy, application, "investigation_days")
        )
        return S.ACCEPTED
    application.due_on = add_working_days(today, policy.township_review_days)
    return None


def _township_review(application: Application, actor: object, data: StepData, today: date) -> None:
    if data.opinion not in TownshipOpinion.values:
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "请选择乡镇审核意见", opinion=["请选择"])
    if not data.comment.strip():
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "请填写审核意见说明", comment=["请填写"])
    application.township_opinion = data.opinion
    application.township_opinion_text = data.comment
    policy = policy_for(application.area, today)
    application.due_on = add_working_days(today, policy.township_review_days)


def _start_notice(application: Application, actor: object, data: StepData, today: date) -> None:
    if application.township_opinion != TownshipOpinion.RECOMMEND:
        raise _refuse(
            CaseErrorCode.STEP_INCOMPLETE, "乡镇建议纳入的申请才公示；不建议纳入的请报县审批"
        )
    starts_on = data.on or today
    policy = policy_for(application.area, today)
    ends_on = starts_on + timedelta(days=policy.notice_calendar_days - 1)
    PublicNotice.objects.create(
        application=application,
        stage=NoticeStage.INITIAL,
        starts_on=starts_on,
        ends_on=ends_on,
        location=data.location or application.area.name,
        posted_by=actor,
    )
    application.due_on = ends_on


def _submit_to_county(application: Application, actor: object, data: StepData, today: date) -> None:
    if application.township_opinion != TownshipOpinion.NOT_RECOMMEND:
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "乡镇建议纳入的申请须先公示")
    _enter_county_review(application, today)


def _object(application: Application, actor: object, data: StepData, today: date) -> None:
    if not data.objection.strip():
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "请填写异议内容", objection=["请填写"])
    stage = NoticeStage.INITIAL if application.status == S.IN_NOTICE else NoticeStage.APPROVAL
    notice = _open_notice(application, stage)
    if notice is None:
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "没有正在进行的公示")
    Objection.objects.create(
        notice=notice, received_on=data.on or today, content=data.objection, recorded_by=actor
    )
    notice.closed_on = today
    notice.save(update_fields=["closed_on", "updated_at"])
    policy = policy_for(application.area, today)
    # 有异议：重新调查（并可能延长至 45 个工作日），由县级入户核查
    application.is_extended = True
    application.overall_due_on = add_working_days(
        application.accepted_on or today, policy.overall_extended_days
    )
    application.due_on = add_working_days(today, policy.objection_days)
    application.county_visit_required = True
    if not application.county_visit_reason:
        application.county_visit_reason = CountyVisitReason.OBJECTION


def _enter_county_review(application: Application, today: date) -> None:
    policy = policy_for(application.area, today)
    application.due_on = add_working_days(today, _days(policy, application, "county_review_days"))


def _end_notice(application: Application, actor: object, data: StepData, today: date) -> None:
    notice = _open_notice(application, NoticeStage.INITIAL)
    if notice is None:
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "没有正在进行的公示")
    if today <= notice.ends_on:
        raise _refuse(
            CaseErrorCode.NOTICE_NOT_OVER,
            f"公示期至 {notice.ends_on:%Y年%m月%d日} 止，期满后才能报县审核",
        )
    notice.closed_on = today
    notice.save(update_fields=["closed_on", "updated_at"])
    _enter_county_review(application, today)


def _check_county_decision(application: Application, actor: object) -> None:
    if actor.pk in {application.submitted_by_id, application.accepted_by_id}:
        raise _refuse(CaseErrorCode.FOUR_EYES, "不能审批自己登记或受理的申请")
    if application.county_visit_required and not application.county_visits.exists():
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "该申请须先完成县级入户核查")


def _approve(application: Application, actor: object, data: StepData, today: date) -> str | None:
    _check_county_decision(application, actor)
    problems = [problem for gate in APPROVAL_GATES for problem in gate(application, today)]
    if problems:
        raise _refuse(CaseErrorCode.APPROVAL_BLOCKED, "；".join(problems))
    if not application.means_test or not application.means_test.get("eligible"):
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "核算结果不符合保障条件，不能批准")
    amount = data.amount if data.amount is not None else application.proposed_amount
    if amount is None or amount <= 0:
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "请填写核定的月保障金额", amount=["须大于 0"])
    application.approved_amount = amount
    application.certificate_number = data.certificate_number or application.household.number
    application.decided_by = actor
    if application.profile == "2012_trial" and application.programme != Programme.TEKUN:
        policy = policy_for(application.area, today)
        starts_on = data.on or today
        ends_on = starts_on + timedelta(days=policy.notice_calendar_days - 1)
        PublicNotice.objects.create(
            application=application,
            stage=NoticeStage.APPROVAL,
            starts_on=starts_on,
            ends_on=ends_on,
            location=data.location or application.area.name,
            posted_by=actor,
        )
        application.due_on = add_working_days(ends_on, policy.decision_days)
        return None
    _put_in_payment(application, actor, today)
    return None


def _finalise(application: Application, actor: object, data: StepData, today: date) -> None:
    notice = _open_notice(application, NoticeStage.APPROVAL)
    if notice is None or today <= notice.ends_on:
        raise _refuse(CaseErrorCode.NOTICE_NOT_OVER, "审批公示期满后才能作出决定")
    notice.closed_on = today
    notice.save(update_fields=["closed_on", "updated_at"])
    _put_in_payment(application, actor, today)


def _put_in_payment(application: Application, actor: object, today: date) -> None:
    """Approval: payment from the month after the decision; members in payment."""
    household = Household.objects.select_for_update(no_key=True).get(pk=application.household_id)
    application.decided_on = today
    application.payment_start_month = first_of_next_month(today)
    application.due_on = None
    members = list(household.members.filter(left_at__isnull=True, is_covered=True))
    try:
        with transaction.atomic():
            HouseholdMember.objects.filter(pk__in=[m.pk for m in members]).update(in_payment=True)
    except IntegrityError as exc:
        raise _refuse(
            CaseErrorCode.PERSON_ALREADY_COVERED, "有家庭成员已在其他保障户中享受保障，不能批准"
        ) from exc
    household.status = HouseholdStatus.IN_PAYMENT
    household.monthly_amount = application.approved_amount
    household.payment_start_month = application.payment_start_month
    household.certificate_number = application.certificate_number
    household.save(
        update_fields=[
            "status",
            "monthly_amount",
            "payment_start_month",
            "certificate_number",
            "updated_at",
        ]
    )
    benefit_start(
        actor=actor,
        household=household,
        start_month=application.payment_start_month,
        monthly_amount=application.approved_amount,
        covered_persons=len(members),
        reason=f"申请批准（{application.certificate_number}）",
    )


def _reject(application: Application, actor: object, data: StepData, today: date) -> None:
    _check_county_decision(application, actor)
    if not data.comment.strip():
        raise _refuse(
            CaseErrorCode.STEP_INCOMPLETE, "不予批准须书面说明理由", comment=["请填写理由"]
        )
    policy = policy_for(application.area, today)
    application.rejection_reason = data.comment
    application.decided_on, application.decided_by = today, actor
    application.due_on = add_working_days(today, policy.rejection_notice_days)
    Household.objects.filter(pk=application.household_id).update(status=HouseholdStatus.NOT_COVERED)
    for hook in AFTER_REJECT:
        hook(application, actor, today)


def _send_back(application: Application, actor: object, data: StepData, today: date) -> None:
    _reinvestigate(application, actor, data, today)


def _close(application: Application, actor: object, data: StepData, today: date) -> None:
    if not data.comment.strip():
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "请填写原因", comment=["请填写原因"])
    application.due_on = None
    Household.objects.filter(pk=application.household_id, status=HouseholdStatus.APPLYING).update(
        status=HouseholdStatus.NOT_COVERED
    )


_STEPS = {
    A.ACCEPT: _accept,
    A.INVESTIGATE: _investigate,
    A.REINVESTIGATE: _reinvestigate,
    A.APPRAISE: _appraise,
    A.TOWNSHIP_REVIEW: _township_review,
    A.START_NOTICE: _start_notice,
    A.SUBMIT_TO_COUNTY: _submit_to_county,
    A.OBJECT: _object,
    A.END_NOTICE: _end_notice,
    A.APPROVE: _approve,
    A.FINALISE: _finalise,
    A.REJECT: _reject,
    A.SEND_BACK: _send_back,
    A.WITHDRAW: _close,
    A.TERMINATE: _close,
}


@transaction.atomic
def county_visit_record(
    *, actor: object, application_id: int, visited_on: date, visitors: list[str], record_text: str
) -> CountyVisit:
    application = _lock(application_id)
    if not actor_covers_area(actor, application.area, perm=Perm.CASE_COUNTY_VISIT):
        raise _refuse("not_found", "申请不存在或不在您的管辖范围内")
    names = [name.strip() for name in visitors if name.strip()]
    if len(set(names)) < 2 or not record_text.strip():
        raise _refuse(CaseErrorCode.STEP_INCOMPLETE, "县级入户核查须至少 2 人并填写核查记录")
    visit = CountyVisit.objects.create(
        application=application,
        visited_on=visited_on,
        visitors=names,
        record=record_text,
        recorded_by=actor,
    )
    record(
        actor=actor,
        action="application.county_visit",
        obj=application,
        area=application.area,
        changes={"visited_on": visited_on},
    )
    return visit


@transaction.atomic
def county_sample_draw(
    *, actor: object, county: Area, seed: str = "", on: date | None = None
) -> CountySample:
    """Draw ⌈rate × pool⌉ applications awaiting county review for county home visits.

    The draw is reproducible: the pool is ordered by id and shuffled by ``random.Random(seed)``;
    the seed is stored. Close-relative cases are visited anyway and are not in the pool.
    """
    if not actor_has_perm(actor, Perm.CASE_COUNTY_VISIT) or not actor_covers_area(
        actor, county, perm=Perm.CASE_COUNTY_VISIT
    ):
        raise _refuse("not_found", "旗县不在您的管辖范围内")
    on = on or timezone.localdate()
    policy = policy_for(county, on)
    pool = list(
        Application.objects.select_for_update(of=("self",), no_key=True)
        .filter(
            area__path__startswith=county.path,
            status=S.COUNTY_REVIEW,
            county_visit_required=False,
            sample__isnull=True,
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    seed = seed or secrets.token_hex(8)
    size = math.ceil(Decimal(len(pool)) * policy.county_sample_rate)
    chosen = random.Random(seed).sample(pool, size) if size else []  # noqa: S311 (audit sample)
    sample = CountySample.objects.create(
        county=county,
        drawn_on=on,
        seed=seed,
        rate=policy.county_sample_rate,
        pool_size=len(pool),
        drawn_by=actor,
    )
    Application.objects.filter(pk__in=chosen).update(
        county_visit_required=True,
        county_visit_reason=CountyVisitReason.RANDOM_SAMPLE,
        sample=sample,
    )
    record(
        actor=actor,
        action="application.county_sample",
        obj=sample,
        area=county,
        changes={"seed": seed, "pool": len(pool), "chosen": sorted(chosen)},
    )
    return sample
