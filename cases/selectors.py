"""Reads of households and applications, always scoped to the actor (style B.5)."""

from django.db.models import Count, Model, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404

from cases.models import Application, Household, HouseholdMember
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm, role_has_perm
from lowbao.areas.scoping import actor_area_paths, actor_assignments, scope_to_actor

_COUNTY_CACHE_ATTR = "_cases_county_scopes"
COUNTY_OR_ABOVE = frozenset({AreaLevel.COUNTY, AreaLevel.LEAGUE, AreaLevel.REGION})


def covered_counties(actor: object, *, perm: str) -> QuerySet[Area]:
    """The banners/counties holding an area the actor covers for ``perm``: the county above each
    township or village of the actor's, and every county under a league or the region of the
    actor's (one query on the area paths, no join)."""
    paths = actor_area_paths(actor, perm=perm)
    if not paths:
        return Area.objects.none()
    ancestors = {path[: end + 1] for path in paths for end, char in enumerate(path) if char == "/"}
    condition = Q(path__in=sorted(ancestors))
    for path in paths:
        condition |= Q(path__startswith=path)
    return Area.objects.filter(condition, level=AreaLevel.COUNTY)


def whole_county_ids(actor: object, *, perm: str) -> tuple[int, ...] | None:
    """The counties the actor covers for ``perm`` when every area of the actor's is a county or
    above — "under the actor's areas" is then exactly "of these counties" — else ``None``.

    From the assignments alone for county roles; a league or region role reads its counties
    (one query, cached on the actor for the request, keyed by the assignments in force)."""
    held = [a for a in actor_assignments(actor) if role_has_perm(a.role, perm)]
    if not held or any(a.area_level not in COUNTY_OR_ABOVE for a in held):
        return None
    if all(a.area_level == AreaLevel.COUNTY for a in held):
        return tuple(sorted({a.area_id for a in held}))
    key = (perm, tuple(a.id for a in actor_assignments(actor)))
    cache: dict[tuple, tuple[int, ...]] | None = getattr(actor, _COUNTY_CACHE_ATTR, None)
    if cache is not None and key in cache:
        return cache[key]
    ids = tuple(covered_counties(actor, perm=perm).order_by("pk").values_list("pk", flat=True))
    if getattr(actor, "pk", None) is not None:
        if cache is None:
            cache = {}
            setattr(actor, _COUNTY_CACHE_ATTR, cache)
        cache[key] = ids
    return ids


def _assignment_areas(held: list) -> Q:
    """The rows of a model with ``county`` and a village ``area`` under these assignments' areas,
    from the assignments alone (ids the planner estimates well, where it misjudges a prefix
    match on the area paths of a township by a factor of a thousand)."""
    condition = Q()
    for assignment in held:
        if assignment.area_level == AreaLevel.COUNTY:
            condition |= Q(county_id=assignment.area_id)
        elif assignment.area_level == AreaLevel.TOWNSHIP:
            condition |= Q(area__parent_id=assignment.area_id) | Q(area_id=assignment.area_id)
        elif assignment.area_level == AreaLevel.VILLAGE:
            condition |= Q(area_id=assignment.area_id)
        else:  # a league or the region
            condition |= Q(county__path__startswith=assignment.area_path)
    return condition


def scope_by_county(queryset: QuerySet, *, actor: object, perm: str) -> QuerySet:
    """``queryset`` (of a model whose ``county`` repeats its village's county: households,
    registry households) under the actor's areas for ``perm``, in a form the planner serves
    from the ``(county, number)`` index or the area ids.

    County roles and above: a filter on the county column alone — the list reads the index in
    keyset order and stops after one page, where the join on the area paths let the planner
    walk every household of the province in county order (140 ms for a county officer's first
    page). Township and village roles: ``scope_to_actor``, narrowed by the township and village
    ids of the assignments (the same rows; without them the planner took some townships'
    path match for 2,500 households and walked the province the same way)."""
    county_ids = whole_county_ids(actor, perm=perm)
    if county_ids is not None:
        return queryset.filter(county_id__in=county_ids) if county_ids else queryset.none()
    held = [a for a in actor_assignments(actor) if role_has_perm(a.role, perm)]
    return scope_to_actor(queryset, actor=actor, perm=perm).filter(_assignment_areas(held))


def household_queryset(*, actor: object, perm: str = Perm.CASE_VIEW) -> QuerySet[Household]:
    return scope_to_actor(
        Household.objects.select_related("area", "area__parent", "county"), actor=actor, perm=perm
    )


# What the household list shows of a household (and its keyset ordering needs): reading every
# column of the household, its village, township and banner for 50 rows was a third of the page.
HOUSEHOLD_LIST_FIELDS = (
    "id",
    "county",
    "number",
    "programme",
    "status",
    "monthly_amount",
    "area",
    "area__name",
    "area__parent",
    "area__parent__name",
)


def member_count(member_model: type[Model]) -> Coalesce:
    """The number of ``member_model`` rows (``household`` foreign key) of each household, as a
    correlated subquery: PostgreSQL evaluates it for the rows a page reads only (after ORDER BY
    … LIMIT), where a ``Count`` over the join groups every household of the actor's areas."""
    members = (
        member_model.objects.filter(household=OuterRef("pk"))
        .order_by()
        .values("household")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(members), 0)


def household_list_queryset(*, actor: object) -> QuerySet[Household]:
    """The rows of the household list, scoped, with ``member_count``: a correlated count that
    PostgreSQL evaluates for the page's rows only (after ORDER BY … LIMIT), where a
    ``Count("members")`` grouped every household of the actor's areas — and the capped total
    above the list joined and grouped them a second time."""
    return scope_by_county(
        Household.objects.select_related("area__parent").only(*HOUSEHOLD_LIST_FIELDS),
        actor=actor,
        perm=Perm.CASE_VIEW,
    ).annotate(member_count=member_count(HouseholdMember))


def access_household_by_id(
    actor: object, household_id: int, *, perm: str = Perm.CASE_VIEW, for_update: bool = False
) -> Household:
    """The household if the actor may see it for ``perm``; otherwise 404 (never 403)."""
    queryset = household_queryset(actor=actor, perm=perm)
    if for_update:
        queryset = queryset.select_for_update(of=("self",), no_key=True)
    household = queryset.filter(pk=household_id).first()
    if household is None:
        raise Http404("保障户不存在或不在您的管辖范围内")
    return household


def application_queryset(*, actor: object, perm: str = Perm.CASE_VIEW) -> QuerySet[Application]:
    return scope_to_actor(
        Application.objects.select_related("household", "area", "area__parent"),
        actor=actor,
        perm=perm,
    )


def access_application_by_id(
    actor: object, application_id: int, *, perm: str = Perm.CASE_VIEW
) -> Application:
    application = application_queryset(actor=actor, perm=perm).filter(pk=application_id).first()
    if application is None:
        raise Http404("申请不存在或不在您的管辖范围内")
    return application
