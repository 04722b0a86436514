"""Case households (共同生活的家庭成员, domain.md §2), their members, incomes and assets."""

from django.db import models
from django.db.models import Q

from cases.choices import (
    AssetKind,
    CoverageScope,
    DisabilityType,
    ExclusionReason,
    Health,
    HouseholdStatus,
    IncomeCategory,
    LabourCapacity,
    Programme,
    Relation,
    SchoolStatus,
)
from cases.models.policy import MONEY
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel
from lowbao.people.masking import mask_bank_account
from lowbao.people.models import Person
from lowbao.people.protection import decrypt


class Household(BaseModel):
    """A dibao or 特困 household in a village. ``status`` is its payment status; the procedure
    that brought it there lives in ``Application``.

    ``county`` repeats the village's county so that the roster number is unique per county and
    county lists need no join on the area tree.
    """

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    programme = models.CharField("救助类型", max_length=10, choices=Programme.choices)
    number = models.CharField("户编号", max_length=40)
    status = models.CharField(
        "保障状态", max_length=16, choices=HouseholdStatus.choices, default=HouseholdStatus.APPLYING
    )
    coverage_scope = models.CharField(
        "保障范围",
        max_length=16,
        choices=CoverageScope.choices,
        default=CoverageScope.WHOLE_HOUSEHOLD,
    )
    classification = models.CharField("保障类别", max_length=20, blank=True)
    address = models.CharField("住址", max_length=200, blank=True)
    monthly_amount = models.DecimalField("月保障金额（元）", default=0, **MONEY)
    per_capita_income_monthly = models.DecimalField("月人均收入（元）", default=0, **MONEY)
    # Rigid spending that may be deducted from income (刚性支出, domain.md §3), capped by policy.
    medical_expense_monthly = models.DecimalField("医疗刚性支出（元/月）", default=0, **MONEY)
    education_expense_monthly = models.DecimalField("教育刚性支出（元/月）", default=0, **MONEY)
    employment_cost_monthly = models.DecimalField("就业成本（元/月）", default=0, **MONEY)
    disability_expense_monthly = models.DecimalField("残疾刚性支出（元/月）", default=0, **MONEY)
    payment_start_month = models.DateField("保障起始年月", null=True, blank=True)
    certificate_number = models.CharField("低保证号", max_length=40, blank=True)
    bank_name = models.CharField("开户银行", max_length=60, blank=True)
    bank_account_ciphertext = models.TextField("银行账号（密文）", blank=True)
    bank_account_hash = models.CharField("银行账号索引", max_length=64, blank=True, db_index=True)
    phone_ciphertext = models.TextField("联系电话（密文）", blank=True)
    # 渐退期 (domain.md §6)
    grace_start = models.DateField("渐退开始", null=True, blank=True)
    grace_months = models.PositiveSmallIntegerField("渐退月数", null=True, blank=True)
    grace_end = models.DateField("渐退结束", null=True, blank=True)
    original_amount = models.DecimalField("渐退前月保障金额", null=True, blank=True, **MONEY)
    # 特困供养 (domain.md §7)
    tekun_support_mode = models.CharField(
        "供养方式",
        max_length=12,
        blank=True,
        choices=[("centralised", "集中供养"), ("dispersed", "分散供养")],
    )
    # Dynamic management flags
    check_due = models.DateField(
        "待核查截止日期", null=True, blank=True, help_text="如成员死亡后 3 个月内"
    )
    check_reason = models.CharField("待核查原因", max_length=200, blank=True)
    is_close_relative_case = models.BooleanField("近亲属备案", default=False)
    migrated_from = models.CharField("迁移来源", max_length=200, blank=True)
    stopped_at = models.DateField("停保日期", null=True, blank=True)
    stop_reason = models.CharField("停保原因", max_length=300, blank=True)

    class Meta:
        verbose_name = "保障户"
        verbose_name_plural = "保障户"
        ordering = ["county_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "number"], name="household_number_unique_in_county"
            ),
            models.CheckConstraint(
                condition=Q(status__in=HouseholdStatus.values), name="household_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(programme__in=Programme.values), name="household_programme_valid"
            ),
            models.CheckConstraint(
                condition=Q(monthly_amount__gte=0), name="household_amount_non_negative"
            ),
        ]
        indexes = [models.Index(fields=["county", "status"], name="household_county_status_idx")]

    def __str__(self) -> str:
        return self.number

    @property
    def bank_account_masked(self) -> str:
        return (
            mask_bank_account(decrypt(self.bank_account_ciphertext))
            if self.bank_account_ciphertext
            else ""
        )


