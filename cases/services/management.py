"""Dynamic management (动态管理, domain.md §6): home visits, change reports, re-assessment and
the decision with its notice, gradual exit, refusal of work.

The path of a change is ``change_report`` (village or township) → ``change_assess`` (re-runs the
means test and proposes an outcome) → ``change_decide`` (county civil affairs, never the person
who reported it). Every amount change goes through ``cases.services.benefits`` and takes effect
from the month after the decision; the household's ``status`` is owned here.

Rules where the texts leave room (each is stated again where it is applied):

- 渐退期 benefit ([CFG] in domain.md §6): the amount in force when the gradual exit is decided is
  kept unchanged for the whole grace period (``original_amount`` records it).
- ``grace_end`` is the first month no longer paid: ``grace_start + grace_months`` months. The
  grace months are ``gradual_exit_months``, or ``registry_gradual_exit_months`` for 建档立卡
  households; the poverty registry link does not exist yet, so the decider passes
  ``is_registry_household`` (the poverty issue will supply it).
- ``unchanged`` changes nothing (S4: no adjustment when nothing changed). ``increase`` and
  ``decrease`` on a suspended household or one in gradual exit bring it back to normal payment.
- Deciding any change completes the household's pending check (``check_due`` is cleared): the
  decision follows a re-assessment of the whole household.
"""

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from cases.choices import (
    LOST_LABOUR,
    AssetKind,
    BenefitKind,
    ChangeKind,
    ChangeOutcome,
    ChangeStatus,
    CoverageScope,
    HouseholdStatus,
    IncomeCategory,
    Programme,
    RoundingRule,
)
from cases.errors import CaseErrorCode
from cases.means_test import NO_COUNTED_MEMBER, MeansTestResult, means_test_for_household
from cases.models import (
    BenefitPeriod,
    ChangeReport,
    HomeVisit,
    Household,
    HouseholdAsset,
    HouseholdMember,
    MemberIncome,
)
from cases.policy import policy_for, standard_for
from cases.selectors import household_queryset
from cases.services.benefits import benefit_change, benefit_stop
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, scope_to_actor
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.core.workdays import add_months, first_of_next_month

__all__ = [
    "MANAGED_STATUSES",
    "REASONS_REQUIRED",
    "access_change_by_id",
    "add_months_to_day",
    "change_assess",
    "change_decide",
    "change_queryset",
    "change_report",
    "changes_pending",
    "gradual_exit_finish",
    "gradual_exits_ending",
    "home_visit_record",
    "household_asset_set",
    "households_due_for_check",
    "member_income_set",
    "work_refusal_record",
    "work_refusals_reset",
]

ZERO = Decimal("0")
# Households under dynamic management: paid, in gradual exit, or suspended.
MANAGED_STATUSES = (
    HouseholdStatus.IN_PAYMENT,
    HouseholdStatus.GRADUAL_EXIT,
    HouseholdStatus.SUSPENDED,
)
# S4 art. 32 / S5 art. 13: reductions and stops are notified with reasons.
REASONS_REQUIRED = (
    ChangeOutcome.DECREASE,
    ChangeOutcome.SUSPEND,
    ChangeOutcome.STOP,
    ChangeOutcome.GRADUAL_EXIT,
)
# Outcomes whose notice tells the household of its right to review or litigation (S4 art. 38).
_APPEALABLE = REASONS_REQUIRED
DEATH_REASON = "死亡"
GRACE_OVER_REASON = "渐退期满"
_NOTICE_TITLE = {
    ChangeOutcome.UNCHANGED: "复核结果告知书",
    ChangeOutcome.INCREASE: "增发告知书",
    ChangeOutcome.DECREASE: "减发告知书",
    ChangeOutcome.SUSPEND: "暂停发放告知书",
    ChangeOutcome.STOP: "停发告知书",
    ChangeOutcome.GRADUAL_EXIT: "渐退告知书",
}
_ROUNDING = {
    RoundingRule.YUAN_HALF_UP: (Decimal("1"), ROUND_HALF_UP),
    RoundingRule.JIAO_HALF_UP: (Decimal("0.1"), ROUND_HALF_UP),
    RoundingRule.FEN: (Decimal("0.01"), ROUND_HALF_UP),
    RoundingRule.YUAN_UP: (Decimal("1"), ROUND_CEILING),
}


# --- shared helpers ----------------------------------------------------------------------------


def refuse(code: Any, message: str, **fields: str) -> DomainError:
    """A refusal with field errors (``{"field": ["message"]}``) the forms can show in place."""
    return DomainError(
        code=code, message=message, fields={name: [text] for name, text in fields.items()}
    )


def require_capability(
    actor: object, area: Area, perm: str, *, doing: str, subject: str = "保障户"
) -> None:
    """``perm`` over ``area``; a role that can see the case but not do this gets a refusal that
    says so, anyone else is told the case is not theirs (404, as for pages)."""
    if actor_covers_area(actor, area, perm=perm):
        return
    if actor_covers_area(actor, area, perm=Perm.CASE_VIEW):
        raise DomainError(code=CaseErrorCode.NOT_ALLOWED, message=f"您的角色不能{doing}")
    raise DomainError(
        code=CoreErrorCode.AREA_OUT_OF_SCOPE, message=f"{subject}不存在或不在您的管辖范围内"
    )


def require_not_future(value: date | None, *, today: date, field: str, label: str) -> None:
    if value is None or value > today:
        raise refuse(
            CoreErrorCode.INVALID,
            f"请填写{label}（不能晚于今天）",
            **{field: f"请填写{label}（不能晚于今天）"},
        )


def add_months_to_day(day: date, months: int) -> date:
    """The same day ``months`` later; the month's last day when it is shorter (11-30 + 3 →
    02-28)."""
    first = add_months(day.replace(day=1), months)
    last_day = calendar.monthrange(first.year, first.month)[1]
    return first.replace(day=min(day.day, last_day))


