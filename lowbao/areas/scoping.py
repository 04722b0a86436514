"""The one scoping choke point (style B.5, quality.md S1).

Every list selector calls ``scope_to_actor``; every object fetch goes through an ``access_*``
helper that answers 404 outside the actor's areas. Nobody else builds area filters.
"""

from dataclasses import dataclass
from typing import TypeVar

from django.db.models import Model, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from lowbao.areas.models import Area, UserAreaRole
from lowbao.areas.roles import role_has_perm

_CACHE_ATTR = "_lowbao_assignments"
ACTIVE_ASSIGNMENT_ATTR = "_lowbao_active_assignment_id"
M = TypeVar("M", bound=Model)


@dataclass(frozen=True)
class Assignment:
    id: int
    role: str
    role_label: str
    area_id: int
    area_code: str
    area_name: str
    area_level: str
    area_path: str


def _load_assignments(actor: object) -> list[Assignment]:
    today = timezone.localdate()
    rows = (
        UserAreaRole.objects.filter(user=actor, valid_from__lte=today)
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=today))
        .select_related("area")
        .order_by("area__path", "role", "id")
    )
    return [
        Assignment(
            id=row.id,
            role=row.role,
            role_label=row.get_role_display(),
            area_id=row.area_id,
            area_code=row.area.code,
            area_name=row.area.name,
            area_level=row.area.level,
            area_path=row.area.path,
        )
        for row in rows
    ]


def all_assignments(actor: object) -> list[Assignment]:
    """Every active assignment of the actor (cached on the user object for the request)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return []
    cached = getattr(actor, _CACHE_ATTR, None)
    if cached is None:
        cached = _load_assignments(actor)
        setattr(actor, _CACHE_ATTR, cached)
    return cached


def actor_assignments(actor: object) -> list[Assignment]:
    """The assignments in force for this request: the one chosen in the area switcher, if any."""
    assignments = all_assignments(actor)
    chosen = getattr(actor, ACTIVE_ASSIGNMENT_ATTR, None)
    if chosen is not None:
        narrowed = [a for a in assignments if a.id == chosen]
        if narrowed:
            return narrowed
    return assignments


def forget_assignments(actor: object) -> None:
    """Drop the per-request cache (after a role change in the same request, or in tests)."""
    if hasattr(actor, _CACHE_ATTR):
        delattr(actor, _CACHE_ATTR)


def actor_has_perm(actor: object, perm: str) -> bool:
    return any(role_has_perm(a.role, perm) for a in actor_assignments(actor))


def actor_area_paths(actor: object, *, perm: str) -> list[str]:
    """Minimal set of area paths under which the actor holds ``perm``."""
    paths = sorted({a.area_path for a in actor_assignments(actor) if role_has_perm(a.role, perm)})
    minimal: list[str] = []
    for path in paths:
        if not any(path.startswith(kept) for kept in minimal):
            minimal.append(path)
    return minimal


def scope_to_actor(
    queryset: QuerySet[M], *, actor: object, perm: str, area_field: str | None = "area"
) -> QuerySet[M]:
    """Rows whose area lies under one of the actor's areas for ``perm``; nothing else.

    ``area_field`` names the foreign key to ``Area`` (``None`` when the queryset is of areas).
    Rows with no area never match, so they are invisible to every area-bound user.
    """
    paths = actor_area_paths(actor, perm=perm)
    if not paths:
        return queryset.none()
    lookup = "path__startswith" if area_field is None else f"{area_field}__path__startswith"
    condition = Q()
    for path in paths:
        condition |= Q(**{lookup: path})
    return queryset.filter(condition)


def actor_covers_area(actor: object, area: Area, *, perm: str) -> bool:
    return any(area.path.startswith(path) for path in actor_area_paths(actor, perm=perm))


def access_area_by_code(actor: object, code: str, *, perm: str) -> Area:
    """The area with this code if the actor may see it for ``perm``; otherwise 404."""
    area = Area.objects.filter(code=code).select_related("parent").first()
    if area is None or not actor_covers_area(actor, area, perm=perm):
        raise Http404("区划不存在或不在您的管辖范围内")
    return area
