"""Pages of the poverty app: the registry (建档立卡) as lowbao knows it.

- the household list and the household page showing both sides (registry and dibao/特困), with
  the card fields 172号 asks for (享受原因, 保障标准, 发放金额);
- one page per person with every household they belong to on either side;
- snapshots with the changes against the previous one and the data-quality report per township;
- the ``.xlsx`` card/帮扶台账 extract for the poverty office.
"""

import tempfile

from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.formats import localize
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods

from cases.choices import Relation
from cases.views.common import head_and_area_cells, id_url, require_perm
from lowbao.areas.models import AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code
from lowbao.core.paging import keyset_page, per_page_from
from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.protection import id_number_blind_index
from poverty.choices import PovertyAttribute, PovertyStatus
from poverty.quality import QualityRule
from poverty.selectors import (
    access_registry_household_by_id,
    access_snapshot_by_id,
    dibao_sides,
    head_members,
    person_overview,
    previous_snapshot,
    quality_issue_queryset,
    quality_report,
    registry_household_list,
    registry_members,
    snapshot_diff,
    snapshot_queryset,
    township_choices,
)
from poverty.services.registry import registry_card_extract_export

PAGE_SIZE = 50
DIFF_SHOWN = 200
ISSUES_SHOWN = 200
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
IN_REGISTRY_CHOICES = [("1", "在台账"), ("0", "已退出台账")]


LIST_FIELDS = (
    "id",
    "county",
    "number",
    "attribute",
    "main_cause",
    "poverty_status",
    "annual_income_per_capita",
    "helper_name",
    "in_registry",
    "left_registry_on",
    "area",
    "area__name",
    "area__parent",
    "area__parent__name",
)


ROW = (
    '\n    <td><a href="{}">{}</a></td>\n    <td>{}</td><td class="id-masked">{}</td>\n'
    "    <td>{}</td><td>{}</td><td>{}</td><td>{}</td>\n"
    '    <td>{}</td><td>{}</td><td class="text-end">{}</td>\n'
    "    <td>{}</td>\n    <td>{}</td>\n  </tr>"
)


def registry_rows_html(rows: list[tuple[object, object]]) -> list[str]:
    """The list's table rows (``format_html``: every value escaped), built here rather than by
    the template engine, which spent half of the page's time on its twelve cells per row."""
    detail_url = id_url("poverty:registry_household_detail", "household_id")
    html = []
    for household, head in rows:
        left = household.left_registry_on
        html.append(
            format_html(
                ("<tr>" if household.in_registry else '<tr class="text-muted">') + ROW,
                detail_url(household.pk),
                household.number,
                *head_and_area_cells(household, head),
                household.get_attribute_display(),
                household.get_main_cause_display(),
                household.get_poverty_status_display(),
                localize(household.member_count),
                localize(household.annual_income_per_capita),
                household.helper_name or "—",
                "在台账" if household.in_registry else f"{left:%Y-%m-%d} 退出" if left else " 退出",
            )
        )
    return html