def _locked_household(household_id: int) -> Household:
    return (
        Household.objects.select_for_update(no_key=True, of=("self",))
        .select_related("area", "county")
        .get(pk=household_id)
    )


def _open_period(household: Household) -> BenefitPeriod | None:
    return BenefitPeriod.objects.filter(household=household, end_month__isnull=True).first()


def _head_name(household: Household) -> str:
    """Whom the notice is addressed to: the head, or (after the head's death or departure) the
    first remaining member by relation."""
    addressee = (
        household.members.select_related("person")
        .order_by(F("left_at").asc(nulls_first=True), "relation", "id")
        .first()
    )
    return addressee.person.name if addressee is not None else household.number


def _save(instance: Any, fields: list[str]) -> None:
    instance.save(update_fields=[*fields, "updated_at"])


def _members_out_of_payment(household: Household) -> int:
    return HouseholdMember.objects.filter(household=household, in_payment=True).update(
        in_payment=False
    )


def _yuan(amount: Decimal | None) -> str:
    return f"{(amount or ZERO).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP)}"


# --- home visits -------------------------------------------------------------------------------


@transaction.atomic
def home_visit_record(
    *,
    actor: object,
    household: Household,
    visited_on: date,
    visitors: list[str],
    findings: str,
    change_found: bool,
    today: date | None = None,
) -> HomeVisit:
    """走访: a regular or ad-hoc visit (70号) and what it found. A visit that found a change is
    followed by a ``change_report``; the visit itself changes nothing else."""
    today = today or timezone.localdate()
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="登记走访")
    names = list(dict.fromkeys(name.strip() for name in visitors if name and name.strip()))
    problems: dict[str, list[str]] = {}
    if not names:
        problems["visitors"] = ["请填写走访人员（至少 1 人）"]
    if not findings.strip():
        problems["findings"] = ["请填写走访情况"]
    if visited_on is None or visited_on > today:
        problems["visited_on"] = ["请填写走访日期（不能晚于今天）"]
    if problems:
        raise DomainError(
            code=CaseErrorCode.STEP_INCOMPLETE, message="走访记录不完整", fields=problems
        )
    visit = HomeVisit.objects.create(
        household=household,
        visited_on=visited_on,
        visitors=names,
        findings=findings.strip(),
        change_found=change_found,
        recorded_by=actor,
    )
    record(
        actor=actor,
        action="home_visit.record",
        obj=visit,
        area=household.area,
        changes={
            "household": household.number,
            "visited_on": visited_on,
            "visitors": names,
            "change_found": change_found,
        },
    )
    return visit


# --- change reports ----------------------------------------------------------------------------


def _member_of(household: Household, member_id: object) -> HouseholdMember:
    member = (
        HouseholdMember.objects.select_for_update(no_key=True, of=("self",))
        .select_related("person")
        .filter(household=household, pk=member_id)
        .first()
        if str(member_id).isdigit()
        else None
    )
    if member is None:
        raise refuse(
            CoreErrorCode.INVALID, "请选择本户的家庭成员", member_id="请选择本户的家庭成员"
        )
    return member


@transaction.atomic
def change_report(
    *,
    actor: object,
    household: Household,
    kind: str,
    description: str,
    reported_on: date,
    member_left: dict | None = None,
    today: date | None = None,
) -> ChangeReport:
    """Record a change in members, income or assets (S5 art. 13, S4 art. 30).

    ``member_left`` = ``{"member_id": …, "left_on": date, "reason": "…"}`` takes a member out of
    the household from ``left_on`` (required for ``death``, allowed for ``members``; the reason
    of a death is always "死亡"). The member leaves payment at once. After a death the household
    must be checked and the paperwork finished within ``death_check_months`` (S7): ``check_due``
    = date of death + that many months, the earlier one if a check is already pending.
    Income and asset figures are changed with ``member_income_set`` / ``household_asset_set``;
    the amount only changes through ``change_assess`` and ``change_decide``.
    """
    today = today or timezone.localdate()
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="登记家庭变化")
    household = _locked_household(household.pk)
    if household.status not in MANAGED_STATUSES:
        raise refuse(
            CaseErrorCode.CHANGE_STATE,
            f"该户{household.get_status_display()}，不在动态管理范围内，不能登记变更",
        )
    problems: dict[str, list[str]] = {}
    if kind not in ChangeKind.values:
        problems["kind"] = ["请选择变化类型"]
    if not description.strip():
        problems["description"] = ["请填写变化情况"]
    if reported_on is None or reported_on > today:
        problems["reported_on"] = ["请填写登记日期（不能晚于今天）"]
    if kind == ChangeKind.DEATH and not member_left:
        problems["member_id"] = ["成员死亡须选择死亡的成员并填写死亡日期"]
    if member_left and kind not in (ChangeKind.DEATH, ChangeKind.MEMBERS):
        problems["kind"] = ["成员减少请选择“家庭成员变化”或“成员死亡”"]
    if problems:
        raise DomainError(
            code=CaseErrorCode.STEP_INCOMPLETE, message="变更登记不完整", fields=problems
        )
    departed = None
    if member_left:
        departed = _member_of(household, member_left.get("member_id"))
        left_on = member_left.get("left_on")
        reason = (
            DEATH_REASON if kind == ChangeKind.DEATH else str(member_left.get("reason", "")).strip()
        )
        label = "死亡日期" if kind == ChangeKind.DEATH else "减员日期"
        require_not_future(left_on, today=today, field="left_on", label=label)
        if not reason:
            raise refuse(CoreErrorCode.INVALID, "请填写减员原因", left_reason="请填写减员原因")
        if departed.left_at is not None:
            raise refuse(
                CaseErrorCode.CHANGE_STATE,
                f"{departed.person.name}已于 {departed.left_at:%Y-%m-%d} 减员",
                member_id="该成员已减员",
            )
        departed.left_at, departed.left_reason = left_on, reason[:100]
        departed.in_payment = False
        _save(departed, ["left_at", "left_reason", "in_payment"])
        if kind == ChangeKind.DEATH:
            months = policy_for(household.area, left_on).death_check_months
            due = add_months_to_day(left_on, months)
            if household.check_due is None or due < household.check_due:
                household.check_due = due
                household.check_reason = (
                    f"成员{departed.person.name}于 {left_on:%Y年%m月%d日} 死亡，"
                    f"须在 {due:%Y年%m月%d日} 前完成核查并办结手续"
                )[:200]
                _save(household, ["check_due", "check_reason"])
    change = ChangeReport.objects.create(
        household=household,
        kind=kind,
        reported_on=reported_on,
        description=description.strip(),
        reported_by=actor,
    )
    record(
        actor=actor,
        action="change.report",
        obj=change,
        area=household.area,
        changes={
            "household": household.number,
            "kind": kind,
            "member_left": None
            if departed is None
            else {
                "member_id": departed.pk,
                "left_at": departed.left_at,
                "reason": departed.left_reason,
            },
            "check_due": household.check_due,
        },
    )
    return change


