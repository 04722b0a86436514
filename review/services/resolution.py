"""Resolving the reconciliation items of a township's worklist (reconciliation.md "What a run
produces": 待处理 → 已核实无误 / 已更正 / 已纳入 / 已退出 / 已转办, with who, when and a note).

- ``reconciliation_item_resolve`` and ``reconciliation_item_reopen`` lock the item row, check the
  actor's scope (404 outside it) and capability (403 with it in sight but without
  ``RECONCILE_RESOLVE``), write the state, an ``ItemEvent`` and an audit row in one transaction.
- Only an open item can be resolved and only a resolved item reopened: two people resolving the
  same item at once are serialised by the row lock, and the second gets a 409 naming who resolved
  it, instead of silently overwriting the first.
- ``reconciliation_item_refer`` is the hand-off of ``should_register`` (应扶尽扶): it proposes the
  dibao household to the poverty office through the referral service (``propose_registry``), and
  resolves the item as 已转办 with the referral's id in ``details["referral_id"]`` — all or
  nothing.
"""

from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.utils import timezone

from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.linkage_selectors import referral_queryset
from poverty.models import Referral
from poverty.services.referrals import LinkageErrorCode, referral_create
from review.models import ItemEvent, ItemState, ReconciliationCategory, ReconciliationItem
from review.selectors import RESOLUTION_STATES, item_area

NOTE_MAX_LENGTH = ReconciliationItem._meta.get_field("resolution_note").max_length or 500


class ResolutionErrorCode(StrEnum):
    NOT_FOUND = "not_found"
    PERMISSION_DENIED = "permission_denied"
    INVALID = "invalid"
    ALREADY_RESOLVED = "item_already_resolved"
    NOT_RESOLVED = "item_not_resolved"
    CLOSED_BY_DATA = "item_closed_by_data"
    ACTION_NOT_APPLICABLE = "action_not_applicable"


_STATUS = {
    ResolutionErrorCode.NOT_FOUND: 404,
    ResolutionErrorCode.PERMISSION_DENIED: 403,
    ResolutionErrorCode.INVALID: 400,
    ResolutionErrorCode.ALREADY_RESOLVED: 409,
    ResolutionErrorCode.NOT_RESOLVED: 409,
    ResolutionErrorCode.CLOSED_BY_DATA: 409,
    ResolutionErrorCode.ACTION_NOT_APPLICABLE: 422,
}


def _refuse(code: ResolutionErrorCode, message: str, **fields: list[str]) -> DomainError:
    return DomainError(code=code, message=message, fields=dict(fields), status=_STATUS[code])


