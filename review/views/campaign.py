"""Pages of the annual review campaign (年度复核).

Thin views: a form validates input, one service does the work, a ``DomainError`` is shown as a
message (never a traceback), then the page is shown again (POST → redirect → GET). Capabilities
answer 403 (``require_perm``), objects outside the user's areas 404 (``access_*``). ID numbers are
shown masked only. Signing asks for the password again (re-authentication).
"""

from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.selectors import household_queryset
from lowbao.accounts.forms import ReauthenticationForm
from lowbao.areas.decorators import require_perm
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm, Role
from lowbao.areas.scoping import actor_covers_area, actor_has_perm, scope_to_actor
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.core.paging import keyset_page, per_page_from
from poverty.choices import VerificationItem
from poverty.services.verification import household_verification_status
from review.documents import XLSX_CONTENT_TYPE, signed_list_pdf, signed_list_xlsx
from review.models import (
    CampaignStatus,
    FindingResult,
    ItemOutcome,
    ListStatus,
    SpotCheckStatus,
)
from review.services.campaign import (
    BULK_LABELS,
    BULK_OUTCOMES,
    BULK_PERMS,
    BulkAction,
    campaign_open,
    is_overdue,
    outcomes_for,
    review_item_decide,
    review_item_means_test,
    review_item_propose,
    review_item_request_verification,
    review_item_visit,
    review_items_bulk_plan,
    review_items_decide_bulk,
    review_items_propose_bulk,
    review_period_for,
)
from review.services.campaign_selectors import (
    ITEM_FILTERS,
    access_campaign_by_id,
    access_item_by_id,
    access_list_by_id,
    access_snapshot_by_id,
    access_spot_check_by_id,
    campaign_history,
    campaign_queryset,
    current_confirmations,
    current_county_signature,
    current_list_signature,
    filing_queryset,
    leagues_for_spot_check,
    list_items,
    list_queryset,
    returned_findings,
    screening_findings,
    signature_of_snapshot,
    spot_check_queryset,
    spot_check_rows,
)
from review.services.campaign_signoff import (
    STAGES,
    acting_roles,
    campaign_file,
    campaign_joint_confirm,
    item_heads,
    list_progress,
    registry_dibao_content,
    review_list_confirm,
    review_list_sign,
    review_reopen,
)
from review.services.campaign_spotcheck import (
    spot_check_draw,
    spot_check_record_finding,
    spot_check_return,
)

