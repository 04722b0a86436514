"""临时救助 (temporary assistance, domain.md §8; S5 art. 47, S8).

- 急难型 (emergency): may be helped first (先行救助, ``pay_first``): status ``paid_first``, the
  paperwork is completed afterwards (``temporary_complete_paperwork``) and then decided.
- 支出型 (expenditure): needs the per-capita income and is never paid first.
- Township heads decide only up to the policy's ``temporary_township_limit`` (delegated to the
  township for small amounts, S8); above it the county civil-affairs bureau decides.
- The recorder never decides their own case (four-eyes).
"""

from datetime import date
from decimal import Decimal

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from cases.errors import CaseErrorCode
from cases.models import Household, TemporaryAssistance
from cases.policy import policy_for
from cases.services.management import refuse, require_capability
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm, Role, role_has_perm
from lowbao.areas.scoping import actor_assignments, scope_to_actor
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.people.services import person_upsert

__all__ = [
    "KINDS",
    "TOWNSHIP_APPROVAL_LIMIT",
    "access_temporary_by_id",
    "temporary_apply",
    "temporary_complete_paperwork",
    "temporary_decide",
    "temporary_queryset",
    "township_approval_limit",
]

# [CFG] The amount up to which a township head may approve under delegation is policy data
# (PolicySetting.temporary_township_limit); this is its seeded default.
TOWNSHIP_APPROVAL_LIMIT = Decimal("1000.00")


def township_approval_limit(area: Area, on: date | None = None) -> Decimal:
    """The delegated township limit in force for ``area`` (policy data, default 1,000 yuan)."""
    return policy_for(area, on or timezone.localdate()).temporary_township_limit


EMERGENCY, EXPENDITURE = "emergency", "expenditure"
KINDS = {EMERGENCY: "急难型", EXPENDITURE: "支出型"}
FORMS = {"cash": "现金", "goods": "实物", "referral": "转介服务"}
APPLIED, PAID_FIRST, APPROVED, REJECTED = "applied", "paid_first", "approved", "rejected"


def _yuan(amount: Decimal) -> str:
    return f"{amount:,.2f}"


@transaction.atomic
def temporary_apply(
    *,
    actor: object,
    area: Area,
    person_id_number: str,
    name: str,
    kind: str,
    reason: str,
    household_size: int,
    per_capita_income_monthly: Decimal | None,
    amount: Decimal,
    household: Household | None = None,
    pay_first: bool = False,
    form: str = "cash",
    today: date | None = None,
) -> TemporaryAssistance:
    """Register an application for 临时救助 in a village of the actor's scope.

    ``pay_first`` (急难型 only) records that help was given first: status ``paid_first`` with the
    paperwork still to complete. Otherwise the application waits for a decision.
    """
    today = today or timezone.localdate()
    if area.level != AreaLevel.VILLAGE:
        raise refuse(CaseErrorCode.AREA_NOT_VILLAGE, "请选择到嘎查村一级", area="请选择嘎查村")
    require_capability(actor, area, Perm.TEMPORARY_APPLY, doing="登记临时救助", subject="嘎查村")
    problems: dict[str, list[str]] = {}
    if kind not in KINDS:
        problems["kind"] = ["请选择救助类型（急难型或支出型）"]
    if not (reason or "").strip():
        problems["reason"] = ["请填写事由"]
    if household_size is None or household_size < 1:
        problems["household_size"] = ["家庭人口至少 1 人"]
    if amount is None or amount < 0:
        problems["amount"] = ["救助金额不能为负数"]
    if form not in FORMS:
        problems["form"] = ["请选择救助方式"]
    if kind == EXPENDITURE and per_capita_income_monthly is None:
        problems["per_capita_income_monthly"] = ["支出型临时救助须填写家庭月人均收入"]
    if per_capita_income_monthly is not None and per_capita_income_monthly < 0:
        problems["per_capita_income_monthly"] = ["月人均收入不能为负数"]
    if pay_first and kind != EMERGENCY:
        problems["pay_first"] = ["只有急难型临时救助可以先行救助"]
    if household is not None and household.area_id != area.pk:
        problems["household"] = ["保障户不在所选嘎查村"]
    if problems:
        first = next(iter(problems.values()))[0]
        raise DomainError(code=CaseErrorCode.STEP_INCOMPLETE, message=first, fields=problems)
    person, _created = person_upsert(actor=actor, id_number=person_id_number, name=name)
    assistance = TemporaryAssistance.objects.create(
        area=area,
        person=person,
        household=household,
        kind=kind,
        reason=reason.strip(),
        household_size=household_size,
        per_capita_income_monthly=per_capita_income_monthly,
        amount=amount,
        form=form,
        status=PAID_FIRST if pay_first else APPLIED,
        paperwork_completed=not pay_first,
        applied_on=today,
        recorded_by=actor,
    )
    record(
        actor=actor,
        action="temporary.apply",
        obj=assistance,
        area=area,
        changes={
            "kind": kind,
            "amount": amount,
            "status": assistance.status,
            "person": person.id_number_masked,
        },
    )
    return assistance