def _lock_item(actor: object, item_id: int, *, doing: str) -> ReconciliationItem:
    """The item, locked (``FOR NO KEY UPDATE`` of its own row) and checked against the actor."""
    item = (
        ReconciliationItem.objects.select_for_update(of=("self",), no_key=True)
        .select_related("county", "township", "dibao_household", "registry_household")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        raise _refuse(ResolutionErrorCode.NOT_FOUND, "比对问题不存在或不在您的管辖范围内")
    area = item_area(item)
    if not actor_covers_area(actor, area, perm=Perm.RECONCILE_VIEW):
        raise _refuse(ResolutionErrorCode.NOT_FOUND, "比对问题不存在或不在您的管辖范围内")
    if not actor_covers_area(actor, area, perm=Perm.RECONCILE_RESOLVE):
        raise _refuse(ResolutionErrorCode.PERMISSION_DENIED, f"您的角色不能{doing}")
    return item


def _clean_note(note: str | None, *, what: str) -> str:
    note = (note or "").strip()
    if not note:
        raise _refuse(ResolutionErrorCode.INVALID, f"请填写{what}", note=[f"请填写{what}"])
    if len(note) > NOTE_MAX_LENGTH:
        message = f"{what}不能超过 {NOTE_MAX_LENGTH} 个字"
        raise _refuse(ResolutionErrorCode.INVALID, message, note=[message])
    return note


def _who_resolved(item: ReconciliationItem) -> str:
    who = item.resolved_by.get_username() if item.resolved_by_id else "他人"
    when = f"于 {timezone.localtime(item.resolved_at):%Y-%m-%d %H:%M} " if item.resolved_at else ""
    return f"{who}{when}"


def _require_open(item: ReconciliationItem) -> None:
    if item.state == ItemState.OPEN:
        return
    if item.state == ItemState.CLOSED_BY_DATA:
        raise _refuse(
            ResolutionErrorCode.CLOSED_BY_DATA,
            "最近一次比对已不再发现该问题（数据已消除），无需处理",
        )
    raise _refuse(
        ResolutionErrorCode.ALREADY_RESOLVED,
        f"该问题已由{_who_resolved(item)}处理为“{item.get_state_display()}”，"
        "请刷新页面查看；如需改变处理结果，请先重新打开",
    )


def _write_resolution(
    *, actor: object, item: ReconciliationItem, state: str, note: str, now: datetime
) -> ReconciliationItem:
    before = item.state
    item.state, item.resolved_by, item.resolved_at, item.resolution_note = state, actor, now, note
    item.save(
        update_fields=[
            "state",
            "resolved_by",
            "resolved_at",
            "resolution_note",
            "details",
            "updated_at",
        ]
    )
    ItemEvent.objects.create(
        item=item,
        action=ItemEvent.Action.RESOLVED,
        state_from=before,
        state_to=state,
        actor=actor,
        at=now,
        note=note,
    )
    record(
        actor=actor,
        action="reconciliation.item_resolve",
        obj=item,
        area=item_area(item),
        changes={
            "state": [before, state],
            "category": item.category,
            "key": item.key,
            "note": note,
            **(
                {"referral_id": item.details["referral_id"]}
                if isinstance(item.details, dict) and "referral_id" in item.details
                else {}
            ),
        },
    )
    return item


def reconciliation_item_resolve(
    *, actor: object, item_id: int, state: str, note: str, now: datetime | None = None
) -> ReconciliationItem:
    """Resolve an open item with one of ``RESOLUTION_STATES`` and a note (required)."""
    now = now or timezone.now()
    with transaction.atomic():
        item = _lock_item(actor, item_id, doing="处理比对问题")
        if state not in RESOLUTION_STATES:
            raise _refuse(
                ResolutionErrorCode.INVALID, "请选择处理结果", state=["请选择有效的处理结果"]
            )
        note = _clean_note(note, what="处理说明")
        _require_open(item)
        return _write_resolution(actor=actor, item=item, state=state, note=note, now=now)


def reconciliation_item_reopen(
    *, actor: object, item_id: int, note: str, now: datetime | None = None
) -> ReconciliationItem:
    """Put a resolved item back on the worklist (待处理), with a note saying why."""
    now = now or timezone.now()
    with transaction.atomic():
        item = _lock_item(actor, item_id, doing="重新打开比对问题")
        note = _clean_note(note, what="重新打开的原因")
        if item.state not in RESOLUTION_STATES:
            message = (
                "数据已消除的问题不能重新打开，下次比对如再发现会自动重新列入"
                if item.state == ItemState.CLOSED_BY_DATA
                else "该问题尚未处理（待处理），无需重新打开"
            )
            code = (
                ResolutionErrorCode.CLOSED_BY_DATA
                if item.state == ItemState.CLOSED_BY_DATA
                else ResolutionErrorCode.NOT_RESOLVED
            )
            raise _refuse(code, message)
        before = item.state
        item.state, item.resolved_by, item.resolved_at, item.resolution_note = (
            ItemState.OPEN,
            None,
            None,
            "",
        )
        item.save(
            update_fields=["state", "resolved_by", "resolved_at", "resolution_note", "updated_at"]
        )
        ItemEvent.objects.create(
            item=item,
            action=ItemEvent.Action.REOPENED,
            state_from=before,
            state_to=ItemState.OPEN,
            actor=actor,
            at=now,
            note=note,
        )
        record(
            actor=actor,
            action="reconciliation.item_reopen",
            obj=item,
            area=item_area(item),
            changes={
                "state": [before, ItemState.OPEN],
                "category": item.category,
                "key": item.key,
                "note": note,
            },
        )
    return item


def _open_proposal(actor: object, item: ReconciliationItem) -> Referral | None:
    """The household's open ``propose_registry`` referral, if someone proposed it already."""
    return (
        referral_queryset(actor=actor)
        .filter(
            direction=ReferralDirection.PROPOSE_REGISTRY,
            household=item.dibao_household,
            registry_household__isnull=True,
        )
        .exclude(status=ReferralStatus.MEASURES_TAKEN)
        .order_by("pk")
        .first()
    )


def reconciliation_item_refer(
    *, actor: object, item_id: int, note: str, now: datetime | None = None
) -> tuple[ReconciliationItem, Referral]:
    """应扶尽扶: propose the dibao household of a ``should_register`` item to the poverty office
    (``referral_create``, which checks ``REFERRAL_CREATE`` and the household's state), then
    resolve the item as 已转办 with the referral linked. An open proposal for the household that
    already exists is linked instead of making a second one."""
    now = now or timezone.now()
    with transaction.atomic():
        item = _lock_item(actor, item_id, doing="处理比对问题")
        if item.category != ReconciliationCategory.SHOULD_REGISTER or item.dibao_household is None:
            raise _refuse(
                ResolutionErrorCode.ACTION_NOT_APPLICABLE,
                "只有“应扶尽扶（疑似应纳未纳）”的问题可以移交扶贫部门建议纳入建档立卡",
            )
        note = _clean_note(note, what="移交原因")
        _require_open(item)
        try:
            referral = referral_create(
                actor=actor,
                direction=ReferralDirection.PROPOSE_REGISTRY,
                reason=note,
                household=item.dibao_household,
            )
        except DomainError as exc:
            existing = (
                _open_proposal(actor, item)
                if exc.code == LinkageErrorCode.REFERRAL_EXISTS
                else None
            )
            if existing is None:
                raise
            referral = existing
        details = dict(item.details) if isinstance(item.details, dict) else {}
        details["referral_id"] = referral.pk
        item.details = details
        _write_resolution(
            actor=actor,
            item=item,
            state=ItemState.REFERRED,
            note=f"已移交扶贫部门建议纳入建档立卡：{note}"[:NOTE_MAX_LENGTH],
            now=now,
        )
    return item, referral