@transaction.atomic
def member_income_set(
    *,
    actor: object,
    member: HouseholdMember,
    category: str,
    amount_monthly: Decimal,
    note: str = "",
) -> MemberIncome | None:
    """Set a member's counted monthly income of ``category`` (replacing the rows of that
    category that are counted; exempt rows are kept). 0 removes it. Returns the row, or None."""
    household = member.household
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="修改成员收入")
    if category not in IncomeCategory.values:
        raise refuse(CoreErrorCode.INVALID, "收入类别无效", category="请选择收入类别")
    if amount_monthly is None or amount_monthly < 0:
        raise refuse(CoreErrorCode.INVALID, "月收入不能为负数", amount_monthly="不能为负数")
    rows = MemberIncome.objects.filter(member=member, category=category, is_exempt=False)
    before = sum((row.amount_monthly for row in rows), ZERO)
    if before == amount_monthly and rows.count() <= 1:
        return rows.first()
    rows.delete()
    income = (
        MemberIncome.objects.create(
            member=member, category=category, amount_monthly=amount_monthly, note=note[:200]
        )
        if amount_monthly
        else None
    )
    record(
        actor=actor,
        action="member.income_set",
        obj=member,
        area=household.area,
        changes={"category": category, "amount_monthly": [before, amount_monthly]},
    )
    return income


@transaction.atomic
def household_asset_set(
    *,
    actor: object,
    household: Household,
    kind: str,
    quantity: int,
    value: Decimal,
    note: str = "",
) -> HouseholdAsset | None:
    """Set the household's non-exempt asset of ``kind`` (replacing those rows); quantity 0 and
    value 0 removes it. Returns the row, or None."""
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="修改家庭财产")
    if kind not in AssetKind.values:
        raise refuse(CoreErrorCode.INVALID, "财产类别无效", kind="请选择财产类别")
    if quantity is None or quantity < 0 or value is None or value < 0:
        raise refuse(CoreErrorCode.INVALID, "数量和价值不能为负数", value="不能为负数")
    rows = HouseholdAsset.objects.filter(household=household, kind=kind, is_exempt=False)
    before = [(row.quantity, row.value) for row in rows]
    if before == [(quantity, value)]:
        return rows.first()
    rows.delete()
    asset = (
        HouseholdAsset.objects.create(
            household=household, kind=kind, quantity=quantity, value=value, note=note[:200]
        )
        if quantity or value
        else None
    )
    record(
        actor=actor,
        action="household.asset_set",
        obj=household,
        area=household.area,
        changes={"kind": kind, "assets": [before, [(quantity, value)] if asset else []]},
    )
    return asset


# --- assessment --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """What a re-assessment proposes; ``snapshot`` is what the change stores."""

    outcome: str
    new_amount: Decimal
    covered_persons: int
    summary: str
    snapshot: dict[str, Any]


def _round(amount: Decimal, rule: str) -> Decimal:
    step, mode = _ROUNDING.get(rule, _ROUNDING[RoundingRule.FEN])
    return amount.quantize(step, rounding=mode).quantize(Decimal("0.01"))


def _share_reduced_amount(
    *, household: Household, result: MeansTestResult, on: date
) -> tuple[Decimal, int, list[str]]:
    """(amount, covered persons, lines) once the shares of members whose share was reduced for
    refusing work are taken off (S5 art. 45: *his or her own* share).

    The means test covers every counted member of a whole-household case, so the reduced shares
    are taken off here: the member stays counted (their income is household income), and the
    household is paid ``(standard − per capita) × (covered − reduced)`` plus the uplifts of the
    others, rounded by the policy rule and not below its minimum per covered person. Single-person
    cases already honour ``is_covered``.
    """
    amount, covered = result.monthly_benefit, result.members_covered
    if household.coverage_scope == CoverageScope.SINGLE_PERSON or not result.eligible:
        return amount, covered, []
    reduced = list(
        HouseholdMember.objects.filter(household=household, share_reduced=True, is_counted=True)
        .filter(Q(left_at__isnull=True) | Q(left_at__gt=on))
        .select_related("person")
    )
    if not reduced:
        return amount, covered, []
    reduced_numbers = {member.person.id_number for member in reduced}
    remaining = max(covered - len(reduced), 0)
    gap = result.standard_monthly - result.per_capita_income_monthly
    uplifts = sum((u.amount for u in result.uplifts if u.id_number not in reduced_numbers), ZERO)
    policy = policy_for(household.area, on)
    amount = _round(gap * remaining + uplifts, policy.rounding) if remaining else ZERO
    amount = max(amount, (policy.minimum_per_person_monthly * remaining).quantize(Decimal("0.01")))
    names = "、".join(member.person.name for member in reduced)
    lines = [
        f"{names}因无正当理由拒绝就业已减发本人份额：保障 {remaining} 人，"
        f"({_yuan(result.standard_monthly)} − {_yuan(result.per_capita_income_monthly)}) × "
        f"{remaining} + 分类施保 {_yuan(uplifts)} = {_yuan(amount)} 元"
    ]
    return amount, remaining, lines


