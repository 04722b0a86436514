"""Payment sheets (发放花名册): generation from benefit periods, and the sign-off workflow.

Payment rules (domain.md §4): benefits are paid by bank into the household account, monthly
before the 10th; where the county's policy says ``quarterly`` (rural areas with poor banking),
once a quarter, before the 10th of the quarter's first month.

**Quarterly sheets.** A quarterly township has a sheet only for January, April, July and
October; each line is the sum owed for the quarter's three months, month by month, from the
benefit periods known when the sheet is generated (a change mid-quarter counts the old amount
for the months before it and the new amount from it). The line's ``benefit_period`` and
``covered_persons`` are those of the last month of the quarter that is owed.

**Who is on a sheet.** One line per household of the township (a household whose village's
parent is the township) that is owed something for the sheet's month(s): a benefit period covers
the month, is not suspended and has a non-zero amount, and the household is in payment, in
gradual exit, or stopped (a stopped household's period ends at its last month owed, so the
period itself says whether it was still owed that month).
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import IntegrityError, models, transaction
from django.db.models import Q
from django.http import Http404

from cases.choices import PAYING_STATUSES, HouseholdStatus, PaymentFrequency, PaymentSheetStatus
from cases.errors import CaseErrorCode
from cases.models import BenefitPeriod, PaymentLine, PaymentSheet
from cases.payment_selectors import access_payment_sheet_by_id
from cases.policy import policy_for
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.core.workdays import add_months

__all__ = [
    "PAYMENT_SHEET_TRANSITIONS",
    "PaymentSheetAction",
    "payment_sheet_actions_for",
    "payment_sheet_generate",
    "payment_sheet_months",
    "payment_sheet_transition",
]

LINE_BATCH_SIZE = 1000  # PaymentLine rows per INSERT (~100 bytes each in memory)
CONFLICT_MESSAGE = "花名册已被他人修改，请刷新后重试"


class PaymentSheetAction(models.TextChoices):
    CHECK = "check", "核对"
    SEND_TO_BANK = "send_to_bank", "报送银行"
    MARK_PAID = "mark_paid", "确认已发放"


# (from status, action) → (to status, capability). The one place the workflow is declared.
PAYMENT_SHEET_TRANSITIONS: dict[tuple[str, str], tuple[str, str]] = {
    (PaymentSheetStatus.GENERATED, PaymentSheetAction.CHECK): (
        PaymentSheetStatus.CHECKED,
        Perm.PAYMENT_CHECK,
    ),
    (PaymentSheetStatus.CHECKED, PaymentSheetAction.SEND_TO_BANK): (
        PaymentSheetStatus.SENT_TO_BANK,
        Perm.PAYMENT_BANK,
    ),
    (PaymentSheetStatus.SENT_TO_BANK, PaymentSheetAction.MARK_PAID): (
        PaymentSheetStatus.PAID,
        Perm.PAYMENT_BANK,
    ),
}
_ACTION_TARGET = {action: target for (_from, action), target in PAYMENT_SHEET_TRANSITIONS.items()}


def payment_sheet_months(*, township: Area, month: date) -> list[date]:
    """The months a sheet of ``township`` for ``month`` pays: ``[month]``, or the quarter's three
    months where the policy in force on ``month`` is quarterly (then ``month`` must open a quarter).
    """
    first = month.replace(day=1)
    frequency = policy_for(township, first).payment_frequency
    if frequency != PaymentFrequency.QUARTERLY:
        return [first]
    if first.month % 3 != 1:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message=f"{township.name}按季发放，只能为每季度第一个月（1、4、7、10 月）生成花名册",
            fields={"month": "按季发放地区只能选择 1、4、7、10 月"},
        )
    return [first, add_months(first, 1), add_months(first, 2)]


@dataclass(frozen=True)
class _Line:
    household_id: int
    benefit_period_id: int
    amount: Decimal
    covered_persons: int


def _owed_lines(*, township: Area, months: list[date]) -> list[_Line]:
    """What each household of the township is owed for ``months``: one query for the periods,
    the month-by-month sum in memory (a household has at most a handful of periods per quarter).
    """
    periods = (
        BenefitPeriod.objects.filter(
            household__area__parent_id=township.pk,
            # A suspended or stopped household is still owed the months before its decision;
            # the periods' end month and is_suspended decide.
            household__status__in=[
                *PAYING_STATUSES,
                HouseholdStatus.SUSPENDED,
                HouseholdStatus.STOPPED,
            ],
            is_suspended=False,
            start_month__lte=months[-1],
        )
        .filter(Q(end_month__isnull=True) | Q(end_month__gte=months[0]))
        .order_by("household_id", "start_month")
        .values_list(
            "id", "household_id", "start_month", "end_month", "monthly_amount", "covered_persons"
        )
    )
    by_household: dict[int, list[tuple]] = defaultdict(list)
    for row in periods:
        by_household[row[1]].append(row)
    lines = []
    for household_id, rows in by_household.items():
        amount, last = Decimal("0"), None
        for month in months:
            for period_id, _hid, start, end, monthly_amount, covered in rows:
                if start <= month and (end is None or end >= month):
                    amount += monthly_amount
                    last = (period_id, covered)
                    break
        if last is not None and amount > 0:
            lines.append(_Line(household_id, last[0], amount, last[1]))
    return sorted(lines, key=lambda line: line.household_id)


def _require_generate_scope(actor: object, township: Area) -> None:
    if actor_covers_area(actor, township, perm=Perm.PAYMENT_GENERATE):
        return
    if actor_covers_area(actor, township, perm=Perm.PAYMENT_VIEW):
        raise DomainError(code=CaseErrorCode.NOT_ALLOWED, message="没有生成发放花名册的权限")
    raise Http404("区划不存在或不在您的管辖范围内")


def _locked_sheet(township: Area, month: date, actor: object) -> tuple[PaymentSheet, bool]:
    """The township's sheet for the month, locked; created (empty) if there is none yet."""
    sheets = PaymentSheet.objects.select_for_update(no_key=True).filter(
        township=township, month=month
    )
    sheet = sheets.first()
    if sheet is not None:
        return sheet, False
    try:
        with transaction.atomic():
            return PaymentSheet.objects.create(
                township=township, month=month, generated_by=actor
            ), True
    except IntegrityError:  # a concurrent generate created it first: wait for its lock
        return sheets.get(), False


