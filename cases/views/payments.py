"""Pages of the cases app: payment sheets (发放花名册) and payment totals.

Thin views: parse the request, call one selector or service, render. Domain refusals (a conflict,
four-eyes, a frozen sheet) come back as Chinese messages on the page, never as an error page;
outside the user's areas a sheet is a 404.
"""

import tempfile
from datetime import date
from decimal import Decimal

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from cases.choices import PaymentSheetStatus
from cases.exports import export_payment_sheet_xlsx
from cases.payment_selectors import (
    TOTALS_LEVELS,
    access_payment_sheet_by_id,
    payment_generate_townships,
    payment_line_row,
    payment_sheet_lines,
    payment_sheet_list,
    payment_totals,
)
from cases.services.payments import (
    PaymentSheetAction,
    payment_sheet_actions_for,
    payment_sheet_generate,
    payment_sheet_transition,
)
from lowbao.areas.decorators import require_perm
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm
from lowbao.core.errors import DomainError

SHEETS_PER_PAGE = 50
LINES_PER_PAGE = 100
MONTH_FORMAT = "%Y-%m"
REGENERATE = "regenerate"


class MonthField(forms.DateField):
    """``YYYY-MM`` (what ``<input type="month">`` sends) → the month's first day."""

    widget = forms.DateInput(attrs={"type": "month"}, format=MONTH_FORMAT)
    input_formats = [MONTH_FORMAT]
    default_error_messages = {"invalid": "月份格式应为 YYYY-MM"}


class SheetFilterForm(forms.Form):
    month = MonthField(label="发放月份", required=False)


