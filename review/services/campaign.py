"""The annual review campaign (年度复核): opening, and the work on each household.

Opening (``campaign_open``) is set-based: one query finds the county's dibao/特困 households in
payment (with the registry household they share a member with, if any), one the registry
households not yet out of poverty that no dibao household links to, then the township lists and
the items are bulk-inserted. Nothing is written per row.

Each item is worked by the township and decided by the county:

- ``review_item_visit`` — a home visit (``cases.services.management.home_visit_record`` for a
  dibao household; a registry household has no cases household, so the visit is kept on the item);
- ``review_item_request_verification`` — a fresh economic verification (逢救必核,
  ``poverty.services.verification.verification_request_create``);
- ``review_item_means_test`` — the means test re-run with the standards in force, through a
  change report (``change_report`` + ``change_assess``), so the decision is the cases decision;
- ``review_item_propose`` — the township's proposed outcome;
- ``review_item_decide`` — the county's decision, which calls the cases/poverty services
  (``OUTCOME_RULES``): the amount changes from the next month (``change_decide``), gradual exit,
  stop, or a referral to the poverty office (``referral_create``). A dibao decision needs the
  visit, the means test and a complete verification (逢救必核); nobody decides an item they worked
  on or proposed (four eyes).
- ``review_items_decide_bulk`` / ``review_items_propose_bulk`` — many items of one township list
  with an outcome that needs nothing per household (``BULK_OUTCOMES``): the same checks and writes
  per item, all or nothing, the list and then the items locked in id order; items that already
  have the outcome are left alone (a repeated request reports them as 已处理).

Items of a list that is confirmed or signed cannot be changed: the county reopens it first
(``review.services.campaign_signoff``).
"""

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from cases.choices import (
    PAYING_STATUSES,
    ChangeKind,
    ChangeOutcome,
    ChangeStatus,
    HouseholdStatus,
    Programme,
)
from cases.models import Household, HouseholdMember
from cases.policy import policy_for
from cases.services.management import change_assess, change_decide, change_report, home_visit_record
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.core.workdays import add_months
from poverty.choices import PovertyStatus, ReferralDirection
from poverty.models import RegistryHousehold, RegistryMember
from poverty.services.referrals import referral_create
from poverty.services.verification import (
    VerificationStatus,
    household_verification_status,
    households_verification_status,
    verification_request_create,
)
from review.models import (
    ItemKind,
    ItemOutcome,
    ListStatus,
    ReviewCampaign,
    ReviewItem,
    ReviewList,
    ReviewPolicy,
)

BATCH_SIZE = 1000  # items per INSERT (a few hundred bytes each)
DEFAULT_OPENS_MONTH = 10  # 172号: "从每年第四季度开始"
DEFAULT_OPENS_DAY = 1
DEFAULT_DURATION_MONTHS = 3  # "利用三个月的时间"
NOT_OUT_OF_POVERTY = (PovertyStatus.NOT_OUT, PovertyStatus.RETURNED)


class ReviewErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    CONFLICT = "conflict"
    CAMPAIGN_EXISTS = "campaign_exists"
    NOT_YET_OPEN = "not_yet_open"
    NOTHING_TO_REVIEW = "nothing_to_review"
    LIST_LOCKED = "list_locked"
    STEP_INCOMPLETE = "step_incomplete"
    OUTCOME_NOT_ALLOWED = "outcome_not_allowed"
    FOUR_EYES = "four_eyes"
    INVALID_TRANSITION = "invalid_transition"


_STATUS = {
    ReviewErrorCode.NOT_FOUND: 404,
    ReviewErrorCode.PERMISSION_DENIED: 403,
    ReviewErrorCode.INVALID: 400,
    ReviewErrorCode.CONFLICT: 409,
    ReviewErrorCode.CAMPAIGN_EXISTS: 409,
    ReviewErrorCode.INVALID_TRANSITION: 409,
}


def refuse(code: ReviewErrorCode, message: str, **fields: str) -> DomainError:
    """A refusal with field errors (``{"field": ["message"]}``) the forms show in place."""
    return DomainError(
        code=code,
        message=message,
        fields={name: [text] for name, text in fields.items()},
        status=_STATUS.get(code),
    )


def require_area(actor: object, area: Area, perm: str, *, doing: str) -> None:
    """``perm`` over ``area``: 404 for whoever may not even see the campaign there, 403 (saying
    what was refused) for a viewer who may not do this."""
    if actor_covers_area(actor, area, perm=perm):
        return
    if actor_covers_area(actor, area, perm=Perm.REVIEW_VIEW):
        raise refuse(ReviewErrorCode.PERMISSION_DENIED, f"您的角色不能{doing}")
    raise refuse(ReviewErrorCode.NOT_FOUND, "年度复核不存在或不在您的管辖范围内")


# --- the review period (policy data) -----------------------------------------------------------


@dataclass(frozen=True)
class ReviewPeriod:
    opens_on: date
    due_on: date  # the last day of the period
    note: str


def _area_chain(area: Area) -> list[str]:
    return list(reversed([code for code in area.path.split("/") if code]))


