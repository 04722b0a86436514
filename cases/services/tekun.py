"""特困人员救助供养 (extreme-poverty support, domain.md §7, S6): the three conditions, the
six-activity self-care assessment, the form of support, and termination with a 7-day notice.

Not modelled, so taken as input and documented where used:

- legal supporters (法定赡养、抚养、扶养义务人): ``tekun_eligibility`` takes
  ``supporter_unable`` (no supporter, or the supporter cannot pay — S6 art. 4 (3)) and a note;
- "other cases set by the province" for the capacity condition [CFG]: none are configured;
- income not counted for 特困 (central basic pension, social insurance, 优抚, 高龄津贴) must be
  recorded as exempt incomes; the means test then leaves them out.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from cases.choices import (
    ChangeKind,
    ChangeOutcome,
    ChangeStatus,
    DisabilityType,
    Programme,
    SchoolStatus,
)
from cases.errors import CaseErrorCode
from cases.means_test import means_test_for_household
from cases.models import ChangeReport, Household, HouseholdMember, SelfCareAssessment
from cases.policy import policy_for
from cases.services.management import (
    MANAGED_STATUSES,
    refuse,
    require_capability,
    require_not_future,
)
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.core.workdays import first_of_next_month
from lowbao.people.id_numbers import age_on

__all__ = [
    "SUPPORT_MODES",
    "TERMINATION_REASONS",
    "TekunCondition",
    "TekunEligibility",
    "TekunPersonFinding",
    "self_care_assess",
    "self_care_tier",
    "tekun_eligibility",
    "tekun_support_mode_set",
    "tekun_terminate",
]

ELDERLY_AGE = 60
WORKING_AGE = 16
ADULT_AGE = 18
# The most severe grade is 1: a disability of this type at this grade or more severe means no
# capacity to work (S6 art. 4 (1)).
_NO_CAPACITY_GRADE = {
    DisabilityType.INTELLECTUAL: 3,
    DisabilityType.MENTAL: 3,
    DisabilityType.PHYSICAL: 2,
    DisabilityType.VISUAL: 1,
}
# Minors stay covered to 18, and beyond while in compulsory education, high school or secondary
# vocational school (S6 art. 24).
_STILL_IN_SCHOOL = (
    SchoolStatus.PRIMARY,
    SchoolStatus.JUNIOR,
    SchoolStatus.SENIOR,
    SchoolStatus.VOCATIONAL,
)
SUPPORT_MODES = {"centralised": "集中供养", "dispersed": "分散供养"}
# S6 art. 24: the reasons support ends.
TERMINATION_REASONS = {
    "death": "死亡、被宣告死亡或者被宣告失踪",
    "capacity": "具备或者恢复劳动能力",
    "imprisoned": "依法被判处刑罚，且在监狱服刑",
    "income": "收入和财产状况不再符合规定条件",
    "supporter": "法定赡养、抚养、扶养义务人具有了履行义务能力或者新增具有履行义务能力的义务人",
    "voluntary": "自愿申请退出救助供养",
}
_MINOR_PROTECTED_REASONS = ("capacity",)
SELF_CARE_ACTIVITIES = {
    "can_eat": "吃饭",
    "can_dress": "穿衣",
    "can_transfer": "上下床",
    "can_toilet": "如厕",
    "can_walk_indoors": "室内行走",
    "can_bathe": "洗澡",
}


@dataclass(frozen=True)
class TekunPersonFinding:
    """The capacity condition for one candidate (masked ID number only)."""

    member_id: int
    name: str
    id_number_masked: str
    age: int
    has_no_capacity: bool
    detail: str


@dataclass(frozen=True)
class TekunCondition:
    label: str
    is_met: bool
    detail: str


@dataclass(frozen=True)
class TekunEligibility:
    """All three conditions must hold (S6 art. 4). ``reasons`` says why not (empty when
    eligible); ``conditions`` and ``persons`` are what the page shows."""

    eligible: bool
    reasons: tuple[str, ...]
    conditions: tuple[TekunCondition, ...]
    persons: tuple[TekunPersonFinding, ...]
    means_test: dict[str, Any]


def _capacity(member: HouseholdMember, on: date) -> TekunPersonFinding:
    age = age_on(member.person.birth_date, on)
    grade, kind = member.disability_grade, member.disability_type
    limit = _NO_CAPACITY_GRADE.get(kind)
    if age >= ELDERLY_AGE:
        found, detail = True, f"{age} 周岁，年满 {ELDERLY_AGE} 周岁"
    elif age < WORKING_AGE:
        found, detail = True, f"{age} 周岁，未满 {WORKING_AGE} 周岁"
    elif grade and limit and grade <= limit:
        found, detail = True, f"{DisabilityType(kind).label}残疾 {grade} 级"
    else:
        disability = f"，{DisabilityType(kind).label}残疾 {grade} 级" if grade and kind else ""
        found = False
        detail = (
            f"{age} 周岁{disability}，不属于年满 60 周岁、未满 16 周岁、1–3 级智力或精神残疾、"
            "1–2 级肢体残疾或 1 级视力残疾"
        )
    return TekunPersonFinding(
        member_id=member.pk,
        name=member.person.name,
        id_number_masked=member.person.id_number_masked,
        age=age,
        has_no_capacity=found,
        detail=detail,
    )


def _candidates(household: Household, on: date) -> list[HouseholdMember]:
    return list(
        HouseholdMember.objects.filter(household=household, is_counted=True, is_covered=True)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=on))
        .select_related("person")
        .order_by("relation", "id")
    )


def tekun_eligibility(
    *, household: Household, on: date, supporter_unable: bool = False, supporter_note: str = ""
) -> TekunEligibility:
    """Check the three 特困 conditions for the household's covered members on ``on``.

    1. no capacity to work — every candidate is ≥ 60 or < 16, or has a grade 1–3 intellectual or
       mental, grade 1–2 physical or grade 1 visual disability (age from the ID number's birth
       date);
    2. no source of living — the means test on ``on``: per-capita income below the local dibao
       standard and assets within the rules (``MeansTestResult.eligible``);
    3. no legal supporter or the supporter cannot pay — ``supporter_unable`` (supporters are not
       modelled; the default ``False`` means "not established", so not eligible).
    Reads only; raises the means test's ``DomainError`` when policy data is missing.
    """
    candidates = _candidates(household, on)
    persons = tuple(_capacity(member, on) for member in candidates)
    reasons: list[str] = []
    if not persons:
        reasons.append("没有可认定的保障对象")
    for person in persons:
        if not person.has_no_capacity:
            reasons.append(
                f"{person.name}（{person.id_number_masked}）具备劳动能力：{person.detail}"
            )
    capacity = TekunCondition(
        label="无劳动能力",
        is_met=bool(persons) and all(p.has_no_capacity for p in persons),
        detail="；".join(f"{p.name}：{p.detail}" for p in persons) or "没有可认定的保障对象",
    )
    result = means_test_for_household(household=household, on=on)
    income_detail = (
        f"月人均收入 {result.per_capita_income_monthly} 元，财产符合规定"
        if result.eligible
        else "；".join(result.reasons)
    )
    income = TekunCondition(label="无生活来源", is_met=result.eligible, detail=income_detail)
    if not result.eligible:
        reasons.append(f"有生活来源：{income_detail}")
    note = supporter_note.strip()
    supporter = TekunCondition(
        label="无法定赡养、抚养、扶养义务人或者其义务人无履行义务能力",
        is_met=supporter_unable,
        detail=note or ("经核实无义务人或义务人无履行能力" if supporter_unable else "未核实"),
    )
    if not supporter_unable:
        reasons.append(
            "未核实无法定赡养、抚养、扶养义务人或者其义务人无履行义务能力"
            + (f"：{note}" if note else "")
        )
    return TekunEligibility(
        eligible=not reasons,
        reasons=tuple(reasons),
        conditions=(capacity, income, supporter),
        persons=persons,
        means_test=result.to_snapshot(),
    )


def self_care_tier(*, activities_not_done: int) -> str:
    """S6 arts. 20–22: all six done → full; 1–3 not done → partial; 4 or more → complete."""
    if activities_not_done <= 0:
        return "full"
    return "partial" if activities_not_done <= 3 else "complete"


def _tekun_member(member: HouseholdMember) -> HouseholdMember:
    member = (
        HouseholdMember.objects.select_related("person", "household", "household__area")
        .filter(pk=member.pk)
        .first()
    )
    if member is None:
        raise refuse(CoreErrorCode.NOT_FOUND, "家庭成员不存在")
    return member


@transaction.atomic
def self_care_assess(
    *,
    actor: object,
    member: HouseholdMember,
    assessed_on: date,
    can_eat: bool,
    can_dress: bool,
    can_transfer: bool,
    can_toilet: bool,
    can_walk_indoors: bool,
    can_bathe: bool,
    today: date | None = None,
) -> SelfCareAssessment:
    """生活自理能力评估 of a 特困 person (six activities; the tier sets the care-fee level).
    Re-assess within 10 working days of a reported change (S6 art. 22)."""
    today = today or timezone.localdate()
    member = _tekun_member(member)
    household = member.household
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="登记生活自理能力评估")
    if household.programme != Programme.TEKUN:
        raise refuse(CaseErrorCode.CHANGE_STATE, "生活自理能力评估仅适用于特困供养人员")
    if member.left_at is not None:
        raise refuse(CaseErrorCode.CHANGE_STATE, f"{member.person.name}已减员")
    require_not_future(assessed_on, today=today, field="assessed_on", label="评估日期")
    answers = {
        "can_eat": can_eat,
        "can_dress": can_dress,
        "can_transfer": can_transfer,
        "can_toilet": can_toilet,
        "can_walk_indoors": can_walk_indoors,
        "can_bathe": can_bathe,
    }
    not_done = [SELF_CARE_ACTIVITIES[name] for name, done in answers.items() if not done]
    assessment = SelfCareAssessment.objects.create(
        member=member,
        assessed_on=assessed_on,
        tier=self_care_tier(activities_not_done=len(not_done)),
        assessed_by=actor,
        **{name: bool(done) for name, done in answers.items()},
    )
    record(
        actor=actor,
        action="tekun.self_care_assess",
        obj=assessment,
        area=household.area,
        changes={
            "member_id": member.pk,
            "assessed_on": assessed_on,
            "not_done": not_done,
            "tier": assessment.tier,
        },
    )
    return assessment


def _require_tekun(household: Household) -> None:
    if household.programme != Programme.TEKUN:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该户不是特困供养户")


@transaction.atomic
def tekun_support_mode_set(*, actor: object, household: Household, mode: str) -> Household:
    """集中供养 (in an institution) or 分散供养 (at home): the person chooses (S5 art. 19); this
    records the choice."""
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="登记供养方式")
    _require_tekun(household)
    if mode not in SUPPORT_MODES:
        raise refuse(CoreErrorCode.INVALID, "请选择供养方式", mode="请选择集中供养或分散供养")
    locked = Household.objects.select_for_update(no_key=True, of=("self",)).get(pk=household.pk)
    if locked.tekun_support_mode == mode:
        return locked
    before = locked.tekun_support_mode
    locked.tekun_support_mode = mode
    locked.save(update_fields=["tekun_support_mode", "updated_at"])
    household.tekun_support_mode = mode
    record(
        actor=actor,
        action="tekun.support_mode_set",
        obj=locked,
        area=household.area,
        changes={"tekun_support_mode": [before, mode]},
    )
    return locked


def _minor_protected(member: HouseholdMember, on: date) -> str:
    """Why this member may not lose support for gaining capacity (empty if they may)."""
    age = age_on(member.person.birth_date, on)
    if age < ADULT_AGE:
        return f"{member.person.name}未满 18 周岁（{age} 周岁），可继续享受救助供养待遇至 18 周岁"
    if member.school_status in _STILL_IN_SCHOOL:
        return (
            f"{member.person.name}年满 18 周岁但仍在{member.get_school_status_display()}就读，"
            "可继续享受救助供养待遇"
        )
    return ""


def _posting_text(
    *,
    household: Household,
    names: str,
    label: str,
    starts_on: date,
    ends_on: date,
    effective_month: date,
    today: date,
) -> str:
    village = household.area
    township = village.parent.name if village.parent else ""
    return "\n".join(
        [
            "拟终止特困人员救助供养公示",
            "",
            f"{village.name}{names}因{label}，经调查核实，拟自{effective_month:%Y年%m月}起"
            "终止其特困人员救助供养。",
            f"公示期：{starts_on:%Y年%m月%d日}至{ends_on:%Y年%m月%d日}。如有异议，请在公示期内向"
            f"{township}人民政府或{household.county.name}民政局反映。",
            "",
            f"{household.county.name}民政局",
            f"{today:%Y年%m月%d日}",
        ]
    )


@transaction.atomic
def tekun_terminate(
    *,
    actor: object,
    household: Household,
    reason_code: str,
    reasons: str,
    today: date | None = None,
) -> ChangeReport:
    """Plan the termination of a 特困 household's support (S6 arts. 24–25) and post it.

    The plan is a ``ChangeReport`` (assessed, outcome ``stop``) whose ``effective_month`` is the
    month after the notice (``notice_calendar_days``, 7, from ``today``) ends; the posting text is
    its ``notice_text`` and the notice dates are in ``means_test["termination"]``. After the
    notice the county decides with ``change_decide``: ``stop`` (from the planned month, or the
    month after the decision if later) or ``unchanged`` (not terminated, e.g. on an objection).
    Refused for "gains capacity to work" while a covered member is under 18, or 18 or over and
    still in compulsory education, high school or secondary vocational school.
    """
    today = today or timezone.localdate()
    if not (
        actor_covers_area(actor, household.area, perm=Perm.CHANGE_REPORT)
        or actor_covers_area(actor, household.area, perm=Perm.CHANGE_DECIDE)
    ):
        require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="办理终止特困供养")
    household = (
        Household.objects.select_for_update(no_key=True, of=("self",))
        .select_related("area", "area__parent", "county")
        .get(pk=household.pk)
    )
    _require_tekun(household)
    if household.status not in MANAGED_STATUSES:
        raise refuse(
            CaseErrorCode.CHANGE_STATE,
            f"该户{household.get_status_display()}，不能办理终止",
        )
    problems: dict[str, list[str]] = {}
    if reason_code not in TERMINATION_REASONS:
        problems["reason_code"] = ["请选择终止原因"]
    if not (reasons or "").strip():
        problems["reasons"] = ["请写明调查核实的情况"]
    if problems:
        raise DomainError(
            code=CaseErrorCode.STEP_INCOMPLETE, message="终止特困供养须写明原因", fields=problems
        )
    if ChangeReport.objects.filter(
        household=household, status=ChangeStatus.ASSESSED, means_test__has_key="termination"
    ).exists():
        raise refuse(CaseErrorCode.CHANGE_STATE, "该户已有正在公示的拟终止事项")
    members = _candidates(household, today)
    if reason_code in _MINOR_PROTECTED_REASONS:
        protected = [text for text in (_minor_protected(m, today) for m in members) if text]
        if protected:
            message = "；".join(protected) + "，不能以“具备或者恢复劳动能力”为由终止"
            raise refuse(CaseErrorCode.CHANGE_STATE, message, reason_code=message)
    label = TERMINATION_REASONS[reason_code]
    policy = policy_for(household.area, today)
    ends_on = today + timedelta(days=policy.notice_calendar_days - 1)
    effective = first_of_next_month(ends_on)
    names = "、".join(m.person.name for m in members) or household.number
    change = ChangeReport.objects.create(
        household=household,
        kind=ChangeKind.DEATH if reason_code == "death" else ChangeKind.OTHER,
        reported_on=today,
        description=f"拟终止特困人员救助供养：{label}。{reasons.strip()}",
        status=ChangeStatus.ASSESSED,
        outcome=ChangeOutcome.STOP,
        new_amount=0,
        effective_month=effective,
        reasons=f"{label}：{reasons.strip()}",
        notice_text=_posting_text(
            household=household,
            names=names,
            label=label,
            starts_on=today,
            ends_on=ends_on,
            effective_month=effective,
            today=today,
        ),
        means_test={
            "termination": {
                "reason_code": reason_code,
                "reason_label": label,
                "notice_starts_on": today.isoformat(),
                "notice_ends_on": ends_on.isoformat(),
            },
            "proposal": {
                "outcome": ChangeOutcome.STOP,
                "new_amount": "0.00",
                "covered_persons": 0,
                "summary": f"拟终止特困供养（{label}），公示期满后作出决定",
            },
        },
        reported_by=actor,
    )
    record(
        actor=actor,
        action="tekun.terminate_plan",
        obj=change,
        area=household.area,
        changes={
            "household": household.number,
            "reason_code": reason_code,
            "notice": [today, ends_on],
            "effective_month": effective,
        },
    )
    return change
