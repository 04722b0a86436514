"""Reads of the annual review, always scoped to the actor (style B.5): every list goes through
``scope_to_actor``, every object fetch through an ``access_*`` that answers 404 outside the
actor's areas.

League and region officers see the campaigns of their area; the filings page (备案) shows them
the signed lists with their hashes, read-only.
"""

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_area_paths, actor_covers_area, scope_to_actor
from review.models import (
    ListStatus,
    ReconciliationCategory,
    ReconciliationItem,
    ReviewCampaign,
    ReviewConfirmation,
    ReviewFiling,
    ReviewItem,
    ReviewList,
    ReviewListSnapshot,
    ReviewReopen,
    ReviewSignature,
    SpotCheck,
    SpotCheckFinding,
    SpotCheckStatus,
)

# The reconciliation categories of the two-way screening (172号: 应扶尽扶、应保尽保、应退则退).
SCREENING_CATEGORIES = (
    ReconciliationCategory.SHOULD_REGISTER,
    ReconciliationCategory.SHOULD_PROTECT,
    ReconciliationCategory.SHOULD_EXIT_REVIEW,
)


def campaign_queryset(*, actor: object) -> QuerySet[ReviewCampaign]:
    """Campaigns of counties in the actor's areas, and those where the actor sees a township
    list (a township's officers see their county's campaign through their own list)."""
    by_county = scope_to_actor(
        ReviewCampaign.objects.all(), actor=actor, perm=Perm.REVIEW_VIEW, area_field="county"
    ).values("pk")
    by_list = scope_to_actor(
        ReviewList.objects.all(), actor=actor, perm=Perm.REVIEW_VIEW, area_field="township"
    ).values("campaign_id")
    return ReviewCampaign.objects.select_related("county", "county__parent", "opened_by").filter(
        Q(pk__in=by_county) | Q(pk__in=by_list)
    )


def access_campaign_by_id(actor: object, campaign_id: int) -> ReviewCampaign:
    campaign = campaign_queryset(actor=actor).filter(pk=campaign_id).first()
    if campaign is None:
        raise Http404("年度复核不存在或不在您的管辖范围内")
    return campaign


def list_queryset(*, actor: object, campaign: ReviewCampaign) -> QuerySet[ReviewList]:
    """The township lists of the campaign the actor may see (a township sees its own)."""
    return scope_to_actor(
        ReviewList.objects.filter(campaign=campaign).select_related("township"),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
        area_field="township",
    ).order_by("township__code")


def access_list_by_id(actor: object, list_id: int) -> ReviewList:
    review_list = (
        scope_to_actor(
            ReviewList.objects.select_related(
                "township", "campaign", "campaign__county", "confirmed_by"
            ),
            actor=actor,
            perm=Perm.REVIEW_VIEW,
            area_field="township",
        )
        .filter(pk=list_id)
        .first()
    )
    if review_list is None:
        raise Http404("复核名单不存在或不在您的管辖范围内")
    return review_list


def item_queryset(*, actor: object) -> QuerySet[ReviewItem]:
    return scope_to_actor(
        ReviewItem.objects.select_related(
            "area",
            "campaign",
            "campaign__county",
            "review_list",
            "review_list__township",
            "dibao_household",
            "registry_household",
            "decided_by",
            "proposed_by",
        ),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
    )


def access_item_by_id(actor: object, item_id: int) -> ReviewItem:
    item = item_queryset(actor=actor).filter(pk=item_id).first()
    if item is None:
        raise Http404("复核对象不存在或不在您的管辖范围内")
    return item


ITEM_FILTERS = {
    "": "全部",
    "undecided": "未作出结果",
    "overdue": "逾期未办结",
    "decided": "已作出结果",
    "registry": "在建档立卡台账",
}


def list_items(
    *, actor: object, review_list: ReviewList, show: str = "", today: date | None = None
) -> QuerySet[ReviewItem]:
    """The items of a township list, filtered (``ITEM_FILTERS``), in village and number order."""
    today = today or timezone.localdate()
    items = item_queryset(actor=actor).filter(review_list=review_list)
    if show == "undecided":
        items = items.filter(outcome="")
    elif show == "overdue":
        items = items.filter(outcome="") if today > review_list.campaign.due_on else items.none()
    elif show == "decided":
        items = items.exclude(outcome="")
    elif show == "registry":
        items = items.filter(in_registry=True)
    return items.order_by("area__code", "id")


