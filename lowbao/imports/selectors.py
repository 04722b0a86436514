"""Reads of import batches for the upload pages, always scoped to the actor (style B.5).

A batch belongs to its county: a data admin sees the batches of the counties under their areas.
A batch without a county (person-level ledgers, standards) is seen by data admins of the whole
region and by whoever uploaded it.
"""

from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm, role_has_perm
from lowbao.areas.scoping import actor_assignments, scope_to_actor
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus, JobStatus, QueuedJob

PERM = Perm.IMPORT_RUN
ERROR, WARNING = "error", "warning"


def actor_imports_region_wide(actor: object) -> bool:
    """Whether the actor holds the import capability on the whole region."""
    return any(
        assignment.area_level == AreaLevel.REGION and role_has_perm(assignment.role, PERM)
        for assignment in actor_assignments(actor)
    )


def import_county_choices(*, actor: object) -> list[Area]:
    """The counties the actor may import for, with their league, in code order."""
    counties = Area.objects.filter(level=AreaLevel.COUNTY).select_related("parent")
    return list(scope_to_actor(counties, actor=actor, perm=PERM, area_field=None).order_by("code"))


def import_batch_list(*, actor: object) -> QuerySet[ImportBatch]:
    """Batches the actor may see, newest first, with what the history page shows."""
    base = ImportBatch.objects.select_related("county", "uploaded_by", "applied_by")
    scoped = scope_to_actor(base, actor=actor, perm=PERM, area_field="county")
    without_county = Q(county__isnull=True)
    if not actor_imports_region_wide(actor):
        without_county &= Q(uploaded_by_id=getattr(actor, "pk", None))
    return (scoped | base.filter(without_county)).order_by("-created_at", "-id")


def access_import_batch_by_id(actor: object, batch_id: int) -> ImportBatch:
    """The batch if the actor may see it; otherwise 404 (the one fetch-and-check)."""
    batch = import_batch_list(actor=actor).filter(pk=batch_id).first()
    if batch is None:
        raise Http404("导入批次不存在或不在您的管辖范围内")
    return batch


# --- the validation report ---------------------------------------------------------------------


def batch_problem_rows(*, batch: ImportBatch, errors_only: bool = False) -> QuerySet[ImportRow]:
    """Staged rows with at least one problem (only errors if asked), in sheet order."""
    rows = ImportRow.objects.filter(batch=batch).only(
        "row_number", "household", "match", "errors", "warnings"
    )
    if errors_only:
        return rows.exclude(errors=[]).order_by("row_number")
    return rows.exclude(errors=[], warnings=[]).order_by("row_number")


def row_problems(row: ImportRow, *, errors_only: bool = False) -> list[dict[str, Any]]:
    """A staged row's problems, errors first, each with its ``level``."""
    problems = [{**item, "level": ERROR} for item in row.errors]
    if not errors_only:
        problems += [{**item, "level": WARNING} for item in row.warnings]
    return problems


def batch_file_problems(*, batch: ImportBatch) -> list[dict[str, Any]]:
    """Problems that belong to no staged row: the file's own (unreadable file, unknown columns)
    and those of rows that were not staged (totals rows under the table). Errors first."""
    kept = [*({**p, "level": ERROR} for p in batch.errors)]
    kept += [{**p, "level": WARNING} for p in batch.warnings]
    numbers = {p["row"] for p in kept if p.get("row") is not None}
    staged = set(
        ImportRow.objects.filter(batch=batch, row_number__in=numbers).values_list(
            "row_number", flat=True
        )
        if numbers
        else ()
    )
    return [p for p in kept if p.get("row") is None or p["row"] not in staged]


# --- progress ------------------------------------------------------------------------------------


def batch_is_busy(batch: ImportBatch) -> bool:
    """Work is queued or running on the batch (the page then polls its progress)."""
    return (
        bool(batch.queued_job)
        or batch.status in (ImportStatus.PARSING, ImportStatus.APPLYING)
        or (batch.status == ImportStatus.PARSED and batch.job_status == JobStatus.RUNNING)
    )


def batch_progress(batch: ImportBatch) -> dict[str, Any]:
    """What the progress bar shows: status, rows read of the estimated total, the phase in words.

    ``percent`` is ``None`` when no fraction can be given (waiting, validating, writing): the bar
    then shows as indeterminate.
    """
    read, total = batch.rows_read, batch.rows_total_estimate
    percent: int | None = None
    if batch.status == ImportStatus.PARSING:
        if total and read < total:
            phase = f"正在读取文件：已读 {read:,} 行，共约 {total:,} 行"
            percent = min(99, read * 100 // total)
        elif read:
            phase = f"已读 {read:,} 行，正在逐行校验"
        else:
            phase = "正在读取文件"
    elif batch.status == ImportStatus.APPLYING:
        phase = "正在写入数据库（全部成功或全部不写入）"
    elif batch.queued_job == QueuedJob.PARSE:
        phase = "已排队，等待后台校验"
    elif batch.queued_job == QueuedJob.APPLY:
        phase = "已排队，等待后台写入"
    elif batch.status == ImportStatus.PARSED and batch.job_status == JobStatus.RUNNING:
        phase = "校验完成，正在计算变更预览"
    else:
        phase = batch.get_status_display()
    if not batch_is_busy(batch) and batch.status != ImportStatus.UPLOADED:
        percent = 100
    return {
        "id": batch.pk,
        "status": batch.status,
        "status_label": batch.get_status_display(),
        "job_status": batch.job_status,
        "queued_job": batch.queued_job,
        "rows_read": read,
        "rows_total_estimate": total,
        "percent": percent,
        "phase": phase,
        "busy": batch_is_busy(batch),
        "message": batch.job_message,
    }
