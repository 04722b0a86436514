"""Supervision dashboard (监督统计, issue 7): the figures a county, league or region officer
watches, for one area (the *root*) broken down by the level below it — a county by township, a
league by county, the region by league.

Every figure is read set-based: one aggregate per table, grouped in the database by the prefix of
the 12-digit area code of the sub-area (``Substr(code, 1, 4|6|9)``), so the number of queries is
fixed whatever the number of townships, counties or leagues (``DASHBOARD_QUERIES``). Every
queryset is scoped to the viewer with ``scope_to_actor`` for ``DASHBOARD_PERM`` and then narrowed
to the root, which the viewer reaches through ``access_dashboard_area`` (404 outside their areas).

What the figures mean (the same predicates as the rest of lowbao):

- **covered** 低保/特困: households in payment (``PAYING_STATUSES``, gradual exit included) and
  their members with ``in_payment``; **registry**: households ``in_registry`` and their members;
- **overlap** is by person (the same ``Person`` row), with the shared predicates of
  ``poverty.linkage_selectors``: a member in payment who is also a member of an in-registry
  household (the registry is one list, so that household may lie in another county); a paid
  household with a current member in the registry; a registry household with a member in
  payment. Overlap persons and paid households count where the 低保/特困 household lives,
  registry households where the registry household lives;
- **review progress** of the campaign year: items, visited, decided (an outcome), overdue
  (undecided after the campaign's last day, as ``review.services.campaign.is_overdue``), and the
  township lists confirmed/signed; campaigns per status (county and league breakdowns);
- **open reconciliation items** per category (state ``open``); an item without a township counts
  for its county ("本级" row of a county's breakdown);
- **payments**: the payment sheets (every status) of the last ``TREND_MONTHS`` months;
- **coverage trend**: households owed a benefit per month from their ``BenefitPeriod`` rows (not
  suspended), the same rows the payment sheets read;
- **reconciliation trend**: per period (``2026H2``), the counts of the latest finished run of each
  county in the root.

Totals are the sums of the rows (each household, person and item is counted once, in the
sub-area where it lives).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import Coalesce, Substr
from django.http import Http404
from django.utils import timezone

from cases.choices import PAYING_STATUSES, HouseholdStatus, PaymentSheetStatus, Programme
from cases.models import BenefitPeriod, HouseholdMember
from cases.payment_selectors import payment_sheet_queryset
from cases.selectors import household_queryset
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code, actor_area_paths, scope_to_actor
from lowbao.core.workdays import add_months
from poverty.linkage_selectors import (
    household_in_registry,
    persons_in_registry,
    registry_household_has_member_in_payment,
)
from poverty.models import RegistryHousehold, RegistryMember
from review.models import (
    CampaignStatus,
    ItemState,
    ListStatus,
    ReconciliationCategory,
    ReconciliationRun,
    ReviewCampaign,
    ReviewItem,
    ReviewList,
    RunStatus,
)
from review.selectors import TASK_CATEGORIES
from review.selectors import item_queryset as reconciliation_item_queryset

# The supervision capability: county civil-affairs, poverty office and leader, league and region.
DASHBOARD_PERM = Perm.INSPECTION_VIEW
TREND_MONTHS = 12
RECONCILIATION_YEARS = 3  # periods of the reconciliation trend: this year and the two before
# The levels a dashboard is drawn for, and the level of its rows.
CHILD_LEVEL = {
    AreaLevel.REGION: AreaLevel.LEAGUE,
    AreaLevel.LEAGUE: AreaLevel.COUNTY,
    AreaLevel.COUNTY: AreaLevel.TOWNSHIP,
}
# Digits of the 12-digit code that identify an area of the level (the rest are zeros).
CODE_PREFIX = {AreaLevel.LEAGUE: 4, AreaLevel.COUNTY: 6, AreaLevel.TOWNSHIP: 9}
# Queries of ``dashboard()`` (sub-areas, 4 coverage, years, 3 review, the reconciliation item
# scope (read once per request by ``review.selectors.item_scope``) and the open items, payments,
# coverage trend, reconciliation runs): the same for 2 townships and for 100 counties.
DASHBOARD_QUERIES = 14
HOUSEHOLD_OWED_STATUSES = (*PAYING_STATUSES, HouseholdStatus.SUSPENDED, HouseholdStatus.STOPPED)
DONE_LIST_STATUSES = (ListStatus.CONFIRMED, ListStatus.SIGNED)
CATEGORY_LABELS = dict(ReconciliationCategory.choices)
CENT = Decimal("0.01")


# --- areas --------------------------------------------------------------------------------------


def dashboard_roots(*, actor: object) -> list[Area]:
    """The top areas of the viewer's scope that have a dashboard (county level and above)."""
    codes = [
        path.rstrip("/").rsplit("/", 1)[-1] for path in actor_area_paths(actor, perm=DASHBOARD_PERM)
    ]
    return list(Area.objects.filter(code__in=codes, level__in=list(CHILD_LEVEL)).order_by("code"))


