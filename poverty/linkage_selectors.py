"""Reads of the linkage work (172号 二(一)–(三)): surveys, referrals and the guarantee gaps.

Every list goes through ``scope_to_actor``; every object fetch is an ``access_*`` that answers
404 outside the actor's areas (style B.5). Rows shown to users carry masked ID numbers only.

Shared predicates (used by the services too, so that "in payment" and "in the registry" mean the
same thing everywhere):

- a person is **in payment** when a ``HouseholdMember`` row of theirs has ``in_payment=True`` (the
  cases services keep that flag while the household is paid and the member has not left);
- a person is **in the registry** when they are a ``RegistryMember`` of a ``RegistryHousehold``
  with ``in_registry=True`` (any county: the registry is one list for the poverty office).
"""

from dataclasses import dataclass, field
from datetime import date

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils import timezone

from cases.choices import LOST_LABOUR, PAYING_STATUSES, Programme, Relation
from cases.models import Household, HouseholdMember
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import scope_to_actor
from lowbao.people.masking import mask_id_number
from lowbao.people.protection import decrypt
from poverty.choices import (
    GuaranteeKind,
    GuaranteeStatus,
    ReferralDirection,
    ReferralStatus,
    SurveyOutcome,
)
from poverty.models import (
    GuaranteeCheck,
    LabourSurvey,
    LabourSurveyItem,
    Referral,
    RegistryHousehold,
    RegistryMember,
)

# --- shared predicates ----------------------------------------------------------------------


def persons_in_payment() -> QuerySet[HouseholdMember]:
    """``person_id`` of everyone in a paid dibao/特困 household (for ``__in`` filters)."""
    return HouseholdMember.objects.filter(in_payment=True).values("person_id")


def persons_in_registry() -> QuerySet[RegistryMember]:
    """``person_id`` of everyone in an in-registry household (for ``__in`` filters)."""
    return RegistryMember.objects.filter(household__in_registry=True).values("person_id")


def registry_household_has_member_in_payment(ref: str = "pk") -> Exists:
    return Exists(
        RegistryMember.objects.filter(
            household_id=OuterRef(ref), person_id__in=persons_in_payment()
        )
    )


def household_in_registry(ref: str = "pk") -> Exists:
    """A current member (not left) of the cases household is in the registry."""
    return Exists(
        HouseholdMember.objects.filter(
            household_id=OuterRef(ref), left_at__isnull=True, person_id__in=persons_in_registry()
        )
    )


def registry_households_of(household: Household) -> QuerySet[RegistryHousehold]:
    """In-registry households sharing a current member with ``household``."""
    persons = HouseholdMember.objects.filter(household=household, left_at__isnull=True).values(
        "person_id"
    )
    return (
        RegistryHousehold.objects.filter(in_registry=True, members__person_id__in=persons)
        .distinct()
        .order_by("pk")
    )


def household_head(field_name: str, ref: str = "pk") -> Subquery:
    """One column of the head (户主) of a cases household; a head who left sorts last."""
    heads = HouseholdMember.objects.filter(household_id=OuterRef(ref), relation=Relation.HEAD)
    return Subquery(heads.order_by(F("left_at").asc(nulls_first=True), "id").values(field_name)[:1])


def registry_head(field_name: str, ref: str = "pk") -> Subquery:
    heads = RegistryMember.objects.filter(household_id=OuterRef(ref), relation=Relation.HEAD)
    return Subquery(heads.order_by("id").values(field_name)[:1])


def masked(ciphertext: str | None) -> str:
    return mask_id_number(decrypt(ciphertext)) if ciphertext else ""


# --- areas ------------------------------------------------------------------------------------


def linkage_counties(*, actor: object, perm: str) -> QuerySet[Area]:
    """Counties wholly within the actor's areas for ``perm`` (choices of county-level forms)."""
    return scope_to_actor(
        Area.objects.filter(level=AreaLevel.COUNTY), actor=actor, perm=perm, area_field=None
    ).order_by("code")