class GenerateForm(forms.Form):
    township = forms.ModelChoiceField(
        label="苏木乡镇",
        queryset=Area.objects.none(),
        to_field_name="code",
        empty_label=None,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    month = MonthField(
        label="发放月份",
        widget=forms.DateInput(
            attrs={"type": "month", "class": "form-control form-control-sm"}, format=MONTH_FORMAT
        ),
    )

    def __init__(self, *args: object, actor: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["township"].queryset = payment_generate_townships(actor=actor)


class TotalsForm(forms.Form):
    month = MonthField(label="发放月份", required=False)
    level = forms.ChoiceField(
        label="汇总层级",
        required=False,
        choices=[(level.value, level.label) for level in TOTALS_LEVELS],
    )


@require_perm(Perm.PAYMENT_VIEW)
@require_http_methods(["GET", "POST"])
def payment_sheet_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    can_generate = actor_has_perm(actor, Perm.PAYMENT_GENERATE)
    generate_form = GenerateForm(actor=actor) if can_generate else None
    if request.method == "POST":
        if not can_generate:
            raise PermissionDenied("没有生成发放花名册的权限")
        generate_form = GenerateForm(request.POST, actor=actor)
        if generate_form.is_valid():
            try:
                sheet = payment_sheet_generate(
                    actor=actor,
                    township=generate_form.cleaned_data["township"],
                    month=generate_form.cleaned_data["month"],
                )
            except DomainError as exc:
                generate_form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    f"已生成{sheet.township.name}{sheet.month:%Y-%m}发放花名册："
                    f"{sheet.household_count} 户，合计 {sheet.total_amount} 元。",
                )
                return redirect("cases:payment_sheet_detail", sheet_id=sheet.pk)

    filter_form = SheetFilterForm(request.GET or None)
    month = filter_form.cleaned_data.get("month") if filter_form.is_valid() else None
    page = Paginator(payment_sheet_list(actor=actor, month=month), SHEETS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "cases/payments/sheet_list.html",
        {
            "page": page,
            "filter_form": filter_form,
            "generate_form": generate_form,
            "month_query": f"{month:{MONTH_FORMAT}}" if month else "",
        },
    )


@require_perm(Perm.PAYMENT_VIEW)
@require_http_methods(["GET", "POST"])
def payment_sheet_detail_view(request: HttpRequest, sheet_id: int) -> HttpResponse:
    actor = request.user
    sheet = access_payment_sheet_by_id(actor, sheet_id)
    if request.method == "POST":
        _post_sheet_action(request, sheet_id=sheet.pk, township=sheet.township, month=sheet.month)
        return redirect("cases:payment_sheet_detail", sheet_id=sheet.pk)

    page = Paginator(payment_sheet_lines(sheet=sheet), LINES_PER_PAGE).get_page(
        request.GET.get("page")
    )
    is_generated = sheet.status == PaymentSheetStatus.GENERATED
    labels = dict(PaymentSheetAction.choices)
    return render(
        request,
        "cases/payments/sheet_detail.html",
        {
            "sheet": sheet,
            "page": page,
            "rows": [payment_line_row(line) for line in page],
            "actions": [
                (action, labels[action])
                for action in payment_sheet_actions_for(actor=actor, sheet=sheet)
            ],
            "can_regenerate": is_generated
            and actor_covers_area(actor, sheet.township, perm=Perm.PAYMENT_GENERATE),
            "four_eyes_hint": is_generated
            and sheet.generated_by_id == actor.pk
            and actor_covers_area(actor, sheet.township, perm=Perm.PAYMENT_CHECK),
        },
    )


def _post_sheet_action(request: HttpRequest, *, sheet_id: int, township: Area, month: date) -> None:
    """Run the posted action; the outcome (success or a domain refusal) becomes a message."""
    action = request.POST.get("action", "")
    raw_version = request.POST.get("version", "")
    try:
        if action == REGENERATE:
            sheet = payment_sheet_generate(actor=request.user, township=township, month=month)
            messages.success(
                request, f"已重新生成：{sheet.household_count} 户，合计 {sheet.total_amount} 元。"
            )
            return
        if not raw_version.isdigit():
            messages.error(request, "请求已过期，请刷新页面后重试。")
            return
        sheet = payment_sheet_transition(
            actor=request.user,
            sheet_id=sheet_id,
            action=action,
            expected_version=int(raw_version),
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return
    messages.success(request, f"操作成功，花名册当前状态：{sheet.get_status_display()}。")


@require_perm(Perm.PAYMENT_VIEW)
@require_GET
def payment_sheet_export_view(request: HttpRequest, sheet_id: int) -> FileResponse:
    sheet = access_payment_sheet_by_id(request.user, sheet_id)
    # Spooled: small files stay in memory, big ones go to disk; the response closes the file.
    stream = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    export_payment_sheet_xlsx(sheet=sheet, actor=request.user, stream=stream)
    stream.seek(0)
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"发放花名册-{sheet.township.name}-{sheet.month:{MONTH_FORMAT}}.xlsx",
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )


@require_perm(Perm.PAYMENT_VIEW)
@require_GET
def payment_totals_view(request: HttpRequest) -> HttpResponse:
    form = TotalsForm(request.GET or None)
    cleaned = form.cleaned_data if form.is_valid() else {}
    month = cleaned.get("month") or timezone.localdate().replace(day=1)
    level = cleaned.get("level") or AreaLevel.TOWNSHIP
    rows = payment_totals(actor=request.user, month=month, level=level)
    return render(
        request,
        "cases/payments/totals.html",
        {
            "form": form,
            "month": month,
            "level_label": AreaLevel(level).label,
            "rows": rows,
            "sum": {
                "sheet_count": sum(row.sheet_count for row in rows),
                "household_count": sum(row.household_count for row in rows),
                "person_count": sum(row.person_count for row in rows),
                "total_amount": sum((row.total_amount for row in rows), Decimal("0")),
                "paid_amount": sum((row.paid_amount for row in rows), Decimal("0")),
            },
        },
    )


urlpatterns = [
    path("payments/", payment_sheet_list_view, name="payment_sheet_list"),
    path("payments/totals/", payment_totals_view, name="payment_totals"),
    path("payments/<int:sheet_id>/", payment_sheet_detail_view, name="payment_sheet_detail"),
    path(
        "payments/<int:sheet_id>/export.xlsx",
        payment_sheet_export_view,
        name="payment_sheet_export",
    ),
]
