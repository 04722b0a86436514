"""Pages of the export framework: the export page of a list, "my exports", the download."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from lowbao.areas.decorators import require_perm
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm
from lowbao.core.errors import DomainError
from lowbao.core.throttling import throttle
from lowbao.exports.forms import ExportForm
from lowbao.exports.models import ExportJob, ExportStatus
from lowbao.exports.registry import get_export
from lowbao.exports.selectors import (
    access_export_job_by_id,
    export_county_choices,
    export_job_list,
)
from lowbao.exports.services import clean_filters, export_job_file, export_job_request

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file_response(file_path: object, name: str) -> FileResponse:
    return FileResponse(
        open(file_path, "rb"),
        as_attachment=True,
        filename=name,
        content_type=XLSX,
    )


@require_perm(Perm.EXPORT_RUN)
@throttle("export", methods=("POST",))
@require_http_methods(["GET", "POST"])
def export_new(request: HttpRequest, kind: str) -> HttpResponse:
    """The export page of one list; the list page's filters come in the query string."""
    spec = get_export(kind)
    if spec is None:
        raise Http404("未知的导出内容")
    if not actor_has_perm(request.user, spec.perm):
        raise PermissionDenied(f"没有查看{spec.label}的权限")
    counties = (
        export_county_choices(actor=request.user, perm=spec.perm) if spec.needs_county else []
    )
    may_reveal = actor_has_perm(request.user, Perm.SENSITIVE_REVEAL)
    form = ExportForm(
        request.POST or None,
        counties=counties,
        needs_county=spec.needs_county,
        may_reveal=may_reveal,
    )
    filters = clean_filters(spec, request.GET)
    if request.method == "POST" and form.is_valid():
        try:
            job = export_job_request(
                actor=request.user,
                kind=spec.code,
                county=form.county_area(),
                filters=filters,
                reveal=bool(form.cleaned_data.get("reveal")),
                reason=form.cleaned_data.get("reason") or "",
            )
        except DomainError as error:
            for name, problem in error.fields.items():
                if name in form.fields:
                    form.add_error(name, str(problem))
            messages.error(request, error.message)
        else:
            if job.status == ExportStatus.DONE:
                exported = export_job_file(actor=request.user, job=job, record_download=False)
                return _file_response(exported.path, exported.name)
            if job.status == ExportStatus.FAILED:
                messages.error(request, job.error_message)
            else:
                messages.info(
                    request,
                    f"共约 {job.rows_expected} 行，正在后台生成；完成后可在“我的导出”下载。",
                )
                return redirect("exports:job_list")
    return render(
        request,
        "exports/export_new.html",
        {"kind": spec, "form": form, "filters": filters, "has_counties": bool(counties)},
    )


@require_perm(Perm.EXPORT_RUN)
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    """The user's own exports with their progress and download links."""
    page = Paginator(export_job_list(actor=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = {}
    for job in page.object_list:
        spec = get_export(job.kind)
        labels[job.pk] = spec.label if spec else job.kind
    rows = [(job, labels[job.pk]) for job in page.object_list]
    running = any(
        job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING) for job in page.object_list
    )
    return render(
        request,
        "exports/job_list.html",
        {"page": page, "rows": rows, "running": running, "done": ExportStatus.DONE},
    )


@require_perm(Perm.EXPORT_RUN)
@require_GET
def job_download(request: HttpRequest, job_id: int) -> FileResponse:
    job: ExportJob = access_export_job_by_id(request.user, job_id)
    try:
        exported = export_job_file(actor=request.user, job=job)
    except DomainError as error:
        raise Http404(error.message) from error
    return _file_response(exported.path, exported.name)