def review_period_for(*, county: Area, year: int) -> ReviewPeriod:
    """The period of ``year``'s review in ``county``: the most specific ``ReviewPolicy`` row in
    force on 1 January of the year (county, then league, then region), else 172号's default —
    1 October for three months, so due on 31 December."""
    chain = _area_chain(county)
    rows = list(
        ReviewPolicy.objects.filter(area__code__in=chain, effective_from__lte=date(year, 12, 31))
        .select_related("area")
        .order_by("-effective_from")
    )
    by_code: dict[str, ReviewPolicy] = {}
    for row in rows:
        by_code.setdefault(row.area.code, row)
    policy = next((by_code[code] for code in chain if code in by_code), None)
    if policy is None:
        month, day, months = DEFAULT_OPENS_MONTH, DEFAULT_OPENS_DAY, DEFAULT_DURATION_MONTHS
        note = "默认：每年第四季度开始，三个月（内政办发〔2016〕172号）"
    else:
        month, day, months = policy.opens_month, policy.opens_day, policy.duration_months
        note = f"{policy.area.name}年度复核参数（{policy.effective_from:%Y-%m-%d} 起）"
        if policy.note:
            note += f"：{policy.note}"
    opens_on = date(year, month, day)
    end_month = add_months(opens_on, months)
    last_day = calendar.monthrange(end_month.year, end_month.month)[1]
    due_on = end_month.replace(day=min(day, last_day)) - timedelta(days=1)
    return ReviewPeriod(opens_on=opens_on, due_on=due_on, note=note[:300])


# --- opening -----------------------------------------------------------------------------------


def _township_of(county: Area) -> dict[int, int]:
    """area id → township id for every township and village of the county."""
    mapping: dict[int, int] = {}
    for pk, level, parent_id in Area.objects.filter(
        path__startswith=county.path, level__in=(AreaLevel.TOWNSHIP, AreaLevel.VILLAGE)
    ).values_list("pk", "level", "parent_id"):
        mapping[pk] = pk if level == AreaLevel.TOWNSHIP else parent_id
    return mapping


def _linked_registry(county: Area) -> Subquery:
    """The first in-registry household of the county sharing a current member with the outer
    dibao household (lowest id: a household linked to two is reviewed with the first)."""
    members = HouseholdMember.objects.filter(
        household_id=OuterRef(OuterRef("pk")), left_at__isnull=True
    ).values("person_id")
    return Subquery(
        RegistryMember.objects.filter(
            household__county=county, household__in_registry=True, person_id__in=members
        )
        .order_by("household_id")
        .values("household_id")[:1]
    )


@transaction.atomic
def campaign_open(
    *, actor: object, county: Area, year: int, today: date | None = None
) -> ReviewCampaign:
    """Open ``year``'s review in ``county`` and generate the township lists: every dibao/特困
    household in payment (including gradual exit) and every registry household of the county's
    current registry not yet out of poverty (未脱贫/返贫) that is not linked to one of them."""
    today = today or timezone.localdate()
    if county.level != AreaLevel.COUNTY:
        raise refuse(ReviewErrorCode.INVALID, "请选择旗县", county="请选择旗县")
    require_area(actor, county, Perm.REVIEW_MANAGE, doing="发起年度复核")
    if year < 2016 or year > today.year:
        raise refuse(ReviewErrorCode.INVALID, "复核年度无效", year=f"请填写 2016–{today.year}")
    period = review_period_for(county=county, year=year)
    if today < period.opens_on:
        raise refuse(
            ReviewErrorCode.NOT_YET_OPEN,
            f"{year} 年度复核自 {period.opens_on:%Y年%m月%d日} 起才能发起",
            year="尚未到复核开始日期",
        )
    Area.objects.select_for_update(no_key=True).filter(pk=county.pk).first()
    if ReviewCampaign.objects.filter(county=county, year=year).exists():
        raise refuse(ReviewErrorCode.CAMPAIGN_EXISTS, f"{county.name} {year} 年度复核已发起")

    township_of = _township_of(county)
    dibao_rows = list(
        Household.objects.filter(county=county, status__in=PAYING_STATUSES)
        .annotate(linked=_linked_registry(county))
        .order_by("area__code", "number")
        .values_list("pk", "area_id", "programme", "monthly_amount", "linked")
    )
    linked_ids = {row[4] for row in dibao_rows if row[4] is not None}
    registry_rows = [
        row
        for row in RegistryHousehold.objects.filter(
            county=county, in_registry=True, poverty_status__in=NOT_OUT_OF_POVERTY
        )
        .order_by("area__code", "number")
        .values_list("pk", "area_id")
        if row[0] not in linked_ids
    ]
    townships = sorted(
        (
            {township_of.get(row[1]) for row in dibao_rows}
            | {township_of.get(row[1]) for row in registry_rows}
        )
        - {None}
    )
    if not townships:
        raise refuse(
            ReviewErrorCode.NOTHING_TO_REVIEW,
            f"{county.name}没有在保的低保、特困户，也没有未脱贫的建档立卡户，无需发起复核",
        )

    campaign = ReviewCampaign.objects.create(
        county=county,
        year=year,
        opens_on=period.opens_on,
        due_on=period.due_on,
        opened_by=actor,
        policy_note=period.note,
    )
    lists = {
        row.township_id: row
        for row in ReviewList.objects.bulk_create(
            [ReviewList(campaign=campaign, township_id=pk) for pk in townships]
        )
    }
    if any(row.pk is None for row in lists.values()):  # backends without RETURNING
        lists = {row.township_id: row for row in ReviewList.objects.filter(campaign=campaign)}

    def dibao_items():
        for pk, area_id, programme, amount, linked in dibao_rows:
            yield ReviewItem(
                campaign=campaign,
                review_list=lists[township_of[area_id]],
                area_id=area_id,
                kind=ItemKind.TEKUN if programme == Programme.TEKUN else ItemKind.DIBAO,
                dibao_household_id=pk,
                registry_household_id=linked,
                in_registry=linked is not None,
                amount_at_opening=amount,
            )

    def registry_items():
        for pk, area_id in registry_rows:
            yield ReviewItem(
                campaign=campaign,
                review_list=lists[township_of[area_id]],
                area_id=area_id,
                kind=ItemKind.REGISTRY,
                registry_household_id=pk,
                in_registry=True,
            )

    for generator in (dibao_items(), registry_items()):
        batch: list[ReviewItem] = []
        for item in generator:
            batch.append(item)
            if len(batch) >= BATCH_SIZE:
                ReviewItem.objects.bulk_create(batch)
                batch = []
        if batch:
            ReviewItem.objects.bulk_create(batch)

    record(
        actor=actor,
        action="review_campaign.open",
        obj=campaign,
        area=county,
        changes={
            "year": year,
            "opens_on": period.opens_on,
            "due_on": period.due_on,
            "townships": len(townships),
            "dibao_items": sum(1 for row in dibao_rows if row[2] == Programme.DIBAO),
            "tekun_items": sum(1 for row in dibao_rows if row[2] == Programme.TEKUN),
            "registry_items": len(registry_rows),
            "linked_to_registry": len(linked_ids),
        },
    )
    return campaign