PAGE_SIZE = 50
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class _Form(forms.Form):
    """Bootstrap classes on every widget; element ids carry a prefix per form."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select form-select-sm")
            else:
                widget.attrs.setdefault("class", "form-control form-control-sm")


class OpenForm(_Form):
    county = forms.ChoiceField(label="旗县")
    year = forms.IntegerField(label="复核年度", min_value=2016, max_value=2100)


class VisitForm(_Form):
    visited_on = forms.DateField(label="走访日期", widget=_DATE, initial=timezone.localdate)
    visitors = forms.CharField(label="走访人员（多人用逗号分隔）", max_length=200, required=False)
    findings = forms.CharField(
        label="走访情况", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    change_found = forms.BooleanField(label="发现家庭人口、收入或财产变化", required=False)


class VerifyForm(_Form):
    authorisation_reference = forms.CharField(
        label="核对授权书编号或说明", max_length=200, required=False
    )
    items = forms.MultipleChoiceField(
        label="核对项目（不选则为政策规定的必核项目）",
        choices=VerificationItem.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


class EmptyForm(_Form):
    pass


class ProposeForm(_Form):
    outcome = forms.ChoiceField(label="建议结果")
    note = forms.CharField(label="说明", widget=forms.Textarea(attrs={"rows": 2}), required=False)


class DecideForm(_Form):
    outcome = forms.ChoiceField(label="复核结果")
    new_amount = forms.DecimalField(
        label="调整后月保障金额（元，调整金额时填写）",
        required=False,
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
    )
    reasons = forms.CharField(
        label="理由（调整、渐退、停发、移交须填写）",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


class BulkForm(_Form):
    """The outcome and note of a bulk request; the items come as ``items`` (checkboxes)."""

    outcome = forms.ChoiceField(
        label="结果", choices=[(value, ItemOutcome(value).label) for value in BULK_OUTCOMES]
    )
    note = forms.CharField(label="说明（可不填）", max_length=2000, required=False)


class SignForm(ReauthenticationForm):
    """Signing asks again who is at the keyboard: the password, and the 动态口令 when the signer
    has a device or sign-offs require one (``lowbao.accounts.reauth``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["reauth_password"].required = False  # the service says what is missing


class ReasonForm(_Form):
    reason = forms.CharField(
        label="重新打开原因", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class DrawForm(_Form):
    league = forms.ChoiceField(label="盟市")
    year = forms.IntegerField(label="复核年度", min_value=2016, max_value=2100)
    sample_size = forms.IntegerField(label="抽查户数", min_value=1, max_value=2000)
    seed = forms.CharField(label="随机种子（不填则自动生成并记录）", max_length=40, required=False)


class FindingForm(_Form):
    item = forms.IntegerField(widget=forms.HiddenInput)
    result = forms.ChoiceField(label="抽查结果", choices=FindingResult.choices)
    note = forms.CharField(label="说明", max_length=2000, required=False)


class ReturnForm(_Form):
    summary = forms.CharField(
        label="抽查结论", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    context["perms_spot_check"] = actor_has_perm(request.user, Perm.REVIEW_SPOT_CHECK)
    return render(request, f"review/campaign/{template}", context)


def _fail(request: HttpRequest, error: DomainError) -> None:
    messages.error(request, error.message)


def _first_error(form: forms.Form) -> str:
    for problems in form.errors.values():
        return str(problems[0])
    return "输入有误"


# --- campaigns -----------------------------------------------------------------------------------


def _county_choices(actor: object) -> list[tuple[str, str]]:
    counties = scope_to_actor(
        Area.objects.filter(level=AreaLevel.COUNTY),
        actor=actor,
        perm=Perm.REVIEW_MANAGE,
        area_field=None,
    )
    return [(area.code, area.name) for area in counties.order_by("code")]


@require_perm(Perm.REVIEW_VIEW)
def campaign_list(request: HttpRequest) -> HttpResponse:
    campaigns = campaign_queryset(actor=request.user).order_by("-year", "county__code")
    page = Paginator(campaigns, PAGE_SIZE).get_page(request.GET.get("page"))
    can_open = actor_has_perm(request.user, Perm.REVIEW_MANAGE)
    today = timezone.localdate()
    form = None
    if can_open:
        form = OpenForm(initial={"year": today.year if today.month >= 10 else today.year - 1})
        form.fields["county"].choices = _county_choices(request.user)
    return _render(
        request,
        "campaign_list.html",
        {"page": page, "form": form, "filings_visible": True},
    )


@require_perm(Perm.REVIEW_MANAGE)
@require_POST
def campaign_open_view(request: HttpRequest) -> HttpResponse:
    form = OpenForm(request.POST)
    form.fields["county"].choices = _county_choices(request.user)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("campaign:campaign_list")
    county = Area.objects.get(code=form.cleaned_data["county"])
    try:
        campaign = campaign_open(actor=request.user, county=county, year=form.cleaned_data["year"])
    except DomainError as error:
        _fail(request, error)
        return redirect("campaign:campaign_list")
    messages.success(
        request,
        f"已发起{county.name} {campaign.year} 年度复核：{campaign.lists.count()} 个苏木乡镇、"
        f"{campaign.items.count()} 户，{campaign.due_on:%Y年%m月%d日}前完成。",
    )
    return redirect("campaign:campaign_detail", campaign.pk)


@require_perm(Perm.REVIEW_VIEW)
def campaign_detail(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = access_campaign_by_id(request.user, campaign_id)
    lists = list_progress(list_queryset(actor=request.user, campaign=campaign))
    signatures, reopenings, filings = campaign_history(campaign)
    visible = {row.review_list.pk for row in lists}
    sees_county = actor_covers_area(request.user, campaign.county, perm=Perm.REVIEW_VIEW)
    signatures = [s for s in signatures if s.review_list_id in visible or sees_county]
    reopenings = [r for r in reopenings if r.review_list_id in visible or sees_county]
    filings = filings if sees_county else []
    confirmations = {c.role: c for c in current_confirmations(campaign)}
    county_signature = current_county_signature(campaign) if sees_county else None
    user = request.user
    joint_roles = acting_roles(user, STAGES["joint_confirm"], campaign.county)
    registry_list = registry_dibao_content(campaign) if sees_county else None
    can_manage = actor_covers_area(user, campaign.county, perm=Perm.REVIEW_MANAGE)
    findings = list(returned_findings(actor=user).filter(item__campaign=campaign))
    return _render(
        request,
        "campaign_detail.html",
        {
            "campaign": campaign,
            "lists": lists,
            "totals": {
                "total": sum(row.total for row in lists),
                "decided": sum(row.decided for row in lists),
                "overdue": sum(row.overdue for row in lists),
            },
            "confirmations": [
                (Role(role).label, confirmations.get(role))
                for role in STAGES["joint_confirm"].roles
            ],
            "joint_roles": [
                (role, Role(role).label) for role in joint_roles if role not in confirmations
            ]
            if campaign.status == CampaignStatus.LISTS_CONFIRMED
            else [],
            "registry_list": registry_list,
            "county_signature": county_signature,
            "can_county_sign": bool(
                acting_roles(user, STAGES["county_sign"], campaign.county)
                and campaign.status == CampaignStatus.JOINTLY_CONFIRMED
                and county_signature is None
            ),
            "sign_form": SignForm(auto_id="county-sign-%s"),
            "can_manage": can_manage,
            "can_file": can_manage and campaign.status == CampaignStatus.SIGNED,
            "can_reopen_county": can_manage
            and campaign.status
            in (CampaignStatus.JOINTLY_CONFIRMED, CampaignStatus.SIGNED, CampaignStatus.FILED),
            "reopen_form": ReasonForm(auto_id="county-reopen-%s"),
            "signatures": signatures,
            "reopenings": reopenings,
            "filings": filings,
            "spot_findings": findings,
            "period": review_period_for(county=campaign.county, year=campaign.year),
        },
    )


@require_perm(Perm.REVIEW_VIEW)
@require_POST
def joint_confirm_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = access_campaign_by_id(request.user, campaign_id)
    try:
        campaign_joint_confirm(
            actor=request.user,
            campaign_id=campaign.pk,
            role=request.POST.get("role") or None,
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, "已确认纳入建档立卡的低保对象名单。")
    return redirect("campaign:campaign_detail", campaign.pk)


def _sign(request: HttpRequest, campaign_id: int, list_id: int | None) -> DomainError | None:
    form = SignForm(request.POST)
    form.is_valid()
    try:
        review_list_sign(
            actor=request.user,
            campaign_id=campaign_id,
            list_id=list_id,
            **form.reauth_credentials(),
            request=request,
        )
    except DomainError as error:
        return error
    return None


@require_perm(Perm.REVIEW_VIEW)
@require_POST
def county_sign_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = access_campaign_by_id(request.user, campaign_id)
    error = _sign(request, campaign.pk, None)
    if error is not None:
        _fail(request, error)
    else:
        messages.success(request, "已签字确认旗县复核名单，名单已冻结。")
    return redirect("campaign:campaign_detail", campaign.pk)


@require_perm(Perm.REVIEW_MANAGE)
@require_POST
def reopen_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = access_campaign_by_id(request.user, campaign_id)
    raw = request.POST.get("list", "")
    list_id = int(raw) if raw.isdigit() else None
    try:
        review_reopen(
            actor=request.user,
            campaign_id=campaign.pk,
            reason=request.POST.get("reason", ""),
            list_id=list_id,
        )
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, "已重新打开，须重新确认并签字。")
    if list_id is not None:
        return redirect("campaign:list_detail", list_id)
    return redirect("campaign:campaign_detail", campaign.pk)


@require_perm(Perm.REVIEW_MANAGE)
@require_POST
def file_view(request: HttpRequest, campaign_id: int) -> HttpResponse:
    campaign = access_campaign_by_id(request.user, campaign_id)
    try:
        filing = campaign_file(
            actor=request.user, campaign_id=campaign.pk, note=request.POST.get("note", "")
        )
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, f"已报{filing.league.name}备案。")
    return redirect("campaign:campaign_detail", campaign.pk)


# --- township lists ------------------------------------------------------------------------------


@require_perm(Perm.REVIEW_VIEW)
def list_detail(request: HttpRequest, list_id: int) -> HttpResponse:
    review_list = access_list_by_id(request.user, list_id)
    campaign = review_list.campaign
    show = request.GET.get("show", "")
    show = show if show in ITEM_FILTERS else ""
    today = timezone.localdate()
    items = list_items(actor=request.user, review_list=review_list, show=show, today=today)
    page = keyset_page(
        request.GET,
        items.annotate(area_code=F("area__code")),
        ordering=("area_code", "id"),
        per_page=per_page_from(request.GET, PAGE_SIZE),
    )
    rows = list(page.object_list)
    heads = item_heads(items.filter(pk__in=[item.pk for item in rows]))
    screening = screening_findings(campaign=campaign, items=rows)
    progress = list_progress(campaign.lists.filter(pk=review_list.pk), today=today)[0]
    user = request.user
    signature = current_list_signature(review_list)
    bulk = _bulk_panel(user, review_list, rows, show=show, today=today)
    return _render(
        request,
        "list_detail.html",
        {
            "review_list": review_list,
            "campaign": campaign,
            "page": page,
            "rows": [
                {
                    "item": item,
                    "head": heads.get(item.pk, ("", "", 0)),
                    "screening": screening.get(item.pk, []),
                    "overdue": is_overdue(item, today=today),
                }
                for item in rows
            ],
            "show": show,
            "filters": ITEM_FILTERS.items(),
            "progress": progress,
            "signature": signature,
            "can_confirm": review_list.status == ListStatus.OPEN
            and campaign.status == CampaignStatus.OPEN
            and bool(acting_roles(user, STAGES["township_confirm"], review_list.township)),
            "can_sign": review_list.status == ListStatus.CONFIRMED
            and campaign.status == CampaignStatus.JOINTLY_CONFIRMED
            and bool(acting_roles(user, STAGES["township_sign"], review_list.township)),
            "sign_form": SignForm(auto_id="list-sign-%s"),
            "can_reopen": review_list.status != ListStatus.OPEN
            and actor_covers_area(user, campaign.county, perm=Perm.REVIEW_MANAGE),
            "reopen_form": ReasonForm(auto_id="list-reopen-%s"),
            "bulk": bulk,
        },
    )


# --- bulk proposal and decision ------------------------------------------------------------------

_BULK_RUN = {
    BulkAction.DECIDE: review_items_decide_bulk,
    BulkAction.PROPOSE: review_items_propose_bulk,
}
_BULK_URL = {
    BulkAction.DECIDE: "campaign:list_bulk_decide",
    BulkAction.PROPOSE: "campaign:list_bulk_propose",
}
_BULK_DONE = {BulkAction.DECIDE: "作出复核结果", BulkAction.PROPOSE: "提出复核建议"}
_BULK_SHORT = {BulkAction.DECIDE: "批量决定", BulkAction.PROPOSE: "批量提出建议"}
_MAX_ID = 2**63 - 1


def _bulk_action(actor: object, review_list: Any) -> BulkAction | None:
    """The bulk work the actor does on this open list: the county decides, the township
    proposes."""
    if review_list.status != ListStatus.OPEN:
        return None
    for action in (BulkAction.DECIDE, BulkAction.PROPOSE):
        if actor_covers_area(actor, review_list.township, perm=BULK_PERMS[action]):
            return action
    return None


def _bulk_panel(
    actor: object, review_list: Any, rows: list[Any], *, show: str, today: date
) -> dict[str, Any] | None:
    """The bulk form of the list page and the page's items it may take (the ``ready`` ones);
    one plan for the whole page, so the queries do not grow with the rows."""
    action = _bulk_action(actor, review_list)
    if action is None:
        return None
    ready: set[int] = set()
    if rows:
        try:
            plan = review_items_bulk_plan(
                actor=actor,
                action=action,
                list_id=review_list.pk,
                item_ids=[item.pk for item in rows],
                today=today,
            )
        except DomainError:
            return None
        ready = {item.pk for item in plan.ready}
    return {
        "action": action.value,
        "label": BULK_LABELS[action],
        "short": _BULK_SHORT[action],
        "url": _BULK_URL[action],
        "form": BulkForm(auto_id="bulk-%s"),
        "ready": ready,
        "show": show,
    }


def _list_url(review_list_id: int, show: str) -> str:
    url = reverse("campaign:list_detail", args=[review_list_id])
    return f"{url}?show={show}" if show and show in ITEM_FILTERS else url


def _item_ids(values: list[str]) -> list[int] | None:
    if not all(
        value.isascii() and value.isdigit() and len(value) <= 19 and 0 < int(value) <= _MAX_ID
        for value in values
    ):
        return None
    return [int(value) for value in values]


def _bulk(request: HttpRequest, list_id: int, action: BulkAction) -> HttpResponse:
    """POST without ``confirmed``: the confirmation page (how many households, which ones, and
    any that cannot be done); POST with ``confirmed=1``: the service, all or nothing."""
    review_list = access_list_by_id(request.user, list_id)
    show = request.POST.get("show", "")
    back = redirect(_list_url(review_list.pk, show))
    form = BulkForm(request.POST, auto_id="bulk-%s")
    item_ids = _item_ids(request.POST.getlist("items"))
    if not form.is_valid():
        messages.error(request, f"{BULK_LABELS[action]}：{_first_error(form)}")
        return back
    if item_ids is None:
        messages.error(request, f"{BULK_LABELS[action]}：所选复核对象无效")
        return back
    outcome, note = form.cleaned_data["outcome"], form.cleaned_data["note"]
    if request.POST.get("confirmed") != "1":
        try:
            plan = review_items_bulk_plan(
                actor=request.user,
                action=action,
                list_id=review_list.pk,
                item_ids=item_ids,
                outcome=outcome,
                note=note,
            )
        except DomainError as error:
            _fail(request, error)
            return back
        heads = item_heads(review_list.items.filter(pk__in=[item.pk for item in plan.ready]))
        return _render(
            request,
            "list_bulk_confirm.html",
            {
                "review_list": review_list,
                "campaign": review_list.campaign,
                "plan": plan,
                "ready_rows": [(item, heads.get(item.pk, ("", "", 0))) for item in plan.ready],
                "label": BULK_LABELS[action],
                "done_label": _BULK_DONE[action],
                "outcome": outcome,
                "outcome_label": ItemOutcome(outcome).label,
                "note": note,
                "url": _BULK_URL[action],
                "show": show if show in ITEM_FILTERS else "",
                "back": _list_url(review_list.pk, show),
            },
        )
    try:
        result = _BULK_RUN[action](
            actor=request.user,
            list_id=review_list.pk,
            item_ids=item_ids,
            outcome=outcome,
            note=note,
        )
    except DomainError as error:
        _fail(request, error)
        return back
    label = ItemOutcome(outcome).label
    if result.changed:
        messages.success(request, f"已对 {len(result.changed)} 户{_BULK_DONE[action]}“{label}”。")
    if result.done:
        numbers = "、".join(item.household_number for item in result.done[:20])
        more = f"等 {len(result.done)} 户" if len(result.done) > 20 else ""
        messages.info(
            request,
            f"{len(result.done)} 户已处理（此前已{_BULK_DONE[action]}“{label}”），"
            f"未重复办理：{numbers}{more}",
        )
    return back


@require_perm(Perm.CHANGE_DECIDE)
@require_POST
def list_bulk_decide(request: HttpRequest, list_id: int) -> HttpResponse:
    return _bulk(request, list_id, BulkAction.DECIDE)


@require_perm(Perm.CHANGE_REPORT)
@require_POST
def list_bulk_propose(request: HttpRequest, list_id: int) -> HttpResponse:
    return _bulk(request, list_id, BulkAction.PROPOSE)


@require_perm(Perm.REVIEW_VIEW)
@require_POST
def list_confirm_view(request: HttpRequest, list_id: int) -> HttpResponse:
    review_list = access_list_by_id(request.user, list_id)
    try:
        review_list_confirm(
            actor=request.user,
            campaign_id=review_list.campaign_id,
            list_id=review_list.pk,
            note=request.POST.get("note", ""),
        )
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, f"已确认{review_list.township.name}复核名单。")
    return redirect("campaign:list_detail", review_list.pk)


@require_perm(Perm.REVIEW_VIEW)
@require_POST
def list_sign_view(request: HttpRequest, list_id: int) -> HttpResponse:
    review_list = access_list_by_id(request.user, list_id)
    error = _sign(request, review_list.campaign_id, review_list.pk)
    if error is not None:
        _fail(request, error)
    else:
        messages.success(request, f"已签字确认{review_list.township.name}复核名单，名单已冻结。")
    return redirect("campaign:list_detail", review_list.pk)


# --- items ---------------------------------------------------------------------------------------

ItemRun = Callable[[HttpRequest, Any, forms.Form], object]


def _visit(request: HttpRequest, item: Any, form: VisitForm) -> object:
    data = form.cleaned_data
    return review_item_visit(
        actor=request.user,
        item_id=item.pk,
        visited_on=data["visited_on"],
        visitors=data["visitors"].replace("，", ",").replace("、", ",").split(","),
        findings=data["findings"],
        change_found=data["change_found"],
    )


def _verify(request: HttpRequest, item: Any, form: VerifyForm) -> object:
    data = form.cleaned_data
    return review_item_request_verification(
        actor=request.user,
        item_id=item.pk,
        authorisation_reference=data["authorisation_reference"],
        items=data["items"] or None,
    )


def _means_test(request: HttpRequest, item: Any, form: EmptyForm) -> object:
    return review_item_means_test(actor=request.user, item_id=item.pk)


def _propose(request: HttpRequest, item: Any, form: ProposeForm) -> object:
    data = form.cleaned_data
    return review_item_propose(
        actor=request.user, item_id=item.pk, outcome=data["outcome"], note=data["note"]
    )


def _decide(request: HttpRequest, item: Any, form: DecideForm) -> object:
    data = form.cleaned_data
    return review_item_decide(
        actor=request.user,
        item_id=item.pk,
        outcome=data["outcome"],
        reasons=data["reasons"],
        new_amount=data["new_amount"],
    )


# name → (label, capability shown to, form, run, success message, dibao only)
_ITEM_ACTIONS: dict[str, tuple[str, str, type[forms.Form], ItemRun, str, bool]] = {
    "visit": ("登记入户走访", Perm.CHANGE_REPORT, VisitForm, _visit, "已登记走访。", False),
    "verify": (
        "申请家庭经济状况核对",
        Perm.VERIFICATION_REQUEST,
        VerifyForm,
        _verify,
        "已申请核对。",
        True,
    ),
    "means_test": (
        "按现行标准重新核算",
        Perm.CHANGE_REPORT,
        EmptyForm,
        _means_test,
        "已重新核算。",
        True,
    ),
    "propose": ("提出复核建议", Perm.CHANGE_REPORT, ProposeForm, _propose, "已提出建议。", False),
    "decide": ("作出复核结果", Perm.CHANGE_DECIDE, DecideForm, _decide, "已作出复核结果。", False),
}


def _item_form(name: str, item: Any, data: Any = None) -> forms.Form:
    form = _ITEM_ACTIONS[name][2](data, auto_id=f"{name}-%s")
    if "outcome" in form.fields:
        form.fields["outcome"].choices = [("", "—"), *outcomes_for(item)]
        if name == "decide" and item.proposed_outcome:
            form.initial.setdefault("outcome", item.proposed_outcome)
    return form


@require_perm(Perm.REVIEW_VIEW)
def item_detail(request: HttpRequest, item_id: int) -> HttpResponse:
    item = access_item_by_id(request.user, item_id)
    campaign = item.campaign
    user = request.user
    panels = []
    if item.review_list.status == ListStatus.OPEN:
        for name, (label, perm, _form, _run, _ok, dibao_only) in _ITEM_ACTIONS.items():
            if dibao_only and item.dibao_household_id is None:
                continue
            if actor_covers_area(user, item.area, perm=perm):
                panels.append((name, label, _item_form(name, item)))
    verification = None
    household = None
    if item.dibao_household_id is not None:
        household = household_queryset(actor=user).filter(pk=item.dibao_household_id).first()
        if household is not None:
            try:
                verification = household_verification_status(
                    household=household, on=timezone.localdate()
                )
            except DomainError as error:
                messages.warning(request, error.message)
    heads = item_heads(type(item).objects.filter(pk=item.pk))
    return _render(
        request,
        "item_detail.html",
        {
            "item": item,
            "campaign": campaign,
            "household": household,
            "head": heads.get(item.pk, ("", "", 0)),
            "panels": panels,
            "verification": verification,
            "screening": screening_findings(campaign=campaign, items=[item]).get(item.pk, []),
            "proposal": (item.means_test or {}).get("proposal", {}),
            "overdue": is_overdue(item),
            "outcome_labels": dict(ItemOutcome.choices),
        },
    )


@require_perm(Perm.REVIEW_VIEW)
@require_POST
def item_act(request: HttpRequest, item_id: int, action: str) -> HttpResponse:
    item = access_item_by_id(request.user, item_id)
    if action not in _ITEM_ACTIONS:
        raise Http404("未知操作")
    label, _perm, _form, run, success, _dibao = _ITEM_ACTIONS[action]
    form = _item_form(action, item, request.POST)
    if not form.is_valid():
        messages.error(request, f"{label}：{_first_error(form)}")
        return redirect("campaign:item_detail", item.pk)
    try:
        run(request, item, form)
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, success)
    return redirect("campaign:item_detail", item.pk)


