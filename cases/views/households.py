"""Pages of the cases app: households (list, detail, registration with an application)."""

from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.formats import localize
from django.utils.html import format_html

from cases.choices import HouseholdStatus, Programme
from cases.forms import HouseholdForm, MemberFormSet
from cases.models import HouseholdMember, MemberIncome, StatusTransition
from cases.selectors import access_household_by_id, household_list_queryset
from cases.services.applications import application_register
from cases.views.common import (
    head_and_area_cells,
    id_url,
    require_perm,
    show_domain_error,
    village_choices,
)
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.core.errors import DomainError
from lowbao.core.paging import keyset_page, per_page_from
from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.protection import id_number_blind_index

PAGE_SIZE = 50
HOUSEHOLD_ORDERING = ("county_id", "number", "id")


ROW = (
    '<tr>\n    <td><a href="{}">{}</a></td>\n    <td>{}</td><td class="id-masked">{}</td>\n'
    "    <td>{}</td><td>{}</td><td>{}</td>\n"
    '    <td>{}</td><td>{}</td><td class="text-end">{}</td>\n  </tr>'
)


def household_rows_html(rows: list[tuple[object, object]]) -> list[str]:
    """The list's table rows (``format_html``: every value escaped). Fifty rows of ten cells
    through the template engine — a lookup chain, localisation and escaping per variable, a
    ``reverse`` per link — were half of the page's time (quality.md P8)."""
    detail_url = id_url("cases:household_detail", "household_id")
    html = []
    for household, head in rows:
        html.append(
            format_html(
                ROW,
                detail_url(household.pk),
                household.number,
                *head_and_area_cells(household, head),
                household.get_programme_display(),
                localize(household.member_count),
                household.get_status_display(),
                localize(household.monthly_amount),
            )
        )
    return html


@require_perm(Perm.CASE_VIEW)
def household_list(request: HttpRequest) -> HttpResponse:
    """Scoped list with filters. Searching by ID number is a POST, so the number never appears
    in a URL (quality.md S4)."""
    queryset = household_list_queryset(actor=request.user)
    status = request.GET.get("status", "")
    programme = request.GET.get("programme", "")
    name = request.GET.get("name", "").strip()
    if status in HouseholdStatus.values:
        queryset = queryset.filter(status=status)
    if programme in Programme.values:
        queryset = queryset.filter(programme=programme)
    if name:
        queryset = queryset.filter(members__person__name__contains=name).distinct()
    id_error = ""
    if request.method == "POST" and request.POST.get("id_number"):
        try:
            normalised = parse_id_number(request.POST["id_number"]).value
        except IdNumberError as exc:
            id_error = exc.message
            queryset = queryset.none()
        else:
            queryset = queryset.filter(
                members__person__id_number_hash=id_number_blind_index(normalised)
            ).distinct()
    page = keyset_page(
        request.GET,
        queryset,
        ordering=HOUSEHOLD_ORDERING,
        per_page=per_page_from(request.GET, PAGE_SIZE),
    )
    heads = {
        member.household_id: member
        for member in HouseholdMember.objects.filter(
            household__in=[h.pk for h in page.object_list], relation="01"
        )
        .select_related("person")
        .only("household", "person", "person__name", "person__id_number_ciphertext")
    }
    rows = [(household, heads.get(household.pk)) for household in page.object_list]
    return render(
        request,
        "cases/household_list.html",
        {
            "page": page,
            "rows": rows,
            "row_html": household_rows_html(rows),
            "statuses": HouseholdStatus.choices,
            "programmes": Programme.choices,
            "status": status,
            "programme": programme,
            "name": name,
            "id_error": id_error,
        },
    )


@require_perm(Perm.CASE_VIEW)
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    household = access_household_by_id(request.user, household_id)
    members = list(
        household.members.select_related("person").prefetch_related(
            Prefetch("incomes", queryset=MemberIncome.objects.order_by("category"))
        )
    )
    applications = list(
        household.applications.prefetch_related(
            Prefetch("transitions", queryset=StatusTransition.objects.select_related("actor")),
            "notices",
        ).order_by("-id")
    )
    return render(
        request,
        "cases/household_detail.html",
        {
            "household": household,
            "members": members,
            "applications": applications,
            "assets": list(household.assets.all()),
            "benefit_periods": list(household.benefit_periods.order_by("start_month")),
            "home_visits": list(household.home_visits.all()[:20]),
            "changes": list(household.changes.all()[:20]),
        },
    )


@require_perm(Perm.CASE_APPLY)
def application_new(request: HttpRequest) -> HttpResponse:
    """Register a household and its application in one step (申请登记)."""
    villages = village_choices(request.user)
    form = HouseholdForm(request.POST or None, villages=villages)
    members = MemberFormSet(request.POST or None, prefix="members")
    if request.method == "POST" and form.is_valid() and members.is_valid():
        data = form.cleaned_data
        try:
            application = application_register(
                actor=request.user,
                area=Area.objects.get(code=data["village"]),
                programme=data["programme"],
                members=[m.member_data() for m in members.forms if m.has_changed()],
                assets=form.assets(),
                address=data["address"],
                coverage_scope=data["coverage_scope"],
                bank_name=data["bank_name"],
                bank_account=data["bank_account"] or "",
                applied_on=data["applied_on"],
                applicant_name=data["applicant_name"],
                reason=data["reason"],
                authorisation_signed=data["authorisation_signed"],
                declares_close_relative=data["declares_close_relative"],
                close_relative_note=data["close_relative_note"],
                deductions=form.deductions(),
            )
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(request, f"已登记申请，户编号 {application.household.number}。")
            return redirect("cases:application_detail", application_id=application.pk)
    return render(request, "cases/application_new.html", {"form": form, "members": members})


urlpatterns = [
    path("households/", household_list, name="household_list"),
    path("households/<int:household_id>/", household_detail, name="household_detail"),
    path("applications/new/", application_new, name="application_new"),
]
