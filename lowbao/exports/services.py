"""Writes of the export framework: asking for an export, running it, purging old files.

- ``export_job_request`` checks the request (capability, county in scope, reveal permission and
  reason), counts the rows and creates the job. Up to ``LOWBAO_EXPORT_SYNC_MAX_ROWS`` rows the
  file is written at once, in the request; a bigger export is enqueued for Celery after commit.
- ``export_job_run`` is what the request and the Celery task both run: it claims the job by a
  conditional update, writes the file under ``MEDIA_ROOT/exports/`` (to a ``.part`` file, renamed
  when complete, so a killed worker leaves no half file behind), then marks the job done and
  writes the audit rows in one transaction: ``export.run`` (who, which list, filters, row count)
  and, when full values were shown, ``export.reveal`` (with the reason).
- ``export_files_purge`` deletes files past ``expires_at`` (periodic task).
"""

import hashlib
import logging
import secrets
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import ACTIVE_ASSIGNMENT_ATTR, actor_has_perm, forget_assignments
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.exports.errors import ExportErrorCode
from lowbao.exports.models import ExportJob, ExportStatus
from lowbao.exports.registry import ExportKind, ExportQuery, get_export
from lowbao.exports.selectors import actor_may_export, export_county_choices
from lowbao.exports.tasks import export_job_run_task
from lowbao.exports.writer import MAX_DATA_ROWS, XlsxExportWriter

logger = logging.getLogger(__name__)

STORAGE_DIR = "exports"
FILTER_VALUE_LIMIT = 100
REASON_LIMIT = 200
FAILED_MESSAGE = "导出失败，请稍后重试；多次失败请联系管理员"


def _kind(code: str) -> ExportKind:
    kind = get_export(code)
    if kind is None:
        raise DomainError(
            code=ExportErrorCode.UNKNOWN_KIND, message=f"未知的导出内容“{code}”", status=404
        )
    return kind


def clean_filters(kind: ExportKind, raw: Mapping[str, Any]) -> dict[str, str]:
    """The list page's filters this kind understands, as short strings (others are dropped)."""
    cleaned = {}
    for name in kind.filter_names:
        value = raw.get(name)
        if isinstance(value, str) and value.strip():
            cleaned[name] = value.strip()[:FILTER_VALUE_LIMIT]
    return cleaned


def _check_allowed(actor: Any, kind: ExportKind, county: Area | None) -> None:
    if not actor_may_export(actor, kind):
        raise DomainError(
            code=CoreErrorCode.PERMISSION_DENIED, message=f"没有导出{kind.label}的权限"
        )
    if kind.needs_county:
        if county is None:
            raise DomainError(
                code=ExportErrorCode.COUNTY_REQUIRED,
                message=f"导出{kind.label}须选择旗县",
                fields={"county": "请选择旗县"},
            )
        if county not in export_county_choices(actor=actor, perm=kind.perm):
            raise DomainError(
                code=CoreErrorCode.NOT_FOUND, message="旗县不存在或不在您的管辖范围内"
            )


def _check_reveal(actor: Any, reveal: bool, reason: str) -> str:
    if not reveal:
        return ""
    if not actor_has_perm(actor, Perm.SENSITIVE_REVEAL):
        raise DomainError(
            code=ExportErrorCode.REVEAL_NOT_ALLOWED,
            message="您没有查看完整身份证号和银行账号的权限，只能导出脱敏文件",
            fields={"reveal": "没有权限"},
            status=403,
        )
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError(
            code=ExportErrorCode.REVEAL_REASON_REQUIRED,
            message="导出完整身份证号和银行账号须填写理由",
            fields={"reason": "请填写理由"},
        )
    if len(reason) > REASON_LIMIT:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message=f"理由不能超过{REASON_LIMIT}个字",
            fields={"reason": f"不能超过{REASON_LIMIT}个字"},
        )
    return reason