# --- the work on an item -----------------------------------------------------------------------


def _locked_item(actor: object, item_id: int) -> ReviewItem:
    """The item, locked, then read with its relations: reading after the lock is taken sees
    what a transaction that held it committed (its change too; a locking read with joins
    would give the joined rows as they were before the wait)."""
    list(ReviewItem.objects.select_for_update(no_key=True).filter(pk=item_id).values_list("pk"))
    item = (
        ReviewItem.objects.select_related(
            "campaign",
            "campaign__county",
            "review_list",
            "area",
            "dibao_household",
            "dibao_household__area",
            "dibao_household__county",
            "registry_household",
            "registry_household__area",
            "change",
        )
        .filter(pk=item_id)
        .first()
    )
    if item is None or not actor_covers_area(actor, item.area, perm=Perm.REVIEW_VIEW):
        raise refuse(ReviewErrorCode.NOT_FOUND, "复核对象不存在或不在您的管辖范围内")
    return item


def _require_list_open(item: ReviewItem) -> None:
    if item.review_list.status != ListStatus.OPEN:
        raise refuse(
            ReviewErrorCode.LIST_LOCKED,
            f"{item.review_list.township.name}复核名单{item.review_list.get_status_display()}，"
            "不能再修改；确需修改的，由旗县民政部门说明原因后重新打开",
        )


def _require_dibao(item: ReviewItem, doing: str) -> Household:
    if item.dibao_household is None:
        raise refuse(
            ReviewErrorCode.INVALID,
            f"建档立卡户（未享受低保、特困）不能{doing}，请登记走访后作出复核结果",
        )
    return item.dibao_household


def _touch(item: ReviewItem, actor: object, fields: list[str]) -> None:
    item.worked_by = actor
    item.save(update_fields=[*fields, "worked_by", "updated_at"])


@transaction.atomic
def review_item_visit(
    *,
    actor: object,
    item_id: int,
    visited_on: date,
    visitors: list[str],
    findings: str,
    change_found: bool = False,
    today: date | None = None,
) -> ReviewItem:
    """入户走访 of the household under review (70号: regular home visits)."""
    today = today or timezone.localdate()
    item = _locked_item(actor, item_id)
    require_area(actor, item.area, Perm.CHANGE_REPORT, doing="登记复核走访")
    _require_list_open(item)
    if item.dibao_household is not None:
        visit = home_visit_record(
            actor=actor,
            household=item.dibao_household,
            visited_on=visited_on,
            visitors=visitors,
            findings=findings,
            change_found=change_found,
            today=today,
        )
        item.home_visit = visit
    else:
        names = [name.strip() for name in visitors if name and name.strip()]
        problems: dict[str, list[str]] = {}
        if not names:
            problems["visitors"] = ["请填写走访人员（至少 1 人）"]
        if not findings.strip():
            problems["findings"] = ["请填写走访情况"]
        if visited_on is None or visited_on > today:
            problems["visited_on"] = ["请填写走访日期（不能晚于今天）"]
        if problems:
            raise DomainError(
                code=ReviewErrorCode.STEP_INCOMPLETE, message="走访记录不完整", fields=problems
            )
    item.visited_on, item.visit_findings = visited_on, findings.strip()
    _touch(item, actor, ["visited_on", "visit_findings", "home_visit"])
    record(
        actor=actor,
        action="review_item.visit",
        obj=item,
        area=item.area,
        changes={"visited_on": visited_on, "change_found": change_found},
    )
    return item


@transaction.atomic
def review_item_request_verification(
    *,
    actor: object,
    item_id: int,
    authorisation_reference: str,
    items: list[str] | None = None,
    requested_on: date | None = None,
) -> ReviewItem:
    """A fresh economic verification request (逢救必核): the policy's required items unless
    others are chosen; needs the household's authorisation (无委托不核对)."""
    requested_on = requested_on or timezone.localdate()
    item = _locked_item(actor, item_id)
    household = _require_dibao(item, "申请家庭经济状况核对")
    require_area(actor, item.area, Perm.VERIFICATION_REQUEST, doing="申请家庭经济状况核对")
    _require_list_open(item)
    wanted = items or list(policy_for(household.area, requested_on).verification_required_items)
    request = verification_request_create(
        actor=actor,
        household=household,
        authorisation_reference=authorisation_reference,
        items=wanted,
        requested_on=requested_on,
    )
    item.verification_request = request
    _touch(item, actor, ["verification_request"])
    return item


