"""低保经办人员, 村（居）委会成员 and their 近亲属 (domain.md §2; S3 art. 14, S4 art. 11).

The county keeps the list of its officials and their close relatives. When an application is
accepted, its household's members are matched against that list: a match (or the applicant's own
declaration) is filed separately (近亲属备案) and routes the case to a county home visit
(县级入户调查), which the approval then requires.
"""

from datetime import date

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from cases.choices import CountyVisitReason
from cases.models import Application, Household, HouseholdMember
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm, scope_to_actor
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.people.masking import mask_id_number
from lowbao.people.services import person_upsert
from poverty.choices import CloseRelation, OfficialKind
from poverty.models import CloseRelativeFiling, Official, OfficialRelative


def _denied(actor: object, perm: str) -> DomainError:
    if actor_has_perm(actor, perm):
        return DomainError(code="not_found", message="对象不存在或不在您的管辖范围内")
    return DomainError(code="permission_denied", message="没有执行此操作的权限")


@transaction.atomic
def official_add(
    *,
    actor: object,
    county: Area,
    area: Area,
    id_number: str,
    name: str,
    kind: str,
    position: str = "",
) -> Official:
    """Register (or re-activate) an official of the county; idempotent per person and kind."""
    if not actor_covers_area(actor, county, perm=Perm.OFFICIAL_MANAGE):
        raise _denied(actor, Perm.OFFICIAL_MANAGE)
    if county.level != AreaLevel.COUNTY:
        raise DomainError(code="invalid", message="请选择旗县", fields={"county": ["请选择旗县"]})
    if not area.path.startswith(county.path):
        raise DomainError(
            code="invalid",
            message="任职区域须在本旗县内",
            fields={"area": ["任职区域须在本旗县内"]},
        )
    if kind not in OfficialKind.values:
        raise DomainError(code="invalid", message="请选择身份", fields={"kind": ["请选择身份"]})
    person, _created = person_upsert(actor=actor, id_number=id_number, name=name)
    position = (position or "").strip()[:60]
    official = (
        Official.objects.select_for_update().filter(county=county, person=person, kind=kind).first()
    )
    if official is None:
        official = Official.objects.create(
            county=county, area=area, person=person, kind=kind, position=position
        )
        action = "official.add"
    else:
        official.area, official.position, official.active = area, position, True
        official.save(update_fields=["area", "position", "active", "updated_at"])
        action = "official.update"
    record(
        actor=actor,
        action=action,
        obj=official,
        area=county,
        changes={
            "id_number": mask_id_number(person.id_number),
            "name": person.name,
            "kind": kind,
            "area": area.code,
            "position": position,
        },
    )
    return official


@transaction.atomic
def official_deactivate(*, actor: object, official: Official) -> Official:
    """The official left office: no more matching against them (filings already made stay)."""
    if not actor_covers_area(actor, official.county, perm=Perm.OFFICIAL_MANAGE):
        raise _denied(actor, Perm.OFFICIAL_MANAGE)
    if official.active:
        official.active = False
        official.save(update_fields=["active", "updated_at"])
        record(
            actor=actor,
            action="official.deactivate",
            obj=official,
            area=official.county,
            changes={"active": [True, False]},
        )
    return official


@transaction.atomic
def official_relative_add(
    *, actor: object, official: Official, id_number: str, name: str, relation: str
) -> OfficialRelative:
    """Record a close relative (近亲属) of an official; the relation is updated if known."""
    if not actor_covers_area(actor, official.county, perm=Perm.OFFICIAL_MANAGE):
        raise _denied(actor, Perm.OFFICIAL_MANAGE)
    if relation not in CloseRelation.values or relation == CloseRelation.SELF:
        raise DomainError(
            code="invalid", message="请选择近亲属关系", fields={"relation": ["请选择近亲属关系"]}
        )
    person, _created = person_upsert(actor=actor, id_number=id_number, name=name)
    if person.pk == official.person_id:
        raise DomainError(
            code="invalid",
            message="近亲属不能是本人",
            fields={"id_number": ["近亲属不能是本人"]},
        )
    relative = (
        OfficialRelative.objects.select_for_update()
        .filter(official=official, person=person)
        .first()
    )
    before = relative.relation if relative else None
    if relative is None:
        relative = OfficialRelative.objects.create(
            official=official, person=person, relation=relation
        )
    elif relative.relation != relation:
        relative.relation = relation
        relative.save(update_fields=["relation", "updated_at"])
    record(
        actor=actor,
        action="official.relative_add",
        obj=relative,
        area=official.county,
        changes={
            "official": official.pk,
            "id_number": mask_id_number(person.id_number),
            "name": person.name,
            "relation": [before, relation],
        },
    )
    return relative