def access_county_by_code(actor: object, code: str, *, perm: str) -> Area:
    county = linkage_counties(actor=actor, perm=perm).filter(code=code).first()
    if county is None:
        raise Http404("旗县不存在或不在您的管辖范围内")
    return county


def counties_touching(*, actor: object, perm: str) -> QuerySet[Area]:
    """Counties the actor works in: wholly in scope, or holding one of the actor's townships or
    villages (a township caseworker takes part in the county's survey)."""
    in_scope = scope_to_actor(Area.objects.all(), actor=actor, perm=perm, area_field=None)
    ids = in_scope.values("pk")
    return (
        Area.objects.filter(level=AreaLevel.COUNTY)
        .filter(Q(pk__in=ids) | Q(children__in=ids) | Q(children__children__in=ids))
        .distinct()
    )


def townships_in_scope(*, actor: object, perm: str, county: Area | None = None) -> QuerySet[Area]:
    queryset = scope_to_actor(
        Area.objects.filter(level=AreaLevel.TOWNSHIP), actor=actor, perm=perm, area_field=None
    )
    if county is not None:
        queryset = queryset.filter(parent=county)
    return queryset.order_by("code")


# --- households looked up by number (forms) ---------------------------------------------------


def access_household_by_number(actor: object, number: str, *, perm: str) -> Household:
    household = (
        scope_to_actor(
            Household.objects.select_related("area", "area__parent", "county"),
            actor=actor,
            perm=perm,
        )
        .filter(number=number.strip())
        .first()
    )
    if household is None:
        raise Http404("保障户不存在或不在您的管辖范围内")
    return household


def access_registry_household_by_number(
    actor: object, number: str, *, perm: str
) -> RegistryHousehold:
    household = (
        scope_to_actor(
            RegistryHousehold.objects.select_related("area", "area__parent", "county"),
            actor=actor,
            perm=perm,
        )
        .filter(number=number.strip())
        .order_by("pk")
        .first()
    )
    if household is None:
        raise Http404("建档立卡户不存在或不在您的管辖范围内")
    return household


# --- surveys ----------------------------------------------------------------------------------


def survey_list(*, actor: object) -> QuerySet[LabourSurvey]:
    """Surveys of the counties the actor works in, latest deadline first."""
    return (
        LabourSurvey.objects.filter(
            county__in=counties_touching(actor=actor, perm=Perm.REGISTRY_VIEW)
        )
        .select_related("county", "opened_by")
        .order_by("-deadline", "-id")
    )


def access_survey_by_id(actor: object, survey_id: int) -> LabourSurvey:
    survey = survey_list(actor=actor).filter(pk=survey_id).first()
    if survey is None:
        raise Http404("摸底不存在或不在您的管辖范围内")
    return survey


def survey_item_queryset(*, actor: object, perm: str = Perm.REGISTRY_VIEW):
    return scope_to_actor(
        LabourSurveyItem.objects.select_related(
            "survey",
            "registry_household",
            "area",
            "area__parent",
            "application",
            "application__household",
        ),
        actor=actor,
        perm=perm,
    )


def survey_item_list(
    *,
    actor: object,
    survey: LabourSurvey,
    outcome: str = "",
    township_code: str = "",
) -> QuerySet[LabourSurveyItem]:
    """The survey's items in the actor's areas, with the registry head's name and encrypted ID
    number (``head_name``, ``head_id_number_ciphertext``) and the number of members who lost
    labour capacity (``lost_labour_members``), by village then household number."""
    queryset = survey_item_queryset(actor=actor).filter(survey=survey)
    if outcome in SurveyOutcome.values:
        queryset = queryset.filter(outcome=outcome)
    if township_code:
        queryset = queryset.filter(area__parent__code=township_code)
    lost = RegistryMember.objects.filter(
        household_id=OuterRef("registry_household_id"), labour_capacity__in=LOST_LABOUR
    )
    return queryset.annotate(
        head_name=registry_head("person__name", "registry_household_id"),
        head_id_number_ciphertext=registry_head(
            "person__id_number_ciphertext", "registry_household_id"
        ),
        lost_labour_members=Subquery(
            lost.order_by().values("household_id").annotate(n=Count("pk")).values("n")[:1]
        ),
    ).order_by("area__code", "registry_household__number", "pk")


