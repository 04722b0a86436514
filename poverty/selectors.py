"""Reads of the registry, always scoped to the actor (style B.5) — except
``registry_households_on`` and ``snapshot_diff``, which serve services (reconciliation) that act for
a whole county and are given the county or snapshots by a caller that checked the scope.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Count, Exists, OuterRef, Prefetch, QuerySet
from django.http import Http404
from django.utils import timezone

from cases.choices import (
    PAYING_STATUSES,
    ApplicationStatus,
    Programme,
    Relation,
    TownshipOpinion,
)
from cases.models import (
    Application,
    BenefitPeriod,
    GuaranteeStandard,
    Household,
    HouseholdMember,
)
from cases.selectors import household_queryset, member_count, scope_by_county
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm, scope_to_actor
from lowbao.people.models import Person
from poverty.models import (
    DataQualityIssue,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshot,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
)
from poverty.quality import QualityRule

# --- households ------------------------------------------------------------------------------


def registry_household_queryset(*, actor: object) -> QuerySet[RegistryHousehold]:
    """Registry households under the actor's areas for ``REGISTRY_VIEW``."""
    return scope_to_actor(
        RegistryHousehold.objects.select_related("area", "area__parent", "county"),
        actor=actor,
        perm=Perm.REGISTRY_VIEW,
    )


def access_registry_household_by_id(actor: object, household_id: int) -> RegistryHousehold:
    """The household if the actor may see it; otherwise 404 (never 403)."""
    household = registry_household_queryset(actor=actor).filter(pk=household_id).first()
    if household is None:
        raise Http404("建档立卡户不存在或不在您的管辖范围内")
    return household


def head_members(household_ids: Iterable[int]) -> dict[int, RegistryMember]:
    """The head of each household (one query), for list pages and list endpoints."""
    members = RegistryMember.objects.filter(
        household_id__in=list(household_ids), relation=Relation.HEAD
    ).select_related("person")
    return {member.household_id: member for member in members}


def registry_members(household: RegistryHousehold) -> list[RegistryMember]:
    return list(household.members.select_related("person").order_by("relation", "id"))


# --- snapshots -------------------------------------------------------------------------------


def snapshot_queryset(
    *, actor: object, perms: tuple[str, ...] = (Perm.REGISTRY_VIEW,)
) -> QuerySet[RegistrySnapshot]:
    """Snapshots of the counties the actor covers for any of ``perms`` (county level and above).

    A snapshot is a county's whole export: township and village roles see their households, not
    the county's snapshots.
    """
    base = RegistrySnapshot.objects.select_related("county", "created_by")
    queryset = base.none()
    for perm in perms:
        queryset = queryset | scope_to_actor(base, actor=actor, perm=perm, area_field="county")
    return queryset


def access_snapshot_by_id(actor: object, snapshot_id: int) -> RegistrySnapshot:
    snapshot = snapshot_queryset(actor=actor).filter(pk=snapshot_id).first()
    if snapshot is None:
        raise Http404("快照不存在或不在您的管辖范围内")
    return snapshot


def previous_snapshot(snapshot: RegistrySnapshot) -> RegistrySnapshot | None:
    """The county's snapshot applied just before this one (snapshots are applied in date order)."""
    return (
        RegistrySnapshot.objects.filter(county_id=snapshot.county_id, pk__lt=snapshot.pk)
        .order_by("-pk")
        .first()
    )


def registry_households_on(*, county: Area, on: date) -> QuerySet[RegistrySnapshotEntry]:
    """The county's registry as it stood on ``on``: one snapshot entry per household, with the
    values of that date (attribute, status, income, recorded dibao amount, village) and its
    members (``entry.members`` → person, labour capacity).

    The registry on a date is the county's latest full snapshot dated on or before it, plus the
    households pushed by partial snapshots after that one (up to the date); for each household the
    entry of the latest of those snapshots counts. Snapshots are applied in date order, so "later"
    is a higher id. Not scoped: the caller (reconciliation) acts for the whole county.
    """
    snapshots = RegistrySnapshot.objects.filter(county=county, snapshot_date__lte=on)
    base = snapshots.filter(is_partial=False).order_by("-pk").first()
    if base is not None:
        snapshots = snapshots.filter(pk__gte=base.pk)
    snapshot_ids = list(snapshots.values_list("pk", flat=True))
    entries = RegistrySnapshotEntry.objects.filter(snapshot_id__in=snapshot_ids)
    if len(snapshot_ids) > 1:
        later = RegistrySnapshotEntry.objects.filter(
            household_id=OuterRef("household_id"),
            snapshot_id__in=snapshot_ids,
            snapshot_id__gt=OuterRef("snapshot_id"),
        )
        entries = entries.exclude(Exists(later))
    return (
        entries.select_related("household", "area", "area__parent", "snapshot")
        .prefetch_related(
            Prefetch("members", queryset=RegistrySnapshotMember.objects.select_related("person"))
        )
        .order_by("household__number")
    )


