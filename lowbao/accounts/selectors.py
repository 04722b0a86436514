"""Reads of accounts for the security admin's pages, scoped by ``Perm.ACCOUNT_MANAGE``.

A user is inside the actor's scope when one of their role assignments in force lies under an
area where the actor holds ``ACCOUNT_MANAGE``. Users without any assignment are in nobody's
scope (quality.md S1: rows without an area are visible to no area-bound user).
"""

from dataclasses import dataclass

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from lowbao.accounts.models import User
from lowbao.areas.models import UserAreaRole
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import scope_to_actor

SEARCH_LIMIT = 20


@dataclass(frozen=True)
class ManagedAccount:
    user: User
    # The user's assignments that lie inside the actor's scope (area preloaded).
    assignments: list[UserAreaRole]


def _assignments_in_scope(actor: object) -> QuerySet[UserAreaRole]:
    today = timezone.localdate()
    in_force = UserAreaRole.objects.filter(valid_from__lte=today).filter(
        Q(valid_to__isnull=True) | Q(valid_to__gte=today)
    )
    return scope_to_actor(in_force, actor=actor, perm=Perm.ACCOUNT_MANAGE)


def _managed_users(actor: object) -> QuerySet[User]:
    in_scope = _assignments_in_scope(actor)
    return User.objects.filter(
        pk__in=in_scope.values("user_id"), is_service_account=False
    ).prefetch_related(
        Prefetch(
            "area_roles",
            queryset=in_scope.select_related("area").order_by("area__path", "role", "id"),
            to_attr="managed_assignments",
        )
    )


def managed_account_search(*, actor: object, query: str) -> list[ManagedAccount]:
    """Up to ``SEARCH_LIMIT`` people in scope whose username or name contains ``query``."""
    query = query.strip()
    if not query:
        return []
    users = (
        _managed_users(actor)
        .filter(Q(username__icontains=query) | Q(display_name__icontains=query))
        .order_by("username")[:SEARCH_LIMIT]
    )
    return [ManagedAccount(user=user, assignments=user.managed_assignments) for user in users]


def managed_account_by_id(*, actor: object, user_id: int) -> ManagedAccount:
    """The account if it is in the actor's scope; otherwise 404 (style B.5)."""
    user = _managed_users(actor).filter(pk=user_id).first()
    if user is None:
        raise Http404("用户不存在或不在您的管辖范围内")
    return ManagedAccount(user=user, assignments=user.managed_assignments)
