"""Reads of the area tree, always scoped to the actor."""

from django.db.models import QuerySet

from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code, actor_area_paths, scope_to_actor


def area_list(
    *,
    actor: object,
    level: str | None = None,
    parent_code: str | None = None,
    under_code: str | None = None,
) -> QuerySet[Area]:
    queryset = scope_to_actor(
        Area.objects.select_related("parent"), actor=actor, perm=Perm.AREA_VIEW, area_field=None
    )
    if level:
        queryset = queryset.filter(level=level)
    if parent_code:
        queryset = queryset.filter(parent__code=parent_code)
    if under_code:
        root = access_area_by_code(actor, under_code, perm=Perm.AREA_VIEW)
        queryset = queryset.filter(path__startswith=root.path)
    return queryset.order_by("code")


def area_children(*, actor: object, area: Area) -> QuerySet[Area]:
    return area_list(actor=actor, parent_code=area.code)


def area_roots_for_actor(*, actor: object) -> list[Area]:
    """The top areas of the actor's scope (e.g. the township for a township caseworker)."""
    paths = actor_area_paths(actor, perm=Perm.AREA_VIEW)
    codes = [path.rstrip("/").rsplit("/", 1)[-1] for path in paths]
    return list(Area.objects.filter(code__in=codes).order_by("code"))
