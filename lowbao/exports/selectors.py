"""Reads of export jobs and of the counties an export may be made for (style B.5)."""

from django.db.models import QuerySet
from django.http import Http404

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_area_paths, actor_has_perm, scope_to_actor
from lowbao.exports.models import ExportJob
from lowbao.exports.registry import ExportKind, get_export

COUNTY_DEPTH = 3  # region / league / county in a materialised path


def export_county_choices(*, actor: object, perm: str) -> list[Area]:
    """The counties the actor may export a county list of: every county under the actor's areas
    for ``perm``, and the county that contains an area below county level (a township
    caseworker exports the part of their county's roster they see)."""
    paths = actor_area_paths(actor, perm=perm)
    above = [path.strip("/").split("/") for path in paths]
    ancestor_codes = {parts[COUNTY_DEPTH - 1] for parts in above if len(parts) > COUNTY_DEPTH}
    counties = {
        area.pk: area
        for area in scope_to_actor(
            Area.objects.filter(level=AreaLevel.COUNTY), actor=actor, perm=perm, area_field=None
        )
    }
    if ancestor_codes:
        counties.update(
            (area.pk, area)
            for area in Area.objects.filter(level=AreaLevel.COUNTY, code__in=ancestor_codes)
        )
    return sorted(counties.values(), key=lambda area: area.code)


def actor_may_export(actor: object, kind: ExportKind) -> bool:
    return actor_has_perm(actor, Perm.EXPORT_RUN) and actor_has_perm(actor, kind.perm)


def export_job_list(*, actor: object) -> QuerySet[ExportJob]:
    """The actor's own export jobs, newest first."""
    if not getattr(actor, "is_authenticated", False):
        return ExportJob.objects.none()
    return (
        ExportJob.objects.filter(requested_by=actor)
        .select_related("area")
        .order_by("-created_at", "-id")
    )


def access_export_job_by_id(actor: object, job_id: int) -> ExportJob:
    """The actor's own job, if they may still export that list for that county; otherwise 404
    (another user's job, a role that was taken away, a county now out of scope)."""
    job = export_job_list(actor=actor).filter(pk=job_id).first()
    kind = get_export(job.kind) if job is not None else None
    if job is None or kind is None or not actor_may_export(actor, kind):
        raise Http404("导出文件不存在或不在您的管辖范围内")
    if job.area_id is not None and job.area not in export_county_choices(
        actor=actor, perm=kind.perm
    ):
        raise Http404("导出文件不存在或不在您的管辖范围内")
    return job
