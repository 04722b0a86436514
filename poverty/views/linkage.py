"""Pages of the linkage work: the labour-capacity survey, referrals both ways, guarantees outside
the registry, the inspection report and a county dashboard.

Thin views: parse the request, call one selector or service, render. Refusals come back as
Chinese messages on the page; outside the user's areas an object is a 404, and a page needing a
capability the user lacks is a 403. ID numbers are always masked.
"""

import tempfile
from datetime import date

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.choices import Programme
from cases.views.common import require_perm, show_domain_error
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm
from lowbao.core.errors import DomainError
from poverty.choices import (
    GuaranteeKind,
    GuaranteeStatus,
    ReferralDirection,
    ReferralStatus,
    SurveyOutcome,
)
from poverty.linkage_selectors import (
    access_county_by_code,
    access_household_by_number,
    access_referral_by_id,
    access_registry_household_by_number,
    access_survey_by_id,
    access_survey_item_by_id,
    guarantee_cells,
    guarantee_counts,
    guarantee_households,
    linkage_counties,
    masked,
    referral_counts,
    referral_list,
    referral_row,
    survey_item_list,
    survey_list,
    survey_progress,
    survey_totals,
    townships_in_scope,
)
from poverty.services.guarantees import (
    COUNT_STATUS_LABELS,
    KIND_SHORT_LABELS,
    export_guarantee_gaps_xlsx,
    guarantee_record,
)
from poverty.services.inspection import export_inspection_xlsx, inspection_report
from poverty.services.referrals import (
    XLSX_CONTENT_TYPE,
    ReferralAction,
    export_referrals_xlsx,
    referral_actions_for,
    referral_complete,
    referral_create,
    referral_propose_for_county,
    referral_receive,
)
from poverty.services.survey import (
    export_survey_xlsx,
    survey_assess,
    survey_open,
    survey_start_application,
)

PAGE_SIZE = 50
DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"})
SELECT = {"class": "form-select form-select-sm"}
TEXT = {"class": "form-control form-control-sm"}


def _render(request: HttpRequest, template: str, context: dict[str, object]) -> HttpResponse:
    """Render with the flags of the linkage sub-menu."""
    context["can_inspect"] = actor_has_perm(request.user, Perm.INSPECTION_VIEW)
    return render(request, f"poverty/linkage/{template}", context)


def _refused(request: HttpRequest, exc: DomainError, form: object = None) -> None:
    """A service refusal: 404/403 as such, anything else as a message (and field errors)."""
    if exc.status == 404:
        raise Http404(exc.message)
    if exc.status == 403:
        raise PermissionDenied(exc.message)
    show_domain_error(request, form, exc)


def _xlsx(stream: object, filename: str) -> FileResponse:
    stream.seek(0)
    return FileResponse(
        stream, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


def _stream():
    # Spooled: small files stay in memory, big ones go to disk; the response closes the file.
    return tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)


def _county_field(queryset) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="旗县",
        queryset=queryset,
        to_field_name="code",
        empty_label=None,
        widget=forms.Select(attrs=SELECT),
    )


# --- surveys ----------------------------------------------------------------------------------