@transaction.atomic
def review_item_means_test(*, actor: object, item_id: int, today: date | None = None) -> ReviewItem:
    """Re-run the means test with the standards in force on ``today`` through a change report of
    the household (reported once per item, re-assessed on later runs); the proposal of the cases
    service is kept on the item."""
    today = today or timezone.localdate()
    item = _locked_item(actor, item_id)
    household = _require_dibao(item, "重新核算")
    require_area(actor, item.area, Perm.CHANGE_REPORT, doing="复核重新核算")
    _require_list_open(item)
    change = item.change
    if change is None or change.status == ChangeStatus.DECIDED:
        change = change_report(
            actor=actor,
            household=household,
            kind=ChangeKind.OTHER,
            description=f"{item.campaign.year} 年度复核：按现行标准重新核算家庭经济状况",
            reported_on=today,
            today=today,
        )
    change = change_assess(actor=actor, change_id=change.pk, today=today)
    item.change = change
    item.means_test = change.means_test
    item.means_tested_on = today
    _touch(item, actor, ["change", "means_test", "means_tested_on"])
    record(
        actor=actor,
        action="review_item.means_test",
        obj=item,
        area=item.area,
        changes={
            "change": change.pk,
            "eligible": change.means_test.get("eligible"),
            "proposal": change.means_test.get("proposal", {}).get("outcome"),
        },
    )
    return item


@dataclass(frozen=True)
class OutcomeRule:
    """What an outcome means: for which kinds of item, and what it does in cases/poverty."""

    kinds: tuple[str, ...]
    apply: Callable[["_Decision"], None]
    needs_registry: bool | None = None  # True: only linked items; False: only unlinked


@dataclass
class _Decision:
    actor: object
    item: ReviewItem
    outcome: str
    reasons: str
    new_amount: Decimal | None
    today: date


def _decide_change(decision: _Decision, outcome: str, new_amount: Decimal | None = None) -> None:
    item = decision.item
    change = item.change
    if change is None or change.status != ChangeStatus.ASSESSED:
        raise refuse(
            ReviewErrorCode.STEP_INCOMPLETE,
            "请先按现行标准重新核算（复核核算），再作出复核结果",
        )
    decided = change_decide(
        actor=decision.actor,
        change_id=change.pk,
        outcome=outcome,
        reasons=decision.reasons,
        new_amount=new_amount,
        is_registry_household=item.in_registry,
        today=decision.today,
    )
    item.change = decided
    item.new_amount = decided.new_amount
    item.effective_month = decided.effective_month
    item.decision_note = decided.reasons


def _apply_continue(decision: _Decision) -> None:
    if decision.item.dibao_household is not None:
        _decide_change(decision, ChangeOutcome.UNCHANGED)


def _apply_adjust(decision: _Decision) -> None:
    household = decision.item.dibao_household
    amount = decision.new_amount
    if amount is None or amount <= 0:
        raise refuse(
            ReviewErrorCode.STEP_INCOMPLETE,
            "调整保障金额须填写调整后的月保障金额（大于 0）",
            new_amount="须大于 0",
        )
    current = Household.objects.values_list("monthly_amount", flat=True).get(pk=household.pk)
    resuming = household.status != HouseholdStatus.IN_PAYMENT
    if amount == current and not resuming:
        raise refuse(
            ReviewErrorCode.INVALID,
            f"调整后的金额与现月保障金额 {current} 元相同，请选择“继续保障”",
            new_amount="金额未变化",
        )
    outcome = ChangeOutcome.INCREASE if amount >= current else ChangeOutcome.DECREASE
    _decide_change(decision, outcome, amount)


def _apply_gradual_exit(decision: _Decision) -> None:
    _decide_change(decision, ChangeOutcome.GRADUAL_EXIT)


def _apply_stop(decision: _Decision) -> None:
    _decide_change(decision, ChangeOutcome.STOP)


def _apply_propose_registry(decision: _Decision) -> None:
    """应扶尽扶: the dibao side continues unchanged; the household goes to the poverty office."""
    _decide_change(decision, ChangeOutcome.UNCHANGED)
    item = decision.item
    item.referral = referral_create(
        actor=decision.actor,
        direction=ReferralDirection.PROPOSE_REGISTRY,
        reason=f"{item.campaign.year} 年度复核建议纳入建档立卡：{decision.reasons}",
        household=item.dibao_household,
    )


def _apply_propose_registry_exit(decision: _Decision) -> None:
    """应退则退 on the registry side: a referral to the poverty office, which decides the exit;
    a dibao household linked to the registry household continues unchanged."""
    item = decision.item
    if item.dibao_household is not None:
        _decide_change(decision, ChangeOutcome.UNCHANGED)
    item.referral = referral_create(
        actor=decision.actor,
        direction=ReferralDirection.TO_POVERTY_OFFICE,
        reason=f"{item.campaign.year} 年度复核建议退出建档立卡：{decision.reasons}",
        household=item.dibao_household,
        registry_household=item.registry_household,
    )