@dataclass(frozen=True)
class SnapshotDiff:
    """Household numbers by change from ``older`` to ``newer`` (each list sorted)."""

    created: list[str]
    updated: list[str]
    left: list[str]
    unchanged: list[str]


def snapshot_diff(*, older: RegistrySnapshot | None, newer: RegistrySnapshot) -> SnapshotDiff:
    """Compare two snapshots of one county by their entries' digests (two queries).

    A partial ``newer`` snapshot lists only what was pushed, so nobody "left" in it.
    """
    if older is not None and older.county_id != newer.county_id:
        raise ValueError("snapshot_diff compares two snapshots of the same county")

    def digests(snapshot: RegistrySnapshot) -> dict[str, str]:
        return dict(
            RegistrySnapshotEntry.objects.filter(snapshot=snapshot).values_list(
                "household__number", "data_hash"
            )
        )

    before = digests(older) if older is not None else {}
    after = digests(newer)
    return SnapshotDiff(
        created=sorted(set(after) - set(before)),
        updated=sorted(n for n in set(after) & set(before) if after[n] != before[n]),
        left=[] if newer.is_partial else sorted(set(before) - set(after)),
        unchanged=sorted(n for n in set(after) & set(before) if after[n] == before[n]),
    )


# --- data quality ----------------------------------------------------------------------------


@dataclass
class QualityReportRow:
    township: Area
    counts: dict[str, int]
    cells: list[int]
    total: int


@dataclass
class QualityReport:
    """Issues of one snapshot by township (rows) and rule (columns, only rules that occur),
    within the actor's areas. ``cells`` follow ``rules``."""

    rules: list[tuple[str, str]]
    rows: list[QualityReportRow]
    totals: dict[str, int]
    total_cells: list[int]

    @property
    def total(self) -> int:
        return sum(self.totals.values())


def quality_issue_queryset(
    *, actor: object, snapshot: RegistrySnapshot
) -> QuerySet[DataQualityIssue]:
    return scope_to_actor(
        DataQualityIssue.objects.filter(snapshot=snapshot).select_related(
            "household", "township", "person"
        ),
        actor=actor,
        perm=Perm.REGISTRY_VIEW,
        area_field="township",
    )


def quality_report(*, actor: object, snapshot: RegistrySnapshot) -> QualityReport:
    """Counts by township and rule (one grouped query plus the townships)."""
    counts = (
        quality_issue_queryset(actor=actor, snapshot=snapshot)
        .order_by()
        .values("township_id", "rule")
        .annotate(count=Count("id"))
    )
    by_township: dict[int, dict[str, int]] = defaultdict(dict)
    totals: dict[str, int] = defaultdict(int)
    for row in counts:
        by_township[row["township_id"]][row["rule"]] = row["count"]
        totals[row["rule"]] += row["count"]
    townships = Area.objects.in_bulk(list(by_township))
    rules = [(code, label) for code, label in QualityRule.choices if totals.get(code)]
    rows = [
        QualityReportRow(
            township=townships[pk],
            counts=by_rule,
            cells=[by_rule.get(code, 0) for code, _label in rules],
            total=sum(by_rule.values()),
        )
        for pk, by_rule in sorted(by_township.items(), key=lambda item: townships[item[0]].code)
    ]
    return QualityReport(
        rules=rules,
        rows=rows,
        totals=dict(totals),
        total_cells=[totals[code] for code, _label in rules],
    )


# --- both sides: dibao/特困 and registry -------------------------------------------------------


# A list of person ids, or a ``values("person_id")`` queryset used as a subquery.
PersonIds = list[int] | QuerySet


@dataclass
class DibaoSide:
    """One cases household a person belongs to, as the poverty office needs to see it."""

    member: HouseholdMember
    household: Household
    benefit_periods: list[BenefitPeriod]
    is_receiving: bool
    reason: str = ""
    standard_monthly: Decimal | None = None


@dataclass
class PersonOverview:
    person: Person
    dibao: list[DibaoSide]
    registry: list[RegistryMember]


def _dibao_members(actor: object, person_ids: PersonIds) -> list[HouseholdMember]:
    """Members of cases households the actor may see (``CASE_VIEW``), with their households."""
    if not actor_has_perm(actor, Perm.CASE_VIEW):
        return []
    return list(
        HouseholdMember.objects.filter(
            person_id__in=person_ids, household__in=household_queryset(actor=actor)
        )
        .select_related("household", "household__area", "household__area__parent", "person")
        .prefetch_related(
            Prefetch(
                "household__benefit_periods",
                queryset=BenefitPeriod.objects.order_by("start_month"),
            )
        )
        .order_by("household__number", "id")
    )


