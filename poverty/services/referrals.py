"""Referrals between civil affairs and the poverty office, both ways (172号 二(二), domain.md §10
item 2 对象衔接).

- ``to_poverty_office``: a registry household that dibao, 特困 or 临时救助 refused or found not
  eligible is handed back to the poverty office for other help. Created by the county rejection
  hook (``referral_after_rejection``), by a survey item marked not eligible, or by hand.
- ``propose_registry``: a dibao household in payment, outside the registry, whose per-capita income
  × 12 is below the year's poverty line, is proposed to the registry (应扶尽扶).

Both are received and completed by the county poverty office (``REFERRAL_RECEIVE``):
``pending → received → measures_taken`` (``REFERRAL_TRANSITIONS``). A household has at most one
open referral per direction (a partial unique constraint when both households are known; a row
lock on the household otherwise).

This module also holds what the linkage services share: ``LinkageErrorCode``, the area check and
the ``.xlsx`` sheet writer (their natural home would be ``poverty/errors.py`` and an exports
module, which do not exist yet).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_CEILING, Decimal
from enum import StrEnum
from typing import IO, Any

from django.db import IntegrityError, models, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cases.choices import PAYING_STATUSES, Programme
from cases.exports import text_cell
from cases.models import Application, Household, HouseholdMember
from cases.policy import poverty_line_for
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.linkage_selectors import (
    household_in_registry,
    referral_list,
    referral_row,
    registry_households_of,
)
from poverty.models import Referral, RegistryHousehold

# --- shared by the linkage services -----------------------------------------------------------


class LinkageErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    INVALID_TRANSITION = "invalid_transition"
    REASON_MISSING = "reason_missing"
    REFERRAL_EXISTS = "referral_exists"
    NOT_IN_REGISTRY = "not_in_registry"
    ALREADY_IN_REGISTRY = "already_in_registry"
    NOT_IN_PAYMENT = "not_in_payment"
    SURVEY_ITEM_STATE = "survey_item_state"


def refuse(code: LinkageErrorCode, message: str, **fields: list[str]) -> DomainError:
    return DomainError(code=code, message=message, fields=dict(fields))


def check_area(actor: object, area: Area, *, perm: str, doing: str) -> None:
    """404 when the area is outside everything the actor may see or do; 403 (with what the
    actor tried, in Chinese) when they may see it but not do this."""
    if not actor_covers_area(actor, area, perm=perm):
        if not actor_covers_area(actor, area, perm=Perm.REGISTRY_VIEW):
            raise refuse(LinkageErrorCode.NOT_FOUND, "不存在或不在您的管辖范围内")
        raise refuse(LinkageErrorCode.PERMISSION_DENIED, f"您的角色不能{doing}")


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def write_xlsx_sheet(
    workbook: Workbook,
    *,
    title: str,
    headers: Iterable[str],
    rows: Iterable[Iterable[object]],
    caption: str = "",
) -> int:
    """Append a write-only sheet: an optional caption row, the header row, then ``rows``.

    Strings are string cells with formula triggers neutralised (``cases.exports.text_cell``);
    numbers stay numbers; dates are written as ``YYYY-MM-DD`` text. Returns the rows written.
    """
    worksheet: WriteOnlyWorksheet = workbook.create_sheet(title=title)
    if caption:
        worksheet.append([text_cell(worksheet, caption)])
    worksheet.append([text_cell(worksheet, header) for header in headers])
    count = 0
    for row in rows:
        worksheet.append([_cell(worksheet, value) for value in row])
        count += 1
    return count


def _cell(worksheet: WriteOnlyWorksheet, value: object) -> Any:
    if value is None:
        return None
    if isinstance(value, date):
        return text_cell(worksheet, f"{value:%Y-%m-%d}")
    if isinstance(value, bool):
        return text_cell(worksheet, "是" if value else "否")
    if isinstance(value, int | Decimal | float):
        return value
    return text_cell(worksheet, str(value))


# --- transitions ------------------------------------------------------------------------------


class ReferralAction(models.TextChoices):
    RECEIVE = "receive", "接收"
    COMPLETE = "complete", "登记帮扶措施"


@dataclass(frozen=True)
class ReferralTransition:
    to_status: str
    perm: str


REFERRAL_TRANSITIONS: dict[tuple[str, str], ReferralTransition] = {
    (ReferralStatus.PENDING, ReferralAction.RECEIVE): ReferralTransition(
        ReferralStatus.RECEIVED, Perm.REFERRAL_RECEIVE
    ),
    (ReferralStatus.RECEIVED, ReferralAction.COMPLETE): ReferralTransition(
        ReferralStatus.MEASURES_TAKEN, Perm.REFERRAL_RECEIVE
    ),
}

_REFUSALS = {
    (ReferralStatus.PENDING, ReferralAction.COMPLETE): "该移交尚未接收，须先接收再登记帮扶措施",
    (ReferralStatus.MEASURES_TAKEN, ReferralAction.RECEIVE): "该移交已落实帮扶措施，不能再接收",
}


def referral_actions_for(*, actor: object, referral: Referral) -> list[str]:
    """Actions the actor may take on the referral now (the page shows only these)."""
    return [
        action
        for (status, action), transition in REFERRAL_TRANSITIONS.items()
        if status == referral.status
        and actor_covers_area(actor, referral.area, perm=transition.perm)
    ]


def _referral_transition(
    *, actor: object, referral_id: int, action: str, measure: str = "", today: date | None = None
) -> Referral:
    today = today or timezone.localdate()
    with transaction.atomic():
        referral = (
            Referral.objects.select_for_update(of=("self",), no_key=True)
            .select_related("area")
            .filter(pk=referral_id)
            .first()
        )
        if referral is None or not actor_covers_area(actor, referral.area, perm=Perm.REGISTRY_VIEW):
            raise refuse(LinkageErrorCode.NOT_FOUND, "移交不存在或不在您的管辖范围内")
        # Every referral action is the poverty office's (REFERRAL_RECEIVE): refuse others before
        # telling them anything about the state.
        check_area(actor, referral.area, perm=Perm.REFERRAL_RECEIVE, doing="接收或办结移交")
        transition = REFERRAL_TRANSITIONS.get((referral.status, action))
        if transition is None:
            target = {
                ReferralAction.RECEIVE: ReferralStatus.RECEIVED,
                ReferralAction.COMPLETE: ReferralStatus.MEASURES_TAKEN,
            }.get(action)
            if target is not None and referral.status == target:
                return referral  # already done (a double submit): nothing to do
            message = _REFUSALS.get(
                (referral.status, action),
                f"当前状态“{referral.get_status_display()}”不能执行该操作",
            )
            raise refuse(LinkageErrorCode.INVALID_TRANSITION, message)
        check_area(actor, referral.area, perm=transition.perm, doing="接收或办结移交")
        from_status = referral.status
        update_fields = ["status", "updated_at"]
        if action == ReferralAction.RECEIVE:
            referral.received_by, referral.received_on = actor, today
            update_fields += ["received_by", "received_on"]
        else:
            measure = measure.strip()
            if not measure:
                raise refuse(
                    LinkageErrorCode.REASON_MISSING, "请填写落实的帮扶措施", measure=["请填写"]
                )
            referral.measure, referral.done_on = measure, today
            update_fields += ["measure", "done_on"]
        referral.status = transition.to_status
        referral.save(update_fields=update_fields)
        record(
            actor=actor,
            action=f"referral.{action}",
            obj=referral,
            area=referral.area,
            changes={"status": [from_status, referral.status], "measure": referral.measure},
        )
    return referral


def referral_receive(*, actor: object, referral_id: int, today: date | None = None) -> Referral:
    """The poverty office receives a referral: pending → received."""
    return _referral_transition(
        actor=actor, referral_id=referral_id, action=ReferralAction.RECEIVE, today=today
    )


def referral_complete(
    *, actor: object, referral_id: int, measure: str, today: date | None = None
) -> Referral:
    """The poverty office records the help given: received → measures_taken (measure required)."""
    return _referral_transition(
        actor=actor,
        referral_id=referral_id,
        action=ReferralAction.COMPLETE,
        measure=measure,
        today=today,
    )


# --- creating referrals -----------------------------------------------------------------------


def _open_referral(
    *, direction: str, household: Household | None, registry_household: RegistryHousehold | None
) -> Referral | None:
    """The open referral of this direction for the registry household (whatever cases household
    it names), or, without one, for the cases household."""
    queryset = Referral.objects.filter(direction=direction).exclude(
        status=ReferralStatus.MEASURES_TAKEN
    )
    if registry_household is not None:
        queryset = queryset.filter(registry_household=registry_household)
    else:
        queryset = queryset.filter(household=household, registry_household__isnull=True)
    return queryset.order_by("pk").first()


def referral_insert(
    *,
    actor: object,
    direction: str,
    reason: str,
    household: Household | None = None,
    registry_household: RegistryHousehold | None = None,
    application: Application | None = None,
) -> tuple[Referral, bool]:
    """Create a referral unless an open one of the same direction exists for the household
    (returned with ``False``). No permission check: callers check theirs. The household rows are
    locked first so two callers cannot both create one."""
    with transaction.atomic():
        # Lock order: the cases household (a rejection has locked it already), then the
        # registry household.
        if household is not None:
            Household.objects.select_for_update(no_key=True).filter(pk=household.pk).first()
        if registry_household is not None:
            RegistryHousehold.objects.select_for_update(no_key=True).filter(
                pk=registry_household.pk
            ).first()
        existing = _open_referral(
            direction=direction, household=household, registry_household=registry_household
        )
        if existing is not None:
            return existing, False
        area = household.area if household is not None else registry_household.area
        county = household.county if household is not None else registry_household.county
        try:
            with transaction.atomic():
                referral = Referral.objects.create(
                    direction=direction,
                    county=county,
                    area=area,
                    household=household,
                    registry_household=registry_household,
                    application=application,
                    reason=reason,
                    created_by=actor,
                )
        except IntegrityError:  # the partial unique constraint, under a race
            existing = _open_referral(
                direction=direction, household=household, registry_household=registry_household
            )
            if existing is None:
                raise
            return existing, False
        record(
            actor=actor,
            action="referral.create",
            obj=referral,
            area=area,
            changes={
                "direction": direction,
                "household": household.number if household else "",
                "registry_household": registry_household.number if registry_household else "",
                "application": application.pk if application else None,
                "reason": reason,
            },
        )
    return referral, True


def referral_after_rejection(application: Application, actor: object, today: date) -> None:
    """``cases.hooks.AFTER_REJECT``: a rejected household with members in an in-registry
    household goes to the poverty office, with the rejection reason. Idempotent (one open
    referral per household pair); households outside the registry are left alone."""
    household = application.household
    for registry_household in registry_households_of(household):
        referral_insert(
            actor=actor,
            direction=ReferralDirection.TO_POVERTY_OFFICE,
            reason=application.rejection_reason,
            household=household,
            registry_household=registry_household,
            application=application,
        )


HOOKS: list = [("AFTER_REJECT", referral_after_rejection)]


def _shares_member(household: Household, registry_household: RegistryHousehold) -> bool:
    return HouseholdMember.objects.filter(
        household=household,
        person_id__in=registry_household.members.values("person_id"),
    ).exists()


def referral_create(
    *,
    actor: object,
    direction: str,
    reason: str,
    household: Household | None = None,
    registry_household: RegistryHousehold | None = None,
    application: Application | None = None,
) -> Referral:
    """A referral by hand (REFERRAL_CREATE over the household's village).

    - ``to_poverty_office``: the registry household, or a cases household whose members are in
      one (found here); refused for households outside the registry.
    - ``propose_registry``: a dibao/特困 household in payment that is not in the registry.
    A second open referral of the same direction for the household is refused.
    """
    reason = (reason or "").strip()
    if direction not in ReferralDirection.values:
        raise refuse(LinkageErrorCode.INVALID, "请选择移交方向", direction=["请选择"])
    if application is not None:
        if household is not None and application.household_id != household.pk:
            raise refuse(LinkageErrorCode.INVALID, "申请不属于该保障户")
        household = application.household
    if household is None and registry_household is None:
        raise refuse(LinkageErrorCode.INVALID, "请填写保障户编号或建档立卡户编号")
    area = household.area if household is not None else registry_household.area
    check_area(actor, area, perm=Perm.REFERRAL_CREATE, doing="登记移交")
    if not reason:
        raise refuse(LinkageErrorCode.REASON_MISSING, "请填写移交原因", reason=["请填写"])

    if direction == ReferralDirection.TO_POVERTY_OFFICE:
        if registry_household is None:
            registry_household = registry_households_of(household).first()
            if registry_household is None:
                raise refuse(
                    LinkageErrorCode.NOT_IN_REGISTRY,
                    "该户成员不在建档立卡台账中，不需要移交扶贫部门",
                )
        elif not registry_household.in_registry:
            raise refuse(LinkageErrorCode.NOT_IN_REGISTRY, "该户已退出建档立卡台账")
        elif household is not None and not _shares_member(household, registry_household):
            raise refuse(LinkageErrorCode.INVALID, "保障户与建档立卡户没有共同的家庭成员")
    else:
        if household is None or registry_household is not None:
            raise refuse(
                LinkageErrorCode.INVALID, "建议纳入建档立卡须填写保障户编号（而非建档立卡户）"
            )
        if household.status not in PAYING_STATUSES:
            raise refuse(
                LinkageErrorCode.NOT_IN_PAYMENT, "只有正在保障中的低保、特困户可以建议纳入建档立卡"
            )
        if registry_households_of(household).exists():
            raise refuse(LinkageErrorCode.ALREADY_IN_REGISTRY, "该户已在建档立卡台账中")

    referral, created = referral_insert(
        actor=actor,
        direction=direction,
        reason=reason,
        household=household,
        registry_household=registry_household,
        application=application,
    )
    if not created:
        raise refuse(
            LinkageErrorCode.REFERRAL_EXISTS,
            f"该户已有未办结的移交（{referral.get_status_display()}），请勿重复移交",
        )
    return referral


def _monthly_threshold(annual_line: Decimal) -> Decimal:
    """The smallest monthly per-capita income (in cents) whose × 12 is NOT below the line.

    ``income × 12 < line`` ⇔ ``income < line / 12``; incomes are whole cents, so the comparison is
    ``income < ceil_to_cent(line / 12)``, exact on every database (no float products).
    """
    return (annual_line / 12).quantize(Decimal("0.01"), rounding=ROUND_CEILING)


def referral_propose_for_county(
    *, actor: object, county: Area, on: date | None = None
) -> list[Referral]:
    """Propose to the registry every dibao household of the county in payment, not in the
    registry, with per-capita income × 12 below the poverty line of ``on``'s year.

    Set-based (one candidate query, one bulk insert, one audit row). Idempotent: households with
    an open proposal, or one completed in the same year, are skipped; concurrent runs for a county
    are serialised by a lock on the county row.
    """
    on = on or timezone.localdate()
    if county.level != AreaLevel.COUNTY:
        raise refuse(LinkageErrorCode.INVALID, "请选择旗县")
    check_area(actor, county, perm=Perm.REFERRAL_CREATE, doing="生成建议纳入建档立卡名单")
    line = poverty_line_for(on.year)
    threshold = _monthly_threshold(line.annual_amount)
    with transaction.atomic():
        Area.objects.select_for_update(no_key=True).filter(pk=county.pk).first()
        proposed = Referral.objects.filter(
            direction=ReferralDirection.PROPOSE_REGISTRY, household_id=OuterRef("pk")
        ).filter(
            Q(status__in=[ReferralStatus.PENDING, ReferralStatus.RECEIVED])
            | Q(done_on__gte=date(on.year, 1, 1))
        )
        candidates = list(
            Household.objects.filter(
                county=county,
                programme=Programme.DIBAO,
                status__in=PAYING_STATUSES,
                per_capita_income_monthly__lt=threshold,
            )
            .annotate(in_registry=household_in_registry(), proposed=Exists(proposed))
            .filter(in_registry=False, proposed=False)
            .order_by("area__code", "number")
            .values_list("pk", "area_id", "number", "per_capita_income_monthly")
        )
        referrals = Referral.objects.bulk_create(
            [
                Referral(
                    direction=ReferralDirection.PROPOSE_REGISTRY,
                    county=county,
                    area_id=area_id,
                    household_id=household_id,
                    reason=(
                        f"月人均收入 {income} 元 × 12 = {income * 12} 元，低于 {line.year} 年"
                        f"扶贫标准 {line.annual_amount} 元，且不在建档立卡台账中"
                    ),
                    created_by=actor,
                )
                for household_id, area_id, _number, income in candidates
            ],
            batch_size=500,
        )
        record(
            actor=actor,
            action="referral.propose_for_county",
            area=county,
            object_type="poverty.referral",
            object_id=county.code,
            changes={
                "on": on,
                "poverty_line": line.annual_amount,
                "poverty_line_year": line.year,
                "created": len(referrals),
                "households": [number for _pk, _area, number, _income in candidates],
            },
        )
    return referrals


# --- exports ----------------------------------------------------------------------------------

REFERRAL_HEADERS = {
    ReferralDirection.TO_POVERTY_OFFICE: (
        "移交日期",
        "苏木乡镇",
        "嘎查村",
        "建档立卡户编号",
        "保障户编号",
        "户主姓名",
        "户主身份证号",
        "移交原因",
        "状态",
        "接收日期",
        "帮扶措施",
        "落实日期",
    ),
    ReferralDirection.PROPOSE_REGISTRY: (
        "建议日期",
        "苏木乡镇",
        "嘎查村",
        "保障户编号",
        "户主姓名",
        "户主身份证号",
        "月人均收入（元）",
        "建议原因",
        "状态",
        "接收日期",
        "帮扶措施",
        "落实日期",
    ),
}
REFERRAL_SHEET_TITLES = {
    ReferralDirection.TO_POVERTY_OFFICE: "移交扶贫部门",
    ReferralDirection.PROPOSE_REGISTRY: "建议纳入建档立卡",
}


def export_referrals_xlsx(
    *,
    actor: object,
    direction: str,
    stream: IO[bytes],
    status: str = "",
    area_code: str = "",
) -> int:
    """The referrals of one direction in the actor's areas as ``.xlsx`` (masked ID numbers);
    returns the rows written and records an ``export.referrals`` audit row."""
    if direction not in ReferralDirection.values:
        raise refuse(LinkageErrorCode.INVALID, "请选择移交方向")
    rows = (
        referral_row(referral)
        for referral in referral_list(
            actor=actor, direction=direction, status=status, area_code=area_code
        ).iterator(chunk_size=500)
    )
    if direction == ReferralDirection.TO_POVERTY_OFFICE:
        values = (
            (
                r.created_on,
                r.township_name,
                r.village_name,
                r.registry_household_number,
                r.household_number,
                r.head_name,
                r.head_id_number_masked,
                r.reason,
                r.status_label,
                r.received_on,
                r.measure,
                r.done_on,
            )
            for r in rows
        )
    else:
        values = (
            (
                r.created_on,
                r.township_name,
                r.village_name,
                r.household_number,
                r.head_name,
                r.head_id_number_masked,
                r.per_capita_income_monthly,
                r.reason,
                r.status_label,
                r.received_on,
                r.measure,
                r.done_on,
            )
            for r in rows
        )
    workbook = Workbook(write_only=True)
    count = write_xlsx_sheet(
        workbook,
        title=REFERRAL_SHEET_TITLES[direction],
        headers=REFERRAL_HEADERS[direction],
        rows=values,
    )
    workbook.save(stream)
    record(
        actor=actor,
        action="export.referrals",
        object_type="poverty.referral",
        changes={
            "format": "xlsx",
            "direction": direction,
            "status": status,
            "area": area_code,
            "rows": count,
            "masked": True,
        },
    )
    return count
