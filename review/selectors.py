"""Reads of the ledger reconciliation (reconciliation.md): runs, items, counts and the trend.

Scoping (style B.5, quality.md S1) goes through ``scope_to_actor`` only:

- a **run** belongs to its county (``area_field="county"``): county users and the league/region
  above them see it; a township user does not (the township works its items, not the runs);
- an **item** belongs to its township; an item without a township (a county-wide finding)
  belongs to its county, so only county-level users and above see it. ``item_scope`` asks
  ``scope_to_actor`` which counties and townships the actor covers, once per request, and the
  item query filters on those ids (``ItemScope``).

Every list here has its joins fixed (``select_related``) and the persons of a page are read in
one query (``persons_by_id``), so a list page runs the same number of queries for 20 and for 200
rows (quality.md P6). ID numbers leave this module masked, except for the full-number export
(``persons_by_id(reveal=True)``, called only after the SENSITIVE_REVEAL check).
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404

from cases.selectors import covered_counties
from lowbao.accounts.models import User
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm, role_has_perm
from lowbao.areas.scoping import actor_assignments, scope_to_actor
from lowbao.people.masking import mask_id_number, mask_value_in_text
from lowbao.people.models import Person
from lowbao.people.protection import decrypt
from poverty.linkage_selectors import townships_in_scope
from review.models import (
    ItemEvent,
    ItemState,
    ReconciliationCategory,
    ReconciliationFinding,
    ReconciliationItem,
    ReconciliationRun,
    RunStatus,
)

# The categories a township works (``linked`` is counted on the run, never an item).
TASK_CATEGORIES: tuple[str, ...] = tuple(
    value for value in ReconciliationCategory.values if value != ReconciliationCategory.LINKED
)
# States a user may choose when resolving (the other two are set by the runs).
RESOLUTION_STATES: tuple[str, ...] = (
    ItemState.VERIFIED,
    ItemState.CORRECTED,
    ItemState.INCLUDED,
    ItemState.EXITED,
    ItemState.REFERRED,
)
TREND_RUNS = 12


# --- runs ------------------------------------------------------------------------------------


def run_queryset(*, actor: object, perm: str = Perm.RECONCILE_VIEW) -> QuerySet[ReconciliationRun]:
    """Runs of the counties under the actor's areas for ``perm``."""
    return scope_to_actor(
        ReconciliationRun.objects.select_related("county", "started_by"),
        actor=actor,
        perm=perm,
        area_field="county",
    )


def run_list(
    *,
    actor: object,
    county: Area | None = None,
    status: str = "",
    period: str = "",
) -> QuerySet[ReconciliationRun]:
    """Scoped runs, newest first, optionally of one county, status and period (``2026H2``)."""
    queryset = run_queryset(actor=actor)
    if county is not None:
        queryset = queryset.filter(county=county)
    if status:
        queryset = queryset.filter(status=status)
    if period:
        queryset = queryset.filter(period=period)
    return queryset.order_by("-created_at", "-id")


def access_run_by_id(actor: object, run_id: int) -> ReconciliationRun:
    """The run if the actor may see it; otherwise 404 (never 403)."""
    run = run_queryset(actor=actor).filter(pk=run_id).first()
    if run is None:
        raise Http404("比对记录不存在或不在您的管辖范围内")
    return run


def latest_finished_run(*, actor: object, county: Area) -> ReconciliationRun | None:
    return (
        run_queryset(actor=actor)
        .filter(county=county, status=RunStatus.FINISHED)
        .order_by("-as_of", "-finished_at", "-id")
        .first()
    )


@dataclass(frozen=True)
class TrendPoint:
    run: ReconciliationRun
    counts: list[int]  # in the order of ``TASK_CATEGORIES``
    total: int  # findings to work (all categories but ``linked``)
    linked: int


def run_trend(*, actor: object, county: Area, limit: int = TREND_RUNS) -> list[TrendPoint]:
    """The counts of the county's last ``limit`` finished runs, oldest → newest."""
    runs = list(
        run_queryset(actor=actor)
        .filter(county=county, status=RunStatus.FINISHED)
        .order_by("-as_of", "-finished_at", "-id")[:limit]
    )
    points = []
    for run in reversed(runs):
        counts = [_count(run.counts, category) for category in TASK_CATEGORIES]
        points.append(
            TrendPoint(
                run=run,
                counts=counts,
                total=sum(counts),
                linked=_count(run.counts, ReconciliationCategory.LINKED),
            )
        )
    return points