def _enjoyment_reasons(households: list[Household]) -> dict[int, str]:
    """享受原因 per cases household: the programme and the township's opinion and means-test
    summary of the latest approved application (or the migration note). One query."""
    approved: dict[int, Application] = {}
    for application in Application.objects.filter(
        household_id__in=[h.pk for h in households], status=ApplicationStatus.APPROVED
    ).order_by("household_id", "decided_on", "id"):
        approved[application.household_id] = application
    reasons = {}
    for household in households:
        parts = [household.get_programme_display()]
        application = approved.get(household.pk)
        if application is not None:
            if application.township_opinion:
                opinion = TownshipOpinion(application.township_opinion).label
                text = application.township_opinion_text
                parts.append(f"乡镇审核意见：{opinion}" + (f"（{text}）" if text else ""))
            test = application.means_test or {}
            if test.get("per_capita_income_monthly") and test.get("standard_monthly"):
                parts.append(
                    f"家庭月人均收入{test['per_capita_income_monthly']}元，"
                    f"低于保障标准{test['standard_monthly']}元"
                )
        else:
            if household.migrated_from:
                parts.append(f"台账迁移（{household.migrated_from}）")
            parts.append(f"家庭月人均收入{household.per_capita_income_monthly}元")
        reasons[household.pk] = "；".join(parts)
    return reasons


def _standards_by_area(areas: Iterable[Area], on: date) -> dict[int, GuaranteeStandard]:
    """The standard in force on ``on`` for each area: the most specific row on the area's path
    (village, township, county, league, region), as ``cases.policy.standard_for`` decides, but in
    one query for all areas."""
    areas = list({area.pk: area for area in areas}.values())
    chains = {area.pk: [code for code in reversed(area.path.split("/")) if code] for area in areas}
    codes = {code for chain in chains.values() for code in chain}
    newest: dict[str, GuaranteeStandard] = {}
    for standard in (
        GuaranteeStandard.objects.filter(area__code__in=codes, effective_from__lte=on)
        .select_related("area")
        .order_by("-effective_from")
    ):
        newest.setdefault(standard.area.code, standard)
    found = {}
    for area_id, chain in chains.items():
        standard = next((newest[code] for code in chain if code in newest), None)
        if standard is not None:
            found[area_id] = standard
    return found


def _standard_amount(standard: GuaranteeStandard | None, programme: str) -> Decimal | None:
    if standard is None:
        return None
    if programme == Programme.TEKUN:
        return standard.tekun_basic_monthly
    return standard.rural_dibao_monthly


def dibao_sides(
    *, actor: object, person_ids: PersonIds, on: date | None = None
) -> dict[int, list[DibaoSide]]:
    """For each person, the cases households (visible to the actor) they belong to, with the
    card fields the notice asks for when the household receives dibao/特困: 享受原因, 保障标准 in
    force, 发放金额 (the household's monthly amount). A fixed number of queries."""
    on = on or timezone.localdate()
    members = _dibao_members(actor, person_ids)
    households = list({m.household_id: m.household for m in members}.values())
    receiving = [h for h in households if h.status in PAYING_STATUSES]
    reasons = _enjoyment_reasons(receiving)
    standards = _standards_by_area((h.area for h in receiving), on)
    sides: dict[int, list[DibaoSide]] = defaultdict(list)
    for member in members:
        household = member.household
        is_receiving = household.status in PAYING_STATUSES and member.in_payment
        sides[member.person_id].append(
            DibaoSide(
                member=member,
                household=household,
                benefit_periods=list(household.benefit_periods.all()),
                is_receiving=is_receiving,
                reason=reasons.get(household.pk, "") if is_receiving else "",
                standard_monthly=(
                    _standard_amount(standards.get(household.area_id), household.programme)
                    if is_receiving
                    else None
                ),
            )
        )
    return sides


def person_overview(*, actor: object, person_id: int) -> PersonOverview:
    """Both sides for one person: every cases household membership and every registry
    membership the actor may see. 404 when the actor sees neither (the person has no area)."""
    registry = list(
        RegistryMember.objects.filter(
            person_id=person_id, household__in=registry_household_queryset(actor=actor)
        )
        .select_related("household", "household__area", "household__area__parent", "person")
        .order_by("household__number")
    )
    dibao = dibao_sides(actor=actor, person_ids=[person_id]).get(person_id, [])
    if not registry and not dibao:
        raise Http404("人员不存在或不在您的管辖范围内")
    person = registry[0].person if registry else dibao[0].member.person
    return PersonOverview(person=person, dibao=dibao, registry=registry)


# --- card / 帮扶台账 extract -------------------------------------------------------------------