def access_dashboard_area(actor: object, code: str) -> Area:
    """The area of this code if the viewer may see its dashboard; otherwise 404 (never 403):
    outside their areas, or below county level (the dashboard stops at the county)."""
    area = access_area_by_code(actor, code, perm=DASHBOARD_PERM)
    if area.level not in CHILD_LEVEL:
        raise Http404("监督统计只到旗县一级，请查看旗县的统计")
    return area


def dashboard_trail(*, actor: object, root: Area) -> list[Area]:
    """The root's ancestors the viewer may see (drill back up), top first; one query."""
    scope = actor_area_paths(actor, perm=DASHBOARD_PERM)
    codes = [code for code in root.path.rstrip("/").split("/")[:-1] if code]
    ancestors = Area.objects.filter(code__in=codes, level__in=list(CHILD_LEVEL)).order_by("code")
    return [area for area in ancestors if any(area.path.startswith(path) for path in scope)]


# --- the figures --------------------------------------------------------------------------------


@dataclass
class Coverage:
    dibao_households: int = 0
    dibao_persons: int = 0
    tekun_households: int = 0
    tekun_persons: int = 0
    registry_households: int = 0
    registry_persons: int = 0
    # overlap by person (低保/特困 in payment ∩ registry)
    dibao_overlap_households: int = 0
    dibao_overlap_persons: int = 0
    tekun_overlap_households: int = 0
    tekun_overlap_persons: int = 0
    registry_households_in_payment: int = 0  # registry households with a member in payment

    @property
    def overlap_households(self) -> int:
        return self.dibao_overlap_households + self.tekun_overlap_households

    @property
    def overlap_persons(self) -> int:
        return self.dibao_overlap_persons + self.tekun_overlap_persons

    def add(self, other: "Coverage") -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


COUNTED_PROGRESS = (
    "items",
    "visited",
    "decided",
    "overdue",
    "lists",
    "lists_confirmed",
    "lists_signed",
)


@dataclass
class Progress:
    items: int = 0
    visited: int = 0
    decided: int = 0
    overdue: int = 0
    lists: int = 0
    lists_confirmed: int = 0  # confirmed by the township head, or signed
    lists_signed: int = 0
    campaigns: dict[str, int] = field(default_factory=dict)  # status → campaigns

    @property
    def rate(self) -> Fraction | None:
        """Decided items / items, exact (``None`` when there is nothing to review)."""
        return Fraction(self.decided, self.items) if self.items else None

    @property
    def percent(self) -> Decimal | None:
        """The rate in per cent with one decimal (half up), for pages and bulletins."""
        if self.rate is None:
            return None
        return (Decimal(self.decided * 100) / Decimal(self.items)).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )

    @property
    def campaigns_opened(self) -> int:
        return sum(self.campaigns.values())

    @property
    def campaigns_filed(self) -> int:
        return self.campaigns.get(CampaignStatus.FILED, 0)

    def add(self, other: "Progress") -> None:
        for name in COUNTED_PROGRESS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for status, count in other.campaigns.items():
            self.campaigns[status] = self.campaigns.get(status, 0) + count