def _count(counts: Any, category: str) -> int:
    value = counts.get(category, 0) if isinstance(counts, dict) else 0
    return value if isinstance(value, int) and value >= 0 else 0


def active_runs(*, actor: object, county: Area) -> list[ReconciliationRun]:
    return list(
        run_queryset(actor=actor)
        .filter(county=county, status__in=(RunStatus.QUEUED, RunStatus.RUNNING))
        .order_by("created_at", "id")
    )


# --- areas -----------------------------------------------------------------------------------


def reconciliation_counties(*, actor: object, perm: str = Perm.RECONCILE_VIEW) -> QuerySet[Area]:
    """Counties wholly within the actor's areas (the county summary is theirs)."""
    return scope_to_actor(
        Area.objects.filter(level=AreaLevel.COUNTY), actor=actor, perm=perm, area_field=None
    ).order_by("code")


def access_county_by_code(actor: object, code: str, *, perm: str = Perm.RECONCILE_VIEW) -> Area:
    county = reconciliation_counties(actor=actor, perm=perm).filter(code=code).first()
    if county is None:
        raise Http404("旗县不存在或不在您的管辖范围内")
    return county


COUNTY_LEVELS = (AreaLevel.COUNTY, AreaLevel.LEAGUE, AreaLevel.REGION)


def actor_works_on_counties(actor: object) -> bool:
    """Whether the actor sees whole counties (county users and above): decided from the
    assignments already loaded for the request, without a query."""
    return any(
        assignment.area_level in COUNTY_LEVELS
        and role_has_perm(assignment.role, Perm.RECONCILE_VIEW)
        for assignment in actor_assignments(actor)
    )


def worklist_counties(*, actor: object) -> QuerySet[Area]:
    """Counties the actor has items in (wholly, or through a township of theirs)."""
    return covered_counties(actor, perm=Perm.RECONCILE_VIEW).order_by("code")


def worklist_townships(*, actor: object, county: Area | None = None) -> QuerySet[Area]:
    return townships_in_scope(actor=actor, perm=Perm.RECONCILE_VIEW, county=county)


def access_township_by_code(actor: object, code: str) -> Area:
    township = worklist_townships(actor=actor).filter(code=code).first()
    if township is None:
        raise Http404("苏木乡镇不存在或不在您的管辖范围内")
    return township


def access_worklist_county_by_code(actor: object, code: str) -> Area:
    county = worklist_counties(actor=actor).filter(code=code).first()
    if county is None:
        raise Http404("旗县不存在或不在您的管辖范围内")
    return county


def period_choices(*, actor: object, counties: Iterable[Area] | None = None) -> list[str]:
    """The periods (``2026H2`` …) of the runs of the counties the actor works in, newest first
    (``counties``: those counties, when the caller has them already)."""
    county_ids = (
        [county.pk for county in counties]
        if counties is not None
        else worklist_counties(actor=actor).values("pk")
    )
    periods = (
        ReconciliationRun.objects.filter(county_id__in=county_ids)
        .order_by()
        .values_list("period", flat=True)
        .distinct()
    )
    return sorted(set(periods), reverse=True)


@dataclass(frozen=True)
class CountyRuns:
    """The runs of some counties, read once for a worklist page: its period menu and the
    first/last run of each item on the page (id, period and as-of date only)."""

    periods: list[str]
    by_id: dict[int, ReconciliationRun]


def county_runs(*, counties: Iterable[Area], run_ids: Iterable[int] = ()) -> CountyRuns:
    """``CountyRuns`` of ``counties`` in one query (instead of a period query and a join of
    both runs onto every item row); runs kept only for ``run_ids`` (a region has thousands)."""
    wanted = set(run_ids)
    periods: set[str] = set()
    by_id: dict[int, ReconciliationRun] = {}
    rows = ReconciliationRun.objects.filter(
        county_id__in=[county.pk for county in counties]
    ).values_list("pk", "period", "as_of")
    for pk, period, as_of in rows:
        periods.add(period)
        if pk in wanted:
            by_id[pk] = ReconciliationRun(pk=pk, period=period, as_of=as_of)
    return CountyRuns(periods=sorted(periods, reverse=True), by_id=by_id)