def _proposal(*, household: Household, on: date) -> Proposal:
    current = household.monthly_amount
    try:
        result = means_test_for_household(household=household, on=on)
    except DomainError as error:
        if error.message != NO_COUNTED_MEMBER:
            raise
        summary = "家庭成员均已死亡或减员，建议停发"
        snapshot = {"eligible": False, "reasons": [NO_COUNTED_MEMBER], "lines": [summary]}
        return Proposal(ChangeOutcome.STOP, ZERO, 0, summary, snapshot)
    snapshot = result.to_snapshot()
    amount, covered, extra_lines = _share_reduced_amount(household=household, result=result, on=on)
    if extra_lines:
        snapshot["lines"] = [*snapshot["lines"], *extra_lines, f"月保障金 {_yuan(amount)} 元"]
        snapshot["monthly_benefit"] = _yuan(amount)
        snapshot["members_covered"] = covered
    resuming = household.status != HouseholdStatus.IN_PAYMENT
    if result.eligible and amount > 0:
        if amount == current and not resuming:
            outcome, verdict = ChangeOutcome.UNCHANGED, "金额不变"
        elif amount > current or (resuming and amount == current):
            outcome, verdict = ChangeOutcome.INCREASE, "建议增发"
        else:
            outcome, verdict = ChangeOutcome.DECREASE, "建议减发"
        if resuming:
            verdict += "并恢复正常发放"
        summary = f"重新核算月保障金 {_yuan(amount)} 元，现月保障金 {_yuan(current)} 元，{verdict}"
        return Proposal(outcome, amount, covered, summary, snapshot)
    dibao_standard = standard_for(household.area, on).rural_dibao_monthly
    income_only = (
        household.coverage_scope != CoverageScope.SINGLE_PERSON
        and not result.eligible
        and len(result.reasons) == 1
        and result.per_capita_income_monthly >= dibao_standard
    )
    reasons = "；".join(result.reasons) or "重新核算月保障金为 0 元"
    if income_only and household.status == HouseholdStatus.GRADUAL_EXIT:
        summary = f"{reasons}；该户在渐退期内，金额不变，期满停发"
        return Proposal(ChangeOutcome.UNCHANGED, current, covered, summary, snapshot)
    if income_only and policy_for(household.area, on).gradual_exit_months > 0:
        summary = (
            f"{reasons}；收入超过保障标准，建议进入渐退期"
            f"（渐退期内月保障金 {_yuan(current)} 元不变）"
        )
        return Proposal(ChangeOutcome.GRADUAL_EXIT, current, covered, summary, snapshot)
    summary = f"{reasons}；不再符合保障条件，建议停发"
    return Proposal(ChangeOutcome.STOP, ZERO, 0, summary, snapshot)


def _locked_change(actor: object, change_id: int) -> ChangeReport:
    change = (
        ChangeReport.objects.select_for_update(no_key=True, of=("self",))
        .select_related("household", "household__area", "household__county")
        .filter(pk=change_id)
        .first()
    )
    if change is None or not actor_covers_area(actor, change.household.area, perm=Perm.CASE_VIEW):
        raise DomainError(
            code=CoreErrorCode.NOT_FOUND, message="变更报告不存在或不在您的管辖范围内"
        )
    return change


def _termination(change: ChangeReport) -> dict[str, Any] | None:
    """The planned 特困 termination this change carries (``cases.services.tekun``), if any."""
    value = (change.means_test or {}).get("termination")
    return value if isinstance(value, dict) else None


@transaction.atomic
def change_assess(*, actor: object, change_id: int, today: date | None = None) -> ChangeReport:
    """Re-run the means test on ``today`` and propose an outcome (stored, not applied).

    Proposals: eligible → ``unchanged`` / ``increase`` / ``decrease`` against the amount in force
    (a suspended or gradual-exit household that qualifies again is proposed ``increase`` or
    ``decrease`` to resume normal payment); not eligible only because per-capita income reached
    the dibao standard → ``gradual_exit`` when the policy grants one (``unchanged`` when already
    in gradual exit); any other ineligibility, or nobody left → ``stop``. The decider may choose
    another outcome.
    """
    today = today or timezone.localdate()
    change = _locked_change(actor, change_id)
    household = change.household
    if not (
        actor_covers_area(actor, household.area, perm=Perm.CHANGE_REPORT)
        or actor_covers_area(actor, household.area, perm=Perm.CHANGE_DECIDE)
    ):
        raise DomainError(code=CaseErrorCode.NOT_ALLOWED, message="您的角色不能重新核算")
    if change.status == ChangeStatus.DECIDED:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该变更已作出决定，不能重新核算")
    if _termination(change) is not None:
        raise refuse(CaseErrorCode.CHANGE_STATE, "拟终止特困供养正在公示，期满后直接作出决定")
    household = _locked_household(household.pk)
    if household.status not in MANAGED_STATUSES:
        raise refuse(CaseErrorCode.CHANGE_STATE, f"该户{household.get_status_display()}，不能核算")
    proposal = _proposal(household=household, on=today)
    change.means_test = {
        **proposal.snapshot,
        "proposal": {
            "outcome": proposal.outcome,
            "new_amount": _yuan(proposal.new_amount),
            "covered_persons": proposal.covered_persons,
            "current_amount": _yuan(household.monthly_amount),
            "summary": proposal.summary,
            "assessed_on": today.isoformat(),
        },
    }
    change.outcome = proposal.outcome
    change.new_amount = proposal.new_amount
    change.status = ChangeStatus.ASSESSED
    _save(change, ["means_test", "outcome", "new_amount", "status"])
    record(
        actor=actor,
        action="change.assess",
        obj=change,
        area=household.area,
        changes={
            "outcome": proposal.outcome,
            "new_amount": proposal.new_amount,
            "eligible": proposal.snapshot.get("eligible"),
        },
    )
    return change


