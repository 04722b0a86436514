"""The admins' ledger upload pages (台账导入): upload, the batch page (progress, validation report,
preview, confirm), the error sheet, the history. Thin: forms validate, ``jobs`` and the pipeline
act, ``selectors`` read and scope.
"""

import tempfile
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from lowbao.areas.decorators import require_perm
from lowbao.core.errors import DomainError
from lowbao.core.throttling import throttle
from lowbao.imports.error_sheet import error_sheet_name, write_error_sheet
from lowbao.imports.forms import SNAPSHOT_KIND, UploadForm
from lowbao.imports.jobs import (
    CHECKABLE,
    batch_was_refused,
    import_batch_check,
    import_batch_confirm,
    import_batch_upload,
    runs_in_background,
    sync_max_bytes,
)
from lowbao.imports.models import ImportBatch, ImportStatus, RowMatch
from lowbao.imports.safety import DEFAULT_MAX_BYTES
from lowbao.imports.selectors import (
    PERM,
    access_import_batch_by_id,
    batch_file_problems,
    batch_is_busy,
    batch_problem_rows,
    batch_progress,
    import_batch_list,
    row_problems,
)

HISTORY_PAGE_SIZE = 50
PROBLEM_PAGE_SIZE = 100
# What the form keeps when a file is refused (the admin picks another file and sends again).
AGAIN_FIELDS = ("kind", "county", "snapshot_date", "sheet", "skip_invalid")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _max_upload_bytes() -> int:
    return int(getattr(settings, "LOWBAO_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


def _upload_page(
    request: HttpRequest, form: UploadForm, *, refused: ImportBatch | None = None
) -> HttpResponse:
    return render(
        request,
        "imports/upload.html",
        {
            "form": form,
            "kinds": form.kinds.values(),
            "snapshot_kind": SNAPSHOT_KIND,
            "refused": refused,
            "max_bytes": _max_upload_bytes(),
            "max_megabytes": _max_upload_bytes() // (1024 * 1024),
            "sync_max_kilobytes": sync_max_bytes() // 1024,
        },
    )


@require_perm(PERM)
@throttle("import", methods=("POST",))
@require_http_methods(["GET", "POST"])
def upload_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _upload_page(request, UploadForm(actor=request.user))
    form = UploadForm(request.POST, request.FILES, actor=request.user)
    if not form.is_valid():
        return _upload_page(request, form)
    try:
        batch = import_batch_upload(
            actor=request.user,
            kind=form.cleaned_data["kind"],
            upload=form.cleaned_data["file"],
            county=form.county_area,
            options=form.options(),
            request=request,
        )
    except DomainError as exc:
        form.add_error(None, exc.message)
        return _upload_page(request, form)
    if batch_was_refused(batch):
        again = {name: form.cleaned_data.get(name) for name in AGAIN_FIELDS}
        return _upload_page(request, UploadForm(actor=request.user, initial=again), refused=batch)
    if batch.status == ImportStatus.APPLIED:
        when = timezone.localtime(batch.applied_at) if batch.applied_at else None
        applied = f"于{when:%Y-%m-%d %H:%M}" if when else ""
        messages.warning(request, f"该文件已{applied}导入（批次 {batch.pk}），未重复写入。")
    elif batch.queued_job:
        messages.info(request, "文件较大，已转入后台校验；本页显示进度，可随时刷新或稍后再来。")
    return redirect("imports:batch_detail", batch_id=batch.pk)


def _problem_page(request: HttpRequest, batch: ImportBatch, errors_only: bool) -> object:
    rows = batch_problem_rows(batch=batch, errors_only=errors_only)
    page = Paginator(rows, PROBLEM_PAGE_SIZE).get_page(request.GET.get("page"))
    page.problems = [  # type: ignore[attr-defined]
        {**problem, "row": problem.get("row") or row.row_number}
        for row in page.object_list
        for problem in row_problems(row, errors_only=errors_only)
    ]
    return page


def _computed_at(preview: dict) -> datetime | None:
    text = preview.get("computed_at") if preview else None
    return datetime.fromisoformat(text) if text else None


@require_perm(PERM)
@require_GET
def batch_detail_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_import_batch_by_id(request.user, batch_id)
    errors_only = request.GET.get("only") == "errors"
    busy = batch_is_busy(batch)
    has_rows = batch.rows.exists()
    return render(
        request,
        "imports/batch_detail.html",
        {
            "batch": batch,
            "busy": busy,
            "progress": batch_progress(batch),
            "file_problems": batch_file_problems(batch=batch),
            "problems": _problem_page(request, batch, errors_only) if has_rows else None,
            "errors_only": errors_only,
            "has_rows": has_rows,
            "skipped_rows": batch.rows.filter(match=RowMatch.INVALID).count() if has_rows else 0,
            "preview": batch.preview,
            "preview_computed_at": _computed_at(batch.preview),
            "background": runs_in_background(batch),
            "can_confirm": (
                batch.status == ImportStatus.PARSED
                and bool(batch.preview)
                and not busy
                and not batch.preview.get("refusal")
            ),
            "can_recheck": (
                not busy and not batch_was_refused(batch) and batch.status in CHECKABLE
            ),
        },
    )


@require_perm(PERM)
@require_GET
def batch_progress_view(request: HttpRequest, batch_id: int) -> JsonResponse:
    batch = access_import_batch_by_id(request.user, batch_id)
    return JsonResponse(batch_progress(batch))


@require_perm(PERM)
@throttle("import", methods=("POST",))
@require_POST
def batch_apply_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_import_batch_by_id(request.user, batch_id)
    try:
        batch = import_batch_confirm(actor=request.user, batch=batch)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect("imports:batch_detail", batch_id=batch.pk)
    if batch.status == ImportStatus.APPLIED:
        counts = batch.counts
        skipped = counts.get("skipped_households", 0)
        messages.success(
            request,
            f"已导入：新增 {counts.get('created', 0)}，更新 {counts.get('updated', 0)}，"
            f"未变 {counts.get('unchanged', 0)}" + (f"，跳过 {skipped}" if skipped else "") + "。",
        )
    else:
        messages.info(request, "已提交后台写入；本页显示进度，可随时刷新或稍后再来。")
    return redirect("imports:batch_detail", batch_id=batch.pk)


@require_perm(PERM)
@require_POST
def batch_recheck_view(request: HttpRequest, batch_id: int) -> HttpResponse:
    batch = access_import_batch_by_id(request.user, batch_id)
    try:
        batch = import_batch_check(actor=request.user, batch=batch)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if batch.queued_job:
            messages.info(request, "已提交后台重新校验。")
        else:
            messages.success(request, "已按当前数据重新校验。")
    return redirect("imports:batch_detail", batch_id=batch.pk)


@require_perm(PERM)
@require_GET
def error_sheet_view(request: HttpRequest, batch_id: int) -> FileResponse:
    batch = access_import_batch_by_id(request.user, batch_id)
    stream = tempfile.TemporaryFile()  # closed by FileResponse  # noqa: SIM115
    write_error_sheet(batch=batch, stream=stream)
    stream.seek(0)
    return FileResponse(
        stream, as_attachment=True, filename=error_sheet_name(batch), content_type=XLSX
    )


@require_perm(PERM)
@require_GET
def batch_list_view(request: HttpRequest) -> HttpResponse:
    page = Paginator(import_batch_list(actor=request.user), HISTORY_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(request, "imports/batch_list.html", {"page": page})
