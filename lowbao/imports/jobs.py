"""Running a batch's steps for the upload pages: in the request for small files, in Celery for
big ones (``LOWBAO_IMPORT_SYNC_MAX_BYTES``).

- **Upload** stores the file (the pipeline's safety check first), records who uploaded what, then
  checks it: parse and preview now, or queue the check.
- **Queueing** claims the batch by a conditional update of ``queued_job`` (empty → parse/apply)
  and enqueues the task with ``transaction.on_commit``, so a second click finds the claim taken
  and enqueues nothing. The task clears ``queued_job`` when it ends. All state is in the batch
  row, so the progress bar survives a reload.
- **Apply** needs a preview (the admin saw what will change). The pipeline's apply claims the
  batch by its own conditional update and refuses an applied batch (409); this module never
  decides that.
- **Dead workers.** A batch left PARSING by a killed worker (its claim stale, see
  ``pipeline.claim_is_stale``) can be checked again, and a queued job older than the stale limit
  with no live claim behind it no longer blocks a new one. A redelivered parse that finds the
  batch still claimed raises ``ClaimBusy``: its task retries once the claim would be stale, and
  then takes over only that claim (``take_over``), so a batch parsed meanwhile is left alone.
"""

import io
import logging
import re
import zipfile
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Any

import xlrd
from defusedxml import ElementTree as SafeElementTree
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from lowbao.areas.models import Area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportStatus, QueuedJob
from lowbao.imports.pipeline import (
    claim_is_stale,
    claim_wait_seconds,
    import_batch_apply,
    import_batch_create,
    import_batch_parse,
    open_stored,
    stale_seconds,
)
from lowbao.imports.preview import import_batch_preview
from lowbao.imports.tasks import import_batch_apply_task, import_batch_parse_task

logger = logging.getLogger(__name__)

DEFAULT_SYNC_MAX_BYTES = 256 * 1024
# The pipeline parses a batch again from these statuses (an applied batch is final).
CHECKABLE = (
    ImportStatus.UPLOADED,
    ImportStatus.PARSED,
    ImportStatus.REJECTED,
    ImportStatus.FAILED,
)
# A duplicate delivery of an apply finds the batch in one of these: nothing to report.
APPLY_DONE_OR_RUNNING = (ImportStatus.APPLYING, ImportStatus.APPLIED)
APPLY_FAILED_MESSAGE = (
    "写入时发生系统错误，未写入任何数据；请点击“重新校验”后再试，仍失败请联系系统管理员"
)
ESTIMATE_SAMPLE_BYTES = 1024 * 1024
DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"(?:[A-Z]+\d+:)?[A-Z]+(\d+)\"")
ROW_TAG = re.compile(rb"<(?:\w+:)?row[\s>]")
RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


class JobErrorCode:
    JOB_QUEUED = "import_job_queued"
    NOT_REVIEWED = "import_not_reviewed"
    NOT_CHECKABLE = "import_not_checkable"


class ClaimBusy(Exception):
    """The batch is being parsed under a claim that is not stale yet (a redelivered message
    while its first worker may still run): retry after ``wait_seconds``, taking over ``token``
    only."""

    def __init__(self, wait_seconds: float, token: str) -> None:
        super().__init__(f"claimed, stale in {wait_seconds:.0f}s")
        self.wait_seconds = wait_seconds
        self.token = token


def sync_max_bytes() -> int:
    return int(getattr(settings, "LOWBAO_IMPORT_SYNC_MAX_BYTES", DEFAULT_SYNC_MAX_BYTES))


def runs_in_background(batch: ImportBatch) -> bool:
    return batch.size > sync_max_bytes()


def batch_was_refused(batch: ImportBatch) -> bool:
    """The safety check refused the file: nothing was stored, there is nothing to check."""
    return batch.status == ImportStatus.REJECTED and bool(batch.error_code) and not batch.file