# --- the AFTER_ACCEPT hook ------------------------------------------------------------------


def _matches(household: Household) -> dict[int, str]:
    """Active officials of the household's county whose close relative (or who themselves) is a
    current member: official id → relation (本人 wins over a relative)."""
    person_ids = list(
        HouseholdMember.objects.filter(household=household, left_at__isnull=True).values_list(
            "person_id", flat=True
        )
    )
    found: dict[int, str] = {}
    for official_id in Official.objects.filter(
        county_id=household.county_id, active=True, person_id__in=person_ids
    ).values_list("id", flat=True):
        found[official_id] = CloseRelation.SELF
    for official_id, relation in OfficialRelative.objects.filter(
        official__county_id=household.county_id,
        official__active=True,
        person_id__in=person_ids,
    ).values_list("official_id", "relation"):
        found.setdefault(official_id, relation)
    return found


def close_relative_match(application: Application, actor: object, today: date) -> None:
    """AFTER_ACCEPT hook: file 近亲属 cases (matched and declared) and require the county visit.

    Runs inside the acceptance transaction; the application row is locked by the caller.
    """
    household = application.household
    matches = _matches(household)
    filed = set(
        CloseRelativeFiling.objects.filter(application=application).values_list(
            "official_id", "source"
        )
    )
    filed_officials = {official_id for official_id, _source in filed}
    new_filings = [
        CloseRelativeFiling(
            application=application,
            official_id=official_id,
            relation=relation,
            source="matched",
            filed_on=today,
            filed_by=actor,
        )
        for official_id, relation in matches.items()
        if official_id not in filed_officials
    ]
    if application.declares_close_relative and not any(
        source == "declared" for _official, source in filed
    ):
        new_filings.append(
            CloseRelativeFiling(
                application=application,
                official=None,
                relation="",
                source="declared",
                filed_on=today,
                filed_by=actor,
            )
        )
    if not matches and not application.declares_close_relative:
        return
    CloseRelativeFiling.objects.bulk_create(new_filings)
    application.county_visit_required = True
    application.county_visit_reason = CountyVisitReason.CLOSE_RELATIVE
    application.save(update_fields=["county_visit_required", "county_visit_reason", "updated_at"])
    Household.objects.filter(pk=household.pk).update(is_close_relative_case=True)
    household.is_close_relative_case = True
    if new_filings:
        record(
            actor=actor,
            action="close_relative.file",
            obj=application,
            area=application.area,
            changes={
                "matched_officials": sorted(matches),
                "declared": application.declares_close_relative,
                "filings": len(new_filings),
                "county_visit_required": True,
            },
        )


# --- reads ----------------------------------------------------------------------------------


def official_list(*, actor: object) -> QuerySet[Official]:
    return (
        scope_to_actor(
            Official.objects.select_related("county", "area", "person"),
            actor=actor,
            perm=Perm.OFFICIAL_MANAGE,
            area_field="county",
        )
        .prefetch_related("relatives__person")
        .order_by("-active", "county__code", "area__code", "id")
    )


def access_official_by_id(actor: object, official_id: int) -> Official:
    official = official_list(actor=actor).filter(pk=official_id).first()
    if official is None:
        raise Http404("人员不存在或不在您的管辖范围内")
    return official


def close_relative_filing_list(
    *, actor: object, area_path: str | None = None
) -> QuerySet[CloseRelativeFiling]:
    """Filings of applications the actor may see (scoped through the application's village)."""
    queryset = scope_to_actor(
        CloseRelativeFiling.objects.select_related(
            "application",
            "application__household",
            "application__area",
            "application__area__parent",
            "official",
            "official__person",
            "filed_by",
        ),
        actor=actor,
        perm=Perm.CASE_VIEW,
        area_field="application__area",
    )
    if area_path:
        queryset = queryset.filter(application__area__path__startswith=area_path)
    return queryset.order_by("-filed_on", "-id")


HOOKS = [("AFTER_ACCEPT", close_relative_match)]