def access_survey_item_by_id(
    actor: object, item_id: int, *, perm: str = Perm.REGISTRY_VIEW, for_update: bool = False
) -> LabourSurveyItem:
    queryset = survey_item_queryset(actor=actor, perm=perm)
    if for_update:
        queryset = queryset.select_for_update(of=("self",), no_key=True)
    item = queryset.filter(pk=item_id).first()
    if item is None:
        raise Http404("摸底户不存在或不在您的管辖范围内")
    return item


@dataclass(frozen=True)
class SurveyProgressRow:
    """One township's (or the total's) progress; ``done`` = assessed, ``overdue`` = still pending
    after the deadline."""

    code: str
    name: str
    total: int
    pending: int
    done: int
    overdue: int
    application_started: int
    not_eligible: int
    already_covered: int

    @property
    def done_percent(self) -> int:
        return round(self.done * 100 / self.total) if self.total else 100


@dataclass(frozen=True)
class SurveyProgress:
    survey: LabourSurvey
    on: date
    rows: list[SurveyProgressRow]
    total: SurveyProgressRow

    @property
    def is_past_deadline(self) -> bool:
        return self.on > self.survey.deadline


def survey_progress(
    *, actor: object, survey: LabourSurvey, on: date | None = None
) -> SurveyProgress:
    """Progress by township of the items in the actor's areas, against the deadline, on ``on``
    (default today). One grouped query."""
    on = on or timezone.localdate()
    past_deadline = on > survey.deadline
    pending = Q(outcome=SurveyOutcome.PENDING)
    grouped = (
        survey_item_queryset(actor=actor)
        .filter(survey=survey)
        .order_by()
        .values("area__parent__code", "area__parent__name")
        .annotate(
            total=Count("pk"),
            pending=Count("pk", filter=pending),
            application_started=Count("pk", filter=Q(outcome=SurveyOutcome.APPLICATION_STARTED)),
            not_eligible=Count("pk", filter=Q(outcome=SurveyOutcome.NOT_ELIGIBLE)),
            already_covered=Count("pk", filter=Q(outcome=SurveyOutcome.ALREADY_COVERED)),
        )
        .order_by("area__parent__code")
    )
    rows = [
        SurveyProgressRow(
            code=row["area__parent__code"],
            name=row["area__parent__name"],
            total=row["total"],
            pending=row["pending"],
            done=row["total"] - row["pending"],
            overdue=row["pending"] if past_deadline else 0,
            application_started=row["application_started"],
            not_eligible=row["not_eligible"],
            already_covered=row["already_covered"],
        )
        for row in grouped
    ]
    total = SurveyProgressRow(
        code=survey.county.code,
        name="合计",
        **{
            name: sum(getattr(row, name) for row in rows)
            for name in (
                "total",
                "pending",
                "done",
                "overdue",
                "application_started",
                "not_eligible",
                "already_covered",
            )
        },
    )
    return SurveyProgress(survey=survey, on=on, rows=rows, total=total)


def survey_totals(
    *, actor: object, surveys: list[LabourSurvey], on: date | None = None
) -> dict[int, SurveyProgressRow]:
    """Totals of each survey over the items in the actor's areas (one grouped query for a page
    of surveys); surveys without items in scope get an all-zero row."""
    on = on or timezone.localdate()
    by_id = {survey.pk: survey for survey in surveys}
    grouped = (
        survey_item_queryset(actor=actor)
        .filter(survey_id__in=list(by_id))
        .order_by()
        .values("survey_id")
        .annotate(
            total=Count("pk"),
            pending=Count("pk", filter=Q(outcome=SurveyOutcome.PENDING)),
            application_started=Count("pk", filter=Q(outcome=SurveyOutcome.APPLICATION_STARTED)),
            not_eligible=Count("pk", filter=Q(outcome=SurveyOutcome.NOT_ELIGIBLE)),
            already_covered=Count("pk", filter=Q(outcome=SurveyOutcome.ALREADY_COVERED)),
        )
    )
    counts = {row.pop("survey_id"): row for row in grouped}
    totals = {}
    for survey_id, survey in by_id.items():
        row = counts.get(survey_id) or dict.fromkeys(
            ("total", "pending", "application_started", "not_eligible", "already_covered"), 0
        )
        totals[survey_id] = SurveyProgressRow(
            code=survey.county.code,
            name=survey.title,
            done=row["total"] - row["pending"],
            overdue=row["pending"] if on > survey.deadline else 0,
            **row,
        )
    return totals


