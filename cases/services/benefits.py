"""What a household is owed, month by month (``BenefitPeriod`` rows, domain.md §4 and §6).

Invariants kept by these services (and relied on by payment sheets):

- Months are dates on the 1st. A period owes ``monthly_amount`` for every month from
  ``start_month`` to ``end_month`` inclusive (open when ``end_month`` is null).
- A household's periods never overlap and at most one is open: it is always the latest one.
- ``Household.monthly_amount`` mirrors the amount of the household's open period (the latest
  decided amount, even when it only takes effect next month), and is 0 once the benefit is
  stopped. Payment sheets never read it; it is there for lists and the roster export.
- Every write locks the household row first, so two decisions on one household are serialised,
  and writes one audit row in the same transaction. Re-applying the same decision changes
  nothing and writes no audit row (quality.md R2).

The household's ``status`` is not changed here: the workflow that calls these services (approval,
change decisions, gradual exit) owns it.
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import Q

from cases.choices import BenefitKind
from cases.errors import CaseErrorCode
from cases.models import BenefitPeriod, Household, PaymentLine
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.core.workdays import add_months

__all__ = ["benefit_change", "benefit_for_month", "benefit_start", "benefit_stop"]


def _require_first_of_month(value: date, *, field: str, label: str) -> None:
    if value.day != 1:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message=f"{label}须为某月 1 日（按月计算）",
            fields={field: f"{label}须为某月 1 日"},
        )


def _require_amounts(monthly_amount: Decimal, covered_persons: int) -> None:
    if monthly_amount < 0:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message="月保障金额不能为负数",
            fields={"monthly_amount": "月保障金额不能为负数"},
        )
    if covered_persons < 0:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message="保障人数不能为负数",
            fields={"covered_persons": "保障人数不能为负数"},
        )


def _locked_household(household: Household) -> Household:
    """Lock the household row for the rest of the transaction and return a fresh copy."""
    return (
        Household.objects.select_related("area")
        .select_for_update(no_key=True, of=("self",))
        .get(pk=household.pk)
    )


def _open_period(household: Household) -> BenefitPeriod | None:
    return BenefitPeriod.objects.filter(household=household, end_month__isnull=True).first()


def _latest_period(household: Household) -> BenefitPeriod | None:
    return BenefitPeriod.objects.filter(household=household).order_by("-start_month").first()


def _sync_household_amount(household: Household, caller_copy: Household, amount: Decimal) -> None:
    fields = []
    if household.monthly_amount != amount:
        household.monthly_amount = amount
        fields.append("monthly_amount")
    _save(household, caller_copy, fields)


def _save(household: Household, caller_copy: Household, fields: list[str]) -> None:
    if fields:
        household.save(update_fields=[*fields, "updated_at"])
        for field in fields:  # the caller's instance stays in step too
            setattr(caller_copy, field, getattr(household, field))


def _period_changes(period: BenefitPeriod) -> dict[str, object]:
    return {
        "period_id": period.pk,
        "start_month": period.start_month,
        "end_month": period.end_month,
        "monthly_amount": period.monthly_amount,
        "covered_persons": period.covered_persons,
        "kind": period.kind,
        "is_suspended": period.is_suspended,
    }


def benefit_start(
    *,
    actor: object,
    household: Household,
    start_month: date,
    monthly_amount: Decimal,
    covered_persons: int,
    reason: str,
    kind: str = BenefitKind.NORMAL,
) -> BenefitPeriod:
    """Open the household's first (or, after a stop, next) benefit period.

    ``start_month`` is the month after approval (domain.md §4, S3 art. 29 / S4 art. 21); the
    caller computes it (``first_of_next_month(approved_on)``). Refused while an open period with
    other values exists; applying the same start twice returns the existing period unchanged.
    A new start must come after the end of the previous (stopped) period.
    """
    _require_first_of_month(start_month, field="start_month", label="保障起始月")
    _require_amounts(monthly_amount, covered_persons)
    with transaction.atomic():
        locked = _locked_household(household)
        current = _open_period(locked)
        if current is not None:
            if (
                current.start_month == start_month
                and current.monthly_amount == monthly_amount
                and current.covered_persons == covered_persons
                and current.kind == kind
                and not current.is_suspended
            ):
                return current
            raise DomainError(
                code=CaseErrorCode.CONFLICT,
                message=(
                    f"该户已有自 {current.start_month:%Y年%m月} 起的保障期间，"
                    "调整金额请办理变更，不能重新纳入"
                ),
            )
        latest = _latest_period(locked)
        if latest is not None and latest.end_month is not None and latest.end_month >= start_month:
            raise DomainError(
                code=CoreErrorCode.INVALID,
                message=f"保障起始月不能早于上一保障期间的截止月 {latest.end_month:%Y年%m月} 之后",
                fields={"start_month": "与以前的保障期间重叠"},
            )
        period = BenefitPeriod.objects.create(
            household=locked,
            start_month=start_month,
            monthly_amount=monthly_amount,
            covered_persons=covered_persons,
            kind=kind,
            reason=reason,
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        fields = []
        if locked.monthly_amount != monthly_amount:
            locked.monthly_amount = monthly_amount
            fields.append("monthly_amount")
        if locked.payment_start_month != start_month:
            locked.payment_start_month = start_month
            fields.append("payment_start_month")
        _save(locked, household, fields)
        record(
            actor=actor,
            action="benefit.start",
            obj=locked,
            area=locked.area,
            changes={"reason": reason, "period": [None, _period_changes(period)]},
        )
    return period


def benefit_change(
    *,
    actor: object,
    household: Household,
    effective_month: date,
    monthly_amount: Decimal,
    covered_persons: int,
    reason: str,
    kind: str = BenefitKind.NORMAL,
    is_suspended: bool = False,
) -> BenefitPeriod:
    """Change what is owed from ``effective_month`` on (增发/减发/暂停/渐退).

    The open period is closed at the month before ``effective_month`` and a new one opens. When
    the open period already starts at ``effective_month`` (a second decision for the same month,
    or the same decision applied again), it is corrected in place, or returned unchanged when the
    values are the same. The line of a payment sheet keeps its own amount, so correcting a period
    never rewrites what a sheet recorded.
    """
    _require_first_of_month(effective_month, field="effective_month", label="变更生效月")
    _require_amounts(monthly_amount, covered_persons)
    with transaction.atomic():
        locked = _locked_household(household)
        current = _open_period(locked)
        if current is None:
            raise DomainError(
                code=CaseErrorCode.INVALID_TRANSITION,
                message="该户没有正在发放的保障期间，不能办理金额变更",
            )
        if effective_month < current.start_month:
            raise DomainError(
                code=CoreErrorCode.INVALID,
                message=(
                    f"变更生效月 {effective_month:%Y年%m月} 早于当前保障期间的起始月 "
                    f"{current.start_month:%Y年%m月}"
                ),
                fields={"effective_month": "早于当前保障期间的起始月"},
            )
        values = {
            "monthly_amount": monthly_amount,
            "covered_persons": covered_persons,
            "kind": kind,
            "is_suspended": is_suspended,
        }
        if current.start_month == effective_month:
            if all(getattr(current, name) == value for name, value in values.items()):
                return current
            before = _period_changes(current)
            for name, value in values.items():
                setattr(current, name, value)
            current.reason = reason
            current.save(update_fields=[*values, "reason", "updated_at"])
            period, closed = current, None
            changes = {"reason": reason, "period": [before, _period_changes(current)]}
        else:
            closed_before = _period_changes(current)
            current.end_month = add_months(effective_month, -1)
            current.save(update_fields=["end_month", "updated_at"])
            period = BenefitPeriod.objects.create(
                household=locked,
                start_month=effective_month,
                reason=reason,
                created_by=actor if getattr(actor, "pk", None) else None,
                **values,
            )
            closed = current
            changes = {
                "reason": reason,
                "closed_period": [closed_before, _period_changes(closed)],
                "period": [None, _period_changes(period)],
            }
        _sync_household_amount(locked, household, monthly_amount)
        record(
            actor=actor,
            action="benefit.change",
            obj=locked,
            area=locked.area,
            changes=changes,
        )
    return period


def benefit_stop(*, actor: object, household: Household, last_month: date, reason: str) -> None:
    """Stop the benefit after ``last_month`` (the last month owed, inclusive).

    Stopping before the open period's first month (e.g. approved in May to start in June, member
    died in May) removes that period, as long as no payment sheet has a line for it. Stopping
    a household that owes nothing after ``last_month`` already (stopped at the same or an earlier
    month, or never started) changes nothing; moving an earlier stop back in time is refused.
    """
    _require_first_of_month(last_month, field="last_month", label="停发前最后发放月")
    with transaction.atomic():
        locked = _locked_household(household)
        current = _open_period(locked)
        if current is None:
            latest = _latest_period(locked)
            if latest is None or latest.end_month <= last_month:
                return  # nothing is owed after last_month already
            raise DomainError(
                code=CaseErrorCode.INVALID_TRANSITION,
                message=(
                    f"该户已于 {latest.end_month:%Y年%m月} 停发，提前停发月份需按追回程序办理"
                ),
            )
        before = _period_changes(current)
        if last_month >= current.start_month:
            current.end_month = last_month
            current.save(update_fields=["end_month", "updated_at"])
            changes = {"reason": reason, "period": [before, _period_changes(current)]}
        elif last_month == add_months(current.start_month, -1):
            if PaymentLine.objects.filter(benefit_period=current).exists():
                raise DomainError(
                    code=CaseErrorCode.PAYMENT_SHEET_STATE,
                    message="该保障期间已列入发放花名册，不能在起始月之前停发",
                )
            current.delete()
            changes = {"reason": reason, "period": [before, None]}
        else:
            raise DomainError(
                code=CoreErrorCode.INVALID,
                message=(
                    f"停发月份 {last_month:%Y年%m月} 早于当前保障期间的起始月 "
                    f"{current.start_month:%Y年%m月}"
                ),
                fields={"last_month": "早于当前保障期间的起始月"},
            )
        _sync_household_amount(locked, household, Decimal("0"))
        record(
            actor=actor,
            action="benefit.stop",
            obj=locked,
            area=locked.area,
            changes=changes,
        )


def benefit_for_month(*, household: Household, month: date) -> BenefitPeriod | None:
    """The period that covers ``month`` (any day of it), suspended or not; ``None`` if none."""
    first = month.replace(day=1)
    return (
        BenefitPeriod.objects.filter(household=household, start_month__lte=first)
        .filter(Q(end_month__isnull=True) | Q(end_month__gte=first))
        .order_by("-start_month")
        .first()
    )