# --- items -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemScope:
    """Where the actor sees items for a capability, as area ids (read once per request).

    ``county_ids``: counties wholly under the actor's areas — every item of theirs, with or
    without a township. ``township_ids``: townships under the actor's areas outside those
    counties — their items only, never a county-wide one. Plain id lists keep the item query on
    the ``(county, …)`` and ``(township, …)`` indexes instead of joining the area tree per row.
    """

    county_ids: tuple[int, ...]
    township_ids: tuple[int, ...]


_SCOPE_CACHE_ATTR = "_review_item_scopes"


def item_scope(actor: object, *, perm: str = Perm.RECONCILE_VIEW) -> ItemScope:
    """The areas of ``scope_to_actor`` for items, cached on the actor for the request (keyed by
    the assignments in force, so a changed assignment is never served a stale scope)."""
    key = (perm, tuple(assignment.id for assignment in actor_assignments(actor)))
    cache: dict[tuple, ItemScope] | None = getattr(actor, _SCOPE_CACHE_ATTR, None)
    if cache is not None and key in cache:
        return cache[key]
    rows = list(
        scope_to_actor(
            Area.objects.filter(level__in=(AreaLevel.COUNTY, AreaLevel.TOWNSHIP)),
            actor=actor,
            perm=perm,
            area_field=None,
        ).values_list("pk", "level", "parent_id")
    )
    counties = {pk for pk, level, _ in rows if level == AreaLevel.COUNTY}
    scope = ItemScope(
        county_ids=tuple(sorted(counties)),
        township_ids=tuple(
            sorted(
                pk
                for pk, level, parent in rows
                if level == AreaLevel.TOWNSHIP and parent not in counties
            )
        ),
    )
    if getattr(actor, "pk", None) is not None:
        if cache is None:
            cache = {}
            setattr(actor, _SCOPE_CACHE_ATTR, cache)
        cache[key] = scope
    return scope


def item_queryset(
    *, actor: object, perm: str = Perm.RECONCILE_VIEW
) -> QuerySet[ReconciliationItem]:
    """Items under the actor's areas for ``perm``: by township, or — for items without one — by
    county (so a township user never sees a county-wide item). See ``ItemScope``."""
    scope = item_scope(actor, perm=perm)
    queryset = ReconciliationItem.objects.select_related(
        "county",
        "township",
        "dibao_household__area",
        "registry_household__area",
        "first_run",
        "last_run",
        "resolved_by",
    )
    if scope.county_ids and scope.township_ids:
        return queryset.filter(
            Q(county_id__in=scope.county_ids) | Q(township_id__in=scope.township_ids)
        )
    if scope.county_ids:
        return queryset.filter(county_id__in=scope.county_ids)
    if scope.township_ids:
        return queryset.filter(township_id__in=scope.township_ids)
    return queryset.none()


@dataclass(frozen=True)
class ItemFilters:
    """Worklist/API filters. Areas were fetched through an ``access_*`` helper already."""

    category: str = ""
    state: str = ""
    county: Area | None = None
    township: Area | None = None
    period: str = ""


def apply_item_filters(
    queryset: QuerySet[ReconciliationItem], filters: ItemFilters, *, with_category: bool = True
) -> QuerySet[ReconciliationItem]:
    """``filters`` on an already scoped item queryset."""
    if with_category and filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.county is not None:
        queryset = queryset.filter(county=filters.county)
    if filters.township is not None:
        queryset = queryset.filter(township=filters.township)
    if filters.period:
        queryset = queryset.filter(
            Exists(
                ReconciliationFinding.objects.filter(
                    item_id=OuterRef("pk"), run__period=filters.period
                )
            )
        )
    return queryset