# --- referrals --------------------------------------------------------------------------------


def referral_queryset(*, actor: object, perm: str = Perm.REGISTRY_VIEW) -> QuerySet[Referral]:
    return scope_to_actor(
        Referral.objects.select_related(
            "county",
            "area",
            "area__parent",
            "household",
            "registry_household",
            "application",
            "created_by",
            "received_by",
        ),
        actor=actor,
        perm=perm,
    )


def referral_list(
    *,
    actor: object,
    direction: str = "",
    status: str = "",
    area_code: str = "",
) -> QuerySet[Referral]:
    """Referrals in the actor's areas (optionally under ``area_code``, 404 outside), newest first,
    with the head's name and encrypted ID number: from the cases household when there is one,
    otherwise from the registry household."""
    queryset = referral_queryset(actor=actor)
    if direction in ReferralDirection.values:
        queryset = queryset.filter(direction=direction)
    if status in ReferralStatus.values:
        queryset = queryset.filter(status=status)
    if area_code:
        root = (
            scope_to_actor(
                Area.objects.all(), actor=actor, perm=Perm.REGISTRY_VIEW, area_field=None
            )
            .filter(code=area_code)
            .first()
        )
        if root is None:
            raise Http404("区划不存在或不在您的管辖范围内")
        queryset = queryset.filter(area__path__startswith=root.path)
    return queryset.annotate(
        case_head_name=household_head("person__name", "household_id"),
        case_head_ciphertext=household_head("person__id_number_ciphertext", "household_id"),
        registry_head_name=registry_head("person__name", "registry_household_id"),
        registry_head_ciphertext=registry_head(
            "person__id_number_ciphertext", "registry_household_id"
        ),
    ).order_by("-created_at", "-id")


def access_referral_by_id(actor: object, referral_id: int, *, for_update: bool = False) -> Referral:
    queryset = referral_queryset(actor=actor)
    if for_update:
        queryset = queryset.select_for_update(of=("self",), no_key=True)
    referral = queryset.filter(pk=referral_id).first()
    if referral is None:
        raise Http404("移交不存在或不在您的管辖范围内")
    return referral


@dataclass(frozen=True)
class ReferralRow:
    """A referral as shown in lists, the API and the exports (ID numbers masked)."""

    id: int
    direction: str
    direction_label: str
    status: str
    status_label: str
    created_on: date
    county_code: str
    area_code: str
    township_name: str
    village_name: str
    household_number: str
    registry_household_number: str
    head_name: str
    head_id_number_masked: str
    reason: str
    measure: str
    application_id: int | None
    received_on: date | None
    done_on: date | None
    per_capita_income_monthly: object = None

    @property
    def direction_short(self) -> str:
        return DIRECTION_SHORT_LABELS[self.direction]


def referral_row(referral: Referral) -> ReferralRow:
    """From a ``referral_list`` row (annotated)."""
    has_case_head = bool(getattr(referral, "case_head_name", None))
    head_name = referral.case_head_name if has_case_head else referral.registry_head_name
    ciphertext = (
        referral.case_head_ciphertext if has_case_head else referral.registry_head_ciphertext
    )
    return ReferralRow(
        id=referral.pk,
        direction=referral.direction,
        direction_label=referral.get_direction_display(),
        status=referral.status,
        status_label=referral.get_status_display(),
        created_on=timezone.localtime(referral.created_at).date(),
        county_code=referral.county.code,
        area_code=referral.area.code,
        township_name=referral.area.parent.name if referral.area.parent else "",
        village_name=referral.area.name,
        household_number=referral.household.number if referral.household else "",
        registry_household_number=(
            referral.registry_household.number if referral.registry_household else ""
        ),
        head_name=head_name or "",
        head_id_number_masked=masked(ciphertext),
        reason=referral.reason,
        measure=referral.measure,
        application_id=referral.application_id,
        received_on=referral.received_on,
        done_on=referral.done_on,
        per_capita_income_monthly=(
            referral.household.per_capita_income_monthly if referral.household else None
        ),
    )


