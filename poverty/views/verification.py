"""Pages of 家庭经济状况核对 and 近亲属备案: the worklist of applications whose verification is
incomplete, the per-application member × item matrix (manual results, requests, explanations),
the county's officials and their close relatives, and the close-relative filings.

The small forms live here: they only validate input and build service arguments.
"""

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.models import Application, HouseholdMember
from cases.selectors import application_queryset
from cases.views.common import require_perm
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code, actor_covers_area, actor_has_perm
from lowbao.areas.selectors import area_list
from lowbao.core.errors import DomainError
from lowbao.people.id_numbers import IdNumberFormField
from poverty.choices import CloseRelation, OfficialKind, VerificationItem
from poverty.models import VerificationReport
from poverty.services.officials import (
    access_official_by_id,
    close_relative_filing_list,
    official_add,
    official_deactivate,
    official_list,
    official_relative_add,
)
from poverty.services.verification import (
    AWAITING_COUNTY,
    BEFORE_DECISION,
    item_label,
    verification_explain,
    verification_report_record,
    verification_reports_for_application,
    verification_request_create,
    verification_requests_for_application,
    verification_status,
    verification_worklist,
)

_DATE = {"widget": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")}
_TEXT = {"class": "form-control form-control-sm"}


class ReportForm(forms.Form):
    member = forms.TypedChoiceField(label="家庭成员", coerce=int)
    item = forms.ChoiceField(label="核对项目", choices=VerificationItem.choices)
    found = forms.TypedChoiceField(
        label="核对结果",
        choices=[("0", "无"), ("1", "有")],
        coerce=lambda value: value == "1",
    )
    amount = forms.DecimalField(
        label="金额（元）", required=False, min_value=0, max_digits=14, decimal_places=2
    )
    detail = forms.CharField(label="明细", required=False, max_length=300)
    checked_on = forms.DateField(label="核对日期", initial=timezone.localdate, **_DATE)

    def __init__(self, *args: object, members: list[HouseholdMember], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["member"].choices = [
            (m.pk, f"{m.person.name}（{m.person.id_number_masked}）") for m in members
        ]


class RequestForm(forms.Form):
    authorisation_reference = forms.CharField(
        label="授权书编号/说明",
        max_length=200,
        required=False,
        help_text="申请时已签署授权书的可留空，系统记为“申请书所附授权书”",
    )
    items = forms.MultipleChoiceField(
        label="核对项目",
        choices=VerificationItem.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请选择核对项目"},
    )
    requested_on = forms.DateField(label="申请日期", initial=timezone.localdate, **_DATE)


class ExplanationForm(forms.Form):
    explanation = forms.CharField(
        label="书面说明",
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "请填写书面说明"},
    )


class OfficialForm(forms.Form):
    area = forms.ChoiceField(label="任职区域")
    id_number = IdNumberFormField()
    name = forms.CharField(label="姓名", max_length=50)
    kind = forms.ChoiceField(label="身份", choices=OfficialKind.choices)
    position = forms.CharField(label="职务", max_length=60, required=False)

    def __init__(self, *args: object, areas: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].choices = areas


class RelativeForm(forms.Form):
    id_number = IdNumberFormField()
    name = forms.CharField(label="姓名", max_length=50)
    relation = forms.ChoiceField(
        label="关系",
        choices=[(v, label) for v, label in CloseRelation.choices if v != CloseRelation.SELF],
    )


def _style(*forms_: forms.Form) -> None:
    for form in forms_:
        for field in form.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple):
                continue
            css = (
                "form-select form-select-sm" if isinstance(widget, forms.Select) else _TEXT["class"]
            )
            widget.attrs.setdefault("class", css)


def _form_errors(form: forms.Form) -> str:
    return "；".join(
        f"{form.fields[name].label if name in form.fields else ''}：{error}".lstrip("：")
        for name, errors in form.errors.items()
        for error in errors
    )


# --- worklist -------------------------------------------------------------------------------