_DIBAO_KINDS = (ItemKind.DIBAO, ItemKind.TEKUN)
OUTCOME_RULES: dict[str, OutcomeRule] = {
    ItemOutcome.CONTINUE: OutcomeRule((*_DIBAO_KINDS, ItemKind.REGISTRY), _apply_continue),
    ItemOutcome.ADJUST_AMOUNT: OutcomeRule(_DIBAO_KINDS, _apply_adjust),
    ItemOutcome.GRADUAL_EXIT: OutcomeRule(_DIBAO_KINDS, _apply_gradual_exit),
    ItemOutcome.STOP: OutcomeRule(_DIBAO_KINDS, _apply_stop),
    ItemOutcome.PROPOSE_REGISTRY: OutcomeRule(
        (ItemKind.DIBAO,), _apply_propose_registry, needs_registry=False
    ),
    ItemOutcome.PROPOSE_REGISTRY_EXIT: OutcomeRule(
        (*_DIBAO_KINDS, ItemKind.REGISTRY), _apply_propose_registry_exit, needs_registry=True
    ),
}
# Outcomes that need reasons (S4 art. 32: reductions and stops are notified with reasons).
REASONS_REQUIRED = (
    ItemOutcome.ADJUST_AMOUNT,
    ItemOutcome.GRADUAL_EXIT,
    ItemOutcome.STOP,
    ItemOutcome.PROPOSE_REGISTRY,
    ItemOutcome.PROPOSE_REGISTRY_EXIT,
)


def outcomes_for(item: ReviewItem) -> list[tuple[str, str]]:
    """The outcomes possible for this item (value, label), in table order."""
    return [
        (outcome, ItemOutcome(outcome).label)
        for outcome, rule in OUTCOME_RULES.items()
        if item.kind in rule.kinds
        and (rule.needs_registry is None or rule.needs_registry == item.in_registry)
    ]


def _check_outcome(item: ReviewItem, outcome: str) -> None:
    if outcome not in OUTCOME_RULES:
        raise refuse(ReviewErrorCode.INVALID, "请选择复核结果", outcome="请选择复核结果")
    if outcome not in dict(outcomes_for(item)):
        label = ItemOutcome(outcome).label
        raise refuse(
            ReviewErrorCode.OUTCOME_NOT_ALLOWED,
            f"{item.get_kind_display()}{'（已在建档立卡台账）' if item.in_registry else ''}"
            f"不能选择“{label}”",
            outcome="该户不能选择此结果",
        )


def _check_may_propose(actor: object, item: ReviewItem, outcome: str) -> None:
    require_area(actor, item.area, Perm.CHANGE_REPORT, doing="提出复核建议")
    _require_list_open(item)
    _check_outcome(item, outcome)


def _apply_proposal(actor: object, item: ReviewItem, outcome: str, note: str) -> None:
    item.proposed_outcome, item.proposal_note = outcome, note.strip()[:2000]
    item.proposed_by = actor
    item.save(update_fields=["proposed_outcome", "proposal_note", "proposed_by", "updated_at"])
    record(
        actor=actor,
        action="review_item.propose",
        obj=item,
        area=item.area,
        changes={"proposed_outcome": outcome, "note": item.proposal_note},
    )


@transaction.atomic
def review_item_propose(*, actor: object, item_id: int, outcome: str, note: str = "") -> ReviewItem:
    """The township's proposed outcome (after the visit; for a dibao household, after the
    means test)."""
    item = _locked_item(actor, item_id)
    _check_may_propose(actor, item, outcome)
    _require_work_done(item, check_verification=False)
    _apply_proposal(actor, item, outcome, note)
    return item


def _require_work_done(
    item: ReviewItem,
    *,
    check_verification: bool,
    on: date | None = None,
    verification: VerificationStatus | None = None,
) -> None:
    """The visit, the means test (dibao) and, when asked, a complete verification (逢救必核).
    ``verification``: the household's status when the caller computed it for many at once."""
    problems: list[str] = []
    if item.visited_on is None:
        problems.append("尚未登记入户走访")
    if item.dibao_household is not None and not item.means_test:
        problems.append("尚未按现行标准重新核算")
    if check_verification and item.dibao_household is not None:
        status = verification or household_verification_status(
            household=item.dibao_household, on=on or timezone.localdate()
        )
        problems += [f"逢救必核：{problem}" for problem in status.problems[:5]]
        if len(status.problems) > 5:
            problems.append(f"逢救必核：另有 {len(status.problems) - 5} 项核对未完成")
    if problems:
        raise DomainError(
            code=ReviewErrorCode.STEP_INCOMPLETE,
            message="复核工作未完成：" + "；".join(problems),
            fields={"outcome": problems},
        )


def _check_may_decide(actor: object, item: ReviewItem, outcome: str) -> None:
    """Who may decide this item at all: the county over its area, on an open list, an outcome
    of its kind, and not whoever worked on or proposed it (four eyes)."""
    require_area(actor, item.area, Perm.CHANGE_DECIDE, doing="作出复核结果")
    _require_list_open(item)
    _check_outcome(item, outcome)
    actor_pk = getattr(actor, "pk", None)
    if actor_pk is not None and actor_pk in (item.worked_by_id, item.proposed_by_id):
        raise refuse(ReviewErrorCode.FOUR_EYES, "不能对自己经办或提出建议的复核对象作出结果")