@dataclass
class ReferralCountRow:
    code: str
    name: str
    counts: dict[tuple[str, str], int] = field(default_factory=dict)

    def count(self, direction: str, status: str) -> int:
        return self.counts.get((direction, status), 0)

    @property
    def cells(self) -> list[int]:
        """Counts in ``REFERRAL_COLUMNS`` order (for templates)."""
        return [self.count(direction, status) for direction, status in REFERRAL_COLUMNS]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


DIRECTION_SHORT_LABELS = {
    ReferralDirection.TO_POVERTY_OFFICE: "移交扶贫部门",
    ReferralDirection.PROPOSE_REGISTRY: "建议纳入建档立卡",
}
REFERRAL_COLUMNS = [
    (direction, status)
    for direction in ReferralDirection.values
    for status in ReferralStatus.values
]


@dataclass(frozen=True)
class ReferralCounts:
    rows: list[ReferralCountRow]
    total: ReferralCountRow

    @property
    def columns(self) -> list[tuple[str, str]]:
        statuses = dict(ReferralStatus.choices)
        return [(DIRECTION_SHORT_LABELS[d], statuses[s]) for d, s in REFERRAL_COLUMNS]


def referral_counts(*, actor: object, county: Area | None = None) -> ReferralCounts:
    """Counts by direction and status, per township (one grouped query)."""
    queryset = referral_queryset(actor=actor)
    if county is not None:
        queryset = queryset.filter(county=county)
    grouped = (
        queryset.order_by()
        .values("area__parent__code", "area__parent__name", "direction", "status")
        .annotate(n=Count("pk"))
    )
    by_township: dict[str, ReferralCountRow] = {}
    total = ReferralCountRow(code=county.code if county else "", name="合计")
    for row in grouped:
        code = row["area__parent__code"]
        entry = by_township.setdefault(
            code, ReferralCountRow(code=code, name=row["area__parent__name"])
        )
        key = (row["direction"], row["status"])
        entry.counts[key] = entry.counts.get(key, 0) + row["n"]
        total.counts[key] = total.counts.get(key, 0) + row["n"]
    return ReferralCounts(rows=[by_township[c] for c in sorted(by_township)], total=total)


# --- guarantees (两不愁三保障 for dibao households outside the registry) -------------------------


def _latest_guarantee(kind: str, column: str) -> Subquery:
    checks = GuaranteeCheck.objects.filter(household_id=OuterRef("pk"), kind=kind)
    return Subquery(checks.order_by("-checked_on", "-id").values(column)[:1])


def guarantee_households(
    *,
    actor: object,
    county: Area | None = None,
    township_code: str = "",
    only_gaps: bool = False,
) -> QuerySet[Household]:
    """Paid dibao/特困 households of the actor's areas that are NOT in the registry, each with the
    latest status and date of each guarantee (``education_status``, ``education_checked_on``, …;
    ``None`` = not yet checked) and its head. ``only_gaps``: a guarantee missing or with a gap.
    """
    queryset = scope_to_actor(
        Household.objects.select_related("area", "area__parent", "county"),
        actor=actor,
        perm=Perm.REGISTRY_VIEW,
    ).filter(
        status__in=PAYING_STATUSES,
        programme__in=[Programme.DIBAO, Programme.TEKUN],
    )
    if county is not None:
        queryset = queryset.filter(county=county)
    if township_code:
        queryset = queryset.filter(area__parent__code=township_code)
    queryset = queryset.annotate(in_registry=household_in_registry()).filter(in_registry=False)
    annotations: dict[str, Subquery] = {}
    for kind in GuaranteeKind.values:
        annotations[f"{kind}_status"] = _latest_guarantee(kind, "status")
        annotations[f"{kind}_checked_on"] = _latest_guarantee(kind, "checked_on")
    queryset = queryset.annotate(
        **annotations,
        head_name=household_head("person__name"),
        head_id_number_ciphertext=household_head("person__id_number_ciphertext"),
    )
    if only_gaps:
        condition = Q()
        for kind in GuaranteeKind.values:
            condition |= Q(**{f"{kind}_status__isnull": True}) | Q(
                **{f"{kind}_status": GuaranteeStatus.GAP}
            )
        queryset = queryset.filter(condition)
    return queryset.order_by("area__code", "number", "pk")