def item_list(*, actor: object, filters: ItemFilters) -> QuerySet[ReconciliationItem]:
    """Scoped, filtered items in a stable order (category, then the finding's key)."""
    return apply_item_filters(item_queryset(actor=actor), filters).order_by("category", "key", "id")


# What a worklist row shows of an item (and its keyset ordering needs). Every relation joined
# and every column read made the planner weigh a ten-table join (10 ms per page view) and
# Python build ~500 model instances per page; the runs and the resolver are a handful of rows,
# read by id instead of joined.
WORKLIST_ITEM_FIELDS = (
    "id",
    "category",
    "key",
    "state",
    "county",
    "township",
    "township__name",
    "dibao_numbers",
    "registry_numbers",
    "person_ids",
    "details",
    "resolved_at",
    "resolved_by",
    "first_run",
    "last_run",
    "dibao_household",
    "dibao_household__number",
    "dibao_household__area",
    "dibao_household__area__path",
    "registry_household",
    "registry_household__number",
    "registry_household__area",
    "registry_household__area__path",
)


def worklist_items(*, actor: object, filters: ItemFilters) -> QuerySet[ReconciliationItem]:
    """``item_list`` for the worklist page: the columns it shows; the resolvers read apart (a
    query only when the page lists resolved items), the runs by ``attach_runs``."""
    return (
        item_list(actor=actor, filters=filters)
        .select_related(None)
        .select_related("township", "dibao_household__area", "registry_household__area")
        .only(*WORKLIST_ITEM_FIELDS)
        .prefetch_related(
            Prefetch("resolved_by", queryset=User.objects.only("id", "username", "display_name"))
        )
    )


def attach_runs(items: Iterable[ReconciliationItem], runs: CountyRuns) -> None:
    """Give the items their first and last runs from ``runs`` (read with the period menu);
    a run not there is read when shown."""
    for item in items:
        for name in ("first_run", "last_run"):
            run = runs.by_id.get(getattr(item, f"{name}_id"))
            if run is not None:
                setattr(item, name, run)


# Tab counts stop at this many items per category ("1,000+"): the exact count of every open
# item of a region (~94,000 at 1,000,000 persons) took a scan of the whole table per page view
# (quality.md P6); the county summary gives exact figures.
TAB_COUNT_CAP = 1_000


@dataclass(frozen=True)
class TabCount:
    count: int
    capped: bool

    def __str__(self) -> str:
        return f"{self.count:,}+" if self.capped else f"{self.count:,}"


def item_category_counts(
    *, actor: object, filters: ItemFilters, cap: int | None = None
) -> dict[str, TabCount]:
    """Items per category under every filter but the category (the worklist tabs), each counted
    up to ``cap`` (one query: a ``LIMIT cap + 1`` subquery per category, UNION ALL)."""
    queryset = apply_item_filters(item_queryset(actor=actor), filters, with_category=False)
    if queryset.query.is_empty():  # no areas: nothing to count (and nothing to compile)
        return {category: TabCount(0, False) for category in TASK_CATEGORIES}
    cap = TAB_COUNT_CAP if cap is None else cap
    parts: list[str] = []
    params: list[Any] = []
    for category in TASK_CATEGORIES:
        inner = queryset.filter(category=category).order_by().values("pk")[: cap + 1]
        sql, inner_params = inner.query.sql_with_params()
        # the subqueries are compiled querysets (parameters kept apart)
        parts.append(f"SELECT %s, COUNT(*) FROM ({sql}) t{len(parts)}")  # noqa: S608  # nosec B608
        params.extend([category, *inner_params])
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)
        found = dict(cursor.fetchall())
    return {
        category: TabCount(min(found.get(category, 0), cap), found.get(category, 0) > cap)
        for category in TASK_CATEGORIES
    }


def tab_total(counts: dict[str, TabCount]) -> TabCount:
    return TabCount(sum(c.count for c in counts.values()), any(c.capped for c in counts.values()))