def _is_decided(item: ReviewItem) -> bool:
    """An outcome stands: for a dibao household, its change is decided too (a means test re-run
    after the decision opens a new change, and the item may be decided again)."""
    if not item.outcome:
        return False
    if item.dibao_household is None:
        return True
    return item.change is not None and item.change.status == ChangeStatus.DECIDED


def _check_ready_to_decide(
    item: ReviewItem,
    outcome: str,
    reasons: str,
    *,
    today: date,
    verification: VerificationStatus | None = None,
) -> None:
    if outcome in REASONS_REQUIRED and not reasons:
        raise refuse(
            ReviewErrorCode.STEP_INCOMPLETE,
            f"“{ItemOutcome(outcome).label}”须写明理由",
            reasons="请写明理由",
        )
    _require_work_done(item, check_verification=True, on=today, verification=verification)


def _apply_decision(
    actor: object,
    item: ReviewItem,
    outcome: str,
    reasons: str,
    *,
    new_amount: Decimal | None,
    today: date,
) -> None:
    """Apply a checked decision through the cases/poverty services, save and audit the item."""
    decision = _Decision(
        actor=actor,
        item=item,
        outcome=outcome,
        reasons=reasons or "复核后家庭人口、收入和财产状况无变化，继续保障",
        new_amount=new_amount,
        today=today,
    )
    item.new_amount, item.effective_month, item.referral = None, None, None
    item.decision_note = decision.reasons
    try:
        with transaction.atomic():
            OUTCOME_RULES[outcome].apply(decision)
    except IntegrityError as exc:  # a unique constraint under a race
        raise refuse(ReviewErrorCode.CONFLICT, "该户正在被他人处理，请刷新后重试") from exc
    item.outcome = outcome
    item.decided_by, item.decided_at = actor, timezone.now()
    item.save(
        update_fields=[
            "outcome",
            "new_amount",
            "effective_month",
            "decision_note",
            "referral",
            "change",
            "decided_by",
            "decided_at",
            "updated_at",
        ]
    )
    record(
        actor=actor,
        action="review_item.decide",
        obj=item,
        area=item.area,
        changes={
            "outcome": outcome,
            "new_amount": item.new_amount,
            "effective_month": item.effective_month,
            "referral": item.referral_id,
            "change": item.change_id,
            "reasons": item.decision_note,
        },
    )


@transaction.atomic
def review_item_decide(
    *,
    actor: object,
    item_id: int,
    outcome: str,
    reasons: str = "",
    new_amount: Decimal | None = None,
    today: date | None = None,
) -> ReviewItem:
    """The county's decision on an item (county civil affairs), applied through the cases and
    poverty services (``OUTCOME_RULES``). Needs the visit, the means test and, for a dibao
    household, a complete verification (逢救必核). Whoever worked on or proposed the item may not
    decide it."""
    today = today or timezone.localdate()
    reasons = (reasons or "").strip()
    item = _locked_item(actor, item_id)
    _check_may_decide(actor, item, outcome)
    if _is_decided(item):
        if item.dibao_household is not None:
            raise refuse(
                ReviewErrorCode.CONFLICT,
                f"该户已作出复核结果“{item.get_outcome_display()}”；如需改变，请先重新核算",
            )
        if item.outcome == outcome:
            return item  # the same decision submitted twice
    _check_ready_to_decide(item, outcome, reasons, today=today)
    _apply_decision(actor, item, outcome, reasons, new_amount=new_amount, today=today)
    return item


# --- bulk proposal and decision on a township list -----------------------------------------------