def _locked(assistance_id: int) -> TemporaryAssistance:
    assistance = (
        TemporaryAssistance.objects.select_for_update(no_key=True, of=("self",))
        .select_related("area", "person")
        .filter(pk=assistance_id)
        .first()
    )
    if assistance is None:
        raise refuse(CoreErrorCode.NOT_FOUND, "临时救助记录不存在")
    return assistance


def _township_only(actor: object, area: Area) -> bool:
    """True when every role that lets the actor decide here is a township head's (delegated)."""
    deciding = [
        a
        for a in actor_assignments(actor)
        if role_has_perm(a.role, Perm.TEMPORARY_APPROVE) and area.path.startswith(a.area_path)
    ]
    return bool(deciding) and all(a.role == Role.TOWNSHIP_HEAD for a in deciding)


@transaction.atomic
def temporary_decide(
    *,
    actor: object,
    assistance_id: int,
    approve: bool,
    note: str,
    today: date | None = None,
) -> TemporaryAssistance:
    """Approve or refuse (不予救助) an application, or confirm a help given first.

    Needs ``TEMPORARY_APPROVE`` over the village; township heads decide only amounts up to
    ``TOWNSHIP_APPROVAL_LIMIT`` (either way: above it the county decides). The decider is never
    the recorder. A help given first is decided once its paperwork is complete. A refusal needs a
    note (the written reasons).
    """
    today = today or timezone.localdate()
    assistance = _locked(assistance_id)
    require_capability(
        actor,
        assistance.area,
        Perm.TEMPORARY_APPROVE,
        doing="审批临时救助",
        subject="临时救助记录",
    )
    if assistance.status in (APPROVED, REJECTED):
        raise refuse(CaseErrorCode.CHANGE_STATE, f"该临时救助已{assistance.get_status_display()}")
    if getattr(actor, "pk", None) == assistance.recorded_by_id:
        raise refuse(CaseErrorCode.FOUR_EYES, "不能审批自己登记的临时救助")
    if assistance.status == PAID_FIRST and not assistance.paperwork_completed:
        raise refuse(CaseErrorCode.STEP_INCOMPLETE, "先行救助的须先补齐手续，再审批")
    limit = township_approval_limit(assistance.area, today)
    if _township_only(actor, assistance.area) and assistance.amount > limit:
        raise refuse(
            CaseErrorCode.NOT_ALLOWED,
            f"救助金额 {_yuan(assistance.amount)} 元超过苏木乡镇审批权限"
            f"（{_yuan(limit)} 元），请报旗县民政局审批",
        )
    note = (note or "").strip()
    if not approve and not note:
        raise refuse(CaseErrorCode.STEP_INCOMPLETE, "不予救助须写明理由", note="请写明理由")
    before = assistance.status
    assistance.status = APPROVED if approve else REJECTED
    assistance.decided_on, assistance.decided_by = today, actor
    assistance.decision_note = note
    assistance.save(
        update_fields=["status", "decided_on", "decided_by", "decision_note", "updated_at"]
    )
    record(
        actor=actor,
        action="temporary.decide",
        obj=assistance,
        area=assistance.area,
        changes={"status": [before, assistance.status], "amount": assistance.amount, "note": note},
    )
    return assistance


@transaction.atomic
def temporary_complete_paperwork(*, actor: object, assistance_id: int) -> TemporaryAssistance:
    """先行救助后补齐手续: marks the paperwork of a help given first as complete (idempotent)."""
    assistance = _locked(assistance_id)
    require_capability(
        actor,
        assistance.area,
        Perm.TEMPORARY_APPLY,
        doing="补齐临时救助手续",
        subject="临时救助记录",
    )
    if assistance.status != PAID_FIRST:
        raise refuse(CaseErrorCode.CHANGE_STATE, "只有先行救助的需要补齐手续")
    if assistance.paperwork_completed:
        return assistance
    assistance.paperwork_completed = True
    assistance.save(update_fields=["paperwork_completed", "updated_at"])
    record(
        actor=actor,
        action="temporary.paperwork_complete",
        obj=assistance,
        area=assistance.area,
        changes={"paperwork_completed": [False, True]},
    )
    return assistance


# --- reads -------------------------------------------------------------------------------------


def temporary_queryset(*, actor: object) -> QuerySet[TemporaryAssistance]:
    return scope_to_actor(
        TemporaryAssistance.objects.select_related(
            "area", "area__parent", "person", "household", "recorded_by", "decided_by"
        ),
        actor=actor,
        perm=Perm.CASE_VIEW,
    )


def access_temporary_by_id(actor: object, assistance_id: int) -> TemporaryAssistance:
    assistance = temporary_queryset(actor=actor).filter(pk=assistance_id).first()
    if assistance is None:
        raise Http404("临时救助记录不存在或不在您的管辖范围内")
    return assistance