def export_job_request(
    *,
    actor: Any,
    kind: str,
    county: Area | None,
    filters: Mapping[str, Any],
    reveal: bool = False,
    reason: str = "",
) -> ExportJob:
    """Create the export job; a small export is written at once (the job comes back DONE or
    FAILED), a big one is enqueued after commit (the job comes back QUEUED).

    Raises ``DomainError`` when the actor may not export this list, the county is missing or out
    of scope, or a reveal is asked for without the permission or without a reason.
    """
    spec = _kind(kind)
    _check_allowed(actor, spec, county)
    reason = _check_reveal(actor, reveal, reason)
    cleaned = clean_filters(spec, filters)
    query = ExportQuery(actor=actor, area=county if spec.needs_county else None, filters=cleaned)
    expected = spec.count_rows(query)
    if expected > MAX_DATA_ROWS:
        raise DomainError(
            code=ExportErrorCode.TOO_MANY_ROWS,
            message=(
                f"共 {expected} 行，超过 Excel 的最大行数（{MAX_DATA_ROWS} 行），请筛选后分批导出"
            ),
        )
    background = expected > settings.LOWBAO_EXPORT_SYNC_MAX_ROWS
    with transaction.atomic():
        job = ExportJob.objects.create(
            kind=spec.code,
            filters=cleaned,
            requested_by=actor,
            area=query.area,
            assignment_id=getattr(actor, ACTIVE_ASSIGNMENT_ATTR, None),
            reveal=bool(reason),
            reveal_reason=reason,
            rows_expected=expected,
            task_id=uuid.uuid4().hex if background else "",
        )
        if background:
            transaction.on_commit(
                lambda: export_job_run_task.apply_async(args=[job.pk], task_id=job.task_id)
            )
    if background:
        return job
    return export_job_run(job_id=job.pk)


# --- running ---------------------------------------------------------------------------------


def _claim(job_id: int, task_id: str | None) -> bool:
    now = timezone.now()
    claim = {"status": ExportStatus.RUNNING, "started_at": now, "rows_written": 0}
    if ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(**claim):
        return True
    # The same Celery message delivered again after its worker died (acks_late): take over.
    return bool(
        task_id
        and ExportJob.objects.filter(
            pk=job_id, status=ExportStatus.RUNNING, task_id=task_id
        ).update(**claim)
    )


def _storage_path(job: ExportJob, now: datetime) -> str:
    return f"{STORAGE_DIR}/{now:%Y/%m}/{job.pk}-{secrets.token_hex(8)}.xlsx"


def _file_name(kind: ExportKind, job: ExportJob, now: datetime) -> str:
    where = f"-{job.area.name}" if job.area_id else ""
    return f"{kind.label}{where}-{timezone.localtime(now):%Y%m%d}-{job.pk}.xlsx"


def _digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _acting_user(job: ExportJob) -> Any:
    """The requester, scoped as they were when they asked (the area switcher's choice)."""
    user = job.requested_by
    forget_assignments(user)
    if job.assignment_id is not None:
        setattr(user, ACTIVE_ASSIGNMENT_ATTR, job.assignment_id)
    return user


def _write(job: ExportJob, kind: ExportKind, actor: Any, target: Path) -> int:
    query = ExportQuery(actor=actor, area=job.area, filters=dict(job.filters))
    title = f"{job.area.name if job.area_id else ''}{kind.label}"

    def progress(rows: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_written=rows, updated_at=timezone.now())

    partial = target.with_suffix(".part")
    partial.parent.mkdir(parents=True, exist_ok=True)
    try:
        with XlsxExportWriter(
            partial,
            headers=kind.headers,
            title=title,
            sheet_name=kind.label,
            id_columns=kind.id_columns,
            account_columns=kind.account_columns,
            phone_columns=kind.phone_columns,
            reveal=job.reveal,
        ) as writer:
            rows = writer.write_rows(kind.build_rows(query), progress=progress)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
    return rows


