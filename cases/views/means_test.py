"""Pages of the cases app: the 试算 page and a household's printable 算账单.

Both call ``cases.means_test`` (the one calculation); these views only validate the form, check
the area and render. Nothing is stored.
"""

from datetime import date
from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from cases.choices import DisabilityType, Health, LabourCapacity, Programme, Relation
from cases.means_test import (
    COVERAGE_HOUSEHOLD,
    COVERAGE_SINGLE_PERSON,
    AssetsInput,
    MemberInput,
    household_calculation_sheet,
    means_test_run,
)
from cases.selectors import access_household_by_id
from lowbao.areas.decorators import require_perm
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code
from lowbao.areas.selectors import area_list
from lowbao.core.errors import DomainError
from lowbao.people.id_numbers import IdNumberFormField

_REQUIRED = "此项必填"
_NOT_NEGATIVE = "不能为负数"
_MONEY_ERRORS = {
    "invalid": "请输入金额（元），如 320 或 320.50",
    "min_value": "金额不能为负数",
    "max_decimal_places": "金额最多保留 2 位小数",
    "max_digits": "金额过大",
    "max_whole_digits": "金额过大",
}
_COUNT_ERRORS = {"invalid": "请输入整数", "min_value": "数量不能为负数"}
_BLANK = [("", "—")]


def _style_widgets(form: forms.Form) -> None:
    """Bootstrap classes on every widget (the templates render widgets directly)."""
    for field in form.fields.values():
        widget = field.widget
        if isinstance(widget, forms.CheckboxInput):
            css = "form-check-input"
        elif isinstance(widget, forms.Select):
            css = "form-select form-select-sm"
        else:
            css = "form-control form-control-sm"
        widget.attrs["class"] = css


def _money_field(label: str, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        min_value=0,
        max_digits=12,
        decimal_places=2,
        required=False,
        error_messages=_MONEY_ERRORS,
        **kwargs,
    )


