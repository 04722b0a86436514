"""Pages of a township's reconciliation worklist: the items by category, one item with its
history, resolving and reopening it, the hand-offs (a dibao application, a referral to the
poverty office, a review of the household) and the ``.xlsx`` export per category.

Thin views: parse the request, call one selector or service, render. Outside the user's areas
an item is a 404; a capability the user lacks is a 403; a refusal of the service is shown in
Chinese on the item page with its status (400/409/422) and changes nothing. ID numbers are
always masked on these pages.
"""

import re
import tempfile
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cases.views.common import id_url
from lowbao.areas.decorators import require_perm
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_area_paths, actor_covers_area, actor_has_perm
from lowbao.core.errors import DomainError
from lowbao.core.paging import keyset_page
from review.exports import XLSX_CONTENT_TYPE, export_items_xlsx
from review.models import ItemState, ReconciliationCategory, ReconciliationItem
from review.selectors import (
    RESOLUTION_STATES,
    TASK_CATEGORIES,
    DetailRow,
    ItemFilters,
    PersonRow,
    access_item_by_id,
    access_township_by_code,
    access_worklist_county_by_code,
    actor_works_on_counties,
    attach_runs,
    county_runs,
    detail_rows,
    item_area,
    item_category_counts,
    item_events,
    item_person_ids,
    page_persons,
    persons_by_id,
    tab_total,
    worklist_counties,
    worklist_items,
    worklist_townships,
)
from review.services.resolution import (
    reconciliation_item_refer,
    reconciliation_item_reopen,
    reconciliation_item_resolve,
)

PER_PAGE_CHOICES = (20, 50, 100, 200)
ITEM_ORDERING = ("category", "key", "id")
DEFAULT_PER_PAGE = 50
ALL_STATES = "all"
PERIOD_PATTERN = re.compile(r"^\d{4}H[12]$")
TEXTAREA = {"class": "form-control form-control-sm", "rows": 2, "maxlength": 500}
CATEGORY_LABELS = dict(ReconciliationCategory.choices)
STATE_LABELS = dict(ItemState.choices)


