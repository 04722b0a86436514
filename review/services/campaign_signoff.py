"""Confirmation, sign-off, reopening and filing of the annual review (172号 一、二(三)).

Sign-off is data (style B.4, like HOPE's ``ApprovalProcess``): ``SIGNOFF_STAGES`` says, for each
stage, which list it is about, which roles must each act once per round, and what the campaign
and list must be in; ``CAMPAIGN_TRANSITIONS`` says which completed stage moves the campaign on.
The rows are facts: ``ReviewConfirmation`` / ``ReviewSignature`` of a round; a reopening starts a
new round, so earlier rows stay as history and stop counting.

1. every township head confirms the township list (all items decided);
2. the county civil-affairs and poverty offices each confirm the list of dibao recipients in the
   registry (both are needed);
3. each township head signs the township list, then the county leader signs the county list —
   with re-authentication (``lowbao.accounts.reauth``: the password again, and the TOTP code
   when required), a content hash, and a frozen ``ReviewListSnapshot``;
4. the county files the signed lists with the league/city (``campaign_file``).

Separation of duties (quality.md S2): nobody confirms or signs a list with an item they worked
on, proposed or decided; the township head who confirmed may sign as head. Concurrent signatures
of one list: the campaign row is locked, so exactly one is recorded per list, round and role and
the others get a clear conflict (R4); unique constraints back this up.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from cases.models import HouseholdMember
from lowbao.accounts.reauth import reauthenticate, second_factor_required_for_signoff
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm, Role
from lowbao.areas.scoping import actor_assignments, actor_covers_area, scope_to_actor
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from poverty.models import RegistryMember
from review.models import (
    CampaignStatus,
    ItemOutcome,
    ListStatus,
    ReviewCampaign,
    ReviewConfirmation,
    ReviewFiling,
    ReviewItem,
    ReviewList,
    ReviewListSnapshot,
    ReviewReopen,
    ReviewSignature,
    SignOffScope,
)
from review.services.campaign import ReviewErrorCode, refuse, require_area

CONFIRM, SIGN = "confirm", "sign"


@dataclass(frozen=True)
class Stage:
    code: str
    label: str
    scope: str  # SignOffScope
    kind: str  # CONFIRM or SIGN
    roles: tuple[str, ...]  # each role acts once per round
    campaign_statuses: tuple[str, ...]  # the campaign must be in one of these
    list_from: str | None = None  # township stages: the list's status before …
    list_to: str | None = None  # … and after


SIGNOFF_STAGES: tuple[Stage, ...] = (
    Stage(
        "township_confirm",
        "苏木乡镇确认复核名单",
        SignOffScope.TOWNSHIP,
        CONFIRM,
        (Role.TOWNSHIP_HEAD,),
        (CampaignStatus.OPEN,),
        ListStatus.OPEN,
        ListStatus.CONFIRMED,
    ),
    Stage(
        "joint_confirm",
        "旗县民政、扶贫部门共同确认纳入建档立卡的低保对象名单",
        SignOffScope.COUNTY,
        CONFIRM,
        (Role.COUNTY_CIVIL_AFFAIRS, Role.COUNTY_POVERTY_OFFICE),
        (CampaignStatus.LISTS_CONFIRMED,),
    ),
    Stage(
        "township_sign",
        "苏木乡镇主要负责人签字",
        SignOffScope.TOWNSHIP,
        SIGN,
        (Role.TOWNSHIP_HEAD,),
        (CampaignStatus.JOINTLY_CONFIRMED,),
        ListStatus.CONFIRMED,
        ListStatus.SIGNED,
    ),
    Stage(
        "county_sign",
        "旗县主要领导签字",
        SignOffScope.COUNTY,
        SIGN,
        (Role.COUNTY_LEADER,),
        (CampaignStatus.JOINTLY_CONFIRMED,),
    ),
)
STAGES = {stage.code: stage for stage in SIGNOFF_STAGES}

# (campaign status, completed stage or action) → next campaign status
CAMPAIGN_TRANSITIONS: dict[tuple[str, str], str] = {
    (CampaignStatus.OPEN, "township_confirm"): CampaignStatus.LISTS_CONFIRMED,
    (CampaignStatus.LISTS_CONFIRMED, "joint_confirm"): CampaignStatus.JOINTLY_CONFIRMED,
    (CampaignStatus.JOINTLY_CONFIRMED, "county_sign"): CampaignStatus.SIGNED,
    (CampaignStatus.SIGNED, "file"): CampaignStatus.FILED,
}
REOPENABLE = (
    CampaignStatus.LISTS_CONFIRMED,
    CampaignStatus.JOINTLY_CONFIRMED,
    CampaignStatus.SIGNED,
    CampaignStatus.FILED,
)

# --- reads used by the services and the pages ----------------------------------------------------


def _lock_campaign(actor: object, campaign_id: int) -> ReviewCampaign:
    campaign = (
        ReviewCampaign.objects.select_for_update(of=("self",), no_key=True)
        .select_related("county", "county__parent")
        .filter(pk=campaign_id)
        .first()
    )
    if campaign is None or not may_see_campaign(actor, campaign):
        raise refuse(ReviewErrorCode.NOT_FOUND, "年度复核不存在或不在您的管辖范围内")
    return campaign


def may_see_campaign(actor: object, campaign: ReviewCampaign) -> bool:
    """The county's officers and those above see the campaign; a township sees it through its
    own list."""
    if actor_covers_area(actor, campaign.county, perm=Perm.REVIEW_VIEW):
        return True
    return scope_to_actor(
        ReviewList.objects.filter(campaign=campaign),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
        area_field="township",
    ).exists()


def _lock_list(actor: object, campaign: ReviewCampaign, list_id: int) -> ReviewList:
    review_list = (
        ReviewList.objects.select_for_update(of=("self",), no_key=True)
        .select_related("township")
        .filter(pk=list_id, campaign=campaign)
        .first()
    )
    if review_list is None or not actor_covers_area(
        actor, review_list.township, perm=Perm.REVIEW_VIEW
    ):
        raise refuse(ReviewErrorCode.NOT_FOUND, "复核名单不存在或不在您的管辖范围内")
    return review_list


def acting_roles(actor: object, stage: Stage, area: Area) -> list[str]:
    """The roles of ``stage`` the actor holds over ``area`` (in the assignments in force)."""
    held = {
        assignment.role
        for assignment in actor_assignments(actor)
        if area.path.startswith(assignment.area_path)
    }
    return [role for role in stage.roles if role in held]


def _role_for(actor: object, stage: Stage, area: Area, role: str | None) -> str:
    roles = acting_roles(actor, stage, area)
    if role:
        if role not in roles:
            raise refuse(ReviewErrorCode.PERMISSION_DENIED, f"您不能以该身份{stage.label}")
        return role
    if not roles:
        names = "、".join(Role(r).label for r in stage.roles)
        raise refuse(ReviewErrorCode.PERMISSION_DENIED, f"{stage.label}须由{names}办理")
    if len(roles) > 1:
        raise refuse(ReviewErrorCode.INVALID, "您有多个可办理的身份，请选择以哪个部门身份办理")
    return roles[0]


def _require_stage_state(
    stage: Stage, campaign: ReviewCampaign, review_list: ReviewList | None
) -> None:
    if campaign.status not in stage.campaign_statuses:
        wanted = "、".join(CampaignStatus(s).label for s in stage.campaign_statuses)
        raise refuse(
            ReviewErrorCode.INVALID_TRANSITION,
            f"年度复核当前为“{campaign.get_status_display()}”，{stage.label}须在“{wanted}”时办理",
        )
    if review_list is not None and stage.list_from and review_list.status != stage.list_from:
        raise refuse(
            ReviewErrorCode.INVALID_TRANSITION,
            f"{review_list.township.name}复核名单当前为“{review_list.get_status_display()}”，"
            f"不能{stage.label}",
        )


def _worked_on(actor: object, items: QuerySet[ReviewItem]) -> bool:
    pk = getattr(actor, "pk", None)
    return items.filter(Q(worked_by_id=pk) | Q(proposed_by_id=pk) | Q(decided_by_id=pk)).exists()


def _require_separation(actor: object, items: QuerySet[ReviewItem], stage: Stage) -> None:
    if _worked_on(actor, items):
        raise refuse(
            ReviewErrorCode.FOUR_EYES,
            f"您经办、建议或决定过本名单中的复核对象，不能{stage.label}（不相容岗位分离）",
        )


# --- list content and hashes ---------------------------------------------------------------------


def _money(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _item_rows(items: QuerySet[ReviewItem]) -> list[dict[str, Any]]:
    """The rows of a list as they are now (masked ID numbers only)."""
    rows = []
    queryset = items.select_related(
        "area",
        "review_list__township",
        "dibao_household",
        "registry_household",
        "decided_by",
    ).order_by("review_list__township__code", "area__code", "id")
    heads = item_heads(queryset)
    for index, item in enumerate(queryset.iterator(chunk_size=500), start=1):
        household = item.dibao_household
        registry = item.registry_household
        head = heads.get(item.pk, ("", "", 0))
        rows.append(
            {
                "seq": index,
                "item": item.pk,
                "township": item.review_list.township.name,
                "village": item.area.name,
                "kind": item.get_kind_display(),
                "number": household.number if household else "",
                "registry_number": registry.number if registry else "",
                "in_registry": item.in_registry,
                "head_name": head[0],
                "head_id_masked": head[1],
                "persons": head[2],
                "amount_before": _money(item.amount_at_opening) if household else "",
                "outcome": item.get_outcome_display() if item.outcome else "",
                "new_amount": _money(item.new_amount),
                "effective_month": (
                    f"{item.effective_month:%Y-%m}" if item.effective_month else ""
                ),
                "decided_by": str(item.decided_by) if item.decided_by else "",
                "decided_on": f"{item.decided_at:%Y-%m-%d}" if item.decided_at else "",
            }
        )
    return rows


def item_heads(items: QuerySet[ReviewItem]) -> dict[int, tuple[str, str, int]]:
    """item id → (head name, masked ID, current members), two queries for the whole list."""
    pairs = list(items.values_list("pk", "dibao_household_id", "registry_household_id"))
    dibao_ids = {d for _pk, d, _r in pairs if d}
    registry_ids = {r for _pk, d, r in pairs if r and not d}
    by_dibao: dict[int, list] = {}
    for member in (
        HouseholdMember.objects.filter(household_id__in=dibao_ids, left_at__isnull=True)
        .select_related("person")
        .order_by("household_id", "relation", "id")
    ):
        by_dibao.setdefault(member.household_id, []).append(member)
    by_registry: dict[int, list] = {}
    for member in (
        RegistryMember.objects.filter(household_id__in=registry_ids)
        .select_related("person")
        .order_by("household_id", "relation", "id")
    ):
        by_registry.setdefault(member.household_id, []).append(member)
    result = {}
    for pk, dibao_id, registry_id in pairs:
        members = by_dibao.get(dibao_id, []) if dibao_id else by_registry.get(registry_id, [])
        head = members[0].person if members else None
        result[pk] = (
            head.name if head else "",
            head.id_number_masked if head else "",
            len(members),
        )
    return result


def content_sha256(payload: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8) of what is signed."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    outcomes: dict[str, int] = {}
    for row in rows:
        outcomes[row["outcome"] or "未作出结果"] = (
            outcomes.get(row["outcome"] or "未作出结果", 0) + 1
        )
    return {
        "households": len(rows),
        "persons": sum(row["persons"] for row in rows),
        "outcomes": outcomes,
    }


@dataclass(frozen=True)
class ListContent:
    title: str
    header: dict[str, Any]
    rows: list[dict[str, Any]]
    sha256: str


def list_content(campaign: ReviewCampaign, review_list: ReviewList | None) -> ListContent:
    """What a signature of this list covers now: title, header and rows, and their hash."""
    if review_list is None:
        items = ReviewItem.objects.filter(campaign=campaign)
        title = (
            f"{campaign.county.name}{campaign.year}年度农村牧区低保对象和建档立卡贫困人口复核名单"
        )
        header = {"county": campaign.county.name, "county_code": campaign.county.code}
        round_ = campaign.round
    else:
        items = ReviewItem.objects.filter(review_list=review_list)
        title = (
            f"{campaign.county.name}{review_list.township.name}{campaign.year}年度"
            "农村牧区低保对象和建档立卡贫困人口复核名单"
        )
        header = {
            "county": campaign.county.name,
            "county_code": campaign.county.code,
            "township": review_list.township.name,
            "township_code": review_list.township.code,
        }
        round_ = review_list.round
    rows = _item_rows(items)
    header = {**header, "year": campaign.year, "round": round_, **_summary(rows)}
    payload = {"title": title, "header": header, "rows": rows}
    return ListContent(title=title, header=header, rows=rows, sha256=content_sha256(payload))


def registry_dibao_content(campaign: ReviewCampaign) -> ListContent:
    """The list the two county offices confirm jointly: dibao/特困 recipients in the registry
    after the review (decided, and not stopped)."""
    items = ReviewItem.objects.filter(
        campaign=campaign, dibao_household__isnull=False, in_registry=True
    ).exclude(outcome=ItemOutcome.STOP)
    rows = _item_rows(items)
    title = f"{campaign.county.name}{campaign.year}年度复核认定后纳入建档立卡的低保对象名单"
    header = {"county": campaign.county.name, "year": campaign.year, "round": campaign.round}
    header.update(_summary(rows))
    payload = {"title": title, "header": header, "rows": rows}
    return ListContent(title=title, header=header, rows=rows, sha256=content_sha256(payload))


def _freeze(
    campaign: ReviewCampaign, review_list: ReviewList | None, content: ListContent
) -> ReviewListSnapshot:
    return ReviewListSnapshot.objects.create(
        campaign=campaign,
        review_list=review_list,
        scope=SignOffScope.COUNTY if review_list is None else SignOffScope.TOWNSHIP,
        round=campaign.round if review_list is None else review_list.round,
        title=content.title,
        header=content.header,
        rows=content.rows,
        row_count=len(content.rows),
        content_sha256=content.sha256,
        created_at=timezone.now(),
    )


# --- stage completion and the campaign's status ------------------------------------------------


def _stage_complete(campaign: ReviewCampaign, stage: Stage) -> bool:
    if stage.scope == SignOffScope.TOWNSHIP:
        done = (
            {ListStatus.CONFIRMED, ListStatus.SIGNED}
            if stage.kind == CONFIRM
            else {ListStatus.SIGNED}
        )
        return not campaign.lists.exclude(status__in=done).exists()
    model = ReviewConfirmation if stage.kind == CONFIRM else ReviewSignature
    acted = set(
        model.objects.filter(
            campaign=campaign, review_list__isnull=True, round=campaign.round
        ).values_list("role", flat=True)
    )
    return set(stage.roles) <= acted


def _advance(campaign: ReviewCampaign) -> str:
    """Move the campaign on while the stage its status waits for is complete."""
    before = campaign.status
    while True:
        step = next(
            (step for (status, step) in CAMPAIGN_TRANSITIONS if status == campaign.status), None
        )
        if step not in STAGES or not _stage_complete(campaign, STAGES[step]):
            break
        campaign.status = CAMPAIGN_TRANSITIONS[(campaign.status, step)]
    if campaign.status != before:
        campaign.save(update_fields=["status", "updated_at"])
    return campaign.status


# --- confirmation ------------------------------------------------------------------------------


@transaction.atomic
def review_list_confirm(
    *, actor: object, campaign_id: int, list_id: int, note: str = ""
) -> ReviewConfirmation:
    """The township head confirms the township list: every item has a decided outcome."""
    stage = STAGES["township_confirm"]
    campaign = _lock_campaign(actor, campaign_id)
    review_list = _lock_list(actor, campaign, list_id)
    if review_list.status != ListStatus.OPEN:
        existing = _current_confirmation(review_list)
        raise refuse(
            ReviewErrorCode.CONFLICT,
            f"{review_list.township.name}复核名单已由"
            f"{existing.confirmed_by if existing else '他人'}确认",
        )
    role = _role_for(actor, stage, review_list.township, None)
    _require_stage_state(stage, campaign, review_list)
    items = ReviewItem.objects.filter(review_list=review_list)
    undecided = items.filter(outcome="").count()
    if undecided:
        raise refuse(
            ReviewErrorCode.STEP_INCOMPLETE,
            f"名单中还有 {undecided} 户未作出复核结果，不能确认",
        )
    _require_separation(actor, items, stage)
    content = list_content(campaign, review_list)
    now = timezone.now()
    confirmation = _insert(
        ReviewConfirmation,
        campaign=campaign,
        review_list=review_list,
        scope=SignOffScope.TOWNSHIP,
        round=review_list.round,
        role=role,
        confirmed_by=actor,
        confirmed_at=now,
        content_sha256=content.sha256,
        households=content.header["households"],
        persons=content.header["persons"],
        note=note.strip()[:300],
    )
    review_list.status = ListStatus.CONFIRMED
    review_list.confirmed_by, review_list.confirmed_at = actor, now
    review_list.save(update_fields=["status", "confirmed_by", "confirmed_at", "updated_at"])
    record(
        actor=actor,
        action="review_list.confirm",
        obj=review_list,
        area=review_list.township,
        changes={
            "status": [ListStatus.OPEN, ListStatus.CONFIRMED],
            "round": review_list.round,
            "sha256": content.sha256,
        },
    )
    _advance(campaign)
    return confirmation


def _current_confirmation(review_list: ReviewList) -> ReviewConfirmation | None:
    return (
        ReviewConfirmation.objects.filter(review_list=review_list, round=review_list.round)
        .select_related("confirmed_by")
        .first()
    )


def _insert(model: type, **values: Any) -> Any:
    try:
        with transaction.atomic():
            return model.objects.create(**values)
    except IntegrityError as exc:  # the unique constraint, should the lock ever be bypassed
        raise refuse(ReviewErrorCode.CONFLICT, "已有人办理，请刷新页面后查看") from exc


@transaction.atomic
def campaign_joint_confirm(
    *, actor: object, campaign_id: int, role: str | None = None, note: str = ""
) -> ReviewConfirmation:
    """One county office (civil affairs or poverty office) confirms the list of dibao recipients
    in the registry; the campaign is jointly confirmed once both have."""
    stage = STAGES["joint_confirm"]
    campaign = _lock_campaign(actor, campaign_id)
    role = _role_for(actor, stage, campaign.county, role)
    existing = (
        ReviewConfirmation.objects.filter(
            campaign=campaign, review_list__isnull=True, round=campaign.round, role=role
        )
        .select_related("confirmed_by")
        .first()
    )
    if existing is not None:
        raise refuse(
            ReviewErrorCode.CONFLICT,
            f"{Role(role).label}已由{existing.confirmed_by}于 "
            f"{timezone.localtime(existing.confirmed_at):%Y-%m-%d %H:%M} 确认",
        )
    _require_stage_state(stage, campaign, None)
    _require_separation(actor, ReviewItem.objects.filter(campaign=campaign), stage)
    content = registry_dibao_content(campaign)
    confirmation = _insert(
        ReviewConfirmation,
        campaign=campaign,
        review_list=None,
        scope=SignOffScope.COUNTY,
        round=campaign.round,
        role=role,
        confirmed_by=actor,
        confirmed_at=timezone.now(),
        content_sha256=content.sha256,
        households=content.header["households"],
        persons=content.header["persons"],
        note=note.strip()[:300],
    )
    record(
        actor=actor,
        action="review_campaign.joint_confirm",
        obj=campaign,
        area=campaign.county,
        changes={
            "role": role,
            "round": campaign.round,
            "households": content.header["households"],
            "persons": content.header["persons"],
            "sha256": content.sha256,
        },
    )
    _advance(campaign)
    return confirmation


# --- signatures --------------------------------------------------------------------------------


def _reauthenticate(*, actor: object, password: str, otp_token: str) -> str:
    """Check the signer again (``lowbao.accounts.reauth``: the password, and the TOTP code when
    the signer has a device or sign-offs require one); returns the method recorded on the
    signature. Failures are counted outside the database, so the caller's rollback keeps them."""
    reauthenticate(user=actor, password=password or "", otp_token=otp_token or "")
    return "password+totp" if second_factor_required_for_signoff(actor) else "password"