# --- decision ----------------------------------------------------------------------------------


def _review_rights(household: Household) -> str:
    return (
        "如对本决定不服，可以自收到本告知书之日起六十日内向"
        f"{household.county.name}人民政府申请行政复议，或者自收到本告知书之日起六个月内"
        "依法向人民法院提起行政诉讼。"
    )


def notice_text_for(
    *,
    household: Household,
    outcome: str,
    before: Decimal,
    after: Decimal,
    effective_month: date,
    reasons: str,
    decided_on: date,
    grace_months: int | None = None,
    termination: bool = False,
    resumed: bool = False,
) -> str:
    """The 增发/减发/停发 告知书 (S4 art. 32): decision, amount, month, reasons, and for
    decreases, suspensions, stops and gradual exits the right to review or litigation.
    ``resumed``: an increase or decrease that ends a suspension or a gradual exit."""
    benefit = "特困人员救助供养金" if household.programme == Programme.TEKUN else "最低生活保障金"
    month = f"{effective_month:%Y年%m月}"
    if outcome == ChangeOutcome.UNCHANGED:
        title = "不予终止特困供养告知书" if termination else _NOTICE_TITLE[outcome]
        body = (
            f"经公示和核查，决定不终止你户特困人员救助供养，月{benefit} {_yuan(after)} 元不变。"
            if termination
            else f"经对你户家庭人口、收入和财产状况重新核算，你户月{benefit} {_yuan(after)} 元"
            "保持不变。"
        )
    elif resumed:
        title = "恢复正常发放告知书"
        body = (
            f"经对你户家庭人口、收入和财产状况重新核算，决定自{month}起恢复正常发放你户"
            f"{benefit}，月保障金额 {_yuan(after)} 元（原 {_yuan(before)} 元）。"
        )
    elif outcome in (ChangeOutcome.INCREASE, ChangeOutcome.DECREASE):
        title = _NOTICE_TITLE[outcome]
        verb = "增发" if outcome == ChangeOutcome.INCREASE else "减发"
        body = (
            f"经对你户家庭人口、收入和财产状况重新核算，决定自{month}起{verb}你户{benefit}，"
            f"月保障金额由 {_yuan(before)} 元调整为 {_yuan(after)} 元。"
        )
    elif outcome == ChangeOutcome.SUSPEND:
        title = _NOTICE_TITLE[outcome]
        body = f"决定自{month}起暂停发放你户{benefit}（月保障金额 {_yuan(before)} 元）。"
    elif outcome == ChangeOutcome.STOP:
        title = "终止特困人员救助供养告知书" if termination else _NOTICE_TITLE[outcome]
        verb = "终止你户特困人员救助供养，停发" if termination else "停发你户"
        body = (
            f"决定自{month}起{verb}{benefit}（原月保障金额 {_yuan(before)} 元），"
            f"{add_months(effective_month, -1):%Y年%m月}及以前的保障金照常发放。"
        )
    else:
        title = _NOTICE_TITLE[ChangeOutcome.GRADUAL_EXIT]
        last = add_months(effective_month, (grace_months or 1) - 1)
        body = (
            f"你户家庭月人均收入已超过当地保障标准。决定自{month}起给予 {grace_months} 个月"
            f"渐退期（至{last:%Y年%m月}），渐退期内月{benefit} {_yuan(before)} 元不变，"
            "渐退期满后停发。"
        )
    lines = [title, "", f"{_head_name(household)}户（户编号：{household.number}）：", body]
    lines.append(f"理由：{reasons}")
    if outcome in _APPEALABLE:
        lines.append(_review_rights(household))
    lines += ["", f"{household.county.name}民政局", f"{decided_on:%Y年%m月%d日}"]
    return "\n".join(lines)


def _default_reasons(change: ChangeReport, outcome: str) -> str:
    summary = (change.means_test or {}).get("proposal", {}).get("summary", "")
    if outcome == ChangeOutcome.UNCHANGED:
        return summary or "重新核算后家庭人口、收入和财产无变化"
    return summary or "重新核算结果"


def _decision_amount(
    *,
    change: ChangeReport,
    outcome: str,
    new_amount: Decimal | None,
    current: Decimal,
    resuming: bool,
) -> Decimal:
    amount = new_amount if new_amount is not None else change.new_amount
    if amount is None or amount <= 0:
        raise refuse(
            CoreErrorCode.INVALID, "请填写调整后的月保障金额（大于 0）", new_amount="须大于 0"
        )
    if resuming:
        return amount
    if outcome == ChangeOutcome.INCREASE and amount <= current:
        raise refuse(
            CoreErrorCode.INVALID,
            f"增发后的金额须高于现月保障金额 {_yuan(current)} 元",
            new_amount=f"须高于 {_yuan(current)} 元",
        )
    if outcome == ChangeOutcome.DECREASE and amount >= current:
        raise refuse(
            CoreErrorCode.INVALID,
            f"减发后的金额须低于现月保障金额 {_yuan(current)} 元",
            new_amount=f"须低于 {_yuan(current)} 元",
        )
    return amount