def is_checkable(batch: ImportBatch) -> bool:
    """Its status lets the pipeline parse it again (a batch left PARSING by a dead worker too)."""
    return batch.status in CHECKABLE or (
        batch.status == ImportStatus.PARSING and claim_is_stale(batch)
    )


def _abandoned_queue_cutoff() -> Any:
    return timezone.now() - timedelta(seconds=stale_seconds())


def queued_job_is_live(batch: ImportBatch) -> bool:
    """A job is queued for the batch and may still run: queued within the stale limit, or its
    batch is under a live claim. A queued job older than that whose worker died (the batch
    stale or never claimed) no longer blocks the batch."""
    if not batch.queued_job:
        return False
    if batch.status in (ImportStatus.PARSING, ImportStatus.APPLYING):
        return not claim_is_stale(batch)
    return batch.queued_at is None or batch.queued_at >= _abandoned_queue_cutoff()


def _queue_free() -> Q:
    return Q(queued_job=QueuedJob.NONE) | Q(queued_at__lt=_abandoned_queue_cutoff())


# --- upload and check ----------------------------------------------------------------------------


def import_batch_upload(
    *,
    actor: Any,
    kind: str,
    upload: UploadedFile,
    county: Area | None,
    options: ImportOptions,
    request: HttpRequest | None = None,
) -> ImportBatch:
    """Store an uploaded file as a batch (the same content is the same batch) and check it.

    A file the safety check refuses gives a REJECTED batch with the refusal (``error_code`` and a
    Chinese message); an applied batch is returned as it is (the same file twice is imported
    once); a batch being parsed or applied is left alone.
    """
    name = Path(upload.name or "").name or "upload"
    # The upload is read where Django holds it (memory, or its own temporary file for a big
    # one) and stored encrypted: no further plain copy is written.
    upload.seek(0)
    batch = import_batch_create(
        actor=actor, kind=kind, path=upload.file, county=county, options=options, original_name=name
    )
    record(
        actor=actor,
        action="import.upload",
        obj=batch,
        area=county,
        request=request,
        changes={
            "kind": kind,
            "file": name,
            "sha256": batch.sha256,
            "size": batch.size,
            "status": batch.status,
            "refusal": batch.error_code if batch_was_refused(batch) else "",
            **options.as_json(),
        },
    )
    if batch_was_refused(batch) or not is_checkable(batch) or queued_job_is_live(batch):
        return batch
    return import_batch_check(actor=actor, batch=batch)


def import_batch_check(*, actor: Any, batch: ImportBatch) -> ImportBatch:
    """Parse the batch's file against today's data and compute the preview: now for a small
    file, in Celery for a big one (then the batch is returned with ``queued_job`` set)."""
    if queued_job_is_live(batch):
        raise DomainError(
            code=JobErrorCode.JOB_QUEUED,
            message=f"该批次已有{batch.get_queued_job_display()}任务在排队，请稍候",
            status=409,
        )
    if not is_checkable(batch) or batch_was_refused(batch):
        raise DomainError(
            code=JobErrorCode.NOT_CHECKABLE,
            message=f"该批次当前状态为“{batch.get_status_display()}”，不能重新校验",
            status=409,
        )
    if not runs_in_background(batch):
        return import_batch_prepare(actor=actor, batch=batch)
    if batch.status == ImportStatus.PARSING:  # a dead worker's claim (is_checkable): that one
        checkable = Q(status=ImportStatus.PARSING, claim_token=batch.claim_token)
    else:
        checkable = Q(status__in=CHECKABLE)
    claimed = (
        ImportBatch.objects.filter(pk=batch.pk)
        .filter(checkable)
        .filter(_queue_free())
        .update(
            queued_job=QueuedJob.PARSE,
            queued_at=timezone.now(),
            job_message="",
            preview={},
            rows_read=0,
            rows_total_estimate=estimate_rows(batch),
        )
    )
    if claimed:
        transaction.on_commit(partial(import_batch_parse_task.delay, batch.pk))
    batch.refresh_from_db()
    return batch