def _existing_signature(
    campaign: ReviewCampaign, review_list: ReviewList | None, role: str
) -> ReviewSignature | None:
    filters = (
        {"review_list__isnull": True, "round": campaign.round}
        if review_list is None
        else {"review_list": review_list, "round": review_list.round}
    )
    return ReviewSignature.objects.filter(campaign=campaign, role=role, **filters).first()


def _signed_conflict(signature: ReviewSignature, what: str) -> DomainError:
    return refuse(
        ReviewErrorCode.CONFLICT,
        f"{what}已由{signature.signer_name}于 "
        f"{timezone.localtime(signature.signed_at):%Y-%m-%d %H:%M} 签字，不能重复签字",
    )


def review_list_sign(
    *,
    actor: object,
    campaign_id: int,
    list_id: int | None,
    password: str,
    otp_token: str = "",
    request: HttpRequest | None = None,
) -> ReviewSignature:
    """Sign a list: the township list by its township head (``list_id``), or the county list by
    the county leader (``list_id=None``, after every township list is signed). Freezes a snapshot
    and records who, when and the content hash."""
    with transaction.atomic():
        method = _reauthenticate(actor=actor, password=password, otp_token=otp_token)
        campaign = _lock_campaign(actor, campaign_id)
        if list_id is None:
            stage, review_list, area = STAGES["county_sign"], None, campaign.county
            what = f"{campaign.county.name}旗县复核名单"
        else:
            stage = STAGES["township_sign"]
            review_list = _lock_list(actor, campaign, list_id)
            area = review_list.township
            what = f"{review_list.township.name}复核名单"
        role = _role_for(actor, stage, area, None)
        existing = _existing_signature(campaign, review_list, role)
        if existing is not None:
            raise _signed_conflict(existing, what)
        _require_stage_state(stage, campaign, review_list)
        if review_list is None:
            unsigned = campaign.lists.exclude(status=ListStatus.SIGNED).select_related("township")
            names = "、".join(row.township.name for row in unsigned)
            if names:
                raise refuse(
                    ReviewErrorCode.INVALID_TRANSITION,
                    f"以下苏木乡镇复核名单尚未签字：{names}；旗县主要领导须在其后签字",
                )
            items = ReviewItem.objects.filter(campaign=campaign)
        else:
            items = ReviewItem.objects.filter(review_list=review_list)
        _require_separation(actor, items, stage)
        content = list_content(campaign, review_list)
        snapshot = _freeze(campaign, review_list, content)
        signature = _insert(
            ReviewSignature,
            campaign=campaign,
            review_list=review_list,
            scope=snapshot.scope,
            round=snapshot.round,
            role=role,
            signer=actor,
            signer_name=(getattr(actor, "display_name", "") or actor.get_username())[:50],
            signed_at=snapshot.created_at,
            content_sha256=content.sha256,
            snapshot=snapshot,
            reauth_method=method,
        )
        if review_list is not None:
            review_list.status = ListStatus.SIGNED
            review_list.save(update_fields=["status", "updated_at"])
        record(
            actor=actor,
            action="review_list.sign",
            obj=signature,
            area=area,
            request=request,
            changes={
                "scope": snapshot.scope,
                "list": review_list.pk if review_list else None,
                "role": role,
                "round": snapshot.round,
                "sha256": content.sha256,
                "rows": snapshot.row_count,
                "reauth": method,
            },
        )
        _advance(campaign)
    return signature