@require_perm(Perm.VERIFICATION_VIEW)
def verification_list(request: HttpRequest) -> HttpResponse:
    """核对待办: applications awaiting county review whose verification is incomplete."""
    area = None
    if request.GET.get("area"):
        area = access_area_by_code(request.user, request.GET["area"], perm=Perm.VERIFICATION_VIEW)
    stage = "open" if request.GET.get("stage") == "open" else "county_review"
    show_all = request.GET.get("all") == "1"
    rows = verification_worklist(
        actor=request.user,
        statuses=BEFORE_DECISION if stage == "open" else AWAITING_COUNTY,
        area_path=area.path if area else None,
        include_complete=show_all,
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    townships = area_list(actor=request.user, level=AreaLevel.TOWNSHIP)
    return render(
        request,
        "poverty/verification/worklist.html",
        {
            "page": page,
            "area": area,
            "stage": stage,
            "show_all": show_all,
            "townships": [
                t
                for t in townships
                if actor_covers_area(request.user, t, perm=Perm.VERIFICATION_VIEW)
            ],
            "today": timezone.localdate(),
        },
    )


# --- one application ------------------------------------------------------------------------


def _application(request: HttpRequest, application_id: int, perm: str) -> Application:
    application = (
        application_queryset(actor=request.user, perm=perm).filter(pk=application_id).first()
    )
    if application is None:
        raise Http404("申请不存在或不在您的管辖范围内")
    return application


def _members(application: Application) -> list[HouseholdMember]:
    return list(
        HouseholdMember.objects.filter(household_id=application.household_id, left_at__isnull=True)
        .select_related("person")
        .order_by("relation", "id")
    )


def _page(
    request: HttpRequest,
    application: Application,
    *,
    report_form: ReportForm | None = None,
    request_form: RequestForm | None = None,
    explanation_forms: dict[int, ExplanationForm] | None = None,
    status_code: int = 200,
) -> HttpResponse:
    today = timezone.localdate()
    status = verification_status(application=application, on=today)
    members = _members(application)
    can_record = actor_covers_area(request.user, application.area, perm=Perm.VERIFICATION_REQUEST)
    can_explain = actor_covers_area(request.user, application.area, perm=Perm.VERIFICATION_EXPLAIN)
    report_form = report_form or ReportForm(members=members)
    request_form = request_form or RequestForm(
        initial={"items": status.items, "requested_on": today}
    )
    explanation_forms = explanation_forms or {}
    findings = [
        (
            finding,
            explanation_forms.get(finding.report.pk)
            or ExplanationForm(
                initial={
                    "explanation": finding.explanation.explanation if finding.explanation else ""
                }
            ),
        )
        for finding in status.findings
    ]
    _style(report_form, request_form, *[form for _finding, form in findings])
    persons = {m.person.id_number_hash: m.person for m in members}
    reports = [
        (report, persons.get(report.id_number_hash), item_label(report.item))
        for report in verification_reports_for_application(application=application)
    ]
    return render(
        request,
        "poverty/verification/application.html",
        {
            "application": application,
            "household": application.household,
            "status": status,
            "findings": findings,
            "reports": reports,
            "requests": [
                (item_request, "、".join(item_label(item) for item in item_request.items))
                for item_request in verification_requests_for_application(application=application)
            ],
            "report_form": report_form if can_record else None,
            "request_form": request_form if can_record else None,
            "can_explain": can_explain,
        },
        status=status_code,
    )


@require_perm(Perm.VERIFICATION_VIEW)
def application_verification(request: HttpRequest, application_id: int) -> HttpResponse:
    return _page(request, _application(request, application_id, Perm.VERIFICATION_VIEW))


@require_POST
@require_perm(Perm.VERIFICATION_REQUEST)
def application_verification_report(request: HttpRequest, application_id: int) -> HttpResponse:
    """手工录入核对结果 (a result returned on paper, or read from the platform's screen)."""
    application = _application(request, application_id, Perm.VERIFICATION_REQUEST)
    members = _members(application)
    form = ReportForm(request.POST, members=members)
    if not form.is_valid():
        messages.error(request, f"核对结果不完整：{_form_errors(form)}")
        return _page(request, application, report_form=form, status_code=400)
    member = next(m for m in members if m.pk == form.cleaned_data["member"])
    try:
        verification_report_record(
            actor=request.user,
            id_number=member.person.id_number,
            name=member.person.name,
            item=form.cleaned_data["item"],
            found=form.cleaned_data["found"],
            amount=form.cleaned_data["amount"],
            detail=form.cleaned_data["detail"],
            checked_on=form.cleaned_data["checked_on"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _page(request, application, report_form=form, status_code=400)
    messages.success(
        request, f"已录入{member.person.name}的“{item_label(form.cleaned_data['item'])}”核对结果"
    )
    return redirect("poverty:application_verification", application_id=application.pk)


@require_POST
@require_perm(Perm.VERIFICATION_REQUEST)
def application_verification_request(request: HttpRequest, application_id: int) -> HttpResponse:
    application = _application(request, application_id, Perm.VERIFICATION_REQUEST)
    form = RequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"核对申请不完整：{_form_errors(form)}")
        return _page(request, application, request_form=form, status_code=400)
    try:
        verification_request_create(
            actor=request.user,
            household=application.household,
            application=application,
            authorisation_reference=form.cleaned_data["authorisation_reference"],
            items=form.cleaned_data["items"],
            requested_on=form.cleaned_data["requested_on"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _page(request, application, request_form=form, status_code=400)
    messages.success(request, "已登记核对申请")
    return redirect("poverty:application_verification", application_id=application.pk)


@require_POST
@require_perm(Perm.VERIFICATION_EXPLAIN)
def application_verification_explain(
    request: HttpRequest, application_id: int, report_id: int
) -> HttpResponse:
    application = _application(request, application_id, Perm.VERIFICATION_EXPLAIN)
    report = VerificationReport.objects.filter(pk=report_id).first()
    if report is None:
        raise Http404("核对结果不存在")
    form = ExplanationForm(request.POST)
    if form.is_valid():
        try:
            verification_explain(
                actor=request.user,
                application=application,
                report=report,
                explanation=form.cleaned_data["explanation"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "已保存书面说明")
            return redirect("poverty:application_verification", application_id=application.pk)
    else:
        messages.error(request, _form_errors(form))
    return _page(request, application, explanation_forms={report.pk: form}, status_code=400)


# --- officials and close relatives ----------------------------------------------------------


def _official_areas(actor: object) -> list[tuple[str, str]]:
    """Counties, townships and villages where the actor manages officials."""
    choices = []
    for area in area_list(actor=actor).filter(
        level__in=[AreaLevel.COUNTY, AreaLevel.TOWNSHIP, AreaLevel.VILLAGE]
    ):
        if actor_covers_area(actor, area, perm=Perm.OFFICIAL_MANAGE):
            indent = {AreaLevel.COUNTY: "", AreaLevel.TOWNSHIP: "— ", AreaLevel.VILLAGE: "—— "}
            choices.append((area.code, f"{indent[area.level]}{area.name}"))
    return choices


def _county_of(area: Area) -> Area:
    if area.level == AreaLevel.COUNTY:
        return area
    codes = [code for code in area.path.split("/") if code]
    county = Area.objects.filter(code__in=codes, level=AreaLevel.COUNTY).first()
    if county is None:
        raise Http404("任职区域不在任何旗县内")
    return county


def _officials_page(
    request: HttpRequest,
    *,
    form: OfficialForm | None = None,
    relative_forms: dict[int, RelativeForm] | None = None,
    status_code: int = 200,
) -> HttpResponse:
    areas = _official_areas(request.user)
    form = form or OfficialForm(areas=areas)
    relative_forms = relative_forms or {}
    officials = list(official_list(actor=request.user)[:500])
    rows = [(official, relative_forms.get(official.pk) or RelativeForm()) for official in officials]
    _style(form, *[relative_form for _official, relative_form in rows])
    return render(
        request,
        "poverty/verification/officials.html",
        {"form": form, "rows": rows},
        status=status_code,
    )


@require_perm(Perm.OFFICIAL_MANAGE)
def official_list_view(request: HttpRequest) -> HttpResponse:
    """经办人员和村干部 of the actor's counties, with their close relatives; add both here."""
    if request.method != "POST":
        return _officials_page(request)
    form = OfficialForm(request.POST, areas=_official_areas(request.user))
    if not form.is_valid():
        messages.error(request, f"人员信息不完整：{_form_errors(form)}")
        return _officials_page(request, form=form, status_code=400)
    area = access_area_by_code(request.user, form.cleaned_data["area"], perm=Perm.OFFICIAL_MANAGE)
    try:
        official = official_add(
            actor=request.user,
            county=_county_of(area),
            area=area,
            id_number=form.cleaned_data["id_number"],
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            position=form.cleaned_data["position"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _officials_page(request, form=form, status_code=400)
    messages.success(request, f"已登记{official.person.name}（{official.get_kind_display()}）")
    return redirect("poverty:official_list")


@require_POST
@require_perm(Perm.OFFICIAL_MANAGE)
def official_relative_new(request: HttpRequest, official_id: int) -> HttpResponse:
    official = access_official_by_id(request.user, official_id)
    form = RelativeForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"近亲属信息不完整：{_form_errors(form)}")
        return _officials_page(request, relative_forms={official.pk: form}, status_code=400)
    try:
        official_relative_add(
            actor=request.user,
            official=official,
            id_number=form.cleaned_data["id_number"],
            name=form.cleaned_data["name"],
            relation=form.cleaned_data["relation"],
        )
    except DomainError as error:
        messages.error(request, error.message)
        return _officials_page(request, relative_forms={official.pk: form}, status_code=400)
    messages.success(request, f"已登记{official.person.name}的近亲属")
    return redirect("poverty:official_list")


@require_POST
@require_perm(Perm.OFFICIAL_MANAGE)
def official_deactivate_view(request: HttpRequest, official_id: int) -> HttpResponse:
    official = access_official_by_id(request.user, official_id)
    try:
        official_deactivate(actor=request.user, official=official)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{official.person.name}已标记为离任")
    return redirect("poverty:official_list")


@require_perm(Perm.CASE_VIEW)
def close_relative_filings(request: HttpRequest) -> HttpResponse:
    """近亲属备案: every filed application in the actor's areas."""
    area = None
    if request.GET.get("area"):
        area = access_area_by_code(request.user, request.GET["area"], perm=Perm.CASE_VIEW)
    filings = close_relative_filing_list(actor=request.user, area_path=area.path if area else None)
    page = Paginator(filings, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "poverty/verification/filings.html",
        {
            "page": page,
            "area": area,
            "can_manage": actor_has_perm(request.user, Perm.OFFICIAL_MANAGE),
        },
    )


urlpatterns = [
    path("verification/", verification_list, name="verification_list"),
    path(
        "verification/applications/<int:application_id>/",
        application_verification,
        name="application_verification",
    ),
    path(
        "verification/applications/<int:application_id>/reports/",
        application_verification_report,
        name="application_verification_report",
    ),
    path(
        "verification/applications/<int:application_id>/requests/",
        application_verification_request,
        name="application_verification_request",
    ),
    path(
        "verification/applications/<int:application_id>/reports/<int:report_id>/explanation/",
        application_verification_explain,
        name="application_verification_explain",
    ),
    path("officials/", official_list_view, name="official_list"),
    path(
        "officials/<int:official_id>/relatives/",
        official_relative_new,
        name="official_relative_new",
    ),
    path(
        "officials/<int:official_id>/deactivate/",
        official_deactivate_view,
        name="official_deactivate",
    ),
    path("filings/", close_relative_filings, name="close_relative_filings"),
]
