"""Pages of the cases app: worklist, application detail with one form per allowed step,
county home visits and the county's random sample, printable documents."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.choices import ApplicationAction, ApplicationStatus, NoticeStage
from cases.forms import FIELDS_BY_ACTION, CountyVisitForm, StepForm
from cases.models import CountySample, PublicNotice
from cases.selectors import access_application_by_id, application_queryset
from cases.services.applications import (
    OPEN_STATUSES,
    application_transition,
    county_sample_draw,
    county_visit_record,
)
from cases.views.common import require_perm, show_domain_error
from cases.workflow import actions_from
from lowbao.areas.models import AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code, actor_covers_area
from lowbao.areas.selectors import area_list
from lowbao.core.errors import DomainError


def allowed_actions(actor: object, application) -> list[tuple[str, str]]:
    """The actions this actor may take on this application now (value, label)."""
    return [
        (action, ApplicationAction(action).label)
        for action, transition in actions_from(
            profile=application.profile, programme=application.programme, status=application.status
        )
        if actor_covers_area(actor, application.area, perm=transition.perm)
    ]


@require_perm(Perm.CASE_VIEW)
def worklist(request: HttpRequest) -> HttpResponse:
    """我的待办: open applications where I can act, overdue ones first; counts by state."""
    today = timezone.localdate()
    open_applications = application_queryset(actor=request.user).filter(status__in=OPEN_STATUSES)
    counts = dict(open_applications.order_by().values_list("status").annotate(n=Count("id")))
    rows = []
    for application in open_applications.order_by("due_on", "id")[:500]:
        actions = allowed_actions(request.user, application)
        if actions:
            rows.append((application, actions))
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    overdue = open_applications.filter(due_on__lt=today).order_by("due_on")[:200]
    return render(
        request,
        "cases/worklist.html",
        {
            "page": page,
            "overdue": overdue,
            "today": today,
            "counts": [
                (label, counts.get(value, 0))
                for value, label in ApplicationStatus.choices
                if value in OPEN_STATUSES
            ],
        },
    )


@require_perm(Perm.CASE_VIEW)
def application_detail(request: HttpRequest, application_id: int) -> HttpResponse:
    application = access_application_by_id(request.user, application_id)
    actions = allowed_actions(request.user, application)
    forms = []
    for action, label in actions:
        form = StepForm(
            initial={"version": application.version, "amount": application.proposed_amount},
            prefix=action,
        )
        forms.append((action, label, form, FIELDS_BY_ACTION[action]))
    return render(
        request, "cases/application_detail.html", _detail_context(request, application, forms)
    )


def _detail_context(request: HttpRequest, application, forms) -> dict[str, object]:
    return {
        "application": application,
        "household": application.household,
        "members": list(application.household.members.select_related("person")),
        "transitions": list(application.transitions.select_related("actor")),
        "investigations": list(application.investigations.all()),
        "appraisals": list(application.appraisals.all()),
        "notices": list(application.notices.prefetch_related("objections")),
        "county_visits": list(application.county_visits.all()),
        "forms": forms,
        "can_visit": actor_covers_area(request.user, application.area, perm=Perm.CASE_COUNTY_VISIT)
        and application.status == ApplicationStatus.COUNTY_REVIEW,
        "visit_form": CountyVisitForm(initial={"visited_on": timezone.localdate()}),
        "means_test": application.means_test,
    }


@require_POST
@require_perm(Perm.CASE_VIEW)
def application_act(request: HttpRequest, application_id: int, action: str) -> HttpResponse:
    application = access_application_by_id(request.user, application_id)
    if action not in FIELDS_BY_ACTION:
        raise Http404("未知操作")
    form = StepForm(request.POST, prefix=action)
    if form.is_valid():
        try:
            application_transition(
                application_id=application.pk,
                action=action,
                actor=request.user,
                data=form.step_data(),
                expected_version=form.cleaned_data["version"],
            )
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(request, f"已完成：{ApplicationAction(action).label}")
            return redirect("cases:application_detail", application_id=application.pk)
    application.refresh_from_db()
    forms = [
        (
            name,
            label,
            form
            if name == action
            else StepForm(
                initial={"version": application.version, "amount": application.proposed_amount},
                prefix=name,
            ),
            FIELDS_BY_ACTION[name],
        )
        for name, label in allowed_actions(request.user, application)
    ]
    return render(
        request,
        "cases/application_detail.html",
        _detail_context(request, application, forms),
        status=400,
    )


@require_POST
@require_perm(Perm.CASE_COUNTY_VISIT)
def county_visit_new(request: HttpRequest, application_id: int) -> HttpResponse:
    application = access_application_by_id(request.user, application_id)
    form = CountyVisitForm(request.POST)
    if form.is_valid():
        try:
            county_visit_record(
                actor=request.user,
                application_id=application.pk,
                visited_on=form.cleaned_data["visited_on"],
                visitors=form.cleaned_data["visitors"].replace("，", ",").split(","),
                record_text=form.cleaned_data["record"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "已登记县级入户核查。")
    else:
        messages.error(request, "县级入户核查记录不完整。")
    return redirect("cases:application_detail", application_id=application.pk)


@require_perm(Perm.CASE_COUNTY_VISIT)
def county_sample(request: HttpRequest) -> HttpResponse:
    counties = list(area_list(actor=request.user, level=AreaLevel.COUNTY))
    if request.method == "POST":
        county = access_area_by_code(
            request.user, request.POST.get("county", ""), perm=Perm.CASE_COUNTY_VISIT
        )
        try:
            sample = county_sample_draw(
                actor=request.user, county=county, seed=request.POST.get("seed", "").strip()
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                f"已抽取 {sample.applications.count()} 件（共 {sample.pool_size} 件待审核），"
                f"随机种子 {sample.seed}",
            )
        return redirect("cases:county_sample")
    samples = (
        CountySample.objects.filter(county__in=counties)
        .select_related("county", "drawn_by")
        .annotate(chosen=Count("applications"))
        .order_by("-id")[:50]
    )
    return render(request, "cases/county_sample.html", {"counties": counties, "samples": samples})


@require_perm(Perm.CASE_VIEW)
def application_print(request: HttpRequest, application_id: int) -> HttpResponse:
    application = access_application_by_id(request.user, application_id)
    return render(
        request,
        "cases/print_application.html",
        {
            "application": application,
            "household": application.household,
            "members": list(application.household.members.select_related("person")),
            "today": timezone.localdate(),
        },
    )


@require_perm(Perm.CASE_VIEW)
def decision_print(request: HttpRequest, application_id: int) -> HttpResponse:
    application = access_application_by_id(request.user, application_id)
    if application.status not in (ApplicationStatus.APPROVED, ApplicationStatus.REJECTED):
        raise Http404("尚未作出审批决定")
    return render(
        request,
        "cases/print_decision.html",
        {
            "application": application,
            "household": application.household,
            "covered": application.household.members.filter(in_payment=True).count(),
        },
    )


@require_perm(Perm.CASE_VIEW)
def village_notice(request: HttpRequest, village_code: str) -> HttpResponse:
    """公示名单 of a village: only name, number of members and amount (privacy, S4 art. 22)."""
    village = access_area_by_code(request.user, village_code, perm=Perm.CASE_VIEW)
    if village.level != AreaLevel.VILLAGE:
        raise Http404("请选择嘎查村")
    today = timezone.localdate()
    notices = (
        PublicNotice.objects.filter(
            application__area=village,
            starts_on__lte=today,
            ends_on__gte=today,
            closed_on__isnull=True,
        )
        .select_related("application", "application__household")
        .annotate(
            member_count=Count(
                "application__household__members",
                filter=Q(application__household__members__left_at__isnull=True),
            )
        )
        .order_by("stage", "application__household__number")
    )
    return render(
        request,
        "cases/print_notice.html",
        {
            "village": village,
            "notices": notices,
            "today": today,
            "stages": dict(NoticeStage.choices),
        },
    )


urlpatterns = [
    path("", worklist, name="worklist"),
    path("applications/<int:application_id>/", application_detail, name="application_detail"),
    path(
        "applications/<int:application_id>/act/<str:action>/",
        application_act,
        name="application_act",
    ),
    path(
        "applications/<int:application_id>/county-visit/", county_visit_new, name="county_visit_new"
    ),
    path("applications/<int:application_id>/print/", application_print, name="application_print"),
    path("applications/<int:application_id>/decision/", decision_print, name="decision_print"),
    path("county-sample/", county_sample, name="county_sample"),
    path("notices/<str:village_code>/", village_notice, name="village_notice"),
]