def screening_findings(
    *, campaign: ReviewCampaign, items: list[ReviewItem]
) -> dict[int, list[ReconciliationItem]]:
    """item id → the reconciliation findings of the period (应扶尽扶 / 应保尽保 / 应退则退) on its
    households: found in a run of the campaign's year up to its last day, or still open. One
    query for all the items given (read-only: the reconciliation owns these rows)."""
    dibao = {item.dibao_household_id: item.pk for item in items if item.dibao_household_id}
    registry = {item.registry_household_id: item.pk for item in items if item.registry_household_id}
    if not dibao and not registry:
        return {}
    start = date(campaign.year, 1, 1)
    findings = (
        ReconciliationItem.objects.filter(county=campaign.county, category__in=SCREENING_CATEGORIES)
        .filter(Q(dibao_household_id__in=dibao) | Q(registry_household_id__in=registry))
        .filter(
            Q(last_run__as_of__gte=start, last_run__as_of__lte=campaign.due_on) | Q(state="open")
        )
        .select_related("last_run")
        .order_by("category", "id")
    )
    result: dict[int, list[ReconciliationItem]] = {}
    for finding in findings:
        keys = {dibao.get(finding.dibao_household_id), registry.get(finding.registry_household_id)}
        for key in keys - {None}:
            result.setdefault(key, []).append(finding)
    return result


def current_confirmations(campaign: ReviewCampaign) -> list[ReviewConfirmation]:
    return list(
        ReviewConfirmation.objects.filter(
            campaign=campaign, review_list__isnull=True, round=campaign.round
        ).select_related("confirmed_by")
    )


def current_county_signature(campaign: ReviewCampaign) -> ReviewSignature | None:
    return (
        ReviewSignature.objects.filter(
            campaign=campaign, review_list__isnull=True, round=campaign.round
        )
        .select_related("snapshot")
        .first()
    )


def current_list_signature(review_list: ReviewList) -> ReviewSignature | None:
    return (
        ReviewSignature.objects.filter(review_list=review_list, round=review_list.round)
        .select_related("snapshot")
        .first()
    )


def campaign_history(
    campaign: ReviewCampaign,
) -> tuple[list[ReviewSignature], list[ReviewReopen], list[ReviewFiling]]:
    """Every signature, reopening and filing of the campaign (the sign-off history)."""
    return (
        list(
            ReviewSignature.objects.filter(campaign=campaign)
            .select_related("review_list__township")
            .order_by("signed_at", "id")
        ),
        list(
            ReviewReopen.objects.filter(campaign=campaign)
            .select_related("review_list__township", "actor")
            .order_by("at", "id")
        ),
        list(ReviewFiling.objects.filter(campaign=campaign).select_related("filed_by")),
    )


def access_snapshot_by_id(actor: object, snapshot_id: int) -> ReviewListSnapshot:
    """A signed snapshot if the actor may see its list (township lists by township)."""
    snapshot = (
        ReviewListSnapshot.objects.select_related(
            "campaign", "campaign__county", "review_list", "review_list__township"
        )
        .filter(pk=snapshot_id)
        .first()
    )
    if snapshot is None:
        raise Http404("签字名单不存在")
    area = snapshot.review_list.township if snapshot.review_list else snapshot.campaign.county
    if not actor_covers_area(actor, area, perm=Perm.REVIEW_VIEW):
        raise Http404("签字名单不存在或不在您的管辖范围内")
    return snapshot


def signature_of_snapshot(snapshot: ReviewListSnapshot) -> ReviewSignature | None:
    return ReviewSignature.objects.filter(snapshot=snapshot).select_related("signer").first()


def filing_queryset(*, actor: object) -> QuerySet[ReviewFiling]:
    """Filings of the counties in the actor's areas (a league sees its own counties only)."""
    return scope_to_actor(
        ReviewFiling.objects.select_related(
            "campaign", "campaign__county", "league", "filed_by", "county_snapshot"
        ),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
        area_field="campaign__county",
    ).order_by("-filed_at", "-id")


def leagues_for_spot_check(*, actor: object) -> QuerySet[Area]:
    return scope_to_actor(
        Area.objects.filter(level=AreaLevel.LEAGUE),
        actor=actor,
        perm=Perm.REVIEW_SPOT_CHECK,
        area_field=None,
    ).order_by("code")


def spot_check_queryset(*, actor: object) -> QuerySet[SpotCheck]:
    return scope_to_actor(
        SpotCheck.objects.select_related("league", "drawn_by"),
        actor=actor,
        perm=Perm.REVIEW_SPOT_CHECK,
        area_field="league",
    ).order_by("-created_at", "-id")


