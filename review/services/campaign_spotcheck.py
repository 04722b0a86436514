"""The region's spot checks of the filed reviews (172号 二(三): "自治区将对备案情况进行重点抽查").

A region officer draws a random sample of the items filed by one league's counties for a year.
The sample is reproducible: the population is the ids of the filed items in id order, and
``random.Random(seed).sample`` picks from it; the seed is recorded, so anyone can draw the same
sample again (``spot_check_sample``). Findings are recorded per sampled item; returning the check
makes the findings visible to each county for its own items.
"""

import random
import secrets
from datetime import date

from django.db import transaction
from django.utils import timezone

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from review.models import (
    CampaignStatus,
    FindingResult,
    ReviewItem,
    SpotCheck,
    SpotCheckFinding,
    SpotCheckStatus,
)
from review.services.campaign import ReviewErrorCode, refuse, require_area

MAX_SAMPLE_SIZE = 2000


def spot_check_population(*, league: Area, year: int) -> list[int]:
    """Ids of the items of ``year``'s filed reviews of the league's counties, in id order."""
    return list(
        ReviewItem.objects.filter(
            campaign__county__path__startswith=league.path,
            campaign__year=year,
            campaign__status=CampaignStatus.FILED,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def spot_check_sample(population: list[int], *, seed: str, size: int) -> list[int]:
    """The sample drawn with ``seed`` (sorted ids); the same inputs always give the same ids."""
    chosen = random.Random(seed).sample(population, k=min(size, len(population)))  # noqa: S311
    return sorted(chosen)


@transaction.atomic
def spot_check_draw(
    *,
    actor: object,
    league: Area,
    year: int,
    sample_size: int,
    seed: str = "",
    today: date | None = None,
) -> SpotCheck:
    """Draw a reproducible sample of one league's filed items (the seed is recorded)."""
    today = today or timezone.localdate()
    if league.level != AreaLevel.LEAGUE:
        raise refuse(ReviewErrorCode.INVALID, "请选择盟市", league="请选择盟市")
    require_area(actor, league, Perm.REVIEW_SPOT_CHECK, doing="抽查备案名单")
    if sample_size is None or not 1 <= sample_size <= MAX_SAMPLE_SIZE:
        raise refuse(
            ReviewErrorCode.INVALID,
            f"抽查户数须在 1–{MAX_SAMPLE_SIZE} 之间",
            sample_size=f"请填写 1–{MAX_SAMPLE_SIZE}",
        )
    seed = (seed or "").strip() or secrets.token_hex(8)
    if len(seed) > 40:
        raise refuse(ReviewErrorCode.INVALID, "随机种子不能超过 40 个字符", seed="过长")
    population = spot_check_population(league=league, year=year)
    if not population:
        raise refuse(
            ReviewErrorCode.NOTHING_TO_REVIEW,
            f"{league.name}没有已备案的 {year} 年度复核名单，无法抽查",
        )
    sample = spot_check_sample(population, seed=seed, size=sample_size)
    check = SpotCheck.objects.create(
        league=league,
        year=year,
        seed=seed,
        sample_size=len(sample),
        population_size=len(population),
        sampled_item_ids=sample,
        drawn_by=actor,
    )
    record(
        actor=actor,
        action="spot_check.draw",
        obj=check,
        area=league,
        changes={
            "year": year,
            "seed": seed,
            "population": len(population),
            "sample": sample,
        },
    )
    return check


def _locked_check(actor: object, spot_check_id: int) -> SpotCheck:
    check = (
        SpotCheck.objects.select_for_update(of=("self",), no_key=True)
        .select_related("league")
        .filter(pk=spot_check_id)
        .first()
    )
    if check is None or not actor_covers_area(actor, check.league, perm=Perm.REVIEW_SPOT_CHECK):
        raise refuse(ReviewErrorCode.NOT_FOUND, "抽查不存在或不在您的管辖范围内")
    return check


@transaction.atomic
def spot_check_record_finding(
    *, actor: object, spot_check_id: int, item_id: int, result: str, note: str = ""
) -> SpotCheckFinding:
    """Record (or correct, before returning) the finding on one sampled item."""
    check = _locked_check(actor, spot_check_id)
    if check.status != SpotCheckStatus.DRAWN:
        raise refuse(ReviewErrorCode.INVALID_TRANSITION, "抽查结果已反馈旗县，不能再修改")
    if item_id not in check.sampled_item_ids:
        raise refuse(ReviewErrorCode.INVALID, "该户不在本次抽查样本中")
    note = (note or "").strip()
    if result not in FindingResult.values:
        raise refuse(ReviewErrorCode.INVALID, "请选择抽查结果", result="请选择")
    if result == FindingResult.PROBLEM and not note:
        raise refuse(ReviewErrorCode.STEP_INCOMPLETE, "发现问题须写明情况", note="请写明问题")
    item = ReviewItem.objects.select_related("campaign").get(pk=item_id)
    finding, created = SpotCheckFinding.objects.update_or_create(
        spot_check=check,
        item=item,
        defaults={
            "county_id": item.campaign.county_id,
            "result": result,
            "note": note[:2000],
            "recorded_by": actor,
        },
    )
    record(
        actor=actor,
        action="spot_check.finding",
        obj=finding,
        area=check.league,
        changes={"item": item_id, "result": result, "note": note, "created": created},
    )
    return finding


@transaction.atomic
def spot_check_return(*, actor: object, spot_check_id: int, summary: str) -> SpotCheck:
    """Return the results to the counties once every sampled item has a finding."""
    check = _locked_check(actor, spot_check_id)
    if check.status == SpotCheckStatus.RETURNED:
        raise refuse(ReviewErrorCode.CONFLICT, "抽查结果已反馈旗县")
    summary = (summary or "").strip()
    if not summary:
        raise refuse(ReviewErrorCode.STEP_INCOMPLETE, "请填写抽查结论", summary="请填写")
    recorded = set(check.findings.values_list("item_id", flat=True))
    missing = [pk for pk in check.sampled_item_ids if pk not in recorded]
    if missing:
        raise refuse(
            ReviewErrorCode.STEP_INCOMPLETE,
            f"还有 {len(missing)} 户未记录抽查结果，不能反馈",
        )
    check.status, check.returned_at, check.summary = (
        SpotCheckStatus.RETURNED,
        timezone.now(),
        summary[:4000],
    )
    check.save(update_fields=["status", "returned_at", "summary", "updated_at"])
    record(
        actor=actor,
        action="spot_check.return",
        obj=check,
        area=check.league,
        changes={
            "status": [SpotCheckStatus.DRAWN, SpotCheckStatus.RETURNED],
            "problems": check.findings.filter(result=FindingResult.PROBLEM).count(),
        },
    )
    return check
