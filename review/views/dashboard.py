"""Pages of the supervision dashboard (监督统计) and the bulletin downloads (通报), under
``/review/dashboard/``.

Thin views: find the area (``?area=``, 404 outside the viewer's areas; without it the viewer's
only top area, or a choice between several), call the dashboard selector, draw the charts
(inline SVG computed on the server: no JavaScript library, no CDN), render. The capability is
``DASHBOARD_PERM`` (403 without it); bulletin downloads count against the ``export`` rate.
"""

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from lowbao.areas.decorators import require_perm
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.core.errors import DomainError
from lowbao.core.throttling import throttle
from review.bulletin import bulletin_export
from review.dashboard import (
    CHILD_LEVEL,
    DASHBOARD_PERM,
    Dashboard,
    access_dashboard_area,
    dashboard,
    dashboard_roots,
    dashboard_trail,
)
from review.views.charts import bar_chart, trend_chart

PROGRESS_LABEL_WIDTH = 150
PROGRESS_BAR_WIDTH = 460
PROGRESS_VALUE_WIDTH = 150
PROGRESS_ROW_HEIGHT = 26
PROGRESS_THICKNESS = 16
PROGRESS_PADDING = 8


class FilterForm(forms.Form):
    year = forms.IntegerField(
        min_value=2016,
        max_value=2100,
        required=False,
        error_messages={
            "invalid": "年度应为四位数字",
            "min_value": "年度应在 2016–2100 之间",
            "max_value": "年度应在 2016–2100 之间",
        },
    )


# --- the progress chart (own chart type: stacked shares of 100 %) --------------------------------


@dataclass(frozen=True)
class ProgressBar:
    label: str
    y: int
    bar_y: int
    text_y: int
    decided_width: int
    overdue_x: int
    overdue_width: int
    percent_label: str
    value_x: int
    decided: int
    overdue: int
    items: int
    href: str


@dataclass(frozen=True)
class ProgressChart:
    width: int
    height: int
    label_width: int
    bar_width: int
    bars: list[ProgressBar]


def progress_chart(board: Dashboard, hrefs: dict[str, str]) -> ProgressChart:
    """One bar per sub-area with items: its full width is all items, the green part the decided
    ones, the red part the overdue ones (the rest is still in time)."""
    bars = []
    rows = [row for row in board.rows if row.progress.items]
    for position, row in enumerate(rows):
        progress = row.progress
        top = PROGRESS_PADDING + position * PROGRESS_ROW_HEIGHT
        decided = round(PROGRESS_BAR_WIDTH * progress.decided / progress.items)
        overdue = round(PROGRESS_BAR_WIDTH * progress.overdue / progress.items)
        bars.append(
            ProgressBar(
                label=row.name,
                y=top,
                bar_y=top + (PROGRESS_ROW_HEIGHT - PROGRESS_THICKNESS) // 2,
                text_y=top + PROGRESS_ROW_HEIGHT // 2 + 5,
                decided_width=decided,
                overdue_x=PROGRESS_LABEL_WIDTH + PROGRESS_BAR_WIDTH - overdue,
                overdue_width=overdue,
                percent_label=f"{progress.percent}%",
                value_x=PROGRESS_LABEL_WIDTH + PROGRESS_BAR_WIDTH + 8,
                decided=progress.decided,
                overdue=progress.overdue,
                items=progress.items,
                href=hrefs.get(row.code, ""),
            )
        )
    return ProgressChart(
        width=PROGRESS_LABEL_WIDTH + PROGRESS_BAR_WIDTH + PROGRESS_VALUE_WIDTH,
        height=2 * PROGRESS_PADDING + len(bars) * PROGRESS_ROW_HEIGHT,
        label_width=PROGRESS_LABEL_WIDTH,
        bar_width=PROGRESS_BAR_WIDTH,
        bars=bars,
    )


# --- pages ---------------------------------------------------------------------------------------


def _url(name: str, area: Area, year: int | None = None) -> str:
    query = f"?area={area.code}" + (f"&year={year}" if year is not None else "")
    return reverse(name) + query