def access_spot_check_by_id(actor: object, spot_check_id: int) -> SpotCheck:
    check = spot_check_queryset(actor=actor).filter(pk=spot_check_id).first()
    if check is None:
        raise Http404("抽查不存在或不在您的管辖范围内")
    return check


def returned_findings(*, actor: object) -> QuerySet[SpotCheckFinding]:
    """Findings of returned spot checks on the counties in the actor's areas (the county's
    view of the results)."""
    return scope_to_actor(
        SpotCheckFinding.objects.filter(spot_check__status=SpotCheckStatus.RETURNED).select_related(
            "spot_check",
            "spot_check__league",
            "item",
            "item__area",
            "item__dibao_household",
            "item__registry_household",
            "county",
        ),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
        area_field="county",
    ).order_by("-spot_check__returned_at", "item_id")


@dataclass(frozen=True)
class SampleRow:
    item: ReviewItem
    finding: SpotCheckFinding | None


def spot_check_rows(check: SpotCheck) -> list[SampleRow]:
    items = {
        item.pk: item
        for item in ReviewItem.objects.filter(pk__in=check.sampled_item_ids).select_related(
            "area",
            "area__parent",
            "campaign__county",
            "dibao_household",
            "registry_household",
        )
    }
    findings = {finding.item_id: finding for finding in check.findings.all()}
    return [
        SampleRow(item=items[pk], finding=findings.get(pk))
        for pk in check.sampled_item_ids
        if pk in items
    ]


# --- reads of the API (contracts.md "Data exchange": campaigns, lists, items) ---------------------
#
# The same scoping as the pages: campaigns through ``campaign_queryset`` (a township sees its
# county's campaign through its own list), lists by township, items by village. The facts of a
# page (progress, current signatures, filings) are read in a fixed number of queries for all of
# its rows, so a page costs the same for 1 and for 200 rows.


def access_review_area_by_code(actor: object, code: str) -> Area:
    """The area of an ``area`` filter: one the actor covers, or one above the actor's own areas
    (a township's officer may name their county; scoping still narrows the rows). 404 for an
    unknown code or an area wholly outside the actor's areas."""
    area = Area.objects.filter(code=code).first()
    paths = actor_area_paths(actor, perm=Perm.REVIEW_VIEW)
    if area is None or not any(
        area.path.startswith(path) or path.startswith(area.path) for path in paths
    ):
        raise Http404("区划不存在或不在您的管辖范围内")
    return area


def _in_or_around(field: str, area: Area) -> Q:
    """Rows whose ``field`` area lies under ``area`` or contains it: a county code selects all its
    townships, a village code its township (and its county's campaign)."""
    ancestors = [code for code in area.path.split("/") if code]
    return Q(**{f"{field}__path__startswith": area.path}) | Q(**{f"{field}__code__in": ancestors})


def campaign_list(
    *, actor: object, area: Area | None = None, status: str = "", year: int | None = None
) -> QuerySet[ReviewCampaign]:
    """Scoped campaigns, with ``county_code`` for the keyset order (year desc, county, id)."""
    campaigns = campaign_queryset(actor=actor)
    if area is not None:
        campaigns = campaigns.filter(_in_or_around("county", area))
    if status:
        campaigns = campaigns.filter(status=status)
    if year is not None:
        campaigns = campaigns.filter(year=year)
    return campaigns.annotate(county_code=F("county__code"))


def review_list_list(
    *,
    actor: object,
    campaign_id: int | None = None,
    area: Area | None = None,
    status: str = "",
    year: int | None = None,
) -> QuerySet[ReviewList]:
    """Scoped township lists, with ``campaign_year`` and ``township_code`` for the keyset order
    (year desc, township, id)."""
    lists = scope_to_actor(
        ReviewList.objects.select_related(
            "township", "campaign", "campaign__county", "confirmed_by"
        ),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
        area_field="township",
    )
    if campaign_id is not None:
        lists = lists.filter(campaign_id=campaign_id)
    if area is not None:
        lists = lists.filter(_in_or_around("township", area))
    if status:
        lists = lists.filter(status=status)
    if year is not None:
        lists = lists.filter(campaign__year=year)
    return lists.annotate(campaign_year=F("campaign__year"), township_code=F("township__code"))


