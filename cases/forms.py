"""Browser forms of the cases app. They validate input and build service arguments; the rules
themselves live in the services."""

from datetime import date
from decimal import Decimal

from django import forms
from django.forms import formset_factory
from django.utils import timezone

from cases.choices import (
    AppraisalOutcome,
    AssetKind,
    CoverageScope,
    DisabilityType,
    ExclusionReason,
    Health,
    IncomeCategory,
    LabourCapacity,
    Programme,
    Relation,
    SchoolStatus,
    TownshipOpinion,
)
from cases.services.applications import StepData
from cases.services.households import AssetData, IncomeData, MemberData
from lowbao.people.choices import Ethnicity
from lowbao.people.id_numbers import IdNumberFormField

_BLANK = [("", "—")]
_MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0")}


class HouseholdForm(forms.Form):
    village = forms.ChoiceField(label="嘎查村")
    programme = forms.ChoiceField(label="救助类型", choices=Programme.choices)
    coverage_scope = forms.ChoiceField(label="保障范围", choices=CoverageScope.choices)
    address = forms.CharField(label="住址", max_length=200, required=False)
    bank_name = forms.CharField(label="开户银行", max_length=60, required=False)
    bank_account = forms.RegexField(
        label="银行账号",
        regex=r"^[0-9]{12,19}$",
        required=False,
        error_messages={"invalid": "银行账号应为 12–19 位数字"},
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    applicant_name = forms.CharField(label="申请人", max_length=50)
    applied_on = forms.DateField(
        label="申请日期",
        initial=timezone.localdate,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    reason = forms.CharField(
        label="申请理由", widget=forms.Textarea(attrs={"rows": 2}), required=False
    )
    authorisation_signed = forms.BooleanField(
        label="申请人已签署家庭经济状况核对授权书", required=False
    )
    declares_close_relative = forms.BooleanField(
        label="有家庭成员是低保经办人员或村（居）委会成员的近亲属", required=False
    )
    close_relative_note = forms.CharField(label="近亲属说明", max_length=200, required=False)
    deposits = forms.DecimalField(label="存款、证券等金融资产（元）", required=False, **_MONEY)
    vehicles = forms.IntegerField(label="机动车辆（辆）", min_value=0, required=False)
    houses = forms.IntegerField(label="房产（套）", min_value=0, required=False)
    business_registered = forms.BooleanField(label="有工商登记（正常经营）", required=False)
    medical = forms.DecimalField(label="医疗刚性支出（元/月）", required=False, **_MONEY)
    education = forms.DecimalField(label="教育刚性支出（元/月）", required=False, **_MONEY)
    employment = forms.DecimalField(label="就业成本（元/月）", required=False, **_MONEY)
    disability = forms.DecimalField(label="残疾刚性支出（元/月）", required=False, **_MONEY)

    def deductions(self) -> dict[str, Decimal]:
        return {
            key: self.cleaned_data[key]
            for key in ("medical", "education", "employment", "disability")
            if self.cleaned_data.get(key)
        }

    def __init__(self, *args: object, villages: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.fields["village"].choices = villages

    def clean_applied_on(self) -> date:
        value = self.cleaned_data["applied_on"]
        if value > timezone.localdate():
            raise forms.ValidationError("申请日期不能晚于今天")
        return value

    def assets(self) -> list[AssetData]:
        data = self.cleaned_data
        assets = []
        if data.get("deposits"):
            assets.append(AssetData(kind=AssetKind.DEPOSITS, value=data["deposits"]))
        if data.get("vehicles"):
            assets.append(AssetData(kind=AssetKind.VEHICLE, quantity=data["vehicles"]))
        if data.get("houses"):
            assets.append(AssetData(kind=AssetKind.HOUSE, quantity=data["houses"]))
        if data.get("business_registered"):
            assets.append(AssetData(kind=AssetKind.BUSINESS))
        return assets


class MemberForm(forms.Form):
    name = forms.CharField(label="姓名", max_length=50)
    id_number = IdNumberFormField(label="身份证号")
    relation = forms.ChoiceField(label="与户主关系", choices=_BLANK + list(Relation.choices))
    ethnicity = forms.ChoiceField(
        label="民族", choices=_BLANK + list(Ethnicity.choices), required=False
    )
    is_counted = forms.BooleanField(label="计入家庭成员", required=False, initial=True)
    exclusion_reason = forms.ChoiceField(
        label="不计入原因", choices=_BLANK + list(ExclusionReason.choices), required=False
    )
    labour_capacity = forms.ChoiceField(
        label="劳动能力", choices=_BLANK + list(LabourCapacity.choices), required=False
    )
    health = forms.ChoiceField(
        label="健康状况", choices=_BLANK + list(Health.choices), required=False
    )
    disability_type = forms.ChoiceField(
        label="残疾类别", choices=_BLANK + list(DisabilityType.choices), required=False
    )
    disability_grade = forms.TypedChoiceField(
        label="残疾等级",
        choices=[("", "—"), ("1", "一级"), ("2", "二级"), ("3", "三级"), ("4", "四级")],
        coerce=int,
        empty_value=None,
        required=False,
    )
    school_status = forms.ChoiceField(
        label="在校生状况", choices=_BLANK + list(SchoolStatus.choices), required=False
    )
    wages = forms.DecimalField(label="工资性收入（元/月）", required=False, **_MONEY)
    business = forms.DecimalField(label="经营净收入（元/月）", required=False, **_MONEY)
    property_income = forms.DecimalField(label="财产净收入（元/月）", required=False, **_MONEY)
    transfer = forms.DecimalField(label="转移净收入（元/月）", required=False, **_MONEY)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if not data.get("is_counted") and not data.get("exclusion_reason"):
            self.add_error("exclusion_reason", "不计入家庭成员须选择原因")
        if data.get("is_counted") and data.get("exclusion_reason"):
            self.add_error("exclusion_reason", "计入家庭成员时不填写不计入原因")
        return data

    def member_data(self) -> MemberData:
        data = self.cleaned_data
        incomes = tuple(
            IncomeData(category=category, amount_monthly=data[field])
            for field, category in (
                ("wages", IncomeCategory.WAGES),
                ("business", IncomeCategory.BUSINESS),
                ("property_income", IncomeCategory.PROPERTY),
                ("transfer", IncomeCategory.TRANSFER),
            )
            if data.get(field)
        )
        return MemberData(
            id_number=data["id_number"],
            name=data["name"].strip(),
            relation=data["relation"],
            is_counted=bool(data.get("is_counted")),
            exclusion_reason=data.get("exclusion_reason", ""),
            labour_capacity=data.get("labour_capacity", ""),
            health=data.get("health", ""),
            disability_type=data.get("disability_type", ""),
            disability_grade=data.get("disability_grade"),
            school_status=data.get("school_status", ""),
            ethnicity=data.get("ethnicity", ""),
            incomes=incomes,
        )


class BaseMemberFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        members = [form for form in self.forms if form.has_changed() and form.cleaned_data]
        heads = sum(form.cleaned_data["relation"] == Relation.HEAD for form in members)
        if not members:
            raise forms.ValidationError("至少登记一名家庭成员")
        if heads != 1:
            raise forms.ValidationError(f"每户须有且只有一名户主，现有 {heads} 名")
        numbers = [form.cleaned_data["id_number"] for form in members]
        if len(numbers) != len(set(numbers)):
            raise forms.ValidationError("家庭成员的身份证号有重复")


MemberFormSet = formset_factory(
    MemberForm, formset=BaseMemberFormSet, extra=4, max_num=20, validate_max=True
)


class StepForm(forms.Form):
    """One form for every step; each action shows the fields it needs (``FIELDS_BY_ACTION``)."""

    version = forms.IntegerField(widget=forms.HiddenInput)
    on = forms.DateField(
        label="日期",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    investigators = forms.CharField(label="调查人员（逗号分隔，至少 2 人）", required=False)
    home_visit_record = forms.CharField(
        label="入户调查记录", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    neighbour_interviews = forms.CharField(
        label="邻里访问记录", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    data_check_summary = forms.CharField(
        label="信息核对情况", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    applicant_signed = forms.BooleanField(label="申请人已签字确认", required=False)
    attendees_total = forms.IntegerField(label="参加人数", min_value=0, required=False)
    villager_representatives = forms.IntegerField(label="其中村民代表", min_value=0, required=False)
    minutes = forms.CharField(
        label="评议记录", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    outcome = forms.ChoiceField(
        label="评议结论", choices=_BLANK + list(AppraisalOutcome.choices), required=False
    )
    opinion = forms.ChoiceField(
        label="审核意见", choices=_BLANK + list(TownshipOpinion.choices), required=False
    )
    location = forms.CharField(label="公示地点", max_length=100, required=False)
    objection = forms.CharField(
        label="异议内容", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    amount = forms.DecimalField(label="核定月保障金额（元）", required=False, **_MONEY)
    certificate_number = forms.CharField(label="低保证号", max_length=40, required=False)
    comment = forms.CharField(
        label="意见/说明", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def step_data(self) -> StepData:
        data = self.cleaned_data
        return StepData(
            comment=data.get("comment") or "",
            on=data.get("on"),
            investigators=(data.get("investigators") or "").replace("，", ",").split(","),
            home_visit_record=data.get("home_visit_record") or "",
            neighbour_interviews=data.get("neighbour_interviews") or "",
            data_check_summary=data.get("data_check_summary") or "",
            applicant_signed=bool(data.get("applicant_signed")),
            attendees_total=data.get("attendees_total") or 0,
            villager_representatives=data.get("villager_representatives") or 0,
            minutes=data.get("minutes") or "",
            outcome=data.get("outcome") or "",
            opinion=data.get("opinion") or "",
            location=data.get("location") or "",
            objection=data.get("objection") or "",
            amount=data.get("amount"),
            certificate_number=data.get("certificate_number") or "",
        )


FIELDS_BY_ACTION = {
    "accept": ["comment"],
    "investigate": [
        "on",
        "investigators",
        "home_visit_record",
        "neighbour_interviews",
        "data_check_summary",
        "applicant_signed",
        "comment",
    ],
    "reinvestigate": ["comment"],
    "appraise": [
        "on",
        "attendees_total",
        "villager_representatives",
        "minutes",
        "outcome",
        "comment",
    ],
    "township_review": ["opinion", "comment"],
    "submit_to_county": ["comment"],
    "start_notice": ["on", "location", "comment"],
    "object": ["on", "objection", "comment"],
    "end_notice": ["comment"],
    "approve": ["amount", "certificate_number", "on", "location", "comment"],
    "finalise": ["comment"],
    "reject": ["comment"],
    "send_back": ["comment"],
    "withdraw": ["comment"],
    "terminate": ["comment"],
}


class CountyVisitForm(forms.Form):
    visited_on = forms.DateField(
        label="核查日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    visitors = forms.CharField(label="核查人员（逗号分隔，至少 2 人）")
    record = forms.CharField(label="核查记录", widget=forms.Textarea(attrs={"rows": 3}))