# --- signed lists and documents ----------------------------------------------------------------


@require_perm(Perm.REVIEW_VIEW)
def snapshot_detail(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    snapshot = access_snapshot_by_id(request.user, snapshot_id)
    signature = signature_of_snapshot(snapshot)
    return _render(
        request,
        "snapshot_detail.html",
        {
            "snapshot": snapshot,
            "signature": signature,
            "role_label": Role(signature.role).label if signature else "",
        },
    )


def _document(request: HttpRequest, snapshot_id: int, kind: str) -> HttpResponse:
    snapshot = access_snapshot_by_id(request.user, snapshot_id)
    signature = signature_of_snapshot(snapshot)
    name = f"review-{snapshot.campaign.year}-{snapshot.pk}-{snapshot.content_sha256[:8]}"
    try:
        if kind == "pdf":
            response = HttpResponse(
                signed_list_pdf(snapshot, signature), content_type="application/pdf"
            )
        else:
            response = HttpResponse(content_type=XLSX_CONTENT_TYPE)
            signed_list_xlsx(snapshot, signature, response)
    except DomainError as error:
        _fail(request, error)
        return redirect("campaign:snapshot_detail", snapshot.pk)
    response["Content-Disposition"] = f'attachment; filename="{name}.{kind}"'
    record(
        actor=request.user,
        action="export.review_list",
        obj=snapshot,
        area=snapshot.campaign.county,
        request=request,
        changes={"format": kind, "rows": snapshot.row_count, "sha256": snapshot.content_sha256},
    )
    return response


@require_perm(Perm.EXPORT_RUN)
def snapshot_pdf(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    return _document(request, snapshot_id, "pdf")


@require_perm(Perm.EXPORT_RUN)
def snapshot_xlsx(request: HttpRequest, snapshot_id: int) -> HttpResponse:
    return _document(request, snapshot_id, "xlsx")


@require_perm(Perm.REVIEW_VIEW)
def filing_list(request: HttpRequest) -> HttpResponse:
    """Filed lists with their hashes, read-only (the league/city's view; counties see theirs)."""
    filings = filing_queryset(actor=request.user)
    page = Paginator(filings, PAGE_SIZE).get_page(request.GET.get("page"))
    return _render(request, "filing_list.html", {"page": page})


# --- spot checks ---------------------------------------------------------------------------------


@require_perm(Perm.REVIEW_SPOT_CHECK)
def spot_check_list(request: HttpRequest) -> HttpResponse:
    form = DrawForm(initial={"year": timezone.localdate().year, "sample_size": 20})
    form.fields["league"].choices = [
        (area.code, area.name) for area in leagues_for_spot_check(actor=request.user)
    ]
    checks = Paginator(spot_check_queryset(actor=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return _render(request, "spot_check_list.html", {"form": form, "page": checks})


@require_perm(Perm.REVIEW_SPOT_CHECK)
@require_POST
def spot_check_draw_view(request: HttpRequest) -> HttpResponse:
    form = DrawForm(request.POST)
    form.fields["league"].choices = [
        (area.code, area.name) for area in leagues_for_spot_check(actor=request.user)
    ]
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("campaign:spot_check_list")
    data = form.cleaned_data
    try:
        check = spot_check_draw(
            actor=request.user,
            league=Area.objects.get(code=data["league"]),
            year=data["year"],
            sample_size=data["sample_size"],
            seed=data["seed"],
        )
    except DomainError as error:
        _fail(request, error)
        return redirect("campaign:spot_check_list")
    messages.success(
        request,
        f"已抽取 {check.sample_size} 户（共 {check.population_size} 户，种子 {check.seed}）。",
    )
    return redirect("campaign:spot_check_detail", check.pk)


@require_perm(Perm.REVIEW_SPOT_CHECK)
def spot_check_detail(request: HttpRequest, spot_check_id: int) -> HttpResponse:
    check = access_spot_check_by_id(request.user, spot_check_id)
    return _render(
        request,
        "spot_check_detail.html",
        {
            "check": check,
            "rows": spot_check_rows(check),
            "results": FindingResult.choices,
            "return_form": ReturnForm(auto_id="return-%s"),
            "is_open": check.status == SpotCheckStatus.DRAWN,
        },
    )


@require_perm(Perm.REVIEW_SPOT_CHECK)
@require_POST
def spot_check_finding_view(request: HttpRequest, spot_check_id: int) -> HttpResponse:
    check = access_spot_check_by_id(request.user, spot_check_id)
    form = FindingForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
        return redirect("campaign:spot_check_detail", check.pk)
    try:
        spot_check_record_finding(
            actor=request.user,
            spot_check_id=check.pk,
            item_id=form.cleaned_data["item"],
            result=form.cleaned_data["result"],
            note=form.cleaned_data["note"],
        )
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, "已记录抽查结果。")
    return redirect("campaign:spot_check_detail", check.pk)


@require_perm(Perm.REVIEW_SPOT_CHECK)
@require_POST
def spot_check_return_view(request: HttpRequest, spot_check_id: int) -> HttpResponse:
    check = access_spot_check_by_id(request.user, spot_check_id)
    try:
        spot_check_return(
            actor=request.user, spot_check_id=check.pk, summary=request.POST.get("summary", "")
        )
    except DomainError as error:
        _fail(request, error)
    else:
        messages.success(request, "已将抽查结果反馈旗县。")
    return redirect("campaign:spot_check_detail", check.pk)


urlpatterns = [
    path("", campaign_list, name="campaign_list"),
    path("open/", campaign_open_view, name="campaign_open"),
    path("<int:campaign_id>/", campaign_detail, name="campaign_detail"),
    path("<int:campaign_id>/joint-confirm/", joint_confirm_view, name="joint_confirm"),
    path("<int:campaign_id>/sign/", county_sign_view, name="county_sign"),
    path("<int:campaign_id>/reopen/", reopen_view, name="reopen"),
    path("<int:campaign_id>/file/", file_view, name="file"),
    path("lists/<int:list_id>/", list_detail, name="list_detail"),
    path("lists/<int:list_id>/confirm/", list_confirm_view, name="list_confirm"),
    path("lists/<int:list_id>/sign/", list_sign_view, name="list_sign"),
    path("lists/<int:list_id>/bulk-decide/", list_bulk_decide, name="list_bulk_decide"),
    path("lists/<int:list_id>/bulk-propose/", list_bulk_propose, name="list_bulk_propose"),
    path("items/<int:item_id>/", item_detail, name="item_detail"),
    path("items/<int:item_id>/<slug:action>/", item_act, name="item_act"),
    path("signed/<int:snapshot_id>/", snapshot_detail, name="snapshot_detail"),
    path("signed/<int:snapshot_id>/pdf/", snapshot_pdf, name="snapshot_pdf"),
    path("signed/<int:snapshot_id>/xlsx/", snapshot_xlsx, name="snapshot_xlsx"),
    path("filings/", filing_list, name="filing_list"),
    path("spot-checks/", spot_check_list, name="spot_check_list"),
    path("spot-checks/draw/", spot_check_draw_view, name="spot_check_draw"),
    path("spot-checks/<int:spot_check_id>/", spot_check_detail, name="spot_check_detail"),
    path(
        "spot-checks/<int:spot_check_id>/finding/",
        spot_check_finding_view,
        name="spot_check_finding",
    ),
    path(
        "spot-checks/<int:spot_check_id>/return/",
        spot_check_return_view,
        name="spot_check_return",
    ),
]