def import_batch_prepare(*, actor: Any, batch: ImportBatch, take_over: str = "") -> ImportBatch:
    """Parse (pipeline) and, if the file can be applied, store the preview. Clears the queued
    parse when done, whatever happened."""
    try:
        if ImportBatch.objects.filter(pk=batch.pk, status__in=CHECKABLE).update(
            job_message="", preview={}
        ):
            batch.job_message, batch.preview = "", {}
        batch = import_batch_parse(batch=batch, take_over=take_over)
        if batch.status == ImportStatus.PARSED:
            import_batch_preview(actor=actor, batch=batch)
    finally:
        if ImportBatch.objects.filter(pk=batch.pk, queued_job=QueuedJob.PARSE).update(
            queued_job=QueuedJob.NONE, queued_at=None
        ):
            batch.queued_job, batch.queued_at = QueuedJob.NONE, None
    return batch


def import_batch_prepare_by_id(*, batch_id: int, take_over: str = "") -> None:
    """The parse task's service: the batch's uploader is the actor of the trial apply (which is
    rolled back, so it writes nothing in anyone's name).

    Raises ``ClaimBusy`` when the batch is being parsed under a claim that is not stale yet —
    the same claim it waited for (``take_over``), or any when this is the first delivery — so
    that the task tries again once a dead worker's claim can be taken over."""
    batch = ImportBatch.objects.select_related("county", "uploaded_by").filter(pk=batch_id).first()
    if batch is None:
        logger.warning("import batch %s: gone before it was parsed", batch_id)
        return
    if batch.status == ImportStatus.PARSING and (not take_over or batch.claim_token == take_over):
        wait = claim_wait_seconds(batch)
        if wait > 0:
            raise ClaimBusy(wait, batch.claim_token)
        take_over = batch.claim_token
    elif take_over:
        logger.info("import batch %s: the claim waited for has ended; nothing to do", batch_id)
        return
    import_batch_prepare(actor=batch.uploaded_by, batch=batch, take_over=take_over)


# --- apply ---------------------------------------------------------------------------------------


def import_batch_confirm(*, actor: Any, batch: ImportBatch) -> ImportBatch:
    """The admin confirmed the preview: apply now (small file) or queue the apply (big file).

    Raises ``DomainError``: the pipeline's refusals (an applied batch, 409; a batch that is not
    parsed, 409), a queued job (409) or a batch whose preview is not ready (409).
    """
    if batch.status != ImportStatus.PARSED:
        return import_batch_apply(actor=actor, batch=batch)  # the pipeline says why not
    if batch.queued_job:
        raise DomainError(
            code=JobErrorCode.JOB_QUEUED,
            message=f"该批次已有{batch.get_queued_job_display()}任务在排队，请勿重复提交",
            status=409,
        )
    if not batch.preview:
        raise DomainError(
            code=JobErrorCode.NOT_REVIEWED,
            message="变更预览尚未完成，请在预览显示后再确认导入",
            status=409,
        )
    if not runs_in_background(batch):
        return import_batch_apply(actor=actor, batch=batch)
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, status=ImportStatus.PARSED, queued_job=QueuedJob.NONE
    ).update(queued_job=QueuedJob.APPLY, queued_at=timezone.now(), job_message="")
    batch.refresh_from_db()
    if not claimed:
        if batch.status != ImportStatus.PARSED:
            return import_batch_apply(actor=actor, batch=batch)
        raise DomainError(
            code=JobErrorCode.JOB_QUEUED,
            message="该批次已有任务在排队，请勿重复提交",
            status=409,
        )
    transaction.on_commit(partial(import_batch_apply_task.delay, batch.pk, actor.pk))
    return batch


