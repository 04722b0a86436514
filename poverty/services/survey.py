"""The labour-capacity survey (摸底, 172号 二(二)): registry households with members who have
completely or partly lost the ability to work are checked one by one, before a deadline.

A county opens a survey (``survey_open``); it lists every in-registry household of the county
with a member whose labour capacity is weak/lost/none and no member in a paid dibao/特困 household
(set-based, one query and a bulk insert). Townships and villages then record an outcome for each
(``survey_assess``) or start an application from the registry members
(``survey_start_application``). An application started here follows the normal cases workflow:
nothing here puts anyone into payment (domain.md §5 item 8).

Outcomes: ``not_eligible`` needs a reason and refers the household back to the poverty office;
``already_covered`` only when a member is in payment; ``application_started`` links the
application and is final. ``not_eligible`` and ``already_covered`` may be corrected.
"""

from datetime import date
from typing import IO

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from openpyxl import Workbook

from cases.choices import (
    CLOSED_APPLICATION_STATUSES,
    LOST_LABOUR,
    PAYING_STATUSES,
    Programme,
    Relation,
)
from cases.models import Application, Household, HouseholdMember
from cases.services.applications import application_create, application_register
from cases.services.households import MemberData
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from poverty.choices import ReferralDirection, SurveyOutcome
from poverty.linkage_selectors import (
    SurveyProgress,
    masked,
    persons_in_payment,
    registry_household_has_member_in_payment,
    survey_item_list,
    survey_progress,
)
from poverty.models import LabourSurvey, LabourSurveyItem, RegistryHousehold, RegistryMember
from poverty.services.referrals import (
    LinkageErrorCode,
    check_area,
    referral_insert,
    refuse,
    write_xlsx_sheet,
)

__all__ = [
    "SURVEY_ITEM_HEADERS",
    "SURVEY_PROGRESS_HEADERS",
    "SurveyProgress",
    "export_survey_xlsx",
    "survey_assess",
    "survey_open",
    "survey_progress",
    "survey_start_application",
]

TITLE_MAX_LENGTH = LabourSurvey._meta.get_field("title").max_length
ITEM_BATCH_SIZE = 1000


def survey_open(
    *,
    actor: object,
    county: Area,
    title: str,
    deadline: date,
    today: date | None = None,
) -> LabourSurvey:
    """Open a survey of ``county`` (SURVEY_OPEN) and list its households (see module doc)."""
    today = today or timezone.localdate()
    if county.level != AreaLevel.COUNTY:
        raise refuse(LinkageErrorCode.INVALID, "摸底以旗县为单位，请选择旗县")
    check_area(actor, county, perm=Perm.SURVEY_OPEN, doing="发起摸底")
    title = (title or "").strip()
    problems: dict[str, list[str]] = {}
    if not title:
        problems["title"] = ["请填写名称"]
    elif len(title) > TITLE_MAX_LENGTH:
        problems["title"] = [f"名称不能超过 {TITLE_MAX_LENGTH} 个字"]
    if deadline is None or deadline < today:
        problems["deadline"] = ["上报截止日期不能早于今天"]
    if problems:
        raise refuse(
            LinkageErrorCode.INVALID, "；".join(p[0] for p in problems.values()), **problems
        )
    lost_labour = RegistryMember.objects.filter(
        household_id=OuterRef("pk"), labour_capacity__in=LOST_LABOUR
    )
    candidates = (
        RegistryHousehold.objects.filter(county=county, in_registry=True)
        .filter(Exists(lost_labour))
        .exclude(registry_household_has_member_in_payment())
        .order_by("area__code", "number")
        .values_list("pk", "area_id")
    )
    with transaction.atomic():
        survey = LabourSurvey.objects.create(
            county=county, title=title, deadline=deadline, opened_by=actor
        )
        items = LabourSurveyItem.objects.bulk_create(
            (
                LabourSurveyItem(survey=survey, registry_household_id=pk, area_id=area_id)
                for pk, area_id in candidates.iterator(chunk_size=ITEM_BATCH_SIZE)
            ),
            batch_size=ITEM_BATCH_SIZE,
        )
        record(
            actor=actor,
            action="survey.open",
            obj=survey,
            area=county,
            changes={"title": title, "deadline": deadline, "items": len(items)},
        )
    return survey


def _lock_item(actor: object, item_id: int) -> LabourSurveyItem:
    item = (
        LabourSurveyItem.objects.select_for_update(of=("self",), no_key=True)
        .select_related("survey", "registry_household", "area")
        .filter(pk=item_id)
        .first()
    )
    if item is None or not actor_covers_area(actor, item.area, perm=Perm.REGISTRY_VIEW):
        raise refuse(LinkageErrorCode.NOT_FOUND, "摸底户不存在或不在您的管辖范围内")
    check_area(actor, item.area, perm=Perm.SURVEY_ASSESS, doing="登记摸底结果")
    if item.outcome == SurveyOutcome.APPLICATION_STARTED:
        raise refuse(
            LinkageErrorCode.SURVEY_ITEM_STATE,
            "该户已启动低保/特困申请，结果以审核审批为准，不能再修改摸底结果",
        )
    return item