@require_perm(Perm.REGISTRY_VIEW)
@require_http_methods(["GET", "POST"])
def registry_household_list_view(request: HttpRequest) -> HttpResponse:
    """Scoped list with filters. Searching by ID number is a POST, so the number never appears
    in a URL (quality.md S4)."""
    townships = list(township_choices(actor=request.user))
    township_code = request.GET.get("township", "")
    attribute = request.GET.get("attribute", "")
    status = request.GET.get("status", "")
    in_registry = request.GET.get("in_registry", "1")
    name = request.GET.get("name", "").strip()
    township = next((t for t in townships if t.code == township_code), None)
    person_hash, id_error = "", ""
    if request.method == "POST" and request.POST.get("id_number"):
        try:
            person_hash = id_number_blind_index(parse_id_number(request.POST["id_number"]).value)
        except IdNumberError as exc:
            id_error = exc.message
    queryset = registry_household_list(
        actor=request.user,
        area=township,
        attribute=attribute if attribute in PovertyAttribute.values else "",
        poverty_status=status if status in PovertyStatus.values else "",
        in_registry={"1": True, "0": False}.get(in_registry),
        name=name,
        person_hash=person_hash,
    )
    if id_error:
        queryset = queryset.none()
    page = keyset_page(
        request.GET,
        # the columns the list shows (the selector also serves the API and the export)
        queryset.select_related(None).select_related("area__parent").only(*LIST_FIELDS),
        ordering=("county_id", "number", "id"),
        per_page=per_page_from(request.GET, PAGE_SIZE),
    )
    heads = head_members(household.pk for household in page.object_list)
    rows = [(household, heads.get(household.pk)) for household in page.object_list]
    row_html = registry_rows_html(rows)
    return render(
        request,
        "poverty/registry/household_list.html",
        {
            "page": page,
            "rows": rows,
            "row_html": row_html,
            "townships": townships,
            "township": township_code,
            "attributes": PovertyAttribute.choices,
            "attribute": attribute,
            "statuses": PovertyStatus.choices,
            "status": status,
            "in_registry_choices": IN_REGISTRY_CHOICES,
            "in_registry": in_registry,
            "name": name,
            "id_error": id_error,
        },
    )


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def registry_household_detail_view(request: HttpRequest, household_id: int) -> HttpResponse:
    household = access_registry_household_by_id(request.user, household_id)
    members = registry_members(household)
    sides = dibao_sides(actor=request.user, person_ids=[m.person_id for m in members])
    rows = [(member, sides.get(member.person_id, [])) for member in members]
    cards = {}
    for _member, member_sides in rows:
        for side in member_sides:
            if side.is_receiving:
                cards.setdefault(side.household.pk, side)
    return render(
        request,
        "poverty/registry/household_detail.html",
        {
            "household": household,
            "rows": rows,
            "cards": sorted(cards.values(), key=lambda side: side.household.number),
            "head": next((m for m in members if m.relation == Relation.HEAD), None),
        },
    )


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def person_overview_view(request: HttpRequest, person_id: int) -> HttpResponse:
    overview = person_overview(actor=request.user, person_id=person_id)
    return render(request, "poverty/registry/person_overview.html", {"overview": overview})


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def snapshot_list_view(request: HttpRequest) -> HttpResponse:
    queryset = snapshot_queryset(actor=request.user).order_by("-snapshot_date", "-id")
    page = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "poverty/registry/snapshot_list.html", {"page": page})


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def snapshot_detail_view(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access_snapshot_by_id(request.user, snapshot_id)
    previous = previous_snapshot(snapshot)
    diff = snapshot_diff(older=previous, newer=snapshot)
    report = quality_report(actor=request.user, snapshot=snapshot)
    issues = quality_issue_queryset(actor=request.user, snapshot=snapshot)
    township = request.GET.get("township", "")
    rule = request.GET.get("rule", "")
    if township:
        issues = issues.filter(township__code=township)
    if rule in QualityRule.values:
        issues = issues.filter(rule=rule)
    issues = list(
        issues.order_by("township__code", "household__number", "rule", "id")[:ISSUES_SHOWN]
    )
    labels = dict(QualityRule.choices)
    for issue in issues:
        issue.rule_label = labels.get(issue.rule, issue.rule)
    diff_lists = [
        ("新增", diff.created),
        ("变更", diff.updated),
        ("退出台账", diff.left),
    ]
    return render(
        request,
        "poverty/registry/snapshot_detail.html",
        {
            "snapshot": snapshot,
            "previous": previous,
            "diff": diff,
            "diff_lists": [
                (label, numbers[:DIFF_SHOWN], len(numbers)) for label, numbers in diff_lists
            ],
            "diff_shown": DIFF_SHOWN,
            "report": report,
            "issues": issues,
            "issues_shown": ISSUES_SHOWN,
            "township": township,
            "rule": rule,
        },
    )


@require_perm(Perm.REGISTRY_VIEW)
@require_GET
def card_extract_view(request: HttpRequest) -> FileResponse:
    """The card/帮扶台账 extract of one county (``?county=CODE``), masked, audited."""
    code = request.GET.get("county", "")
    county = access_area_by_code(request.user, code, perm=Perm.REGISTRY_VIEW)
    if county.level != AreaLevel.COUNTY:
        raise Http404("请选择旗县")
    # Spooled: small files stay in memory, big ones go to disk; the response closes the file.
    stream = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    registry_card_extract_export(actor=request.user, county=county, stream=stream)
    stream.seek(0)
    return FileResponse(
        stream,
        as_attachment=True,
        filename=f"建档立卡户享受低保特困信息-{county.name}.xlsx",
        content_type=XLSX,
    )


urlpatterns = [
    path("registry/", registry_household_list_view, name="registry_household_list"),
    path("registry/card-extract.xlsx", card_extract_view, name="card_extract"),
    path(
        "registry/<int:household_id>/",
        registry_household_detail_view,
        name="registry_household_detail",
    ),
    path("persons/<int:person_id>/", person_overview_view, name="person_overview"),
    path("snapshots/", snapshot_list_view, name="snapshot_list"),
    path("snapshots/<int:snapshot_id>/", snapshot_detail_view, name="snapshot_detail"),
]