@dataclass
class SubAreaRow:
    """One sub-area of the root (or the root's own "本级" row, ``area`` None, or the total)."""

    code: str
    name: str
    area: Area | None
    coverage: Coverage = field(default_factory=Coverage)
    progress: Progress = field(default_factory=Progress)
    open_items: dict[str, int] = field(default_factory=dict)  # category → open items
    payment_latest_month: Decimal = Decimal("0")
    payment_months_total: Decimal = Decimal("0")

    @property
    def open_items_total(self) -> int:
        return sum(self.open_items.values())

    @property
    def open_item_cells(self) -> list[int]:
        return [self.open_items.get(category, 0) for category in TASK_CATEGORIES]

    @property
    def campaign_status_label(self) -> str:
        """A county's campaign status (county rows: one campaign per county and year)."""
        statuses = [status for status, count in self.progress.campaigns.items() if count]
        if not statuses:
            return "未发起"
        return "、".join(CampaignStatus(status).label for status in sorted(statuses))

    def add(self, other: "SubAreaRow") -> None:
        self.coverage.add(other.coverage)
        self.progress.add(other.progress)
        for category, count in other.open_items.items():
            self.open_items[category] = self.open_items.get(category, 0) + count
        self.payment_latest_month += other.payment_latest_month
        self.payment_months_total += other.payment_months_total


@dataclass(frozen=True)
class PaymentMonth:
    month: date
    sheets: int
    households: int
    persons: int
    amount: Decimal
    paid: Decimal


@dataclass(frozen=True)
class CoverageMonth:
    month: date
    dibao_households: int
    dibao_persons: int
    tekun_households: int
    tekun_persons: int

    @property
    def households(self) -> int:
        return self.dibao_households + self.tekun_households


@dataclass(frozen=True)
class ReconciliationPeriod:
    period: str
    counties: int  # counties with a finished run in the period
    linked: int
    counts: list[int]  # in the order of ``TASK_CATEGORIES``

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Dashboard:
    root: Area
    child_level: str
    year: int
    years: list[int]
    today: date
    rows: list[SubAreaRow]  # the sub-areas in code order, then the "本级" row if any
    total: SubAreaRow
    payment_months: list[PaymentMonth]  # oldest → newest, ``TREND_MONTHS`` of them
    latest_payment_month: date | None  # the newest month with a sheet
    coverage_months: list[CoverageMonth]
    reconciliation_periods: list[ReconciliationPeriod]  # oldest → newest

    @property
    def child_label(self) -> str:
        return AreaLevel(self.child_level).label

    @property
    def sub_area_rows(self) -> list[SubAreaRow]:
        """The rows of real sub-areas (what a bulletin ranks)."""
        return [row for row in self.rows if row.area is not None]

    @property
    def open_item_totals(self) -> list[tuple[str, str, int]]:
        return [
            (category, CATEGORY_LABELS[category], self.total.open_items.get(category, 0))
            for category in TASK_CATEGORIES
        ]


class _Rows:
    """Sub-area rows keyed by code prefix; anything outside every sub-area goes to "本级"."""

    def __init__(self, root: Area, children: list[Area], length: int) -> None:
        self.root = root
        self.length = length
        self.by_prefix = {
            child.code[:length]: SubAreaRow(code=child.code, name=child.name, area=child)
            for child in children
        }
        self.own: SubAreaRow | None = None
        self.root_campaigns: dict[str, int] = {}  # the root county's own campaign (county root)

    def get(self, prefix: str | None) -> SubAreaRow:
        row = self.by_prefix.get(prefix or "")
        if row is not None:
            return row
        if self.own is None:
            self.own = SubAreaRow(code=self.root.code, name=f"{self.root.name}本级", area=None)
        return self.own

    def all(self) -> list[SubAreaRow]:
        rows = list(self.by_prefix.values())
        return [*rows, self.own] if self.own is not None else rows


def _key(code_field: Any, length: int) -> Substr:
    return Substr(code_field, 1, length)


def _scoped(queryset: QuerySet, *, actor: object, area_field: str) -> QuerySet:
    return scope_to_actor(queryset, actor=actor, perm=DASHBOARD_PERM, area_field=area_field)