# Outcomes a list may be decided (or proposed) with in bulk: those that need nothing per household
# (no amount, no reasons of its own, no referral). The others are decided household by household.
BULK_OUTCOMES = (ItemOutcome.CONTINUE,)
BULK_MAX_ITEMS = 500  # per request: the rows are locked for the whole transaction
BULK_NAMED = 20  # households named in a refusal (the rest are counted)


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk request would do: ``ready`` items get the outcome, ``done`` already have it
    (已处理, nothing to do), ``blocked`` (item, reason) refuse the whole request."""

    ready: list[ReviewItem]
    done: list[ReviewItem]
    blocked: list[tuple[ReviewItem, str]]


class BulkAction(StrEnum):
    DECIDE = "decide"
    PROPOSE = "propose"


BULK_LABELS = {BulkAction.DECIDE: "批量作出复核结果", BulkAction.PROPOSE: "批量提出复核建议"}
BULK_PERMS = {BulkAction.DECIDE: Perm.CHANGE_DECIDE, BulkAction.PROPOSE: Perm.CHANGE_REPORT}


def _item_rows() -> QuerySet[ReviewItem]:
    return ReviewItem.objects.select_related(
        "campaign",
        "area",
        "dibao_household",
        "dibao_household__area",
        "dibao_household__county",
        "registry_household",
        "registry_household__area",
        "change",
    )


def _bulk_list(actor: object, list_id: int, *, lock: bool) -> ReviewList:
    rows = ReviewList.objects.select_related("township", "campaign")
    if lock:
        rows = rows.select_for_update(of=("self",), no_key=True)
    review_list = rows.filter(pk=list_id).first()
    if review_list is None or not actor_covers_area(
        actor, review_list.township, perm=Perm.REVIEW_VIEW
    ):
        raise refuse(ReviewErrorCode.NOT_FOUND, "复核名单不存在或不在您的管辖范围内")
    return review_list


def _bulk_items(
    actor: object, review_list: ReviewList, item_ids: Iterable[int], *, lock: bool
) -> list[ReviewItem]:
    """The chosen items of the list, in id order; any id that is not an item of this list the
    actor may see refuses the request (the ids are named: they came from the request)."""
    ids = sorted(set(item_ids))
    if not ids:
        raise refuse(ReviewErrorCode.INVALID, "请勾选要批量办理的复核对象", items="请至少勾选 1 户")
    if len(ids) > BULK_MAX_ITEMS:
        raise refuse(
            ReviewErrorCode.INVALID,
            f"一次最多批量办理 {BULK_MAX_ITEMS} 户，请分批办理",
            items=f"最多 {BULK_MAX_ITEMS} 户",
        )
    of_list = ReviewItem.objects.filter(review_list=review_list, pk__in=ids)
    if lock:
        # Row locks in id order, taken before anything is read: two bulk requests, or a bulk
        # request and a single decision, wait for each other instead of deadlocking. The rows
        # are read again after the locks, so what another transaction committed meanwhile
        # (its item and its change) is what is checked.
        list(of_list.select_for_update(no_key=True).order_by("pk").values_list("pk", flat=True))
    items = [
        item
        for item in _item_rows().filter(review_list=review_list, pk__in=ids).order_by("pk")
        if actor_covers_area(actor, item.area, perm=Perm.REVIEW_VIEW)
    ]
    missing = sorted(set(ids) - {item.pk for item in items})
    if missing:
        shown = "、".join(str(pk) for pk in missing[:BULK_NAMED])
        more = f"等 {len(missing)} 个" if len(missing) > BULK_NAMED else ""
        raise refuse(
            ReviewErrorCode.NOT_FOUND,
            f"所选复核对象（ID {shown}{more}）不存在或不在本名单、您的管辖范围内，本次未作任何更改",
        )
    for item in items:
        item.review_list = review_list  # the (locked) list: its status and township are read
    return items


def _verification_by_household(items: list[ReviewItem], on: date) -> dict[int, VerificationStatus]:
    """household id → the verification status (逢救必核) of the dibao households of ``items``
    at once: a fixed number of queries plus one policy lookup per village."""
    households = {item.dibao_household_id: item.dibao_household for item in items}
    households.pop(None, None)
    return households_verification_status(households=households.values(), on=on)


def _plan(
    actor: object,
    action: BulkAction,
    items: list[ReviewItem],
    outcome: str,
    note: str,
    *,
    today: date,
) -> BulkPlan:
    """The checks of ``review_item_decide`` / ``review_item_propose`` on each item, in their
    order, without writing; an item that already has the outcome is ``done``. A bulk request
    never changes an outcome or a proposal made before: those items are ``blocked``."""
    ready: list[ReviewItem] = []
    done: list[ReviewItem] = []
    blocked: list[tuple[ReviewItem, str]] = []
    checked: list[ReviewItem] = []
    for item in items:
        try:
            if action == BulkAction.DECIDE:
                _check_may_decide(actor, item, outcome)
                if _is_decided(item):
                    if item.outcome == outcome:
                        done.append(item)
                        continue
                    raise refuse(
                        ReviewErrorCode.CONFLICT,
                        f"已作出复核结果“{item.get_outcome_display()}”",
                    )
            else:
                _check_may_propose(actor, item, outcome)
                if item.outcome:
                    raise refuse(
                        ReviewErrorCode.CONFLICT,
                        f"已作出复核结果“{item.get_outcome_display()}”",
                    )
                if item.proposed_outcome == outcome:
                    done.append(item)
                    continue
                if item.proposed_outcome:
                    raise refuse(
                        ReviewErrorCode.CONFLICT,
                        f"已提出建议“{item.get_proposed_outcome_display()}”，如需改变请逐户办理",
                    )
        except DomainError as error:
            blocked.append((item, error.message))
            continue
        checked.append(item)
    verification = _verification_by_household(checked, today) if action == BulkAction.DECIDE else {}
    for item in checked:
        try:
            if action == BulkAction.DECIDE:
                _check_ready_to_decide(
                    item,
                    outcome,
                    note,
                    today=today,
                    verification=verification.get(item.dibao_household_id),
                )
            else:
                _require_work_done(item, check_verification=False)
        except DomainError as error:
            blocked.append((item, error.message))
            continue
        ready.append(item)
    return BulkPlan(ready=ready, done=done, blocked=sorted(blocked, key=lambda b: b[0].pk))


def _refuse_blocked(action: BulkAction, blocked: list[tuple[ReviewItem, str]]) -> DomainError:
    named = [f"{item.household_number}（{reason}）" for item, reason in blocked[:BULK_NAMED]]
    more = f"，另有 {len(blocked) - BULK_NAMED} 户" if len(blocked) > BULK_NAMED else ""
    return DomainError(
        code=ReviewErrorCode.STEP_INCOMPLETE,
        message=f"以下 {len(blocked)} 户不能{BULK_LABELS[action]}，本次未作任何更改："
        + "；".join(named)
        + more,
        fields={"items": [f"{item.household_number}：{reason}" for item, reason in blocked]},
    )


def _check_bulk_request(
    actor: object, action: BulkAction, review_list: ReviewList, outcome: str
) -> None:
    require_area(actor, review_list.township, BULK_PERMS[action], doing=BULK_LABELS[action])
    if outcome not in BULK_OUTCOMES:
        allowed = "、".join(f"“{ItemOutcome(value).label}”" for value in BULK_OUTCOMES)
        raise refuse(
            ReviewErrorCode.OUTCOME_NOT_ALLOWED,
            f"{BULK_LABELS[action]}只能选择{allowed}；其他结果须逐户办理",
            outcome="批量办理不能选择此结果",
        )
    if review_list.status != ListStatus.OPEN:
        raise refuse(
            ReviewErrorCode.LIST_LOCKED,
            f"{review_list.township.name}复核名单{review_list.get_status_display()}，"
            "不能再修改；确需修改的，由旗县民政部门说明原因后重新打开",
        )


def review_items_bulk_plan(
    *,
    actor: object,
    action: str,
    list_id: int,
    item_ids: Iterable[int],
    outcome: str = ItemOutcome.CONTINUE,
    note: str = "",
    today: date | None = None,
) -> BulkPlan:
    """What ``review_items_decide_bulk`` / ``review_items_propose_bulk`` would do now (read
    only, no locks): the list page offers the ``ready`` items, the confirmation counts them."""
    action = BulkAction(action)
    review_list = _bulk_list(actor, list_id, lock=False)
    _check_bulk_request(actor, action, review_list, outcome)
    items = _bulk_items(actor, review_list, item_ids, lock=False)
    return _plan(
        actor, action, items, outcome, (note or "").strip(), today=today or timezone.localdate()
    )


@dataclass(frozen=True)
class BulkResult:
    review_list: ReviewList
    changed: list[ReviewItem]  # decided (or proposed) by this request
    done: list[ReviewItem]  # had the outcome already (已处理)


def _run_bulk(
    *,
    actor: object,
    action: BulkAction,
    list_id: int,
    item_ids: Iterable[int],
    outcome: str,
    note: str,
    today: date,
    apply: Callable[[ReviewItem], None],
) -> BulkResult:
    """All or nothing: the list row, then the items in id order, are locked; every item is
    checked before anything is written; a refusal names the households and changes nothing."""
    review_list = _bulk_list(actor, list_id, lock=True)
    _check_bulk_request(actor, action, review_list, outcome)
    items = _bulk_items(actor, review_list, item_ids, lock=True)
    plan = _plan(actor, action, items, outcome, note, today=today)
    if plan.blocked:
        raise _refuse_blocked(action, plan.blocked)
    for item in plan.ready:
        try:
            apply(item)
        except DomainError as error:  # refused by a cases/poverty service: name the household
            raise DomainError(
                code=error.code,
                message=f"{item.household_number}：{error.message}（本次批量办理未作任何更改）",
                fields=error.fields,
                status=error.status,
            ) from error
    if plan.ready:
        record(
            actor=actor,
            action=f"review_list.{action.value}_bulk",
            obj=review_list,
            area=review_list.township,
            changes={
                "outcome": outcome,
                "items": [item.pk for item in plan.ready],
                "already_done": [item.pk for item in plan.done],
                "note": note,
            },
        )
    return BulkResult(review_list=review_list, changed=plan.ready, done=plan.done)


@transaction.atomic
def review_items_decide_bulk(
    *,
    actor: object,
    list_id: int,
    item_ids: Iterable[int],
    outcome: str,
    note: str = "",
    today: date | None = None,
) -> BulkResult:
    """The county decides many items of one township list with one outcome that needs nothing
    per household (``BULK_OUTCOMES``): each item is checked and decided exactly as by
    ``review_item_decide`` (its audit event and the cases decision included), plus one
    ``review_list.decide_bulk`` event listing the items. Items that already have this outcome
    are left alone (a repeated request says 已处理)."""
    today = today or timezone.localdate()
    reasons = (note or "").strip()
    return _run_bulk(
        actor=actor,
        action=BulkAction.DECIDE,
        list_id=list_id,
        item_ids=item_ids,
        outcome=outcome,
        note=reasons,
        today=today,
        apply=lambda item: _apply_decision(
            actor, item, outcome, reasons, new_amount=None, today=today
        ),
    )


@transaction.atomic
def review_items_propose_bulk(
    *,
    actor: object,
    list_id: int,
    item_ids: Iterable[int],
    outcome: str,
    note: str = "",
    today: date | None = None,
) -> BulkResult:
    """The township proposes one outcome for many items of its list, each checked and recorded
    as by ``review_item_propose``; never over another proposal or a decision."""
    note = (note or "").strip()
    return _run_bulk(
        actor=actor,
        action=BulkAction.PROPOSE,
        list_id=list_id,
        item_ids=item_ids,
        outcome=outcome,
        note=note,
        today=today or timezone.localdate(),
        apply=lambda item: _apply_proposal(actor, item, outcome, note),
    )


def is_overdue(item: ReviewItem, *, today: date | None = None) -> bool:
    """Undecided after the campaign's last day."""
    today = today or timezone.localdate()
    return not item.outcome and today > item.campaign.due_on


__all__ = [
    "BULK_LABELS",
    "BULK_OUTCOMES",
    "BULK_PERMS",
    "OUTCOME_RULES",
    "REASONS_REQUIRED",
    "BulkAction",
    "BulkPlan",
    "BulkResult",
    "ReviewErrorCode",
    "ReviewPeriod",
    "campaign_open",
    "is_overdue",
    "outcomes_for",
    "refuse",
    "require_area",
    "review_item_decide",
    "review_item_means_test",
    "review_item_propose",
    "review_item_request_verification",
    "review_item_visit",
    "review_items_bulk_plan",
    "review_items_decide_bulk",
    "review_items_propose_bulk",
    "review_period_for",
]