class MeansTestForm(forms.Form):
    area = forms.ModelChoiceField(
        queryset=Area.objects.none(),
        label="嘎查村",
        empty_label="请选择嘎查村",
        error_messages={
            "required": "请选择嘎查村",
            "invalid_choice": "所选嘎查村不在您的管辖范围内",
        },
    )
    on = forms.DateField(
        label="核算日期",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": "请填写核算日期", "invalid": "日期格式应为 2026-11-01"},
    )
    programme = forms.ChoiceField(
        label="救助类型", choices=Programme.choices, initial=Programme.DIBAO
    )
    coverage = forms.ChoiceField(
        label="保障范围",
        choices=[(COVERAGE_HOUSEHOLD, "整户保障"), (COVERAGE_SINGLE_PERSON, "单人保")],
        initial=COVERAGE_HOUSEHOLD,
    )
    medical = _money_field("医疗刚性支出（元/月）")
    education = _money_field("教育刚性支出（元/月）")
    employment = _money_field("就业成本（元/月）")
    disability = _money_field("残疾刚性支出（元/月）")
    deposits = _money_field("存款、证券、商业保险等（元）")
    vehicles = forms.IntegerField(
        label="机动车辆（辆）", min_value=0, required=False, error_messages=_COUNT_ERRORS
    )
    houses = forms.IntegerField(
        label="房产（套）", min_value=0, required=False, error_messages=_COUNT_ERRORS
    )
    business_registered = forms.BooleanField(label="有工商登记（正常经营）", required=False)

    def __init__(self, *args: Any, actor: object, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["area"].queryset = area_list(actor=actor, level=AreaLevel.VILLAGE)
        self.fields["area"].label_from_instance = lambda area: f"{area.name}（{area.code}）"
        _style_widgets(self)


class MemberForm(forms.Form):
    """One row of the member table. An untouched extra row is skipped (``has_changed``)."""

    id_number = IdNumberFormField(label="身份证号")
    relation = forms.ChoiceField(
        label="与户主关系",
        choices=_BLANK + Relation.choices,
        error_messages={"required": "请选择与户主关系"},
    )
    counted = forms.ChoiceField(
        label="是否计入",
        choices=[("yes", "计入"), ("no", "不计入")],
        initial="yes",
    )
    income_monthly = _money_field("月收入（元）")
    labour_capacity = forms.ChoiceField(
        label="劳动能力", choices=_BLANK + LabourCapacity.choices, required=False
    )
    health = forms.ChoiceField(label="健康状况", choices=_BLANK + Health.choices, required=False)
    disability_grade = forms.TypedChoiceField(
        label="残疾等级",
        choices=[("", "无"), *((str(grade), f"{grade} 级") for grade in range(1, 5))],
        coerce=int,
        empty_value=None,
        required=False,
    )
    disability_type = forms.ChoiceField(
        label="残疾类别", choices=_BLANK + DisabilityType.choices, required=False
    )
    in_school = forms.BooleanField(label="在校生", required=False)
    covered = forms.BooleanField(label="单人保对象", required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _style_widgets(self)


class BaseMemberFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        filled = [form.cleaned_data for form in self.forms if form.has_changed()]
        if not filled:
            raise forms.ValidationError("至少填写一名家庭成员")
        if not any(member["counted"] == "yes" for member in filled):
            raise forms.ValidationError("没有计入的家庭成员：至少一人应为“计入”")
        numbers = [member["id_number"] for member in filled]
        if len(numbers) != len(set(numbers)):
            raise forms.ValidationError("同一身份证号填写了不止一次")


MemberFormSet = forms.formset_factory(
    MemberForm, formset=BaseMemberFormSet, extra=5, min_num=1, max_num=30, validate_max=True
)


def _member_inputs(formset: BaseMemberFormSet) -> list[MemberInput]:
    return [
        MemberInput(
            id_number=data["id_number"],
            relation=data["relation"],
            counted=data["counted"] == "yes",
            covered=data["covered"],
            income_monthly=data["income_monthly"] or 0,
            labour_capacity=data["labour_capacity"],
            health=data["health"],
            disability_grade=data["disability_grade"],
            disability_type=data["disability_type"],
            in_school=data["in_school"],
        )
        for data in (form.cleaned_data for form in formset.forms if form.has_changed())
    ]


@require_perm(Perm.MEANS_TEST_RUN)
def means_test_page(request: HttpRequest) -> HttpResponse:
    """试算: a household described in the form, calculated with the policy of the village."""
    result = None
    if request.method == "POST":
        form = MeansTestForm(request.POST, actor=request.user)
        formset = MemberFormSet(request.POST, prefix="members")
        if form.is_valid() and formset.is_valid():
            data = form.cleaned_data
            try:
                area = access_area_by_code(
                    request.user, data["area"].code, perm=Perm.MEANS_TEST_RUN
                )
            except Http404:
                form.add_error("area", "所选嘎查村不在您的试算权限范围内")
            else:
                try:
                    result = means_test_run(
                        area=area,
                        on=data["on"],
                        members=_member_inputs(formset),
                        deductions={
                            kind: data[kind] or 0
                            for kind in ("medical", "education", "employment", "disability")
                        },
                        assets=AssetsInput(
                            deposits=data["deposits"] or 0,
                            vehicles=data["vehicles"] or 0,
                            houses=data["houses"] or 0,
                            business_registered=data["business_registered"],
                        ),
                        coverage=data["coverage"],
                        programme=data["programme"],
                    )
                except DomainError as exc:
                    form.add_error(None, exc.message)
    else:
        form = MeansTestForm(
            actor=request.user,
            initial={"on": timezone.localdate(), "coverage": COVERAGE_HOUSEHOLD},
        )
        formset = MemberFormSet(prefix="members")
    return render(
        request,
        "cases/means_test/means_test.html",
        {"form": form, "formset": formset, "result": result},
    )


def _date_param(request: HttpRequest) -> date:
    text = request.GET.get("on", "")
    try:
        return date.fromisoformat(text) if text else timezone.localdate()
    except ValueError:
        return timezone.localdate()


@require_perm(Perm.CASE_VIEW)
def household_calculation(request: HttpRequest, household_id: int) -> HttpResponse:
    """The printable 算账单 of a household (403 without case.view, 404 outside the areas)."""
    household = access_household_by_id(request.user, household_id)
    on = _date_param(request)
    sheet = None
    error = ""
    try:
        sheet = household_calculation_sheet(household=household, on=on)
    except DomainError as exc:
        error = exc.message
    return render(
        request,
        "cases/means_test/calculation_sheet.html",
        {"household": household, "on": on, "sheet": sheet, "error": error},
    )


urlpatterns = [
    path("means-test/", means_test_page, name="means_test"),
    path(
        "households/<int:household_id>/calculation/",
        household_calculation,
        name="household_calculation",
    ),
]