def _year(request: HttpRequest, *, refused: str) -> tuple[bool, int | None]:
    """``(valid, year)`` from ``?year=``; a bad year is told in Chinese, ending in ``refused``."""
    form = FilterForm(request.GET)
    if form.is_valid():
        return True, form.cleaned_data["year"]
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, f"{error}，{refused}")
    return False, None


def _root(request: HttpRequest) -> Area | list[Area]:
    """The area asked for (404 outside the viewer's areas), the viewer's only top area, or the
    list of their top areas to choose from."""
    code = request.GET.get("area", "").strip()
    if code:
        return access_dashboard_area(request.user, code)
    roots = dashboard_roots(actor=request.user)
    return roots[0] if len(roots) == 1 else roots


@require_perm(DASHBOARD_PERM)
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    root = _root(request)
    if isinstance(root, list):
        return render(request, "review/dashboard/choose.html", {"roots": root})
    _valid, year = _year(request, refused="已显示默认年度")
    board = dashboard(actor=actor, root=root, year=year)
    drill = {
        row.code: _url("dashboard:home", row.area, board.year)
        for row in board.sub_area_rows
        if row.area.level in CHILD_LEVEL
    }
    years = sorted({*board.years, board.year}, reverse=True)
    payment_chart = trend_chart(
        [(f"{point.month:%y-%m}", int(point.amount)) for point in board.payment_months]
    )
    coverage_chart = trend_chart(
        [(f"{point.month:%y-%m}", point.households) for point in board.coverage_months]
    )
    category_chart = bar_chart([(label, count, "") for _c, label, count in board.open_item_totals])
    context = {
        "board": board,
        "root": root,
        "trail": dashboard_trail(actor=actor, root=root),
        "years": years,
        "rows": [(row, drill.get(row.code, "")) for row in board.rows],
        "progress_chart": progress_chart(board, drill),
        "payment_chart": payment_chart,
        "coverage_chart": coverage_chart,
        "category_chart": category_chart,
        "category_labels": [label for _c, label, _n in board.open_item_totals],
        "can_export": actor_covers_area(actor, root, perm=Perm.EXPORT_RUN),
        "bulletin_xlsx": _url("dashboard:bulletin_xlsx", root, board.year),
        "bulletin_pdf": _url("dashboard:bulletin_pdf", root, board.year),
        "shows_campaign_status": board.child_level != AreaLevel.TOWNSHIP,
    }
    return render(request, "review/dashboard/dashboard.html", context)


def _bulletin(request: HttpRequest, kind: str) -> HttpResponse:
    root = _root(request)
    if isinstance(root, list):
        raise Http404("请先选择区划")
    valid, year = _year(request, refused="通报未导出")
    if not valid:
        return redirect(_url("dashboard:home", root))
    try:
        exported = bulletin_export(actor=request.user, root=root, kind=kind, year=year)
    except DomainError as error:
        if error.status == 404:
            raise Http404(error.message) from error
        if error.status == 403:
            raise PermissionDenied(error.message) from error
        messages.error(request, error.message)
        return redirect(_url("dashboard:home", root, year))
    response = HttpResponse(exported.content, content_type=exported.content_type)
    response["Content-Disposition"] = content_disposition_header(True, exported.filename)
    return response


@require_perm(DASHBOARD_PERM)
@throttle("export")
@require_GET
def bulletin_xlsx_view(request: HttpRequest) -> HttpResponse:
    return _bulletin(request, "xlsx")


@require_perm(DASHBOARD_PERM)
@throttle("export")
@require_GET
def bulletin_pdf_view(request: HttpRequest) -> HttpResponse:
    return _bulletin(request, "pdf")


urlpatterns = [
    path("", dashboard_view, name="home"),
    path("bulletin.xlsx", bulletin_xlsx_view, name="bulletin_xlsx"),
    path("bulletin.pdf", bulletin_pdf_view, name="bulletin_pdf"),
]