class HouseholdMember(BaseModel):
    """A person in a household. ``in_payment`` is kept by the services: it is true while the
    household is paid and the member has not left, and a partial unique constraint makes a person
    a member of at most one paid household.
    """

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="members", verbose_name="保障户"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="人员"
    )
    relation = models.CharField("与户主关系", max_length=2, choices=Relation.choices)
    is_counted = models.BooleanField("计入共同生活家庭成员", default=True)
    exclusion_reason = models.CharField(
        "不计入原因", max_length=20, blank=True, choices=ExclusionReason.choices
    )
    is_covered = models.BooleanField("保障对象", default=True)
    labour_capacity = models.CharField(
        "劳动能力", max_length=10, blank=True, choices=LabourCapacity.choices
    )
    health = models.CharField("健康状况", max_length=20, blank=True, choices=Health.choices)
    disability_type = models.CharField(
        "残疾类别", max_length=14, blank=True, choices=DisabilityType.choices
    )
    disability_grade = models.PositiveSmallIntegerField("残疾等级", null=True, blank=True)
    disability_certificate = models.CharField("残疾证号", max_length=24, blank=True)
    school_status = models.CharField(
        "在校生状况", max_length=20, blank=True, choices=SchoolStatus.choices
    )
    work_refusals = models.PositiveSmallIntegerField("无正当理由拒绝就业次数", default=0)
    share_reduced = models.BooleanField("本人份额已减发", default=False)
    left_at = models.DateField("迁出/死亡日期", null=True, blank=True)
    left_reason = models.CharField("减员原因", max_length=100, blank=True)
    in_payment = models.BooleanField("在保", default=False, editable=False)

    class Meta:
        verbose_name = "家庭成员"
        verbose_name_plural = "家庭成员"
        ordering = ["household_id", "relation", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["household", "person"], name="member_once_per_household"
            ),
            models.UniqueConstraint(
                fields=["person"],
                condition=Q(in_payment=True),
                name="person_in_one_paid_household",
            ),
            models.CheckConstraint(
                condition=Q(is_counted=True) | ~Q(exclusion_reason=""),
                name="member_excluded_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(disability_grade__isnull=True)
                | (Q(disability_grade__gte=1) & Q(disability_grade__lte=4)),
                name="member_disability_grade_1_to_4",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person.name}（{self.get_relation_display()}）"


class MemberIncome(BaseModel):
    """Declared or verified monthly income of a member, by category (domain.md §3)."""

    member = models.ForeignKey(
        HouseholdMember, on_delete=models.CASCADE, related_name="incomes", verbose_name="成员"
    )
    category = models.CharField("收入类别", max_length=10, choices=IncomeCategory.choices)
    amount_monthly = models.DecimalField("月收入（元）", **MONEY)
    is_exempt = models.BooleanField("不计入（豁免收入）", default=False)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "成员收入"
        verbose_name_plural = "成员收入"
        constraints = [
            models.CheckConstraint(condition=Q(amount_monthly__gte=0), name="income_non_negative"),
        ]


class HouseholdAsset(BaseModel):
    """An asset of the household (家庭财产); thresholds are policy data."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="assets", verbose_name="保障户"
    )
    kind = models.CharField("财产类别", max_length=12, choices=AssetKind.choices)
    quantity = models.PositiveIntegerField("数量", default=1)
    value = models.DecimalField("价值（元）", default=0, **MONEY)
    is_exempt = models.BooleanField("生产生活必需（豁免）", default=False)
    note = models.CharField("说明", max_length=200, blank=True)

    class Meta:
        verbose_name = "家庭财产"
        verbose_name_plural = "家庭财产"
        constraints = [models.CheckConstraint(condition=Q(value__gte=0), name="asset_non_negative")]