def access_item_by_id(
    actor: object, item_id: int, *, perm: str = Perm.RECONCILE_VIEW, related: bool = True
) -> ReconciliationItem:
    """The item if the actor may see it for ``perm``; otherwise 404 (never 403).

    ``related=False``: the item row alone, for a caller that only checks the item is in sight
    before a service reads and locks it again (planning the nine joins cost more than the
    rest of a resolve)."""
    queryset = item_queryset(actor=actor, perm=perm)
    if not related:
        queryset = queryset.select_related(None)
    item = queryset.filter(pk=item_id).first()
    if item is None:
        raise Http404("比对问题不存在或不在您的管辖范围内")
    return item


def item_events(item: ReconciliationItem) -> list[ItemEvent]:
    """The item's history, oldest first, with the Chinese labels of the states."""
    labels = dict(ItemState.choices)
    events = list(item.events.select_related("actor", "run").order_by("at", "id"))
    for event in events:
        event.state_from_label = labels.get(event.state_from, event.state_from)
        event.state_to_label = labels.get(event.state_to, event.state_to)
    return events


def item_area(item: ReconciliationItem) -> Area:
    """The area an item belongs to: its township, or its county for county-wide findings."""
    return item.township if item.township_id is not None else item.county


# --- persons (masked) -------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    id_number_masked: str


def _detail_person_ids(details: Any) -> list[int]:
    """Person keys listed in an item's details (lists of ints: members only on one side, …)."""
    found: list[int] = []
    if isinstance(details, dict):
        for value in details.values():
            if isinstance(value, list):
                found.extend(
                    v for v in value if isinstance(v, int) and not isinstance(v, bool) and v > 0
                )
    return found


def item_person_ids(item: ReconciliationItem) -> list[int]:
    ids = [pk for pk in (item.person_ids or []) if isinstance(pk, int)]
    return ids + _detail_person_ids(item.details)


def persons_by_id(person_ids: Iterable[int], *, reveal: bool = False) -> dict[int, PersonRow]:
    """One query for any number of persons; ID numbers masked unless ``reveal`` (the caller
    checked SENSITIVE_REVEAL and audits it)."""
    ids = sorted({pk for pk in person_ids if isinstance(pk, int)})
    if not ids:
        return {}
    rows = Person.objects.filter(pk__in=ids).values_list("pk", "name", "id_number_ciphertext")
    result = {}
    for pk, name, ciphertext in rows:
        plain = decrypt(ciphertext)
        result[pk] = PersonRow(
            id=pk, name=name, id_number_masked=plain if reveal else mask_id_number(plain)
        )
    return result


def page_persons(items: Iterable[ReconciliationItem]) -> dict[int, PersonRow]:
    ids: list[int] = []
    for item in items:
        ids.extend(item_person_ids(item))
    return persons_by_id(ids)


# --- details shown to users -------------------------------------------------------------------

DETAIL_LABELS = {
    "only_in_dibao": "仅在低保户中",
    "only_in_registry": "仅在建档立卡户中",
    "only_dibao": "仅在低保户中",
    "only_registry": "仅在建档立卡户中",
    "dibao_only": "仅在低保户中",
    "registry_only": "仅在建档立卡户中",
    "dibao_amount": "低保月保障金额（元）",
    "registry_amount": "建档立卡记录的享受低保金额（元）",
    "difference": "差额（元）",
    "dibao_programme": "低保/特困类型",
    "registry_attribute": "贫困户属性",
    "poverty_status": "脱贫状态",
    "income_per_capita_monthly": "月人均收入（元）",
    "annual_income_per_capita": "家庭年人均纯收入（元）",
    "standard_monthly": "农村低保标准（元/月）",
    "poverty_line": "扶贫标准（元/年）",
    "dibao_households": "低保户",
    "registry_households": "建档立卡户",
    "counties": "所在旗县",
    "referral_id": "移交记录",
}


@dataclass(frozen=True)
class DetailRow:
    key: str
    label: str
    text: str
    persons: list[PersonRow] = field(default_factory=list)