def _coverage(actor: object, root: Area, rows: _Rows) -> None:
    """Four aggregates: paid households, their members, registry households, their members."""
    length = rows.length
    households = (
        household_queryset(actor=actor, perm=DASHBOARD_PERM)
        .filter(area__path__startswith=root.path, status__in=PAYING_STATUSES)
        .order_by()
    )
    for row in (
        households.annotate(sub_area=_key("area__code", length))
        .values("sub_area", "programme")
        .annotate(
            households=Count("id"),
            overlap=Count("id", filter=Q(household_in_registry())),
        )
    ):
        coverage = rows.get(row["sub_area"]).coverage
        if row["programme"] == Programme.TEKUN:
            coverage.tekun_households += row["households"]
            coverage.tekun_overlap_households += row["overlap"]
        else:
            coverage.dibao_households += row["households"]
            coverage.dibao_overlap_households += row["overlap"]

    members = HouseholdMember.objects.filter(
        in_payment=True, household__in=households.values("pk")
    ).order_by()
    for row in (
        members.annotate(sub_area=_key("household__area__code", length))
        .values("sub_area", "household__programme")
        .annotate(
            persons=Count("person_id", distinct=True),
            overlap=Count(
                "person_id", distinct=True, filter=Q(person_id__in=persons_in_registry())
            ),
        )
    ):
        coverage = rows.get(row["sub_area"]).coverage
        if row["household__programme"] == Programme.TEKUN:
            coverage.tekun_persons += row["persons"]
            coverage.tekun_overlap_persons += row["overlap"]
        else:
            coverage.dibao_persons += row["persons"]
            coverage.dibao_overlap_persons += row["overlap"]

    registry = (
        _scoped(RegistryHousehold.objects.all(), actor=actor, area_field="area")
        .filter(area__path__startswith=root.path, in_registry=True)
        .order_by()
    )
    for row in (
        registry.annotate(sub_area=_key("area__code", length))
        .values("sub_area")
        .annotate(
            households=Count("id"),
            in_payment=Count("id", filter=Q(registry_household_has_member_in_payment())),
        )
    ):
        coverage = rows.get(row["sub_area"]).coverage
        coverage.registry_households += row["households"]
        coverage.registry_households_in_payment += row["in_payment"]

    for row in (
        RegistryMember.objects.filter(household__in=registry.values("pk"))
        .order_by()
        .annotate(sub_area=_key("household__area__code", length))
        .values("sub_area")
        .annotate(persons=Count("person_id", distinct=True))
    ):
        rows.get(row["sub_area"]).coverage.registry_persons += row["persons"]


def campaign_years(*, actor: object, root: Area) -> list[int]:
    """Years with a township review list in the root the viewer may see, newest first."""
    years = (
        _scoped(ReviewList.objects.all(), actor=actor, area_field="township")
        .filter(township__path__startswith=root.path)
        .order_by()
        .values_list("campaign__year", flat=True)
        .distinct()
    )
    return sorted(set(years), reverse=True)


def _progress(actor: object, root: Area, rows: _Rows, *, year: int, today: date) -> None:
    """Three aggregates: review items, township lists, campaigns (per status)."""
    length = rows.length
    items = (
        _scoped(ReviewItem.objects.all(), actor=actor, area_field="area")
        .filter(area__path__startswith=root.path, campaign__year=year)
        .order_by()
    )
    for row in (
        items.annotate(sub_area=_key("area__code", length))
        .values("sub_area")
        .annotate(
            total=Count("id"),
            visited=Count("id", filter=Q(visited_on__isnull=False)),
            decided=Count("id", filter=~Q(outcome="")),
            overdue=Count("id", filter=Q(outcome="", campaign__due_on__lt=today)),
        )
    ):
        progress = rows.get(row["sub_area"]).progress
        progress.items += row["total"]
        progress.visited += row["visited"]
        progress.decided += row["decided"]
        progress.overdue += row["overdue"]

    lists = (
        _scoped(ReviewList.objects.all(), actor=actor, area_field="township")
        .filter(township__path__startswith=root.path, campaign__year=year)
        .order_by()
    )
    for row in (
        lists.annotate(sub_area=_key("township__code", length))
        .values("sub_area")
        .annotate(
            total=Count("id"),
            confirmed=Count("id", filter=Q(status__in=DONE_LIST_STATUSES)),
            signed=Count("id", filter=Q(status=ListStatus.SIGNED)),
        )
    ):
        progress = rows.get(row["sub_area"]).progress
        progress.lists += row["total"]
        progress.lists_confirmed += row["confirmed"]
        progress.lists_signed += row["signed"]

    campaigns = (
        _scoped(ReviewCampaign.objects.all(), actor=actor, area_field="county")
        .filter(county__path__startswith=root.path, year=year)
        .order_by()
    )
    # A county's campaign belongs to the county's row; on a county's own dashboard (rows are
    # townships) it is the root's campaign and shows in the total only.
    county_length = CODE_PREFIX[AreaLevel.COUNTY]
    for row in (
        campaigns.annotate(sub_area=_key("county__code", min(length, county_length)))
        .values("sub_area", "status")
        .annotate(n=Count("id"))
    ):
        if root.level == AreaLevel.COUNTY:
            statuses = rows.root_campaigns
        else:
            statuses = rows.get(row["sub_area"]).progress.campaigns
        statuses[row["status"]] = statuses.get(row["status"], 0) + row["n"]