class SurveyOpenForm(forms.Form):
    title = forms.CharField(label="名称", max_length=100, widget=forms.TextInput(attrs=TEXT))
    deadline = forms.DateField(label="上报截止日期", widget=DATE_WIDGET)

    def __init__(self, *args: object, actor: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {
            "county": _county_field(linkage_counties(actor=actor, perm=Perm.SURVEY_OPEN)),
            **self.fields,
        }


class SurveyAssessForm(forms.Form):
    outcome = forms.ChoiceField(
        label="摸底结果",
        choices=[
            (SurveyOutcome.NOT_ELIGIBLE.value, SurveyOutcome.NOT_ELIGIBLE.label),
            (SurveyOutcome.ALREADY_COVERED.value, SurveyOutcome.ALREADY_COVERED.label),
        ],
        widget=forms.Select(attrs={**SELECT, "aria-label": "摸底结果"}),
    )
    reason = forms.CharField(label="说明", required=False, widget=forms.TextInput(attrs=TEXT))


class StartApplicationForm(forms.Form):
    programme = forms.ChoiceField(
        label="救助类型",
        choices=Programme.choices,
        widget=forms.Select(attrs={**SELECT, "aria-label": "救助类型"}),
    )
    applied_on = forms.DateField(label="申请日期", widget=DATE_WIDGET)
    authorisation_signed = forms.BooleanField(label="已签署核对授权书", required=False)


@require_perm(Perm.REGISTRY_VIEW)
@require_http_methods(["GET", "POST"])
def survey_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    can_open = actor_has_perm(actor, Perm.SURVEY_OPEN)
    open_form = SurveyOpenForm(actor=actor) if can_open else None
    if request.method == "POST":
        if not can_open:
            raise PermissionDenied("没有发起摸底的权限")
        open_form = SurveyOpenForm(request.POST, actor=actor)
        if open_form.is_valid():
            data = open_form.cleaned_data
            try:
                survey = survey_open(
                    actor=actor,
                    county=data["county"],
                    title=data["title"],
                    deadline=data["deadline"],
                )
            except DomainError as exc:
                _refused(request, exc, open_form)
            else:
                messages.success(
                    request,
                    f"已发起摸底“{survey.title}”：共 {survey.items.count()} 户待摸底。",
                )
                return redirect("poverty:survey_detail", survey_id=survey.pk)
    page = Paginator(survey_list(actor=actor), PAGE_SIZE).get_page(request.GET.get("page"))
    totals = survey_totals(actor=actor, surveys=list(page.object_list))
    return _render(
        request,
        "survey_list.html",
        {
            "page": page,
            "rows": [(survey, totals[survey.pk]) for survey in page.object_list],
            "open_form": open_form,
            "today": timezone.localdate(),
        },
    )


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def survey_detail_view(request: HttpRequest, survey_id: int) -> HttpResponse:
    actor = request.user
    survey = access_survey_by_id(actor, survey_id)
    outcome = request.GET.get("outcome", "")
    township = request.GET.get("township", "")
    items = survey_item_list(actor=actor, survey=survey, outcome=outcome, township_code=township)
    page = Paginator(items, PAGE_SIZE).get_page(request.GET.get("page"))
    today = timezone.localdate()
    rows = [
        {
            "item": item,
            "head_id_number_masked": masked(item.head_id_number_ciphertext),
            "can_assess": item.outcome != SurveyOutcome.APPLICATION_STARTED
            and actor_covers_area(actor, item.area, perm=Perm.SURVEY_ASSESS),
            "can_apply": item.outcome != SurveyOutcome.APPLICATION_STARTED
            and actor_covers_area(actor, item.area, perm=Perm.SURVEY_ASSESS)
            and actor_covers_area(actor, item.area, perm=Perm.CASE_APPLY),
        }
        for item in page.object_list
    ]
    return _render(
        request,
        "survey_detail.html",
        {
            "survey": survey,
            "progress": survey_progress(actor=actor, survey=survey, on=today),
            "page": page,
            "rows": rows,
            "outcomes": SurveyOutcome.choices,
            "outcome": outcome,
            "township": township,
            "townships": townships_in_scope(
                actor=actor, perm=Perm.REGISTRY_VIEW, county=survey.county
            ),
            # One form per row: no ids, so that the page has no duplicate ids.
            "assess_form": SurveyAssessForm(auto_id=False),
            "start_form": StartApplicationForm(auto_id=False, initial={"applied_on": today}),
            "today": today,
        },
    )


@require_perm(Perm.REGISTRY_VIEW)
@require_POST
def survey_item_assess_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_survey_item_by_id(request.user, item_id)
    form = SurveyAssessForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择摸底结果")
    else:
        try:
            item = survey_assess(
                actor=request.user,
                item_id=item.pk,
                outcome=form.cleaned_data["outcome"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            _refused(request, exc)
        else:
            messages.success(
                request,
                f"已登记{item.registry_household.number}的摸底结果：{item.get_outcome_display()}。",
            )
    return redirect(_back_to_survey(request, item.survey_id))


@require_perm(Perm.REGISTRY_VIEW)
@require_POST
def survey_item_start_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_survey_item_by_id(request.user, item_id)
    form = StartApplicationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请填写申请日期和救助类型")
        return redirect(_back_to_survey(request, item.survey_id))
    try:
        item = survey_start_application(
            actor=request.user,
            item_id=item.pk,
            applied_on=form.cleaned_data["applied_on"],
            authorisation_signed=form.cleaned_data["authorisation_signed"],
            programme=form.cleaned_data["programme"],
        )
    except DomainError as exc:
        _refused(request, exc)
        return redirect(_back_to_survey(request, item.survey_id))
    messages.success(
        request,
        f"已为{item.registry_household.number}登记申请（保障户 "
        f"{item.application.household.number}），请按程序受理、调查、审核。",
    )
    return redirect("cases:application_detail", application_id=item.application_id)


def _back_to_survey(request: HttpRequest, survey_id: int) -> str:
    url = reverse("poverty:survey_detail", kwargs={"survey_id": survey_id})
    query = request.POST.get("return_query", "")
    return f"{url}?{query}" if query and "\n" not in query else url


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def survey_export_view(request: HttpRequest, survey_id: int) -> FileResponse:
    survey = access_survey_by_id(request.user, survey_id)
    stream = _stream()
    export_survey_xlsx(actor=request.user, survey=survey, stream=stream)
    return _xlsx(stream, f"摸底进度-{survey.county.name}-{survey.pk}.xlsx")


# --- referrals --------------------------------------------------------------------------------


class ReferralCreateForm(forms.Form):
    direction = forms.ChoiceField(
        label="移交方向", choices=ReferralDirection.choices, widget=forms.Select(attrs=SELECT)
    )
    household_number = forms.CharField(
        label="保障户编号", required=False, max_length=40, widget=forms.TextInput(attrs=TEXT)
    )
    registry_number = forms.CharField(
        label="建档立卡户编号", required=False, max_length=40, widget=forms.TextInput(attrs=TEXT)
    )
    reason = forms.CharField(label="移交原因", widget=forms.TextInput(attrs=TEXT))


class ProposeForm(forms.Form):
    on = forms.DateField(label="统计日期", widget=DATE_WIDGET)

    def __init__(self, *args: object, actor: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields = {
            "county": _county_field(linkage_counties(actor=actor, perm=Perm.REFERRAL_CREATE)),
            **self.fields,
        }


def _referral_filters(request: HttpRequest) -> dict[str, str]:
    direction = request.GET.get("direction", "")
    status = request.GET.get("status", "")
    return {
        "direction": direction if direction in ReferralDirection.values else "",
        "status": status if status in ReferralStatus.values else "",
        "area_code": request.GET.get("area", "").strip(),
    }


@require_perm(Perm.REGISTRY_VIEW)
@require_http_methods(["GET", "POST"])
def referral_list_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    can_create = actor_has_perm(actor, Perm.REFERRAL_CREATE)
    create_form = ReferralCreateForm() if can_create else None
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied("没有登记移交的权限")
        create_form = ReferralCreateForm(request.POST)
        if create_form.is_valid() and _create_referral(request, create_form):
            return redirect("poverty:referral_list")
    filters = _referral_filters(request)
    page = Paginator(referral_list(actor=actor, **filters), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    labels = dict(ReferralAction.choices)
    rows = [
        {
            "row": referral_row(referral),
            "actions": [
                (action, labels[action])
                for action in referral_actions_for(actor=actor, referral=referral)
            ],
        }
        for referral in page.object_list
    ]
    propose_counties = linkage_counties(actor=actor, perm=Perm.REFERRAL_CREATE)
    return _render(
        request,
        "referral_list.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "directions": ReferralDirection.choices,
            "statuses": ReferralStatus.choices,
            "townships": townships_in_scope(actor=actor, perm=Perm.REGISTRY_VIEW),
            "create_form": create_form,
            "propose_form": (
                ProposeForm(actor=actor, initial={"on": timezone.localdate()})
                if propose_counties.exists()
                else None
            ),
        },
    )


def _create_referral(request: HttpRequest, form: ReferralCreateForm) -> bool:
    data = form.cleaned_data
    try:
        household = (
            access_household_by_number(
                request.user, data["household_number"], perm=Perm.REGISTRY_VIEW
            )
            if data["household_number"]
            else None
        )
        registry_household = (
            access_registry_household_by_number(
                request.user, data["registry_number"], perm=Perm.REGISTRY_VIEW
            )
            if data["registry_number"]
            else None
        )
    except Http404:
        form.add_error(None, "户编号不存在或不在您的管辖范围内")
        return False
    try:
        referral = referral_create(
            actor=request.user,
            direction=data["direction"],
            household=household,
            registry_household=registry_household,
            reason=data["reason"],
        )
    except DomainError as exc:
        if exc.status == 404:
            form.add_error(None, exc.message)
            return False
        _refused(request, exc, form)
        return False
    messages.success(request, f"已登记移交：{referral.get_direction_display()}。")
    return True


@require_perm(Perm.REGISTRY_VIEW)
@require_POST
def referral_transition_view(request: HttpRequest, referral_id: int, action: str) -> HttpResponse:
    referral = access_referral_by_id(request.user, referral_id)
    if action not in ReferralAction.values:
        raise Http404("未知操作")
    try:
        if action == ReferralAction.RECEIVE:
            referral = referral_receive(actor=request.user, referral_id=referral.pk)
        else:
            referral = referral_complete(
                actor=request.user,
                referral_id=referral.pk,
                measure=request.POST.get("measure", ""),
            )
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(request, f"操作成功，移交当前状态：{referral.get_status_display()}。")
    return redirect(_back_to_referrals(request))


def _back_to_referrals(request: HttpRequest) -> str:
    url = reverse("poverty:referral_list")
    query = request.POST.get("return_query", "")
    return f"{url}?{query}" if query and "\n" not in query else url


@require_perm(Perm.REFERRAL_CREATE)
@require_POST
def referral_propose_view(request: HttpRequest) -> HttpResponse:
    form = ProposeForm(request.POST, actor=request.user)
    if not form.is_valid():
        if "county" in form.errors:
            raise Http404("旗县不存在或不在您的管辖范围内")
        messages.error(request, "请填写统计日期")
        return redirect("poverty:referral_list")
    try:
        created = referral_propose_for_county(
            actor=request.user, county=form.cleaned_data["county"], on=form.cleaned_data["on"]
        )
    except DomainError as exc:
        _refused(request, exc)
    else:
        messages.success(
            request,
            f"已生成建议纳入建档立卡名单：新增 {len(created)} 户（已建议过的户不重复生成）。",
        )
    return redirect(f"{reverse('poverty:referral_list')}?direction=propose_registry")


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def referral_export_view(request: HttpRequest) -> FileResponse:
    filters = _referral_filters(request)
    direction = filters.pop("direction") or ReferralDirection.TO_POVERTY_OFFICE
    stream = _stream()
    try:
        export_referrals_xlsx(actor=request.user, direction=direction, stream=stream, **filters)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    label = (
        "移交扶贫部门" if direction == ReferralDirection.TO_POVERTY_OFFICE else "建议纳入建档立卡"
    )
    return _xlsx(stream, f"{label}-{timezone.localdate():%Y%m%d}.xlsx")


# --- guarantees -------------------------------------------------------------------------------


class GuaranteeRecordForm(forms.Form):
    household_number = forms.CharField(
        label="保障户编号", max_length=40, widget=forms.TextInput(attrs=TEXT)
    )
    kind = forms.ChoiceField(
        label="保障内容", choices=GuaranteeKind.choices, widget=forms.Select(attrs=SELECT)
    )
    status = forms.ChoiceField(
        label="核实结果", choices=GuaranteeStatus.choices, widget=forms.Select(attrs=SELECT)
    )
    evidence = forms.CharField(
        label="依据/说明", required=False, widget=forms.TextInput(attrs=TEXT)
    )
    checked_on = forms.DateField(label="核实日期", widget=DATE_WIDGET)


@require_perm(Perm.REGISTRY_VIEW)
@require_http_methods(["GET", "POST"])
def guarantee_report_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    can_record = actor_has_perm(actor, Perm.GUARANTEE_RECORD)
    record_form = (
        GuaranteeRecordForm(initial={"checked_on": timezone.localdate()}) if can_record else None
    )
    if request.method == "POST":
        if not can_record:
            raise PermissionDenied("没有登记三保障核实情况的权限")
        record_form = GuaranteeRecordForm(request.POST)
        if record_form.is_valid() and _record_guarantee(request, record_form):
            return redirect(request.get_full_path())
    township = request.GET.get("township", "")
    only_gaps = request.GET.get("only_gaps") == "1"
    households = guarantee_households(actor=actor, township_code=township, only_gaps=only_gaps)
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    count_rows, count_total = guarantee_counts(actor=actor)
    return _render(
        request,
        "guarantee_report.html",
        {
            "page": page,
            "rows": [
                {
                    "household": household,
                    "head_id_number_masked": masked(household.head_id_number_ciphertext),
                    "cells": guarantee_cells(household),
                }
                for household in page.object_list
            ],
            "count_rows": count_rows,
            "count_total": count_total,
            "count_headers": [
                f"{KIND_SHORT_LABELS[kind]}{COUNT_STATUS_LABELS[status]}"
                for kind in GuaranteeKind.values
                for status in COUNT_STATUS_LABELS
            ],
            "kind_labels": [KIND_SHORT_LABELS[kind] for kind in GuaranteeKind.values],
            "townships": townships_in_scope(actor=actor, perm=Perm.REGISTRY_VIEW),
            "township": township,
            "only_gaps": only_gaps,
            "record_form": record_form,
        },
    )


def _record_guarantee(request: HttpRequest, form: GuaranteeRecordForm) -> bool:
    data = form.cleaned_data
    try:
        household = access_household_by_number(
            request.user, data["household_number"], perm=Perm.REGISTRY_VIEW
        )
    except Http404:
        form.add_error("household_number", "保障户不存在或不在您的管辖范围内")
        return False
    try:
        guarantee_record(
            actor=request.user,
            household=household,
            kind=data["kind"],
            status=data["status"],
            evidence=data["evidence"],
            checked_on=data["checked_on"],
        )
    except DomainError as exc:
        _refused(request, exc, form)
        return False
    messages.success(request, f"已登记保障户 {household.number} 的三保障核实情况。")
    return True


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def guarantee_export_view(request: HttpRequest) -> FileResponse:
    stream = _stream()
    export_guarantee_gaps_xlsx(
        actor=request.user,
        stream=stream,
        township_code=request.GET.get("township", ""),
        only_gaps=request.GET.get("only_gaps") == "1",
    )
    return _xlsx(stream, f"三保障核实-{timezone.localdate():%Y%m%d}.xlsx")


# --- inspection -------------------------------------------------------------------------------


class CountyDateForm(forms.Form):
    on = forms.DateField(label="排查日期", required=False, widget=DATE_WIDGET)


def _chosen_county(request: HttpRequest, *, perm: str):
    """The county in ``?county=`` (404 outside the user's counties for ``perm``), or the only
    one the user has; ``None`` when they must choose."""
    code = request.GET.get("county", "").strip()
    if code:
        return access_county_by_code(request.user, code, perm=perm)
    counties = list(linkage_counties(actor=request.user, perm=perm)[:2])
    return counties[0] if len(counties) == 1 else None


def _report_date(request: HttpRequest) -> date:
    form = CountyDateForm(request.GET or None)
    return (form.cleaned_data.get("on") if form.is_valid() else None) or timezone.localdate()


@require_perm(Perm.INSPECTION_VIEW)
@require_GET
def inspection_report_view(request: HttpRequest) -> HttpResponse:
    county = _chosen_county(request, perm=Perm.INSPECTION_VIEW)
    on = _report_date(request)
    report = None
    if county is not None:
        try:
            report = inspection_report(actor=request.user, county=county, on=on)
        except DomainError as exc:
            _refused(request, exc)
    return _render(
        request,
        "inspection_report.html",
        {
            "counties": linkage_counties(actor=request.user, perm=Perm.INSPECTION_VIEW),
            "county": county,
            "on": on,
            "report": report,
        },
    )


@require_perm(Perm.INSPECTION_VIEW)
@require_GET
def inspection_export_view(request: HttpRequest) -> FileResponse:
    county = _chosen_county(request, perm=Perm.INSPECTION_VIEW)
    if county is None:
        raise Http404("请选择旗县")
    on = _report_date(request)
    try:
        report = inspection_report(actor=request.user, county=county, on=on)
    except DomainError as exc:
        raise Http404(exc.message) from exc
    stream = _stream()
    export_inspection_xlsx(actor=request.user, report=report, stream=stream)
    return _xlsx(stream, f"排查报告-{county.name}-{on:%Y%m%d}.xlsx")


# --- dashboard --------------------------------------------------------------------------------


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def linkage_dashboard_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    county = _chosen_county(request, perm=Perm.REGISTRY_VIEW)
    context: dict[str, object] = {
        "counties": linkage_counties(actor=actor, perm=Perm.REGISTRY_VIEW),
        "county": county,
    }
    if county is not None:
        today = timezone.localdate()
        surveys = list(survey_list(actor=actor).filter(county=county)[:5])
        totals = survey_totals(actor=actor, surveys=surveys, on=today)
        guarantee_rows, guarantee_total = guarantee_counts(actor=actor, county=county)
        inspection = None
        if actor_covers_area(actor, county, perm=Perm.INSPECTION_VIEW):
            inspection = inspection_report(actor=actor, county=county, on=today)
        context.update(
            {
                "surveys": [(survey, totals[survey.pk]) for survey in surveys],
                "referrals": referral_counts(actor=actor, county=county),
                "guarantee_rows": guarantee_rows,
                "guarantee_total": guarantee_total,
                "kind_labels": [KIND_SHORT_LABELS[kind] for kind in GuaranteeKind.values],
                "inspection": inspection,
                "today": today,
            }
        )
    return _render(request, "dashboard.html", context)


urlpatterns = [
    path("surveys/", survey_list_view, name="survey_list"),
    path("surveys/<int:survey_id>/", survey_detail_view, name="survey_detail"),
    path("surveys/<int:survey_id>/export.xlsx", survey_export_view, name="survey_export"),
    path("surveys/items/<int:item_id>/assess/", survey_item_assess_view, name="survey_item_assess"),
    path("surveys/items/<int:item_id>/apply/", survey_item_start_view, name="survey_item_start"),
    path("referrals/", referral_list_view, name="referral_list"),
    path("referrals/propose/", referral_propose_view, name="referral_propose"),
    path("referrals/export.xlsx", referral_export_view, name="referral_export"),
    path(
        "referrals/<int:referral_id>/<str:action>/",
        referral_transition_view,
        name="referral_transition",
    ),
    path("guarantees/", guarantee_report_view, name="guarantee_report"),
    path("guarantees/export.xlsx", guarantee_export_view, name="guarantee_export"),
    path("inspection/", inspection_report_view, name="inspection_report"),
    path("inspection/export.xlsx", inspection_export_view, name="inspection_export"),
    path("dashboard/", linkage_dashboard_view, name="linkage_dashboard"),
]