def detail_rows(details: Any, persons: dict[int, PersonRow]) -> list[DetailRow]:
    """An item's details as label/text rows; person keys become names with masked ID numbers,
    and any ID-number-looking text is masked (details never hold plain numbers, but a page
    must not rely on that)."""
    if not isinstance(details, dict):
        return []
    rows = []
    for key, value in details.items():
        label = DETAIL_LABELS.get(key, str(key))
        if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
            listed = [persons[v] for v in value if v in persons]
            if listed and len(listed) == len(value):
                rows.append(DetailRow(key=key, label=label, text="", persons=listed))
                continue
        rows.append(DetailRow(key=key, label=label, text=mask_value_in_text(_text(value))))
    return rows


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(_text(v) for v in value)
    if isinstance(value, dict):
        return "；".join(f"{DETAIL_LABELS.get(k, k)}：{_text(v)}" for k, v in value.items())
    return str(value)


# --- counts for the county summary ------------------------------------------------------------


@dataclass
class TownshipCounts:
    code: str
    name: str
    found: list[int]  # per ``TASK_CATEGORIES``: items the run found
    open: list[int]  # of which still 待处理
    found_total: int = 0
    open_total: int = 0

    @property
    def cells(self) -> list[tuple[int, int]]:
        return list(zip(self.found, self.open, strict=True))


def township_category_counts(
    *, actor: object, run: ReconciliationRun
) -> tuple[list[TownshipCounts], TownshipCounts]:
    """Items the run found, by township × category (with how many are still open), for the
    items the actor may see; plus a totals row. Items without a township form their own row."""
    findings = (
        item_queryset(actor=actor)
        .filter(findings__run=run)
        .order_by()
        .values_list("township_id", "category")
        .annotate(found=Count("id"), still_open=Count("id", filter=Q(state=ItemState.OPEN)))
    )
    index = {category: position for position, category in enumerate(TASK_CATEGORIES)}
    cells: dict[int | None, TownshipCounts] = {}
    townships = {
        area.pk: area
        for area in Area.objects.filter(parent=run.county, level=AreaLevel.TOWNSHIP).order_by(
            "code"
        )
    }
    empty = len(TASK_CATEGORIES)
    for township_id, category, found, still_open in findings:
        if category not in index:
            continue
        row = cells.get(township_id)
        if row is None:
            area = townships.get(township_id)
            row = cells[township_id] = TownshipCounts(
                code=area.code if area else "",
                name=area.name if area else "（旗县统筹，未分到苏木乡镇）",
                found=[0] * empty,
                open=[0] * empty,
            )
        row.found[index[category]] += found
        row.open[index[category]] += still_open
    rows = sorted(cells.values(), key=lambda row: (row.code == "", row.code))
    total = TownshipCounts(code="", name="合计", found=[0] * empty, open=[0] * empty)
    for row in rows:
        row.found_total, row.open_total = sum(row.found), sum(row.open)
        for position in range(empty):
            total.found[position] += row.found[position]
            total.open[position] += row.open[position]
    total.found_total, total.open_total = sum(total.found), sum(total.open)
    return rows, total


@dataclass(frozen=True)
class CountyOverview:
    county: Area
    latest: ReconciliationRun | None
    active: ReconciliationRun | None
    open_items: int


def county_overviews(*, actor: object, counties: list[Area]) -> list[CountyOverview]:
    """For a league/region officer: each county's latest finished run, active run and open items
    (three queries whatever the number of counties)."""
    county_ids = [county.pk for county in counties]
    runs = run_queryset(actor=actor).filter(county_id__in=county_ids)
    latest: dict[int, ReconciliationRun] = {}
    for run in runs.filter(status=RunStatus.FINISHED).order_by("county_id", "-as_of", "-id"):
        latest.setdefault(run.county_id, run)
    active: dict[int, ReconciliationRun] = {}
    for run in runs.filter(status__in=(RunStatus.QUEUED, RunStatus.RUNNING)).order_by("id"):
        active.setdefault(run.county_id, run)
    open_counts: dict[int, int] = defaultdict(int)
    rows = (
        item_queryset(actor=actor)
        .filter(county_id__in=county_ids, state=ItemState.OPEN)
        .order_by()
        .values_list("county_id")
        .annotate(n=Count("id"))
    )
    for county_id, n in rows:
        open_counts[county_id] = n
    return [
        CountyOverview(
            county=county,
            latest=latest.get(county.pk),
            active=active.get(county.pk),
            open_items=open_counts[county.pk],
        )
        for county in counties
    ]