def _stop_household(
    *, actor: object, household: Household, last_month: date, reason: str, today: date
) -> None:
    benefit_stop(actor=actor, household=household, last_month=last_month, reason=reason[:200])
    _members_out_of_payment(household)
    household.status = HouseholdStatus.STOPPED
    household.stopped_at, household.stop_reason = today, reason[:300]
    _save(household, ["status", "stopped_at", "stop_reason"])


@dataclass
class _Decision:
    """One decision being applied: its inputs, and the amount owed from ``effective``."""

    actor: object
    change: ChangeReport
    household: Household
    period: BenefitPeriod
    outcome: str
    reasons: str
    effective: date
    today: date
    new_amount: Decimal | None
    is_registry_household: bool
    amount: Decimal
    grace_months: int | None = None


def _apply_unchanged(decision: _Decision) -> None:
    """S4: nothing changed at the review → no adjustment."""


def _apply_amount(decision: _Decision) -> None:
    household, change = decision.household, decision.change
    decision.amount = _decision_amount(
        change=change,
        outcome=decision.outcome,
        new_amount=decision.new_amount,
        current=household.monthly_amount,
        resuming=household.status != HouseholdStatus.IN_PAYMENT,
    )
    proposal = (change.means_test or {}).get("proposal", {})
    benefit_change(
        actor=decision.actor,
        household=household,
        effective_month=decision.effective,
        monthly_amount=decision.amount,
        covered_persons=proposal.get("covered_persons") or decision.period.covered_persons,
        reason=f"{ChangeOutcome(decision.outcome).label}（变更 {change.pk}）",
    )
    household.status = HouseholdStatus.IN_PAYMENT
    _save(household, ["status"])


def _apply_suspend(decision: _Decision) -> None:
    household, period = decision.household, decision.period
    if household.status == HouseholdStatus.SUSPENDED:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该户已暂停发放")
    benefit_change(
        actor=decision.actor,
        household=household,
        effective_month=decision.effective,
        monthly_amount=household.monthly_amount,
        covered_persons=period.covered_persons,
        kind=period.kind,
        is_suspended=True,
        reason=f"暂停发放（变更 {decision.change.pk}）",
    )
    household.status = HouseholdStatus.SUSPENDED
    _save(household, ["status"])


def _apply_stop(decision: _Decision) -> None:
    decision.amount = ZERO
    _stop_household(
        actor=decision.actor,
        household=decision.household,
        last_month=add_months(decision.effective, -1),
        reason=decision.reasons,
        today=decision.today,
    )


def _apply_gradual_exit(decision: _Decision) -> None:
    """The amount in force is kept for the whole grace ([CFG], module doc)."""
    household = decision.household
    if household.status == HouseholdStatus.GRADUAL_EXIT:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该户已在渐退期")
    policy = policy_for(household.area, decision.today)
    months = (
        policy.registry_gradual_exit_months
        if decision.is_registry_household
        else policy.gradual_exit_months
    )
    if not months:
        raise refuse(CoreErrorCode.INVALID, "政策参数未设渐退期，请选择停发", outcome="未设渐退期")
    benefit_change(
        actor=decision.actor,
        household=household,
        effective_month=decision.effective,
        monthly_amount=household.monthly_amount,
        covered_persons=decision.period.covered_persons,
        kind=BenefitKind.GRADUAL_EXIT,
        reason=f"渐退期 {months} 个月（变更 {decision.change.pk}）",
    )
    decision.grace_months = months
    household.status = HouseholdStatus.GRADUAL_EXIT
    household.grace_start, household.grace_months = decision.effective, months
    household.grace_end = add_months(decision.effective, months)
    household.original_amount = household.monthly_amount
    _save(household, ["status", "grace_start", "grace_months", "grace_end", "original_amount"])


_APPLY: dict[str, Callable[[_Decision], None]] = {
    ChangeOutcome.UNCHANGED: _apply_unchanged,
    ChangeOutcome.INCREASE: _apply_amount,
    ChangeOutcome.DECREASE: _apply_amount,
    ChangeOutcome.SUSPEND: _apply_suspend,
    ChangeOutcome.STOP: _apply_stop,
    ChangeOutcome.GRADUAL_EXIT: _apply_gradual_exit,
}


def _check_decidable(*, actor: object, change: ChangeReport, outcome: str, reasons: str) -> None:
    require_capability(actor, change.household.area, Perm.CHANGE_DECIDE, doing="作出变更决定")
    if change.status == ChangeStatus.DECIDED:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该变更已作出决定")
    if change.status != ChangeStatus.ASSESSED:
        raise refuse(CaseErrorCode.STEP_INCOMPLETE, "请先重新核算，再作出决定")
    if getattr(actor, "pk", None) == change.reported_by_id:
        raise refuse(CaseErrorCode.FOUR_EYES, "不能对自己登记的变更作出决定")
    if outcome not in ChangeOutcome.values:
        raise refuse(CoreErrorCode.INVALID, "请选择处理结果", outcome="请选择处理结果")
    if outcome in REASONS_REQUIRED and not reasons:
        label = ChangeOutcome(outcome).label
        raise refuse(
            CaseErrorCode.STEP_INCOMPLETE,
            f"“{label}”须书面说明理由",
            reasons=f"“{label}”须写明理由",
        )


def _effective_month(*, change: ChangeReport, outcome: str, today: date) -> date:
    """The month after the decision; for a planned 特困 termination, not before its planned
    month and only once its notice is over."""
    effective = first_of_next_month(today)
    termination = _termination(change)
    if termination is None:
        return effective
    if outcome not in (ChangeOutcome.STOP, ChangeOutcome.UNCHANGED):
        raise refuse(
            CoreErrorCode.INVALID,
            "拟终止特困供养只能决定“停发（退出）”或“金额不变”（不予终止）",
            outcome="请选择停发或金额不变",
        )
    ends_on = date.fromisoformat(termination["notice_ends_on"])
    if today <= ends_on:
        raise refuse(
            CaseErrorCode.NOTICE_NOT_OVER,
            f"拟终止公示至 {ends_on:%Y年%m月%d日} 止，期满后才能作出决定",
        )
    return max(change.effective_month or effective, effective)