class ResolveForm(forms.Form):
    state = forms.ChoiceField(
        label="处理结果",
        choices=[(state, STATE_LABELS[state]) for state in RESOLUTION_STATES],
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    note = forms.CharField(label="处理说明", max_length=500, widget=forms.Textarea(attrs=TEXTAREA))


class NoteForm(forms.Form):
    note = forms.CharField(label="说明", max_length=500, widget=forms.Textarea(attrs=TEXTAREA))


# --- filters ----------------------------------------------------------------------------------


@dataclass
class WorklistQuery:
    filters: ItemFilters
    category: str = ""
    state: str = ItemState.OPEN
    county: str = ""
    township: str = ""
    period: str = ""
    per_page: int = DEFAULT_PER_PAGE

    def querystring(self, *, category: str | None = None) -> str:
        """The filters as a query string (``category`` overridden when given), without the page."""
        values = {
            "category": self.category if category is None else category,
            "state": self.state,
            "county": self.county,
            "township": self.township,
            "period": self.period,
            "per_page": self.per_page if self.per_page != DEFAULT_PER_PAGE else "",
        }
        return urlencode({key: value for key, value in values.items() if value})


def worklist_query(
    actor: object, data: QueryDict, *, default_state: str = ItemState.OPEN
) -> WorklistQuery:
    """The worklist filters from GET/POST data. Unknown values are ignored; an area code outside
    the actor's areas is a 404."""
    category = data.get("category", "")
    category = category if category in TASK_CATEGORIES else ""
    state = data.get("state", default_state) or default_state
    if state not in ItemState.values:
        state = ALL_STATES
    period = data.get("period", "").strip().upper()
    period = period if PERIOD_PATTERN.match(period) else ""
    county_code = data.get("county", "").strip()
    township_code = data.get("township", "").strip()
    county = access_worklist_county_by_code(actor, county_code) if county_code else None
    township = access_township_by_code(actor, township_code) if township_code else None
    try:
        per_page = int(data.get("per_page", DEFAULT_PER_PAGE))
    except (TypeError, ValueError):
        per_page = DEFAULT_PER_PAGE
    if per_page not in PER_PAGE_CHOICES:
        per_page = DEFAULT_PER_PAGE
    return WorklistQuery(
        filters=ItemFilters(
            category=category,
            state="" if state == ALL_STATES else state,
            county=county,
            township=township,
            period=period,
        ),
        category=category,
        state=state,
        county=county_code if county else "",
        township=township_code if township else "",
        period=period,
        per_page=per_page,
    )


# --- rows -------------------------------------------------------------------------------------


@dataclass
class ItemRow:
    item: ReconciliationItem
    persons: list[PersonRow]
    details: list[DetailRow]
    dibao_url: str = ""
    registry_url: str = ""
    dibao_numbers: list[str] = field(default_factory=list)
    registry_numbers: list[str] = field(default_factory=list)
    url: str = ""


def _numbers(listed: object, household: object) -> list[str]:
    numbers = [str(n) for n in listed] if isinstance(listed, list) else []
    if not numbers and household is not None:
        numbers = [household.number]
    return numbers


class _Links:
    """The links of item rows, built once per page: the household pages the actor may open
    (their areas against the actor's area paths, read once) and the item pages. ``reverse``
    runs once per URL name, not once per row."""

    def __init__(self, actor: object) -> None:
        self.dibao_paths = tuple(actor_area_paths(actor, perm=Perm.CASE_VIEW))
        self.registry_paths = tuple(actor_area_paths(actor, perm=Perm.REGISTRY_VIEW))
        self._dibao = id_url("cases:household_detail", "household_id")
        self._registry = id_url("poverty:registry_household_detail", "household_id")
        self._item = id_url("review:reconciliation_item", "item_id")

    def dibao(self, household: object) -> str:
        if household is None or not household.area.path.startswith(self.dibao_paths):
            return ""
        return self._dibao(household.pk)

    def registry(self, household: object) -> str:
        if household is None or not household.area.path.startswith(self.registry_paths):
            return ""
        return self._registry(household.pk)

    def item(self, item_id: int) -> str:
        return self._item(item_id)


def item_row(
    actor: object,
    item: ReconciliationItem,
    persons: dict[int, PersonRow],
    links: _Links | None = None,
) -> ItemRow:
    """What a page shows of an item: masked persons, details, links the actor may follow."""
    links = links or _Links(actor)
    dibao, registry = item.dibao_household, item.registry_household
    return ItemRow(
        item=item,
        persons=[persons[pk] for pk in item.person_ids or [] if pk in persons],
        details=detail_rows(item.details, persons),
        dibao_url=links.dibao(dibao),
        registry_url=links.registry(registry),
        dibao_numbers=_numbers(item.dibao_numbers, dibao),
        registry_numbers=_numbers(item.registry_numbers, registry),
        url=links.item(item.pk),
    )


# Rows of the worklist table, written with ``format_html`` (every value escaped): through the
# template engine fifty rows of eleven cells, with their persons and details, were half of the
# page's time (quality.md P8). The markup is that of the cells of ``item_detail.html``.
ROW = (
    '<tr id="item-{}">\n    <td>{}</td>\n    <td class="small">{}</td>\n    <td>{}</td>\n'
    "    <td>{}</td>\n    <td>{}</td>\n"
    '    <td class="small">{}</td>\n    <td>{}</td>\n'
    '    <td class="small text-nowrap">{}<div class="text-muted">{}</div></td>\n'
    '    <td class="small text-nowrap">{}<div class="text-muted">{}</div></td>\n'
    '    <td class="small"><span class="item-state">{}</span>{}</td>\n'
    '    <td><a class="btn btn-sm {} text-nowrap" href="{}">{}</a></td>\n  </tr>'
)
NO_TOWNSHIP = format_html('<span class="text-muted">{}</span>', "旗县统筹")
NO_HOUSEHOLD = format_html('<span class="text-muted">{}</span>', "—")
PERSON = '{} <span class="id-masked">{}</span>'


def _households_html(numbers: list[str], url: str) -> str:
    if not numbers:
        return NO_HOUSEHOLD
    html = format_html('<a href="{}">{}</a>', url, numbers[0]) if url else numbers[0]
    for number in numbers[1:]:
        html = format_html("{}<br>{}", html, number)
    return format_html("{}", html)


def _detail_html(detail: DetailRow) -> str:
    if detail.persons:
        value = format_html_join(
            "、", PERSON, ((p.name, p.id_number_masked) for p in detail.persons)
        )
    else:
        value = detail.text
    return format_html(
        '<div class="small"><span class="text-muted">{}：</span>{}</div>', detail.label, value
    )


def _options(areas: list, chosen: str) -> str:
    """The ``<option>`` list of an area menu (a region officer's has a thousand townships)."""
    return format_html_join(
        "",
        '<option value="{}"{}>{}</option>',
        ((area.code, " selected" if area.code == chosen else "", area.name) for area in areas),
    )


def _date(value: object) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


def worklist_rows_html(rows: list[ItemRow]) -> list[str]:
    html = []
    for row in rows:
        item = row.item
        first, last = item.first_run, item.last_run
        is_open = item.state == ItemState.OPEN
        resolved = ""
        if item.resolved_by is not None:
            at = timezone.localtime(item.resolved_at) if item.resolved_at else None
            resolved = format_html(
                '<div class="text-muted">{} {}</div>', str(item.resolved_by), _date(at)
            )
        html.append(
            format_html(
                ROW,
                item.pk,
                item.pk,
                CATEGORY_LABELS.get(item.category, item.category),
                item.township.name if item.township_id else NO_TOWNSHIP,
                _households_html(row.dibao_numbers, row.dibao_url),
                _households_html(row.registry_numbers, row.registry_url),
                format_html_join(
                    "",
                    '<div class="text-nowrap">' + PERSON + "</div>",
                    ((p.name, p.id_number_masked) for p in row.persons),
                ),
                format_html_join("", "{}", ((_detail_html(d),) for d in row.details)),
                first.period,
                _date(first.as_of),
                last.period,
                _date(last.as_of),
                STATE_LABELS.get(item.state, item.state),
                resolved,
                "btn-primary" if is_open else "btn-outline-secondary",
                row.url,
                "处理" if is_open else "查看",
            )
        )
    return html


# --- worklist ---------------------------------------------------------------------------------


@require_perm(Perm.RECONCILE_VIEW)
@require_GET
def worklist_view(request: HttpRequest) -> HttpResponse:
    actor = request.user
    query = worklist_query(actor, request.GET)
    counts = item_category_counts(actor=actor, filters=query.filters)
    page = keyset_page(
        request.GET,
        worklist_items(actor=actor, filters=query.filters),
        ordering=ITEM_ORDERING,
        per_page=query.per_page,
    )
    items = list(page.object_list)
    persons = page_persons(items)
    links = _Links(actor)
    townships = list(
        worklist_townships(actor=actor, county=query.filters.county).only("id", "code", "name")
    )
    counties = list(worklist_counties(actor=actor))
    runs = county_runs(
        counties=counties,
        run_ids={run_id for item in items for run_id in (item.first_run_id, item.last_run_id)},
    )
    attach_runs(items, runs)
    return render(
        request,
        "review/reconciliation/worklist.html",
        {
            "query": query,
            "page": page,
            "row_html": worklist_rows_html(
                [item_row(actor, item, persons, links) for item in items]
            ),
            "tabs": [
                (
                    category,
                    CATEGORY_LABELS[category],
                    counts[category],
                    query.querystring(category=category),
                )
                for category in TASK_CATEGORIES
            ],
            "all_tab_query": query.querystring(category=""),
            "tab_total": tab_total(counts),
            "states": [*ItemState.choices, (ALL_STATES, "全部")],
            "townships": townships,
            "township_options": _options(townships, query.township),
            "counties": counties if len(counties) > 1 else [],
            "county_options": _options(counties, query.county) if len(counties) > 1 else "",
            "periods": runs.periods,
            "per_page_choices": PER_PAGE_CHOICES,
            "can_export": actor_has_perm(actor, Perm.EXPORT_RUN),
            "can_reveal": actor_has_perm(actor, Perm.SENSITIVE_REVEAL),
            "show_summary": actor_works_on_counties(actor),
        },
    )


# --- one item ---------------------------------------------------------------------------------


@dataclass
class HandOff:
    kind: str
    label: str
    url: str
    hint: str


def _hand_offs(actor: object, item: ReconciliationItem, *, can_resolve: bool) -> list[HandOff]:
    """The action each category can start, where the actor may start it."""
    if item.state != ItemState.OPEN:
        return []
    dibao, registry = item.dibao_household, item.registry_household
    offs = []
    if (
        item.category == ReconciliationCategory.SHOULD_PROTECT
        and registry is not None
        and actor_covers_area(actor, registry.area, perm=Perm.CASE_APPLY)
    ):
        offs.append(
            HandOff(
                kind="apply",
                label="登记低保/特困申请",
                url=reverse("cases:application_new"),
                hint=(
                    f"为建档立卡户 {registry.number} 的成员登记申请（成员见上表），"
                    "登记后回到本页处理为“已纳入”或说明情况。"
                ),
            )
        )
    if (
        item.category == ReconciliationCategory.SHOULD_REGISTER
        and dibao is not None
        and can_resolve
        and actor_covers_area(actor, dibao.area, perm=Perm.REFERRAL_CREATE)
    ):
        offs.append(
            HandOff(
                kind="refer",
                label="移交扶贫部门（建议纳入建档立卡）",
                url=reverse("review:reconciliation_item_refer", kwargs={"item_id": item.pk}),
                hint=f"将保障户 {dibao.number} 建议纳入建档立卡，并把本问题处理为“已转办”。",
            )
        )
    if (
        item.category == ReconciliationCategory.SHOULD_EXIT_REVIEW
        and dibao is not None
        and actor_covers_area(actor, dibao.area, perm=Perm.CASE_VIEW)
    ):
        offs.append(
            HandOff(
                kind="review",
                label="复核该保障户（动态管理）",
                url=reverse("cases:household_manage", kwargs={"household_id": dibao.pk}),
                hint=f"对保障户 {dibao.number} 复核家庭状况，需要时办理变更或停保。",
            )
        )
    return offs


def _item_page(
    request: HttpRequest,
    item: ReconciliationItem,
    *,
    resolve_form: ResolveForm | None = None,
    reopen_form: NoteForm | None = None,
    refer_form: NoteForm | None = None,
    status: int = 200,
) -> HttpResponse:
    actor = request.user
    persons = persons_by_id(item_person_ids(item))
    can_resolve = actor_covers_area(actor, item_area(item), perm=Perm.RECONCILE_RESOLVE)
    return render(
        request,
        "review/reconciliation/item_detail.html",
        {
            "row": item_row(actor, item, persons),
            "item": item,
            "events": item_events(item),
            "can_resolve": can_resolve and item.state == ItemState.OPEN,
            "can_reopen": can_resolve and item.state in RESOLUTION_STATES,
            "resolve_form": resolve_form or ResolveForm(),
            "reopen_form": reopen_form or NoteForm(prefix="reopen"),
            "refer_form": refer_form or NoteForm(prefix="refer"),
            "hand_offs": _hand_offs(actor, item, can_resolve=can_resolve),
            "show_summary": actor_works_on_counties(actor),
        },
        status=status,
    )


@require_perm(Perm.RECONCILE_VIEW)
@require_GET
def item_detail_view(request: HttpRequest, item_id: int) -> HttpResponse:
    return _item_page(request, access_item_by_id(request.user, item_id))


def _refused(request: HttpRequest, exc: DomainError, form: forms.Form) -> int:
    """404/403 as such; anything else as a message and field errors, with its status."""
    if exc.status == 404:
        raise Http404(exc.message)
    if exc.status == 403:
        raise PermissionDenied(exc.message)
    for name, problems in exc.fields.items():
        if name in form.fields:
            for problem in problems if isinstance(problems, list) else [problems]:
                form.add_error(name, str(problem))
    messages.error(request, exc.message)
    return exc.status


@require_perm(Perm.RECONCILE_RESOLVE)
@require_POST
def item_resolve_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_item_by_id(request.user, item_id, related=False)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        messages.error(request, "请选择处理结果并填写处理说明")
        return _item_page(request, item, resolve_form=form, status=400)
    try:
        item = reconciliation_item_resolve(
            actor=request.user,
            item_id=item.pk,
            state=form.cleaned_data["state"],
            note=form.cleaned_data["note"],
        )
    except DomainError as exc:
        status = _refused(request, exc, form)
        return _item_page(
            request, access_item_by_id(request.user, item_id), resolve_form=form, status=status
        )
    messages.success(request, f"已处理：{item.get_state_display()}。")
    return redirect("review:reconciliation_item", item_id=item.pk)


@require_perm(Perm.RECONCILE_RESOLVE)
@require_POST
def item_reopen_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_item_by_id(request.user, item_id, related=False)
    form = NoteForm(request.POST, prefix="reopen")
    if not form.is_valid():
        messages.error(request, "请填写重新打开的原因")
        return _item_page(request, item, reopen_form=form, status=400)
    try:
        item = reconciliation_item_reopen(
            actor=request.user, item_id=item.pk, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        status = _refused(request, exc, form)
        return _item_page(
            request, access_item_by_id(request.user, item_id), reopen_form=form, status=status
        )
    messages.success(request, "已重新打开，问题回到待处理。")
    return redirect("review:reconciliation_item", item_id=item.pk)


@require_perm(Perm.RECONCILE_RESOLVE)
@require_POST
def item_refer_view(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_item_by_id(request.user, item_id, related=False)
    form = NoteForm(request.POST, prefix="refer")
    if not form.is_valid():
        messages.error(request, "请填写移交原因")
        return _item_page(request, item, refer_form=form, status=400)
    try:
        item, referral = reconciliation_item_refer(
            actor=request.user, item_id=item.pk, note=form.cleaned_data["note"]
        )
    except DomainError as exc:
        status = _refused(request, exc, form)
        return _item_page(
            request, access_item_by_id(request.user, item_id), refer_form=form, status=status
        )
    messages.success(
        request,
        f"已移交扶贫部门（{referral.get_status_display()}），问题已处理为“已转办”。",
    )
    return redirect("review:reconciliation_item", item_id=item.pk)


# --- export -----------------------------------------------------------------------------------


def _back_url(request: HttpRequest) -> str:
    """Where an export error sends the user: the page they came from, if it is ours."""
    referer = request.META.get("HTTP_REFERER", "")
    if referer and url_has_allowed_host_and_scheme(
        referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return referer
    return reverse("review:reconciliation_worklist")


@require_perm(Perm.EXPORT_RUN)
@require_http_methods(["GET", "POST"])
def item_export_view(request: HttpRequest) -> HttpResponse:
    """``GET``: the masked file. ``POST`` with a reason: full ID numbers (SENSITIVE_REVEAL,
    audited). The filters are those of the worklist; ``category`` is required."""
    actor = request.user
    if not actor_has_perm(actor, Perm.RECONCILE_VIEW):
        raise PermissionDenied("没有查看台账比对的权限")
    data = request.POST if request.method == "POST" else request.GET
    query = worklist_query(actor, data, default_state=ALL_STATES)
    back = _back_url(request)
    reason = ""
    if request.method == "POST":
        reason = data.get("reason", "").strip()
        if not reason:
            messages.error(request, "导出完整身份证号须填写导出原因")
            return redirect(back)
    if not query.category:
        messages.error(request, "请选择要导出的问题类别")
        return redirect(back)
    # Spooled: small files stay in memory, big ones go to disk; the response closes the file.
    stream = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    try:
        export = export_items_xlsx(
            actor=actor, filters=query.filters, stream=stream, reveal_reason=reason
        )
    except DomainError as exc:
        stream.close()
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        messages.error(request, exc.message)
        return redirect(back)
    stream.seek(0)
    return FileResponse(
        stream, as_attachment=True, filename=export.filename, content_type=XLSX_CONTENT_TYPE
    )


urlpatterns = [
    path("reconciliation/worklist/", worklist_view, name="reconciliation_worklist"),
    path("reconciliation/worklist/export.xlsx", item_export_view, name="reconciliation_export"),
    path("reconciliation/items/<int:item_id>/", item_detail_view, name="reconciliation_item"),
    path(
        "reconciliation/items/<int:item_id>/resolve/",
        item_resolve_view,
        name="reconciliation_item_resolve",
    ),
    path(
        "reconciliation/items/<int:item_id>/reopen/",
        item_reopen_view,
        name="reconciliation_item_reopen",
    ),
    path(
        "reconciliation/items/<int:item_id>/refer/",
        item_refer_view,
        name="reconciliation_item_refer",
    ),
]
