"""Pages of dynamic management (动态管理), 特困 and 临时救助.

Thin views: a form validates input, one service does the work, a ``DomainError`` is shown in
place (``show_domain_error``), never a traceback. Capabilities answer 403
(``require_perm``), objects outside the user's areas 404 (``access_*``). ID numbers are shown
masked only.
"""

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from cases.choices import (
    AssetKind,
    ChangeKind,
    ChangeOutcome,
    ChangeStatus,
    HouseholdStatus,
    IncomeCategory,
    Programme,
)
from cases.models import Household, HouseholdMember
from cases.selectors import access_household_by_id
from cases.services.management import (
    MANAGED_STATUSES,
    access_change_by_id,
    change_assess,
    change_decide,
    change_report,
    changes_pending,
    gradual_exit_finish,
    gradual_exits_ending,
    home_visit_record,
    household_asset_set,
    households_due_for_check,
    member_income_set,
    work_refusal_record,
)
from cases.services.tekun import (
    SELF_CARE_ACTIVITIES,
    SUPPORT_MODES,
    TERMINATION_REASONS,
    self_care_assess,
    tekun_eligibility,
    tekun_support_mode_set,
    tekun_terminate,
)
from cases.services.temporary import (
    FORMS,
    KINDS,
    TOWNSHIP_APPROVAL_LIMIT,
    access_temporary_by_id,
    temporary_apply,
    temporary_complete_paperwork,
    temporary_decide,
    temporary_queryset,
    township_approval_limit,
)
from cases.views.common import require_perm, show_domain_error, village_choices
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm
from lowbao.core.errors import DomainError
from lowbao.people.id_numbers import IdNumberFormField

PAGE_SIZE = 50
_DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
_MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


# --- forms (input only; the rules are in the services) ------------------------------------------


class _Form(forms.Form):
    """Bootstrap classes on every widget."""

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