@dataclass(frozen=True)
class GuaranteeCell:
    kind: str
    kind_label: str
    status: str  # "" = missing
    status_label: str
    checked_on: date | None

    @property
    def is_gap(self) -> bool:
        return self.status in ("", GuaranteeStatus.GAP)


def guarantee_cells(household: Household) -> list[GuaranteeCell]:
    """The three guarantees of a ``guarantee_households`` row, in ``GuaranteeKind`` order."""
    statuses = dict(GuaranteeStatus.choices)
    return [
        GuaranteeCell(
            kind=kind,
            kind_label=label,
            status=getattr(household, f"{kind}_status") or "",
            status_label=statuses.get(getattr(household, f"{kind}_status") or "", "未核实"),
            checked_on=getattr(household, f"{kind}_checked_on"),
        )
        for kind, label in GuaranteeKind.choices
    ]


@dataclass(frozen=True)
class GuaranteeCountRow:
    """Per township: households, and per guarantee the households assured / with a gap / not
    applicable / not yet checked."""

    code: str
    name: str
    households: int
    with_gap_or_missing: int
    by_kind: dict[str, dict[str, int]]

    @property
    def cells(self) -> list[int]:
        return [
            self.by_kind[kind][status]
            for kind in GuaranteeKind.values
            for status in GUARANTEE_COUNT_STATUSES
        ]


GUARANTEE_COUNT_STATUSES = (
    GuaranteeStatus.ASSURED,
    GuaranteeStatus.GAP,
    GuaranteeStatus.NOT_APPLICABLE,
    "missing",
)


def guarantee_counts(
    *, actor: object, county: Area | None = None
) -> tuple[list[GuaranteeCountRow], GuaranteeCountRow]:
    """Counts per township and the total (one grouped query)."""
    queryset = guarantee_households(actor=actor, county=county)
    aggregates: dict[str, Count] = {"households": Count("pk")}
    any_gap = Q()
    for kind in GuaranteeKind.values:
        status_field = f"{kind}_status"
        for status in GUARANTEE_COUNT_STATUSES[:3]:
            aggregates[f"{kind}__{status}"] = Count("pk", filter=Q(**{status_field: status}))
        aggregates[f"{kind}__missing"] = Count("pk", filter=Q(**{f"{status_field}__isnull": True}))
        any_gap |= Q(**{f"{status_field}__isnull": True}) | Q(**{status_field: GuaranteeStatus.GAP})
    aggregates["with_gap_or_missing"] = Count("pk", filter=any_gap)
    grouped = (
        queryset.order_by()
        .values("area__parent__code", "area__parent__name")
        .annotate(**aggregates)
        .order_by("area__parent__code")
    )
    rows = [
        GuaranteeCountRow(
            code=row["area__parent__code"],
            name=row["area__parent__name"],
            households=row["households"],
            with_gap_or_missing=row["with_gap_or_missing"],
            by_kind={
                kind: {status: row[f"{kind}__{status}"] for status in GUARANTEE_COUNT_STATUSES}
                for kind in GuaranteeKind.values
            },
        )
        for row in grouped
    ]
    total = GuaranteeCountRow(
        code=county.code if county else "",
        name="合计",
        households=sum(row.households for row in rows),
        with_gap_or_missing=sum(row.with_gap_or_missing for row in rows),
        by_kind={
            kind: {
                status: sum(row.by_kind[kind][status] for row in rows)
                for status in GUARANTEE_COUNT_STATUSES
            }
            for kind in GuaranteeKind.values
        },
    )
    return rows, total
