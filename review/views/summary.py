"""The county summary of the reconciliation: counts by township and category for the latest
finished run, a bar chart and the trend from run to run (inline SVG drawn on the server), the
runs with their progress (a small JSON endpoint polled while a run is queued or running), the
立即比对 button for county officers, and the exports per category.

League and region officers see the same page, read-only, for each county under them.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from lowbao.areas.decorators import require_perm
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.core.errors import DomainError
from review.models import ReconciliationCategory, ReconciliationRun, RunStatus, RunTrigger
from review.selectors import (
    TASK_CATEGORIES,
    access_county_by_code,
    access_run_by_id,
    active_runs,
    county_overviews,
    latest_finished_run,
    reconciliation_counties,
    run_list,
    run_trend,
    township_category_counts,
)
from review.services import reconciliation as reconciliation_service
from review.views.charts import bar_chart, trend_chart

RUNS_PER_PAGE = 20
CATEGORY_LABELS = dict(ReconciliationCategory.choices)
ACTIVE_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


@require_perm(Perm.RECONCILE_VIEW)
@require_GET
def home_view(request: HttpRequest) -> HttpResponse:
    """The menu entry: county users and above go to the summary, township users to the list."""
    if reconciliation_counties(actor=request.user).exists():
        return redirect("review:reconciliation_summary")
    return redirect("review:reconciliation_worklist")


def _category_entries(run: ReconciliationRun, county_code: str) -> list[tuple[str, int, str]]:
    worklist = reverse("review:reconciliation_worklist")
    entries = []
    for category in TASK_CATEGORIES:
        value = run.counts.get(category, 0) if isinstance(run.counts, dict) else 0
        href = f"{worklist}?county={county_code}&category={category}&state=all&period={run.period}"
        entries.append((CATEGORY_LABELS[category], value if isinstance(value, int) else 0, href))
    return entries


@require_perm(Perm.RECONCILE_VIEW)
@require_GET
def summary_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    counties = list(reconciliation_counties(actor=actor))
    code = request.GET.get("county", "").strip()
    if code:
        county = access_county_by_code(actor, code)
    else:
        county = counties[0] if len(counties) == 1 else None
    context: dict[str, object] = {"counties": counties, "county": county, "show_summary": True}
    if county is None:
        context["overviews"] = county_overviews(actor=actor, counties=counties)
        return render(request, "review/reconciliation/summary.html", context)

    latest = latest_finished_run(actor=actor, county=county)
    trend = run_trend(actor=actor, county=county)
    runs = Paginator(run_list(actor=actor, county=county), RUNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context.update(
        {
            "latest": latest,
            "categories": [(c, CATEGORY_LABELS[c]) for c in TASK_CATEGORIES],
            "trend": trend,
            "trend_chart": trend_chart([(point.run.period, point.total) for point in trend])
            if trend
            else None,
            "runs": runs,
            "active": active_runs(actor=actor, county=county),
            "can_run": actor_covers_area(actor, county, perm=Perm.RECONCILE_RUN),
            "can_export": actor_covers_area(actor, county, perm=Perm.EXPORT_RUN),
            "can_reveal": actor_covers_area(actor, county, perm=Perm.SENSITIVE_REVEAL),
            "active_statuses": ACTIVE_STATUSES,
        }
    )
    if latest is not None:
        rows, total = township_category_counts(actor=actor, run=latest)
        context.update(
            {
                "township_rows": rows,
                "township_total": total,
                "chart": bar_chart(_category_entries(latest, county.code)),
                "linked": latest.counts.get(ReconciliationCategory.LINKED, 0)
                if isinstance(latest.counts, dict)
                else 0,
            }
        )
    return render(request, "review/reconciliation/summary.html", context)


@require_perm(Perm.RECONCILE_RUN)
@require_POST
def run_start_view(request: HttpRequest) -> HttpResponse:
    """立即比对: queue a run of the county now (county officers)."""
    county = access_county_by_code(
        request.user, request.POST.get("county", "").strip(), perm=Perm.RECONCILE_RUN
    )
    back = f"{reverse('review:reconciliation_summary')}?county={county.code}"
    try:
        run = reconciliation_service.reconciliation_request(
            actor=request.user, county=county, trigger=RunTrigger.MANUAL
        )
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        if exc.status == 409:
            messages.error(
                request, f"{county.name}已有一次比对在排队或进行中，请等它完成后再发起。"
            )
        else:
            messages.error(request, exc.message)
        return redirect(back)
    messages.success(
        request,
        f"已发起{county.name}的台账比对（{run.period}，基准日 {run.as_of:%Y-%m-%d}），"
        "进度见下方比对记录。",
    )
    return redirect(back)


@require_perm(Perm.RECONCILE_VIEW)
@require_GET
def run_progress_view(request: HttpRequest, run_id: int) -> JsonResponse:
    """Polled by the summary page while a run is queued or running."""
    run = access_run_by_id(request.user, run_id)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_label": run.get_status_display(),
            "progress": run.progress,
            "step": run.step,
            "is_active": run.status in ACTIVE_STATUSES,
            "finished_at": timezone.localtime(run.finished_at).isoformat()
            if run.finished_at
            else None,
            "error": run.error,
        }
    )


urlpatterns = [
    path("reconciliation/", home_view, name="reconciliation_home"),
    path("reconciliation/summary/", summary_view, name="reconciliation_summary"),
    path("reconciliation/runs/start/", run_start_view, name="reconciliation_run_start"),
    path(
        "reconciliation/runs/<int:run_id>/progress/",
        run_progress_view,
        name="reconciliation_run_progress",
    ),
]