# --- reopening ----------------------------------------------------------------------------------


@transaction.atomic
def review_reopen(
    *, actor: object, campaign_id: int, reason: str, list_id: int | None = None
) -> ReviewReopen:
    """The county reopens a township list (back to 复核中, new round: a new confirmation and a
    new signature are needed, and the county's joint confirmation and signature too), or only the
    county list (``list_id=None``: joint confirmation and the county leader's signature again)."""
    reason = (reason or "").strip()
    campaign = _lock_campaign(actor, campaign_id)
    require_area(actor, campaign.county, Perm.REVIEW_MANAGE, doing="重新打开复核名单")
    if not reason:
        raise refuse(ReviewErrorCode.STEP_INCOMPLETE, "请写明重新打开的原因", reason="请写明原因")
    review_list = None if list_id is None else _lock_list(actor, campaign, list_id)
    if review_list is not None:
        if review_list.status == ListStatus.OPEN:
            raise refuse(
                ReviewErrorCode.INVALID_TRANSITION,
                f"{review_list.township.name}复核名单仍在复核中，不需要重新打开",
            )
        from_status, from_round = review_list.status, review_list.round
        review_list.status, review_list.round = ListStatus.OPEN, review_list.round + 1
        review_list.confirmed_by, review_list.confirmed_at = None, None
        review_list.save(
            update_fields=["status", "round", "confirmed_by", "confirmed_at", "updated_at"]
        )
        if campaign.status != CampaignStatus.OPEN:
            campaign.round += 1
        campaign.status = CampaignStatus.OPEN
    else:
        if campaign.status not in REOPENABLE[1:]:
            raise refuse(
                ReviewErrorCode.INVALID_TRANSITION,
                f"年度复核当前为“{campaign.get_status_display()}”，旗县名单没有可重新打开的确认或签字",
            )
        from_status, from_round = campaign.status, campaign.round
        campaign.round += 1
        campaign.status = CampaignStatus.LISTS_CONFIRMED
    campaign.save(update_fields=["status", "round", "updated_at"])
    reopen = ReviewReopen.objects.create(
        campaign=campaign,
        review_list=review_list,
        reason=reason[:2000],
        from_status=from_status,
        from_round=from_round,
        actor=actor,
        at=timezone.now(),
    )
    record(
        actor=actor,
        action="review_list.reopen",
        obj=reopen,
        area=review_list.township if review_list else campaign.county,
        changes={
            "list": review_list.pk if review_list else None,
            "from_status": from_status,
            "round": [from_round, from_round + 1],
            "campaign_status": campaign.status,
            "reason": reason,
        },
    )
    return reopen