@transaction.atomic
def change_decide(
    *,
    actor: object,
    change_id: int,
    outcome: str,
    reasons: str,
    new_amount: Decimal | None = None,
    is_registry_household: bool = False,
    today: date | None = None,
) -> ChangeReport:
    """Decide an assessed change (county civil affairs; never the person who reported it).

    Takes effect from the month after the decision (``first_of_next_month(today)``):

    - ``increase`` / ``decrease``: ``benefit_change`` to ``new_amount`` (default: the proposal);
      the household is (again) in normal payment;
    - ``suspend``: the open period is continued suspended, status 暂停发放;
    - ``stop``: ``benefit_stop`` after the decision month, status 已停保, members out of payment;
    - ``gradual_exit``: status 渐退期 for ``gradual_exit_months`` (``registry_gradual_exit_months``
      when ``is_registry_household``; the poverty registry will supply it); the amount in force
      is kept ([CFG], see the module doc);
    - ``unchanged``: nothing is changed.

    Reasons are required for decrease, suspend, stop and gradual exit; the notice (告知书) is
    written into ``notice_text``. A planned 特困 termination (``tekun_terminate``) is decided
    here too, after its 7-day notice: ``stop`` from its planned month, or ``unchanged`` to keep
    the person in support.
    """
    today = today or timezone.localdate()
    reasons = (reasons or "").strip()
    change = _locked_change(actor, change_id)
    _check_decidable(actor=actor, change=change, outcome=outcome, reasons=reasons)
    household = _locked_household(change.household_id)
    if household.status not in MANAGED_STATUSES:
        raise refuse(
            CaseErrorCode.CHANGE_STATE, f"该户{household.get_status_display()}，不能作出变更决定"
        )
    effective = _effective_month(change=change, outcome=outcome, today=today)
    period = _open_period(household)
    if period is None:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该户没有正在发放的保障期间")
    before = household.monthly_amount
    resumed = household.status != HouseholdStatus.IN_PAYMENT and outcome in (
        ChangeOutcome.INCREASE,
        ChangeOutcome.DECREASE,
    )
    decision = _Decision(
        actor=actor,
        change=change,
        household=household,
        period=period,
        outcome=outcome,
        reasons=reasons or _default_reasons(change, outcome),
        effective=effective,
        today=today,
        new_amount=new_amount,
        is_registry_household=is_registry_household,
        amount=before,
    )
    _APPLY[outcome](decision)
    if household.check_due is not None:
        household.check_due, household.check_reason = None, ""
        _save(household, ["check_due", "check_reason"])
    change.status, change.outcome = ChangeStatus.DECIDED, outcome
    change.new_amount, change.effective_month = decision.amount, effective
    change.reasons = decision.reasons
    change.decided_on, change.decided_by = today, actor
    change.notice_text = notice_text_for(
        household=household,
        outcome=outcome,
        before=before,
        after=decision.amount,
        effective_month=effective,
        reasons=decision.reasons,
        decided_on=today,
        grace_months=decision.grace_months,
        termination=_termination(change) is not None,
        resumed=resumed,
    )
    _save(
        change,
        [
            "status",
            "outcome",
            "new_amount",
            "effective_month",
            "reasons",
            "decided_on",
            "decided_by",
            "notice_text",
        ],
    )
    record(
        actor=actor,
        action="change.decide",
        obj=change,
        area=household.area,
        changes={
            "household": household.number,
            "outcome": outcome,
            "amount": [before, decision.amount],
            "effective_month": effective,
            "status": household.status,
            "is_registry_household": is_registry_household,
            "reasons": decision.reasons,
        },
    )
    return change


@transaction.atomic
def gradual_exit_finish(
    *, actor: object, household: Household, today: date | None = None
) -> Household:
    """End a gradual exit whose grace is over (``today >= grace_end``): the benefit stops after
    the last grace month, the household is stopped with reason "渐退期满", members leave
    payment. Meant to be run for ``gradual_exits_ending`` (a monthly task could call it)."""
    today = today or timezone.localdate()
    require_capability(actor, household.area, Perm.CHANGE_DECIDE, doing="办理渐退期满停发")
    locked = _locked_household(household.pk)
    if locked.status != HouseholdStatus.GRADUAL_EXIT or locked.grace_end is None:
        raise refuse(CaseErrorCode.CHANGE_STATE, "该户不在渐退期")
    if today < locked.grace_end:
        last = add_months(locked.grace_end, -1)
        raise refuse(
            CaseErrorCode.CHANGE_STATE,
            f"渐退期至 {last:%Y年%m月} 止，{locked.grace_end:%Y年%m月%d日} 起才能办理停发",
        )
    before = locked.monthly_amount
    _stop_household(
        actor=actor,
        household=locked,
        last_month=add_months(locked.grace_end, -1),
        reason=GRACE_OVER_REASON,
        today=today,
    )
    record(
        actor=actor,
        action="household.gradual_exit_finish",
        obj=locked,
        area=locked.area,
        changes={
            "status": [HouseholdStatus.GRADUAL_EXIT, HouseholdStatus.STOPPED],
            "amount": [before, ZERO],
            "grace_end": locked.grace_end,
        },
    )
    for name in ("status", "stopped_at", "stop_reason", "monthly_amount"):
        setattr(household, name, getattr(locked, name))
    return locked


# --- refusal of work ---------------------------------------------------------------------------


def _locked_member(member: HouseholdMember) -> HouseholdMember:
    return (
        HouseholdMember.objects.select_for_update(no_key=True, of=("self",))
        .select_related("person", "household", "household__area")
        .get(pk=member.pk)
    )