def _open_items(actor: object, root: Area, rows: _Rows) -> None:
    """One aggregate: open reconciliation items per sub-area and category (scoped like the
    worklist: by township, or by county for an item without one)."""
    items = (
        reconciliation_item_queryset(actor=actor, perm=DASHBOARD_PERM)
        .filter(county__path__startswith=root.path, state=ItemState.OPEN)
        .order_by()
    )
    for row in (
        items.annotate(sub_area=_key(Coalesce("township__code", "county__code"), rows.length))
        .values("sub_area", "category")
        .annotate(n=Count("id"))
    ):
        open_items = rows.get(row["sub_area"]).open_items
        open_items[row["category"]] = open_items.get(row["category"], 0) + row["n"]


def trend_months(today: date, count: int = TREND_MONTHS) -> list[date]:
    """The first days of the last ``count`` months up to ``today``'s, oldest first."""
    current = today.replace(day=1)
    return [add_months(current, offset) for offset in range(1 - count, 1)]


def _payments(
    actor: object, root: Area, rows: _Rows, months: list[date]
) -> tuple[list[PaymentMonth], date | None]:
    """One aggregate: the payment sheets per month and sub-area."""
    sheets = (
        payment_sheet_queryset(actor=actor, perm=DASHBOARD_PERM)
        .filter(township__path__startswith=root.path, month__gte=months[0], month__lte=months[-1])
        .order_by()
    )
    grouped = list(
        sheets.annotate(sub_area=_key("township__code", rows.length))
        .values("month", "sub_area")
        .annotate(
            sheets=Count("id"),
            households=Coalesce(Sum("household_count"), 0),
            persons=Coalesce(Sum("person_count"), 0),
            amount=Coalesce(Sum("total_amount"), Decimal("0")),
            paid=Coalesce(
                Sum("total_amount", filter=Q(status=PaymentSheetStatus.PAID)), Decimal("0")
            ),
        )
    )
    latest = max((row["month"] for row in grouped), default=None)
    per_month: dict[date, list[Any]] = {
        month: [0, 0, 0, Decimal("0"), Decimal("0")] for month in months
    }
    for row in grouped:
        amount = Decimal(row["amount"]).quantize(CENT)
        totals = per_month[row["month"]]
        totals[0] += row["sheets"]
        totals[1] += row["households"]
        totals[2] += row["persons"]
        totals[3] += amount
        totals[4] += Decimal(row["paid"]).quantize(CENT)
        target = rows.get(row["sub_area"])
        target.payment_months_total += amount
        if row["month"] == latest:
            target.payment_latest_month += amount
    return [PaymentMonth(month, *per_month[month]) for month in months], latest