@dataclass(frozen=True)
class CardExtractRow:
    number: str
    head_name: str
    head_id_number_masked: str
    attribute: str
    programmes: str
    reasons: str
    standards: str
    monthly_amount: Decimal
    start_month: str


def card_extract_rows(*, actor: object, county: Area) -> list[CardExtractRow]:
    """One row per registry household of ``county`` (in the registry, visible to the actor) with
    a member receiving dibao/特困: the fields 172号 asks to record on the 贫困户信息采集卡 and the
    帮扶工作台账. A household linked to several paid households (rare) lists each, joined by "；",
    and the amounts are added up. A fixed number of queries."""
    paid_persons = HouseholdMember.objects.filter(
        in_payment=True, household__status__in=PAYING_STATUSES
    ).values("person_id")
    queryset = (
        registry_household_queryset(actor=actor)
        .filter(county=county, in_registry=True)
        .filter(
            Exists(
                RegistryMember.objects.filter(
                    household_id=OuterRef("pk"), person_id__in=paid_persons
                )
            )
        )
        .order_by("number")
    )
    households = list(queryset)
    members_of = RegistryMember.objects.filter(household__in=queryset.values("pk"))
    members_by_household: dict[int, list[RegistryMember]] = defaultdict(list)
    for member in members_of.select_related("person").order_by("relation", "id"):
        members_by_household[member.household_id].append(member)
    sides = dibao_sides(actor=actor, person_ids=members_of.values("person_id"))
    rows = []
    for household in households:
        members = members_by_household[household.pk]
        head = next((m for m in members if m.relation == Relation.HEAD), None)
        paid: dict[int, DibaoSide] = {}
        for member in members:
            for side in sides.get(member.person_id, []):
                if side.is_receiving:
                    paid.setdefault(side.household.pk, side)
        if not paid:  # receiving, but in a household the actor may not see
            continue
        ordered = sorted(paid.values(), key=lambda side: side.household.number)
        rows.append(
            CardExtractRow(
                number=household.number,
                head_name=head.person.name if head else "",
                head_id_number_masked=head.person.id_number_masked if head else "",
                attribute=household.get_attribute_display(),
                programmes="；".join(s.household.get_programme_display() for s in ordered),
                reasons="；".join(s.reason for s in ordered),
                standards="；".join(
                    f"{s.standard_monthly}元/人·月" if s.standard_monthly is not None else "未设置"
                    for s in ordered
                ),
                monthly_amount=sum((s.household.monthly_amount for s in ordered), Decimal("0")),
                start_month="；".join(
                    f"{s.household.payment_start_month:%Y-%m}"
                    if s.household.payment_start_month
                    else ""
                    for s in ordered
                ),
            )
        )
    return rows


# --- list filters ----------------------------------------------------------------------------


def registry_household_list(
    *,
    actor: object,
    area: Area | None = None,
    attribute: str = "",
    poverty_status: str = "",
    in_registry: bool | None = None,
    name: str = "",
    person_hash: str = "",
    period_from: date | None = None,
    period_to: date | None = None,
) -> QuerySet[RegistryHousehold]:
    """The scoped list with its filters (``area`` already checked by ``access_area_by_code``)."""
    # scoped by county (the ``(county, number)`` index in list order) and the members counted for
    # the rows read only, not grouped over every household of the actor's areas (quality.md P6)
    queryset = scope_by_county(
        RegistryHousehold.objects.select_related("area", "area__parent", "county"),
        actor=actor,
        perm=Perm.REGISTRY_VIEW,
    ).annotate(member_count=member_count(RegistryMember))
    if area is not None:
        queryset = queryset.filter(area__path__startswith=area.path)
    if attribute:
        queryset = queryset.filter(attribute=attribute)
    if poverty_status:
        queryset = queryset.filter(poverty_status=poverty_status)
    if in_registry is not None:
        queryset = queryset.filter(in_registry=in_registry)
    if name:
        queryset = queryset.filter(
            Exists(
                RegistryMember.objects.filter(
                    household_id=OuterRef("pk"), person__name__contains=name
                )
            )
        )
    if person_hash:
        queryset = queryset.filter(
            Exists(
                RegistryMember.objects.filter(
                    household_id=OuterRef("pk"), person__id_number_hash=person_hash
                )
            )
        )
    if period_from is not None:
        queryset = queryset.filter(last_snapshot__snapshot_date__gte=period_from)
    if period_to is not None:
        queryset = queryset.filter(last_snapshot__snapshot_date__lte=period_to)
    return queryset.order_by("county_id", "number")


def township_choices(*, actor: object) -> QuerySet[Area]:
    """Townships the actor may filter the registry list by."""
    return scope_to_actor(
        Area.objects.filter(level=AreaLevel.TOWNSHIP),
        actor=actor,
        perm=Perm.REGISTRY_VIEW,
        area_field=None,
    ).order_by("code")