@transaction.atomic
def work_refusal_record(
    *,
    actor: object,
    member: HouseholdMember,
    refused_on: date,
    note: str,
    today: date | None = None,
) -> HouseholdMember:
    """Record that an able member refused a suitable job without good reason (S5 art. 45;
    S4 art. 34). At ``work_refusal_limit`` consecutive refusals the member's *own* share is
    taken off from next month: ``share_reduced``, not covered, out of payment, and the household
    amount is recomputed (``change_assess`` keeps taking the share off). In a household that is
    suspended or in gradual exit, the flags are set and the next decision applies them.
    ``work_refusals_reset`` starts the count again when the member takes a job.
    """
    today = today or timezone.localdate()
    household = member.household
    require_capability(actor, household.area, Perm.CHANGE_REPORT, doing="登记拒绝就业")
    household = _locked_household(member.household_id)  # household first, as change_report
    member = _locked_member(member)
    if household.status not in MANAGED_STATUSES:
        raise refuse(
            CaseErrorCode.CHANGE_STATE,
            f"该户{household.get_status_display()}，不在动态管理范围内",
        )
    if member.left_at is not None:
        raise refuse(CaseErrorCode.CHANGE_STATE, f"{member.person.name}已减员")
    if member.labour_capacity in LOST_LABOUR:
        raise refuse(
            CaseErrorCode.CHANGE_STATE,
            f"{member.person.name}为{member.get_labour_capacity_display()}，不适用拒绝就业的规定",
        )
    require_not_future(refused_on, today=today, field="refused_on", label="拒绝就业日期")
    if not note.strip():
        raise refuse(
            CaseErrorCode.STEP_INCOMPLETE,
            "请写明介绍的工作和拒绝的情况",
            note="请写明介绍的工作和拒绝的情况",
        )
    member.work_refusals += 1
    _save(member, ["work_refusals"])
    limit = policy_for(household.area, today).work_refusal_limit
    reduce = bool(limit) and member.work_refusals >= limit and not member.share_reduced
    record(
        actor=actor,
        action="member.work_refusal",
        obj=member,
        area=household.area,
        changes={
            "work_refusals": [member.work_refusals - 1, member.work_refusals],
            "refused_on": refused_on,
            "note": note.strip(),
        },
    )
    if not reduce:
        return member
    member.share_reduced, member.is_covered, member.in_payment = True, False, False
    _save(member, ["share_reduced", "is_covered", "in_payment"])
    reason = (
        f"{member.person.name}无正当理由连续 {member.work_refusals} 次拒绝接受介绍的工作，"
        "减发其本人保障金（社会救助暂行办法第四十五条）"
    )
    before = household.monthly_amount
    after = before
    if household.status == HouseholdStatus.IN_PAYMENT:
        result = means_test_for_household(household=household, on=today)
        after, covered, _lines = _share_reduced_amount(household=household, result=result, on=today)
        benefit_change(
            actor=actor,
            household=household,
            effective_month=first_of_next_month(today),
            monthly_amount=after,
            covered_persons=covered,
            reason=reason[:200],
        )
    record(
        actor=actor,
        action="member.share_reduce",
        obj=member,
        area=household.area,
        changes={
            "share_reduced": [False, True],
            "household_amount": [before, after],
            "effective_month": first_of_next_month(today),
            "reason": reason,
        },
    )
    return member


@transaction.atomic
def work_refusals_reset(*, actor: object, member: HouseholdMember, note: str) -> HouseholdMember:
    """The member took a job: refusals are no longer consecutive, so the count starts again.
    A share already reduced is restored only by a change decision."""
    require_capability(actor, member.household.area, Perm.CHANGE_REPORT, doing="登记就业情况")
    member = _locked_member(member)
    if member.work_refusals == 0:
        return member
    before = member.work_refusals
    member.work_refusals = 0
    _save(member, ["work_refusals"])
    record(
        actor=actor,
        action="member.work_refusals_reset",
        obj=member,
        area=member.household.area,
        changes={"work_refusals": [before, 0], "note": note.strip()},
    )
    return member


# --- reads (scoped, style B.5) -----------------------------------------------------------------


def change_queryset(*, actor: object, perm: str = Perm.CASE_VIEW) -> QuerySet[ChangeReport]:
    return scope_to_actor(
        ChangeReport.objects.select_related(
            "household", "household__area", "household__area__parent", "reported_by", "decided_by"
        ),
        actor=actor,
        perm=perm,
        area_field="household__area",
    )


def access_change_by_id(actor: object, change_id: int) -> ChangeReport:
    """The change if the actor may see its household; otherwise 404."""
    change = change_queryset(actor=actor).filter(pk=change_id).first()
    if change is None:
        raise Http404("变更报告不存在或不在您的管辖范围内")
    return change


def changes_pending(*, actor: object) -> QuerySet[ChangeReport]:
    """Changes awaiting re-assessment or a decision, oldest first."""
    return (
        change_queryset(actor=actor)
        .filter(status__in=(ChangeStatus.REPORTED, ChangeStatus.ASSESSED))
        .order_by("reported_on", "id")
    )


def households_due_for_check(*, actor: object) -> QuerySet[Household]:
    """Households with a pending check (e.g. within 3 months of a death), soonest first."""
    return (
        household_queryset(actor=actor)
        .filter(check_due__isnull=False, status__in=MANAGED_STATUSES)
        .order_by("check_due", "id")
    )


def gradual_exits_ending(*, actor: object, today: date | None = None) -> QuerySet[Household]:
    """Households whose gradual exit ends by the end of this month (or has already ended)."""
    today = today or timezone.localdate()
    return (
        household_queryset(actor=actor)
        .filter(status=HouseholdStatus.GRADUAL_EXIT, grace_end__lte=first_of_next_month(today))
        .order_by("grace_end", "id")
    )