# --- filing -------------------------------------------------------------------------------------


@transaction.atomic
def campaign_file(*, actor: object, campaign_id: int, note: str = "") -> ReviewFiling:
    """File the signed lists with the league/city (备案): the hashes of the county list and of
    every township list, and the joint confirmation's figures."""
    campaign = _lock_campaign(actor, campaign_id)
    require_area(actor, campaign.county, Perm.REVIEW_MANAGE, doing="报盟市备案")
    existing = ReviewFiling.objects.filter(campaign=campaign, round=campaign.round).first()
    if existing is not None:
        raise refuse(
            ReviewErrorCode.CONFLICT,
            f"本轮名单已于 {timezone.localtime(existing.filed_at):%Y-%m-%d %H:%M} 报备",
        )
    if (campaign.status, "file") not in CAMPAIGN_TRANSITIONS:
        raise refuse(
            ReviewErrorCode.INVALID_TRANSITION,
            f"年度复核当前为“{campaign.get_status_display()}”，须签字确认后才能报备",
        )
    county_signature = (
        ReviewSignature.objects.filter(
            campaign=campaign, review_list__isnull=True, round=campaign.round
        )
        .select_related("snapshot")
        .first()
    )
    township_signatures = [
        ReviewSignature.objects.filter(review_list=row, round=row.round)
        .select_related("snapshot")
        .first()
        for row in campaign.lists.select_related("township").order_by("township__code")
    ]
    if county_signature is None or any(s is None for s in township_signatures):
        raise refuse(ReviewErrorCode.INVALID_TRANSITION, "签字不全，不能报备")
    joint = ReviewConfirmation.objects.filter(
        campaign=campaign, review_list__isnull=True, round=campaign.round
    ).first()
    filing = ReviewFiling.objects.create(
        campaign=campaign,
        round=campaign.round,
        league=campaign.county.parent,
        filed_by=actor,
        filed_at=timezone.now(),
        county_snapshot=county_signature.snapshot,
        county_sha256=county_signature.content_sha256,
        township_hashes=[
            {
                "township": signature.snapshot.header.get("township_code", ""),
                "name": signature.snapshot.header.get("township", ""),
                "sha256": signature.content_sha256,
                "snapshot": signature.snapshot_id,
                "signer": signature.signer_name,
            }
            for signature in township_signatures
        ],
        registry_dibao_households=joint.households if joint else 0,
        registry_dibao_persons=joint.persons if joint else 0,
        note=note.strip()[:300],
    )
    campaign.status = CAMPAIGN_TRANSITIONS[(campaign.status, "file")]
    campaign.save(update_fields=["status", "updated_at"])
    record(
        actor=actor,
        action="review_campaign.file",
        obj=filing,
        area=campaign.county,
        changes={
            "round": campaign.round,
            "league": campaign.county.parent.code,
            "county_sha256": filing.county_sha256,
            "townships": len(township_signatures),
        },
    )
    return filing


# --- progress (for pages) ---------------------------------------------------------------------


@dataclass(frozen=True)
class ListProgress:
    review_list: ReviewList
    total: int
    visited: int
    decided: int
    overdue: int

    @property
    def percent(self) -> int:
        return round(100 * self.decided / self.total) if self.total else 100


def list_progress(lists: QuerySet[ReviewList], *, today: date | None = None) -> list[ListProgress]:
    """Progress of each list: one aggregate query for all of them."""
    today = today or timezone.localdate()
    rows = lists.select_related("township", "campaign", "confirmed_by").annotate(
        total=Count("items"),
        visited=Count("items", filter=Q(items__visited_on__isnull=False)),
        decided=Count("items", filter=~Q(items__outcome="")),
    )
    result = []
    for row in rows:
        overdue = row.total - row.decided if today > row.campaign.due_on else 0
        result.append(ListProgress(row, row.total, row.visited, row.decided, overdue))
    return result