class _MemberForm(_Form):
    """A form with a ``member`` choice among the household's current members."""

    member_field = "member"

    def __init__(self, *args: Any, members: list[HouseholdMember], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = {str(m.pk): m for m in members}
        self.fields[self.member_field].choices = [("", "—")] + [
            (str(m.pk), f"{m.person.name}（{m.get_relation_display()}）") for m in members
        ]

    def member(self) -> HouseholdMember | None:
        return self.members.get(self.cleaned_data.get(self.member_field) or "")


class HomeVisitForm(_Form):
    visited_on = forms.DateField(label="走访日期", widget=_DATE, initial=timezone.localdate)
    visitors = forms.CharField(label="走访人员（多人用逗号分隔）", max_length=200, required=False)
    findings = forms.CharField(
        label="走访情况", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    change_found = forms.BooleanField(label="发现家庭人口、收入或财产变化", required=False)


class ChangeReportForm(_MemberForm):
    member_field = "member_id"
    kind = forms.ChoiceField(label="变化类型", choices=ChangeKind.choices)
    reported_on = forms.DateField(label="登记日期", widget=_DATE, initial=timezone.localdate)
    description = forms.CharField(
        label="变化情况", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    member_id = forms.ChoiceField(label="减员成员（死亡或迁出时选择）", required=False)
    left_on = forms.DateField(label="死亡/减员日期", widget=_DATE, required=False)
    left_reason = forms.CharField(
        label="减员原因（迁出、嫁出等；死亡不必填）", max_length=100, required=False
    )


class IncomeForm(_MemberForm):
    member = forms.ChoiceField(label="成员")
    category = forms.ChoiceField(label="收入类别", choices=IncomeCategory.choices)
    amount_monthly = forms.DecimalField(label="月收入（元，0 表示没有）", **_MONEY)


class AssetForm(_Form):
    kind = forms.ChoiceField(label="财产类别", choices=AssetKind.choices)
    quantity = forms.IntegerField(label="数量（0 表示没有）", min_value=0)
    value = forms.DecimalField(label="价值（元）", **_MONEY)


class WorkRefusalForm(_MemberForm):
    member = forms.ChoiceField(label="成员")
    refused_on = forms.DateField(label="拒绝日期", widget=_DATE, initial=timezone.localdate)
    note = forms.CharField(
        label="介绍的工作和拒绝情况", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class SelfCareForm(_MemberForm):
    member = forms.ChoiceField(label="特困人员")
    assessed_on = forms.DateField(label="评估日期", widget=_DATE, initial=timezone.localdate)
    can_eat = forms.BooleanField(label="能自主吃饭", required=False)
    can_dress = forms.BooleanField(label="能自主穿衣", required=False)
    can_transfer = forms.BooleanField(label="能自主上下床", required=False)
    can_toilet = forms.BooleanField(label="能自主如厕", required=False)
    can_walk_indoors = forms.BooleanField(label="能在室内行走", required=False)
    can_bathe = forms.BooleanField(label="能自主洗澡", required=False)


class SupportModeForm(_Form):
    mode = forms.ChoiceField(
        label="供养方式（本人选择）", choices=[("", "—"), *SUPPORT_MODES.items()]
    )


class TerminateForm(_Form):
    reason_code = forms.ChoiceField(
        label="终止原因", choices=[("", "—"), *TERMINATION_REASONS.items()]
    )
    reasons = forms.CharField(
        label="调查核实情况", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )


class TekunCheckForm(_Form):
    supporter_unable = forms.BooleanField(
        label="经核实无法定义务人，或义务人无履行义务能力", required=False
    )
    supporter_note = forms.CharField(label="义务人情况说明", max_length=200, required=False)


class DecideForm(_Form):
    outcome = forms.ChoiceField(label="处理结果", choices=ChangeOutcome.choices)
    new_amount = forms.DecimalField(
        label="调整后月保障金额（元，增发/减发时填写）", required=False, **_MONEY
    )
    reasons = forms.CharField(
        label="理由（减发、暂停、停发、渐退必填）",
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    is_registry_household = forms.BooleanField(
        label="建档立卡低保户（渐退期按建档立卡户月数）", required=False
    )


class TemporaryForm(_Form):
    village = forms.ChoiceField(label="嘎查村")
    name = forms.CharField(label="申请人姓名", max_length=50)
    id_number = IdNumberFormField(label="身份证号")
    kind = forms.ChoiceField(label="救助类型", choices=[("", "—"), *KINDS.items()])
    reason = forms.CharField(label="事由", widget=forms.Textarea(attrs={"rows": 2}))
    household_size = forms.IntegerField(label="家庭人口", min_value=1)
    per_capita_income_monthly = forms.DecimalField(
        label="家庭月人均收入（元，支出型必填）", required=False, **_MONEY
    )
    amount = forms.DecimalField(label="救助金额（元）", **_MONEY)
    aid_form = forms.ChoiceField(label="救助方式", choices=list(FORMS.items()))
    pay_first = forms.BooleanField(label="急难型先行救助（先救助、后补手续）", required=False)

    def __init__(self, *args: Any, villages: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = villages


class TemporaryDecideForm(_Form):
    approve = forms.ChoiceField(label="审批意见", choices=[("yes", "批准救助"), ("no", "不予救助")])
    note = forms.CharField(
        label="说明（不予救助须写明理由）",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
    )


# --- household dynamic-management page ------------------------------------------------------


@dataclass(frozen=True)
class _Action:
    label: str
    perm: str
    form: type[forms.Form]
    run: Callable[[HttpRequest, Household, Any], object]
    success: str
    with_members: bool = False
    tekun_only: bool = False


def _visit(request: HttpRequest, household: Household, form: HomeVisitForm) -> object:
    data = form.cleaned_data
    return home_visit_record(
        actor=request.user,
        household=household,
        visited_on=data["visited_on"],
        visitors=data["visitors"].replace("，", ",").replace("、", ",").split(","),
        findings=data["findings"],
        change_found=data["change_found"],
    )


def _change(request: HttpRequest, household: Household, form: ChangeReportForm) -> object:
    data = form.cleaned_data
    member = form.member()
    return change_report(
        actor=request.user,
        household=household,
        kind=data["kind"],
        description=data["description"],
        reported_on=data["reported_on"],
        member_left=None
        if member is None
        else {"member_id": member.pk, "left_on": data["left_on"], "reason": data["left_reason"]},
    )


def _income(request: HttpRequest, household: Household, form: IncomeForm) -> object:
    data = form.cleaned_data
    return member_income_set(
        actor=request.user,
        member=form.member(),
        category=data["category"],
        amount_monthly=data["amount_monthly"],
    )


def _asset(request: HttpRequest, household: Household, form: AssetForm) -> object:
    data = form.cleaned_data
    return household_asset_set(
        actor=request.user,
        household=household,
        kind=data["kind"],
        quantity=data["quantity"],
        value=data["value"],
    )


def _refusal(request: HttpRequest, household: Household, form: WorkRefusalForm) -> object:
    data = form.cleaned_data
    return work_refusal_record(
        actor=request.user, member=form.member(), refused_on=data["refused_on"], note=data["note"]
    )


def _self_care(request: HttpRequest, household: Household, form: SelfCareForm) -> object:
    data = form.cleaned_data
    return self_care_assess(
        actor=request.user,
        member=form.member(),
        assessed_on=data["assessed_on"],
        **{name: data[name] for name in SELF_CARE_ACTIVITIES},
    )


def _mode(request: HttpRequest, household: Household, form: SupportModeForm) -> object:
    return tekun_support_mode_set(
        actor=request.user, household=household, mode=form.cleaned_data["mode"]
    )


def _terminate(request: HttpRequest, household: Household, form: TerminateForm) -> object:
    data = form.cleaned_data
    return tekun_terminate(
        actor=request.user,
        household=household,
        reason_code=data["reason_code"],
        reasons=data["reasons"],
    )


_ACTIONS: dict[str, _Action] = {
    "visit": _Action("登记走访", Perm.CHANGE_REPORT, HomeVisitForm, _visit, "已登记走访。"),
    "change": _Action(
        "登记家庭变化", Perm.CHANGE_REPORT, ChangeReportForm, _change, "已登记变化。", True
    ),
    "income": _Action(
        "更新成员收入", Perm.CHANGE_REPORT, IncomeForm, _income, "已更新收入。", True
    ),
    "asset": _Action("更新家庭财产", Perm.CHANGE_REPORT, AssetForm, _asset, "已更新财产。"),
    "refusal": _Action(
        "登记无正当理由拒绝就业",
        Perm.CHANGE_REPORT,
        WorkRefusalForm,
        _refusal,
        "已登记拒绝就业。",
        True,
    ),
    "selfcare": _Action(
        "生活自理能力评估",
        Perm.CHANGE_REPORT,
        SelfCareForm,
        _self_care,
        "已登记评估。",
        True,
        True,
    ),
    "mode": _Action(
        "登记供养方式", Perm.CHANGE_REPORT, SupportModeForm, _mode, "已登记供养方式。", False, True
    ),
    "terminate": _Action(
        "拟终止特困供养（公示 7 天）",
        Perm.CHANGE_REPORT,
        TerminateForm,
        _terminate,
        "已登记拟终止事项并开始公示。",
        False,
        True,
    ),
}


def _current_members(household: Household) -> list[HouseholdMember]:
    return list(
        household.members.filter(left_at__isnull=True)
        .select_related("person")
        .order_by("relation", "id")
    )


def _make_form(name: str, members: list[HouseholdMember], data: Any = None) -> forms.Form:
    """The form of action ``name``; element ids carry the action name, since one page holds
    several forms with the same field names."""
    action = _ACTIONS[name]
    kwargs: dict[str, Any] = {"auto_id": f"{name}-%s"}
    if action.with_members:
        kwargs["members"] = members
    return action.form(data, **kwargs)


def _manage_context(
    request: HttpRequest, household: Household, bound: dict[str, forms.Form] | None = None
) -> dict[str, Any]:
    bound = bound or {}
    members = _current_members(household)
    is_managed = household.status in MANAGED_STATUSES
    panels = []
    for name, action in _ACTIONS.items():
        if action.tekun_only and household.programme != Programme.TEKUN:
            continue
        if name in ("change", "refusal", "terminate") and not is_managed:
            continue
        if not actor_covers_area(request.user, household.area, perm=action.perm):
            continue
        form = bound.get(name) or _make_form(name, members)
        panels.append((name, action.label, form))
    check_form = TekunCheckForm(request.GET or None)
    eligibility = None
    if household.programme == Programme.TEKUN and "check" in request.GET and check_form.is_valid():
        try:
            eligibility = tekun_eligibility(
                household=household,
                on=timezone.localdate(),
                supporter_unable=check_form.cleaned_data["supporter_unable"],
                supporter_note=check_form.cleaned_data["supporter_note"],
            )
        except DomainError as error:
            messages.error(request, error.message)
    today = timezone.localdate()
    return {
        "household": household,
        "members": list(
            household.members.select_related("person").prefetch_related("self_care_assessments")
        ),
        "panels": panels,
        "visits": list(household.home_visits.select_related("recorded_by")[:20]),
        "changes": list(household.changes.select_related("reported_by", "decided_by")[:20]),
        "periods": list(household.benefit_periods.order_by("start_month")),
        "is_tekun": household.programme == Programme.TEKUN,
        "check_form": check_form,
        "eligibility": eligibility,
        "can_finish_grace": household.status == HouseholdStatus.GRADUAL_EXIT
        and household.grace_end is not None
        and household.grace_end <= today
        and actor_covers_area(request.user, household.area, perm=Perm.CHANGE_DECIDE),
        "today": today,
    }


@require_perm(Perm.CASE_VIEW)
def household_manage(request: HttpRequest, household_id: int) -> HttpResponse:
    household = access_household_by_id(request.user, household_id)
    return render(
        request, "cases/management/household_manage.html", _manage_context(request, household)
    )


@require_POST
@require_perm(Perm.CASE_VIEW)
def household_manage_act(request: HttpRequest, household_id: int, action: str) -> HttpResponse:
    spec = _ACTIONS.get(action)
    if spec is None:
        raise Http404("未知操作")
    if not actor_has_perm(request.user, spec.perm):
        raise PermissionDenied("没有执行此操作的权限")
    household = access_household_by_id(request.user, household_id)
    form = _make_form(action, _current_members(household), request.POST)
    if form.is_valid():
        try:
            result = spec.run(request, household, form)
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(request, spec.success)
            if action == "terminate":
                return redirect("cases:change_detail", change_id=result.pk)
            return redirect("cases:household_manage", household_id=household.pk)
    else:
        messages.error(request, f"“{spec.label}”填写有误，请按提示修改。")
    return render(
        request,
        "cases/management/household_manage.html",
        _manage_context(request, household, {action: form}),
        status=400,
    )


@require_POST
@require_perm(Perm.CHANGE_DECIDE)
def household_finish_grace(request: HttpRequest, household_id: int) -> HttpResponse:
    household = access_household_by_id(request.user, household_id)
    try:
        gradual_exit_finish(actor=request.user, household=household)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "渐退期满，已办理停发。")
    return redirect("cases:household_manage", household_id=household.pk)


# --- changes ---------------------------------------------------------------------------------


@require_perm(Perm.CASE_VIEW)
def change_list(request: HttpRequest) -> HttpResponse:
    """变更待办: changes awaiting assessment or a decision, households with a check due
    (overdue first), and gradual exits ending this month."""
    today = timezone.localdate()
    page = Paginator(changes_pending(actor=request.user), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "cases/management/change_list.html",
        {
            "page": page,
            "checks": list(households_due_for_check(actor=request.user)[:200]),
            "grace_ending": list(gradual_exits_ending(actor=request.user, today=today)[:200]),
            "today": today,
        },
    )


def _change_context(
    request: HttpRequest, change: Any, decide_form: DecideForm | None = None
) -> dict[str, Any]:
    household = change.household
    snapshot = change.means_test or {}
    termination = snapshot.get("termination")
    can_decide = change.status == ChangeStatus.ASSESSED and actor_covers_area(
        request.user, household.area, perm=Perm.CHANGE_DECIDE
    )
    can_assess = (
        change.status != ChangeStatus.DECIDED
        and termination is None
        and (
            actor_covers_area(request.user, household.area, perm=Perm.CHANGE_REPORT)
            or actor_covers_area(request.user, household.area, perm=Perm.CHANGE_DECIDE)
        )
    )
    proposal = snapshot.get("proposal") or {}
    initial = {"outcome": proposal.get("outcome"), "new_amount": proposal.get("new_amount")}
    return {
        "change": change,
        "household": household,
        "snapshot": snapshot,
        "proposal": proposal,
        "termination": termination,
        "can_decide": can_decide,
        "can_assess": can_assess,
        "decide_form": decide_form or DecideForm(initial=initial),
    }


@require_perm(Perm.CASE_VIEW)
def change_detail(request: HttpRequest, change_id: int) -> HttpResponse:
    change = access_change_by_id(request.user, change_id)
    return render(request, "cases/management/change_detail.html", _change_context(request, change))


@require_POST
@require_perm(Perm.CASE_VIEW)
def change_assess_view(request: HttpRequest, change_id: int) -> HttpResponse:
    if not (
        actor_has_perm(request.user, Perm.CHANGE_REPORT)
        or actor_has_perm(request.user, Perm.CHANGE_DECIDE)
    ):
        raise PermissionDenied("没有重新核算的权限")
    change = access_change_by_id(request.user, change_id)
    try:
        change_assess(actor=request.user, change_id=change.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已重新核算，请核对建议的处理结果。")
    return redirect("cases:change_detail", change_id=change.pk)


@require_POST
@require_perm(Perm.CHANGE_DECIDE)
def change_decide_view(request: HttpRequest, change_id: int) -> HttpResponse:
    change = access_change_by_id(request.user, change_id)
    form = DecideForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            change_decide(
                actor=request.user,
                change_id=change.pk,
                outcome=data["outcome"],
                reasons=data["reasons"],
                new_amount=data["new_amount"],
                is_registry_household=data["is_registry_household"],
            )
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(request, "已作出决定，请打印告知书送达。")
            return redirect("cases:change_detail", change_id=change.pk)
    else:
        messages.error(request, "决定填写有误，请按提示修改。")
    change = access_change_by_id(request.user, change_id)
    return render(
        request,
        "cases/management/change_detail.html",
        _change_context(request, change, form),
        status=400,
    )


# --- temporary assistance ---------------------------------------------------------------------


@require_perm(Perm.CASE_VIEW)
def temporary_list(request: HttpRequest) -> HttpResponse:
    queryset = temporary_queryset(actor=request.user).order_by("-applied_on", "-id")
    status = request.GET.get("status", "")
    if status:
        queryset = queryset.filter(status=status)
    return render(
        request,
        "cases/management/temporary_list.html",
        {
            "page": Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page")),
            "status": status,
            "can_apply": actor_has_perm(request.user, Perm.TEMPORARY_APPLY),
        },
    )


@require_perm(Perm.TEMPORARY_APPLY)
def temporary_new(request: HttpRequest) -> HttpResponse:
    villages = village_choices(request.user)
    form = TemporaryForm(request.POST or None, villages=villages)
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                assistance = temporary_apply(
                    actor=request.user,
                    area=Area.objects.get(code=data["village"]),
                    person_id_number=data["id_number"],
                    name=data["name"],
                    kind=data["kind"],
                    reason=data["reason"],
                    household_size=data["household_size"],
                    per_capita_income_monthly=data["per_capita_income_monthly"],
                    amount=data["amount"],
                    pay_first=data["pay_first"],
                    form=data["aid_form"],
                )
            except DomainError as error:
                show_domain_error(request, form, error)
            else:
                messages.success(request, "已登记临时救助。")
                return redirect("cases:temporary_detail", assistance_id=assistance.pk)
        else:
            messages.error(request, "临时救助登记填写有误，请按提示修改。")
    return render(
        request,
        "cases/management/temporary_new.html",
        {
            # The limit in force where the user works (policy data; the first village in scope).
            "limit": township_approval_limit(Area.objects.get(code=villages[0][0]))
            if villages
            else TOWNSHIP_APPROVAL_LIMIT,
            "form": form,
        },
        status=400 if request.method == "POST" else 200,
    )


def _temporary_context(
    request: HttpRequest, assistance: Any, decide_form: TemporaryDecideForm | None = None
) -> dict[str, Any]:
    open_status = assistance.status in ("applied", "paid_first")
    return {
        "assistance": assistance,
        "limit": township_approval_limit(assistance.area),
        "can_decide": open_status
        and actor_covers_area(request.user, assistance.area, perm=Perm.TEMPORARY_APPROVE),
        "can_complete": assistance.status == "paid_first"
        and not assistance.paperwork_completed
        and actor_covers_area(request.user, assistance.area, perm=Perm.TEMPORARY_APPLY),
        "decide_form": decide_form or TemporaryDecideForm(),
    }


@require_perm(Perm.CASE_VIEW)
def temporary_detail(request: HttpRequest, assistance_id: int) -> HttpResponse:
    assistance = access_temporary_by_id(request.user, assistance_id)
    return render(
        request,
        "cases/management/temporary_detail.html",
        _temporary_context(request, assistance),
    )


@require_POST
@require_perm(Perm.TEMPORARY_APPROVE)
def temporary_decide_view(request: HttpRequest, assistance_id: int) -> HttpResponse:
    assistance = access_temporary_by_id(request.user, assistance_id)
    form = TemporaryDecideForm(request.POST)
    if form.is_valid():
        try:
            temporary_decide(
                actor=request.user,
                assistance_id=assistance.pk,
                approve=form.cleaned_data["approve"] == "yes",
                note=form.cleaned_data["note"],
            )
        except DomainError as error:
            show_domain_error(request, form, error)
        else:
            messages.success(request, "已审批。")
            return redirect("cases:temporary_detail", assistance_id=assistance.pk)
    assistance = access_temporary_by_id(request.user, assistance_id)
    return render(
        request,
        "cases/management/temporary_detail.html",
        _temporary_context(request, assistance, form),
        status=400,
    )


@require_POST
@require_perm(Perm.TEMPORARY_APPLY)
def temporary_paperwork_view(request: HttpRequest, assistance_id: int) -> HttpResponse:
    assistance = access_temporary_by_id(request.user, assistance_id)
    try:
        temporary_complete_paperwork(actor=request.user, assistance_id=assistance.pk)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "已补齐手续，可以审批。")
    return redirect("cases:temporary_detail", assistance_id=assistance.pk)


urlpatterns = [
    path("households/<int:household_id>/manage/", household_manage, name="household_manage"),
    path(
        "households/<int:household_id>/manage/finish-grace/",
        household_finish_grace,
        name="household_finish_grace",
    ),
    path(
        "households/<int:household_id>/manage/<str:action>/",
        household_manage_act,
        name="household_manage_act",
    ),
    path("changes/", change_list, name="change_list"),
    path("changes/<int:change_id>/", change_detail, name="change_detail"),
    path("changes/<int:change_id>/assess/", change_assess_view, name="change_assess"),
    path("changes/<int:change_id>/decide/", change_decide_view, name="change_decide"),
    path("temporary/", temporary_list, name="temporary_list"),
    path("temporary/new/", temporary_new, name="temporary_new"),
    path("temporary/<int:assistance_id>/", temporary_detail, name="temporary_detail"),
    path("temporary/<int:assistance_id>/decide/", temporary_decide_view, name="temporary_decide"),
    path(
        "temporary/<int:assistance_id>/paperwork/",
        temporary_paperwork_view,
        name="temporary_paperwork",
    ),
]