@dataclass(frozen=True)
class Progress:
    """Households of a list (or of the lists of a campaign the actor sees) and how far they are."""

    households: int = 0
    visited: int = 0
    decided: int = 0
    overdue: int = 0
    lists: int = 0
    lists_open: int = 0
    lists_confirmed: int = 0
    lists_signed: int = 0


_ITEM_COUNTS = {
    "households": Count("id"),
    "visited": Count("id", filter=Q(visited_on__isnull=False)),
    "decided": Count("id", filter=~Q(outcome="")),
}


def _overdue(households: int, decided: int, due_on: date, today: date) -> int:
    return households - decided if today > due_on else 0


def list_progress_by_id(
    lists: list[ReviewList], *, today: date | None = None
) -> dict[int, Progress]:
    """list id → progress of every item of the list (one query for all the lists given)."""
    today = today or timezone.localdate()
    due = {row.pk: row.campaign.due_on for row in lists}
    rows = (
        ReviewItem.objects.filter(review_list_id__in=due)
        .order_by()
        .values("review_list_id")
        .annotate(**_ITEM_COUNTS)
    )
    result = {pk: Progress() for pk in due}
    for row in rows:
        pk = row["review_list_id"]
        result[pk] = Progress(
            households=row["households"],
            visited=row["visited"],
            decided=row["decided"],
            overdue=_overdue(row["households"], row["decided"], due[pk], today),
        )
    return result


def campaign_progress_by_id(
    *, actor: object, campaigns: list[ReviewCampaign], today: date | None = None
) -> dict[int, Progress]:
    """campaign id → progress over the lists the actor sees (a township: its own list; the
    county and above: every list), as on the campaign page. Two queries for all campaigns."""
    today = today or timezone.localdate()
    due = {campaign.pk: campaign.due_on for campaign in campaigns}
    visible = scope_to_actor(
        ReviewList.objects.filter(campaign_id__in=due),
        actor=actor,
        perm=Perm.REVIEW_VIEW,
        area_field="township",
    )
    by_status: dict[int, dict[str, int]] = {pk: {} for pk in due}
    for row in visible.order_by().values("campaign_id", "status").annotate(n=Count("id")):
        by_status[row["campaign_id"]][row["status"]] = row["n"]
    items = {
        row["campaign_id"]: row
        for row in ReviewItem.objects.filter(review_list__in=visible.values("pk"))
        .order_by()
        .values("campaign_id")
        .annotate(**_ITEM_COUNTS)
    }
    result = {}
    for pk, due_on in due.items():
        statuses = by_status[pk]
        row = items.get(pk, {"households": 0, "visited": 0, "decided": 0})
        result[pk] = Progress(
            households=row["households"],
            visited=row["visited"],
            decided=row["decided"],
            overdue=_overdue(row["households"], row["decided"], due_on, today),
            lists=sum(statuses.values()),
            lists_open=statuses.get(ListStatus.OPEN, 0),
            lists_confirmed=statuses.get(ListStatus.CONFIRMED, 0),
            lists_signed=statuses.get(ListStatus.SIGNED, 0),
        )
    return result


def current_list_signatures(lists: list[ReviewList]) -> dict[int, ReviewSignature]:
    """list id → the signature of the list's current round (signed lists only; one query, the
    frozen rows of the snapshot are not read)."""
    signatures = ReviewSignature.objects.filter(
        review_list_id__in=[row.pk for row in lists], round=F("review_list__round")
    ).order_by("signed_at", "id")
    return {signature.review_list_id: signature for signature in signatures}


def current_county_signatures(
    *, actor: object, campaigns: list[ReviewCampaign]
) -> dict[int, ReviewSignature]:
    """campaign id → the county leader's signature of the current round, for the campaigns whose
    county the actor covers (a township does not see the county list, as on the page)."""
    ids = [c.pk for c in campaigns if actor_covers_area(actor, c.county, perm=Perm.REVIEW_VIEW)]
    signatures = ReviewSignature.objects.filter(
        campaign_id__in=ids, review_list__isnull=True, round=F("campaign__round")
    ).order_by("signed_at", "id")
    return {signature.campaign_id: signature for signature in signatures}


def current_filings(campaign_ids: list[int]) -> dict[int, ReviewFiling]:
    """campaign id → its filing of the current round (one query; a reopening starts a new round,
    so an earlier filing no longer counts)."""
    filings = ReviewFiling.objects.filter(
        campaign_id__in=campaign_ids, round=F("campaign__round")
    ).select_related("league")
    return {filing.campaign_id: filing for filing in filings}