def _stored_lines(sheet: PaymentSheet) -> list[_Line]:
    rows = sheet.lines.values_list("household_id", "benefit_period_id", "amount", "covered_persons")
    return sorted((_Line(*row) for row in rows), key=lambda line: line.household_id)


def _totals(lines: list[_Line]) -> dict[str, object]:
    return {
        "household_count": len(lines),
        "person_count": sum(line.covered_persons for line in lines),
        "total_amount": sum((line.amount for line in lines), Decimal("0")),
    }


def payment_sheet_generate(*, actor: object, township: Area, month: date) -> PaymentSheet:
    """Generate (or regenerate) the township's sheet for ``month``; idempotent (quality.md R2).

    A sheet still ``generated`` is recomputed: when the result is the same nothing is written;
    otherwise its lines are replaced, its totals updated, ``version`` bumped and the actor becomes
    its generator (four-eyes applies to whoever produced the content). From ``checked`` on the
    sheet is frozen and regenerating is refused. Needs ``PAYMENT_GENERATE`` on the township.
    """
    if township.level != AreaLevel.TOWNSHIP:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message="发放花名册按苏木乡镇生成，请选择苏木乡镇",
            fields={"township": "须为苏木乡镇"},
        )
    _require_generate_scope(actor, township)
    month = month.replace(day=1)
    months = payment_sheet_months(township=township, month=month)
    with transaction.atomic():
        sheet, created = _locked_sheet(township, month, actor)
        if sheet.status != PaymentSheetStatus.GENERATED:
            raise DomainError(
                code=CaseErrorCode.PAYMENT_SHEET_STATE,
                message=(
                    f"{township.name}{month:%Y年%m月}花名册{sheet.get_status_display()}，"
                    "不能重新生成"
                ),
            )
        lines = _owed_lines(township=township, months=months)
        totals = _totals(lines)
        if not created and _stored_lines(sheet) == lines:
            return sheet
        before = {field: getattr(sheet, field) for field in totals}
        if not created:
            sheet.lines.all().delete()
        PaymentLine.objects.bulk_create(
            [
                PaymentLine(
                    sheet=sheet,
                    household_id=line.household_id,
                    benefit_period_id=line.benefit_period_id,
                    amount=line.amount,
                    covered_persons=line.covered_persons,
                )
                for line in lines
            ],
            batch_size=LINE_BATCH_SIZE,
        )
        for field, value in totals.items():
            setattr(sheet, field, value)
        update_fields = [*totals, "updated_at"]
        if not created:
            sheet.version += 1
            sheet.generated_by = actor
            update_fields += ["version", "generated_by"]
        sheet.save(update_fields=update_fields)
        record(
            actor=actor,
            action="payment_sheet.generate" if created else "payment_sheet.regenerate",
            obj=sheet,
            area=township,
            changes={
                "month": month,
                "months": [f"{m:%Y-%m}" for m in months],
                **{
                    field: [None if created else before[field], value]
                    for field, value in totals.items()
                },
                "version": sheet.version,
            },
        )
    return sheet