def _member_in_payment(registry_household: RegistryHousehold) -> bool:
    return registry_household.members.filter(person_id__in=persons_in_payment()).exists()


def _application_shares_member(
    application: Application, registry_household: RegistryHousehold
) -> bool:
    return HouseholdMember.objects.filter(
        household_id=application.household_id,
        person_id__in=registry_household.members.values("person_id"),
    ).exists()


def survey_assess(
    *,
    actor: object,
    item_id: int,
    outcome: str,
    reason: str = "",
    application: Application | None = None,
    today: date | None = None,
) -> LabourSurveyItem:
    """Record the outcome of one household (SURVEY_ASSESS over its village).

    - ``not_eligible``: a reason is required; the household is referred to the poverty office
      (one open referral per household);
    - ``already_covered``: refused unless a member is in payment now;
    - ``application_started``: ``application`` must be an application of a household sharing a
      member with the registry household (use ``survey_start_application`` to start one).
    The same outcome and reason again changes nothing.
    """
    today = today or timezone.localdate()
    reason = (reason or "").strip()
    if outcome not in SurveyOutcome.values or outcome == SurveyOutcome.PENDING:
        raise refuse(LinkageErrorCode.INVALID, "请选择摸底结果", outcome=["请选择"])
    with transaction.atomic():
        item = _lock_item(actor, item_id)
        registry_household = item.registry_household
        if outcome == SurveyOutcome.NOT_ELIGIBLE and not reason:
            raise refuse(
                LinkageErrorCode.REASON_MISSING, "不符合条件须说明理由", reason=["请填写理由"]
            )
        if outcome == SurveyOutcome.ALREADY_COVERED and not _member_in_payment(registry_household):
            raise refuse(
                LinkageErrorCode.NOT_IN_PAYMENT,
                "该户没有成员正在享受低保或特困供养，不能登记为“已纳入保障”",
            )
        if outcome == SurveyOutcome.APPLICATION_STARTED:
            if application is None:
                raise refuse(LinkageErrorCode.INVALID, "请选择已启动的申请，或直接从摸底户启动申请")
            if not actor_covers_area(actor, application.area, perm=Perm.CASE_VIEW):
                raise refuse(LinkageErrorCode.NOT_FOUND, "申请不存在或不在您的管辖范围内")
            if not _application_shares_member(application, registry_household):
                raise refuse(LinkageErrorCode.INVALID, "该申请的家庭成员与建档立卡户不符")
        elif application is not None:
            raise refuse(LinkageErrorCode.INVALID, "只有“已启动申请”才关联申请")
        if item.outcome == outcome and item.reason == reason:
            return item  # the same assessment submitted twice
        before = item.outcome
        item.outcome, item.reason, item.application = outcome, reason, application
        item.assessed_on, item.assessed_by = today, actor
        item.save(
            update_fields=[
                "outcome",
                "reason",
                "application",
                "assessed_on",
                "assessed_by",
                "updated_at",
            ]
        )
        if outcome == SurveyOutcome.NOT_ELIGIBLE:
            referral_insert(
                actor=actor,
                direction=ReferralDirection.TO_POVERTY_OFFICE,
                reason=f"摸底不符合低保/特困条件：{reason}",
                registry_household=registry_household,
            )
        record(
            actor=actor,
            action="survey.assess",
            obj=item,
            area=item.area,
            changes={
                "outcome": [before, outcome],
                "reason": reason,
                "application": application.pk if application else None,
            },
        )
    return item


def _existing_household(registry_household: RegistryHousehold, programme: str) -> Household | None:
    """A cases household (not in payment) of the same programme holding registry members, to
    apply again with instead of registering the family twice."""
    persons = registry_household.members.values("person_id")
    return (
        Household.objects.filter(programme=programme, area=registry_household.area)
        .exclude(status__in=PAYING_STATUSES)
        .filter(members__person_id__in=persons, members__left_at__isnull=True)
        .distinct()
        .order_by("-pk")
        .first()
    )


