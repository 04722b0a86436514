"""Reads of households and applications, always scoped to the actor (style B.5)."""

from django.db.models import QuerySet
from django.http import Http404

from cases.models import Application, Household
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import scope_to_actor


def household_queryset(*, actor: object, perm: str = Perm.CASE_VIEW) -> QuerySet[Household]:
    return scope_to_actor(
        Household.objects.select_related("area", "area__parent", "county"), actor=actor, perm=perm
    )


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