def _coverage_trend(actor: object, root: Area, months: list[date]) -> list[CoverageMonth]:
    """One aggregate: households (and persons) owed a benefit in each month, per programme."""
    households = household_queryset(actor=actor, perm=DASHBOARD_PERM).filter(
        area__path__startswith=root.path, status__in=HOUSEHOLD_OWED_STATUSES
    )
    periods = (
        BenefitPeriod.objects.filter(
            household__in=households.values("pk"),
            is_suspended=False,
            start_month__lte=months[-1],
        )
        .filter(Q(end_month__isnull=True) | Q(end_month__gte=months[0]))
        .order_by()
    )
    aggregates: dict[str, Any] = {}
    for index, month in enumerate(months):
        covering = Q(start_month__lte=month) & (Q(end_month__isnull=True) | Q(end_month__gte=month))
        aggregates[f"households_{index}"] = Count("household_id", distinct=True, filter=covering)
        aggregates[f"persons_{index}"] = Coalesce(Sum("covered_persons", filter=covering), 0)
    by_programme = {
        row["household__programme"]: row
        for row in periods.values("household__programme").annotate(**aggregates)
    }
    dibao = by_programme.get(Programme.DIBAO, {})
    tekun = by_programme.get(Programme.TEKUN, {})
    return [
        CoverageMonth(
            month=month,
            dibao_households=dibao.get(f"households_{index}", 0),
            dibao_persons=dibao.get(f"persons_{index}", 0),
            tekun_households=tekun.get(f"households_{index}", 0),
            tekun_persons=tekun.get(f"persons_{index}", 0),
        )
        for index, month in enumerate(months)
    ]


def _count(counts: Any, category: str) -> int:
    value = counts.get(category, 0) if isinstance(counts, dict) else 0
    return value if isinstance(value, int) and value >= 0 else 0


def _reconciliation_trend(actor: object, root: Area, today: date) -> list[ReconciliationPeriod]:
    """One query: the finished runs of the root's counties of the last ``RECONCILIATION_YEARS``
    years; per period the counts of each county's latest run are added up."""
    runs = (
        _scoped(ReconciliationRun.objects.all(), actor=actor, area_field="county")
        .filter(
            county__path__startswith=root.path,
            status=RunStatus.FINISHED,
            as_of__gte=date(today.year - RECONCILIATION_YEARS + 1, 1, 1),
        )
        .order_by("county_id", "period", "-as_of", "-finished_at", "-id")
        .values_list("county_id", "period", "counts")
    )
    latest: dict[tuple[int, str], Any] = {}
    for county_id, period, counts in runs:
        latest.setdefault((county_id, period), counts)
    per_period: dict[str, list[Any]] = defaultdict(lambda: [0, 0, [0] * len(TASK_CATEGORIES)])
    for (_county_id, period), counts in latest.items():
        totals = per_period[period]
        totals[0] += 1
        totals[1] += _count(counts, ReconciliationCategory.LINKED)
        for index, category in enumerate(TASK_CATEGORIES):
            totals[2][index] += _count(counts, category)
    return [
        ReconciliationPeriod(period=period, counties=totals[0], linked=totals[1], counts=totals[2])
        for period, totals in sorted(per_period.items())
    ]


def dashboard(
    *, actor: object, root: Area, year: int | None = None, today: date | None = None
) -> Dashboard:
    """Every figure of the root's dashboard for the viewer, in ``DASHBOARD_QUERIES`` queries.

    ``root`` comes from ``access_dashboard_area`` (county level or above, in the viewer's
    areas); ``year`` is the campaign year (default: the newest with a list in the root, else
    this year); ``today`` decides what is overdue and which months the trends cover.
    """
    if root.level not in CHILD_LEVEL:
        raise ValueError(f"no dashboard for a {root.level}")
    today = today or timezone.localdate()
    child_level = CHILD_LEVEL[root.level]
    children = list(Area.objects.filter(parent=root, level=child_level).order_by("code"))
    rows = _Rows(root, children, CODE_PREFIX[child_level])
    _coverage(actor, root, rows)
    years = campaign_years(actor=actor, root=root)
    if year is None:
        year = years[0] if years else today.year
    _progress(actor, root, rows, year=year, today=today)
    _open_items(actor, root, rows)
    months = trend_months(today)
    payment_months, latest_month = _payments(actor, root, rows, months)
    all_rows = rows.all()
    total = SubAreaRow(code=root.code, name="合计", area=None)
    for row in all_rows:
        total.add(row)
    for status, count in rows.root_campaigns.items():
        total.progress.campaigns[status] = total.progress.campaigns.get(status, 0) + count
    return Dashboard(
        root=root,
        child_level=child_level,
        year=year,
        years=years,
        today=today,
        rows=all_rows,
        total=total,
        payment_months=payment_months,
        latest_payment_month=latest_month,
        coverage_months=_coverage_trend(actor, root, months),
        reconciliation_periods=_reconciliation_trend(actor, root, today),
    )