def payment_sheet_actions_for(*, actor: object, sheet: PaymentSheet) -> list[str]:
    """Actions the actor could take on the sheet now (for buttons); the service re-checks."""
    actions = []
    for (from_status, action), (_to, perm) in PAYMENT_SHEET_TRANSITIONS.items():
        if from_status != sheet.status or not actor_covers_area(actor, sheet.township, perm=perm):
            continue
        if (
            action == PaymentSheetAction.CHECK
            and getattr(actor, "pk", None) == sheet.generated_by_id
        ):
            continue
        actions.append(action)
    return actions


def payment_sheet_transition(
    *, actor: object, sheet_id: int, action: str, expected_version: int | None = None
) -> PaymentSheet:
    """Move a sheet along ``PAYMENT_SHEET_TRANSITIONS`` (核对 → 报送银行 → 已发放).

    Order of checks, all under the sheet's row lock: scope (404 outside), known action, the
    action's capability on the sheet's township (403), ``expected_version`` (409 CONFLICT when
    someone changed the sheet since the caller read it), already in the target state (returned
    unchanged: a retried request is harmless), the pair (from, action) in the table, and
    four-eyes for ``check`` (the checker is not the generator). Then the status changes, the
    version is bumped and an audit row is written in the same transaction.
    """
    target = _ACTION_TARGET.get(action)
    if target is None:
        raise DomainError(
            code=CaseErrorCode.INVALID_TRANSITION, message=f"未知的花名册操作：{action}"
        )
    to_status, perm = target
    with transaction.atomic():
        sheet = access_payment_sheet_by_id(actor, sheet_id, for_update=True)
        if not actor_covers_area(actor, sheet.township, perm=perm):
            raise DomainError(
                code=CaseErrorCode.NOT_ALLOWED,
                message=f"没有{PaymentSheetAction(action).label}发放花名册的权限",
            )
        if expected_version is not None and expected_version != sheet.version:
            raise DomainError(code=CaseErrorCode.CONFLICT, message=CONFLICT_MESSAGE)
        if sheet.status == to_status:
            return sheet
        if (sheet.status, action) not in PAYMENT_SHEET_TRANSITIONS:
            raise DomainError(
                code=CaseErrorCode.INVALID_TRANSITION,
                message=(
                    f"花名册当前状态为“{sheet.get_status_display()}”，"
                    f"不能{PaymentSheetAction(action).label}"
                ),
            )
        update_fields = ["status", "version", "updated_at"]
        if action == PaymentSheetAction.CHECK:
            if getattr(actor, "pk", None) == sheet.generated_by_id:
                raise DomainError(
                    code=CaseErrorCode.FOUR_EYES,
                    message="花名册须由生成人以外的人员核对",
                )
            sheet.checked_by = actor
            update_fields.append("checked_by")
        from_status, from_version = sheet.status, sheet.version
        sheet.status = to_status
        sheet.version = from_version + 1
        sheet.save(update_fields=update_fields)
        record(
            actor=actor,
            action=f"payment_sheet.{action}",
            obj=sheet,
            area=sheet.township,
            changes={
                "status": [from_status, to_status],
                "version": [from_version, sheet.version],
            },
        )
    return sheet