def _fail(job: ExportJob, message: str) -> ExportJob:
    ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
        status=ExportStatus.FAILED,
        error_message=message[:300],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def export_job_run(*, job_id: int, task_id: str | None = None) -> ExportJob:
    """Write the job's file and mark it done (with its audit rows), or failed.

    A job that is not QUEUED (done, failed, or running elsewhere) is returned as it is: a duplicate
    delivery does nothing. The requester's capability and scope are checked again, since time may
    have passed since the request.
    """
    claimed = _claim(job_id, task_id)
    job = ExportJob.objects.select_related("requested_by", "area").get(pk=job_id)
    if not claimed:
        return job
    kind = get_export(job.kind)
    if kind is None:
        return _fail(job, f"导出内容“{job.kind}”已不存在")
    actor = _acting_user(job)
    now = timezone.now()
    relative = _storage_path(job, now)
    target = Path(settings.MEDIA_ROOT) / relative
    try:
        _check_allowed(actor, kind, job.area)
        if job.reveal:
            _check_reveal(actor, True, job.reveal_reason)
        rows = _write(job, kind, actor, target)
        digest, size = _digest(target)
    except DomainError as exc:
        target.unlink(missing_ok=True)
        return _fail(job, exc.message)
    except Exception:
        logger.exception("export job %s failed", job.pk)
        target.unlink(missing_ok=True)
        return _fail(job, FAILED_MESSAGE)
    finished = timezone.now()
    with transaction.atomic():
        done = ExportJob.objects.filter(pk=job.pk, status=ExportStatus.RUNNING).update(
            status=ExportStatus.DONE,
            rows_written=rows,
            row_count=rows,
            file=relative,
            file_name=_file_name(kind, job, finished),
            size=size,
            sha256=digest,
            error_message="",
            finished_at=finished,
            expires_at=finished + timedelta(days=settings.LOWBAO_EXPORT_RETENTION_DAYS),
            updated_at=finished,
        )
        if not done:  # taken over by a redelivered message meanwhile: its file counts
            target.unlink(missing_ok=True)
            job.refresh_from_db()
            return job
        job.refresh_from_db()
        _audit(job, kind, actor, rows)
    return job


def _audit(job: ExportJob, kind: ExportKind, actor: Any, rows: int) -> None:
    county = job.area.code if job.area_id else None
    record(
        actor=actor,
        action="export.run",
        obj=job,
        area=job.area,
        changes={
            "kind": kind.code,
            "list": kind.label,
            "county": county,
            "filters": job.filters,
            "rows": rows,
            "masked": not job.reveal,
            "sha256": job.sha256,
        },
    )
    if job.reveal:
        record(
            actor=actor,
            action="export.reveal",
            obj=job,
            area=job.area,
            changes={
                "kind": kind.code,
                "list": kind.label,
                "county": county,
                "reason": job.reveal_reason,
                "rows": rows,
            },
        )


# --- files -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    path: Path
    name: str


def export_job_file(*, actor: Any, job: ExportJob, record_download: bool = True) -> ExportFile:
    """The finished file of a job the caller fetched with ``access_export_job_by_id``. A later
    download is audited (``export.download``); the file handed out in the request that made it is
    already covered by ``export.run`` (``record_download=False``)."""
    path = Path(settings.MEDIA_ROOT) / job.file if job.file else None
    if job.status != ExportStatus.DONE or path is None or not path.is_file():
        raise DomainError(
            code=ExportErrorCode.FILE_GONE,
            message="该导出文件已过期或尚未生成",
            status=404,
        )
    if not record_download:
        return ExportFile(path=path, name=job.file_name)
    record(
        actor=actor,
        action="export.download",
        obj=job,
        area=job.area,
        changes={"kind": job.kind, "rows": job.row_count, "masked": not job.reveal},
    )
    return ExportFile(path=path, name=job.file_name)


def export_files_purge(*, now: datetime | None = None) -> int:
    """Delete the files of finished jobs past ``expires_at``; the jobs become EXPIRED. Returns
    the number of jobs purged. Idempotent (a file already gone is fine)."""
    now = now or timezone.now()
    purged = 0
    expired = ExportJob.objects.filter(status=ExportStatus.DONE, expires_at__lte=now)
    for job_id, relative in list(expired.values_list("pk", "file")):
        if relative:
            (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)
        purged += ExportJob.objects.filter(pk=job_id, status=ExportStatus.DONE).update(
            status=ExportStatus.EXPIRED, file="", updated_at=now
        )
    return purged