def survey_start_application(
    *,
    actor: object,
    item_id: int,
    applied_on: date,
    authorisation_signed: bool,
    programme: str = Programme.DIBAO,
    today: date | None = None,
) -> LabourSurveyItem:
    """Start a dibao (or 特困) application for a surveyed household and link it.

    The cases household is registered in the registry household's village from its members
    (relation, labour capacity, health, school status, disability certificate), or an existing
    cases household of theirs is reused; incomes and assets are left to the household
    investigation. Needs SURVEY_ASSESS and CASE_APPLY over the village. The application then
    follows the cases workflow (accept → investigate → … → county decision).
    """
    today = today or timezone.localdate()
    if programme not in Programme.values:
        raise refuse(LinkageErrorCode.INVALID, "救助类型无效", programme=["请选择"])
    with transaction.atomic():
        item = _lock_item(actor, item_id)
        check_area(actor, item.area, perm=Perm.CASE_APPLY, doing="登记低保/特困申请")
        registry_household = item.registry_household
        if _member_in_payment(registry_household):
            raise refuse(
                LinkageErrorCode.SURVEY_ITEM_STATE,
                "该户已有成员正在享受保障，请登记为“已纳入保障”",
            )
        members = list(
            registry_household.members.select_related("person").order_by("relation", "pk")
        )
        head = next((m for m in members if m.relation == Relation.HEAD), None)
        applicant_name = head.person.name if head else (members[0].person.name if members else "")
        reason = (
            f"建档立卡摸底（{item.survey.title}）启动；台账户编号 {registry_household.number}，"
            f"家庭年人均纯收入 {registry_household.annual_income_per_capita} 元"
        )
        household = _existing_household(registry_household, programme)
        if household is not None:
            open_application = (
                Application.objects.filter(household=household, programme=programme)
                .exclude(status__in=CLOSED_APPLICATION_STATUSES)
                .first()
            )
            application = open_application or application_create(
                actor=actor,
                household=household,
                applied_on=applied_on,
                applicant_name=applicant_name,
                reason=reason,
                authorisation_signed=authorisation_signed,
            )
        else:
            application = application_register(
                actor=actor,
                area=registry_household.area,
                programme=programme,
                members=[
                    MemberData(
                        id_number=m.person.id_number,
                        name=m.person.name,
                        relation=m.relation,
                        labour_capacity=m.labour_capacity,
                        health=m.health,
                        school_status=m.school_status,
                        disability_certificate=m.disability_certificate,
                        ethnicity=m.person.ethnicity,
                    )
                    for m in members
                ],
                applied_on=applied_on,
                applicant_name=applicant_name,
                reason=reason,
                authorisation_signed=authorisation_signed,
            )
        before = item.outcome
        item.outcome, item.application, item.reason = (
            SurveyOutcome.APPLICATION_STARTED,
            application,
            "",
        )
        item.assessed_on, item.assessed_by = today, actor
        item.save(
            update_fields=[
                "outcome",
                "reason",
                "application",
                "assessed_on",
                "assessed_by",
                "updated_at",
            ]
        )
        record(
            actor=actor,
            action="survey.start_application",
            obj=item,
            area=item.area,
            changes={
                "outcome": [before, item.outcome],
                "application": application.pk,
                "household": application.household.number,
            },
        )
    return item


# --- the county report ------------------------------------------------------------------------

SURVEY_PROGRESS_HEADERS = (
    "苏木乡镇",
    "摸底户数",
    "待摸底",
    "已摸底",
    "逾期未摸底",
    "已启动申请",
    "不符合条件",
    "已纳入保障",
    "完成率（%）",
)
SURVEY_ITEM_HEADERS = (
    "苏木乡镇",
    "嘎查村",
    "建档立卡户编号",
    "户主姓名",
    "户主身份证号",
    "丧失劳动能力人数",
    "摸底结果",
    "说明",
    "摸底日期",
    "保障户编号",
    "申请状态",
)


def export_survey_xlsx(
    *, actor: object, survey: LabourSurvey, stream: IO[bytes], on: date | None = None
) -> int:
    """The county report of a survey (the items in the actor's areas): a progress sheet by
    township and a sheet of households (masked ID numbers). Returns the households written."""
    progress = survey_progress(actor=actor, survey=survey, on=on)
    workbook = Workbook(write_only=True)
    write_xlsx_sheet(
        workbook,
        title="进度",
        caption=(
            f"{survey.county.name}{survey.title}（截止 {survey.deadline:%Y-%m-%d}，"
            f"统计日期 {progress.on:%Y-%m-%d}）"
        ),
        headers=SURVEY_PROGRESS_HEADERS,
        rows=(
            (
                row.name,
                row.total,
                row.pending,
                row.done,
                row.overdue,
                row.application_started,
                row.not_eligible,
                row.already_covered,
                row.done_percent,
            )
            for row in [*progress.rows, progress.total]
        ),
    )
    count = write_xlsx_sheet(
        workbook,
        title="摸底户",
        headers=SURVEY_ITEM_HEADERS,
        rows=(
            (
                item.area.parent.name if item.area.parent else "",
                item.area.name,
                item.registry_household.number,
                item.head_name or "",
                masked(item.head_id_number_ciphertext),
                item.lost_labour_members or 0,
                item.get_outcome_display(),
                item.reason,
                item.assessed_on,
                item.application.household.number if item.application else "",
                item.application.get_status_display() if item.application else "",
            )
            for item in survey_item_list(actor=actor, survey=survey).iterator(chunk_size=500)
        ),
    )
    workbook.save(stream)
    record(
        actor=actor,
        action="export.survey",
        obj=survey,
        area=survey.county,
        changes={"format": "xlsx", "rows": count, "masked": True},
    )
    return count