def import_batch_apply_by_id(*, batch_id: int, actor_id: int) -> None:
    """The apply task's service. A refusal is kept on the batch for the page (``job_message``)
    unless it is a duplicate delivery (the batch is being applied or was applied)."""
    batch = ImportBatch.objects.select_related("county").filter(pk=batch_id).first()
    if batch is None:
        logger.warning("import batch %s: gone before it was applied", batch_id)
        return
    actor = get_user_model().objects.get(pk=actor_id)
    try:
        import_batch_apply(actor=actor, batch=batch)
    except DomainError as exc:
        batch.refresh_from_db(fields=["status"])
        if batch.status in APPLY_DONE_OR_RUNNING:
            logger.info("import batch %s: duplicate apply ignored (%s)", batch_id, exc.code)
        else:
            ImportBatch.objects.filter(pk=batch_id).update(job_message=exc.message[:500])
    except Exception:
        ImportBatch.objects.filter(pk=batch_id).update(job_message=APPLY_FAILED_MESSAGE)
        raise
    finally:
        ImportBatch.objects.filter(pk=batch_id, queued_job=QueuedJob.APPLY).update(
            queued_job=QueuedJob.NONE, queued_at=None
        )


# --- the progress bar's total --------------------------------------------------------------------


def estimate_rows(batch: ImportBatch) -> int | None:
    """About how many rows the batch's file has (title and header rows included), read cheaply:
    the ``<dimension>`` of an ``.xlsx`` sheet (or its size over the rows in the first MB), the row
    count of an ``.xls`` sheet, a CSV's size over its first lines. ``None`` if it cannot tell.
    The stored file is read decrypted in memory."""
    sheet = ImportOptions.from_json(batch.options).sheet
    try:
        with open_stored(batch) as stream:
            if batch.file_format == "xlsx":
                return _xlsx_rows(stream, sheet)
            if batch.file_format == "xls":
                return _xls_rows(stream, sheet)
            if batch.file_format == "csv":
                return _csv_rows(stream)
    except Exception:  # the estimate is optional; the parse reports what is wrong with the file
        logger.info("import batch %s: no row estimate", batch.pk, exc_info=True)
    return None


def _xlsx_sheet_part(archive: zipfile.ZipFile, sheet: str | None) -> str:
    workbook = SafeElementTree.fromstring(archive.read("xl/workbook.xml"))
    sheets = [element for element in workbook.iter() if element.tag.endswith("}sheet")]
    chosen = next((s for s in sheets if sheet is None or s.get("name") == sheet), sheets[0])
    relations = SafeElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    target = next(
        element.get("Target", "")
        for element in relations
        if element.get("Id") == chosen.get(RELATIONSHIP_ID)
    )
    return target.lstrip("/") if target.startswith("/") else f"xl/{target}"


def _xlsx_rows(stream: io.BufferedIOBase, sheet: str | None) -> int | None:
    with zipfile.ZipFile(stream) as archive:
        part = _xlsx_sheet_part(archive, sheet)
        size = archive.getinfo(part).file_size
        with archive.open(part) as stream:
            head = stream.read(ESTIMATE_SAMPLE_BYTES)
    found = DIMENSION.search(head[:65536])
    if found:
        return int(found.group(1))
    rows = len(ROW_TAG.findall(head))
    if not rows:
        return None
    return rows if len(head) >= size else rows * size // len(head)


def _xls_rows(stream: io.BufferedIOBase, sheet: str | None) -> int:
    book = xlrd.open_workbook(file_contents=stream.read(), on_demand=True)
    try:
        names = book.sheet_names()
        index = names.index(sheet) if sheet in names else 0
        return book.sheet_by_index(index).nrows
    finally:
        book.release_resources()


def _csv_rows(stream: io.BufferedIOBase) -> int | None:
    size = stream.seek(0, io.SEEK_END)
    stream.seek(0)
    head = stream.read(ESTIMATE_SAMPLE_BYTES)
    lines = head.count(b"\n")
    if not head:
        return None
    if len(head) >= size:
        return lines + (0 if head.endswith(b"\n") else 1)
    return max(1, lines * size // len(head))
