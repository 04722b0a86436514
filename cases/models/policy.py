"""Policy as data (issue 3): standards, procedure profiles and time limits, deductions, assets,
classified uplifts, rounding, gradual exit, the edge-family factor and the poverty line.

Every row is effective-dated and attached to an area; a lookup for a village takes the most
specific row (county, then league, then region) in force on the date. ``is_confirmed = False``
marks defaults whose source could not be confirmed (domain.md §13); the admin shows them.
"""

from decimal import Decimal

from django.db import models
from django.db.models import Q

from cases.choices import (
    PaymentFrequency,
    ProcedureProfile,
    RoundingRule,
    UpliftCategory,
    UpliftMode,
)
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel

MONEY = {"max_digits": 12, "decimal_places": 2}


class GuaranteeStandard(BaseModel):
    """保障标准 (ledgers.md §6): yuan per person per month, from ``effective_from`` on."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name="区划")
    effective_from = models.DateField("生效日期")
    rural_dibao_monthly = models.DecimalField("农村低保标准（元/人·月）", **MONEY)
    tekun_basic_monthly = models.DecimalField(
        "特困基本生活标准（元/人·月）", null=True, blank=True, **MONEY
    )
    source = models.CharField("来源", max_length=200, blank=True)
    is_confirmed = models.BooleanField("已核实", default=True)

    class Meta:
        verbose_name = "保障标准"
        verbose_name_plural = "保障标准"
        ordering = ["area__code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "effective_from"], name="standard_area_date_unique"
            ),
            models.CheckConstraint(
                condition=Q(rural_dibao_monthly__gt=0), name="standard_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.effective_from:%Y-%m-%d} {self.rural_dibao_monthly}"


class PovertyLine(BaseModel):
    """国家扶贫标准 at current prices, yuan per person per year, by year."""

    year = models.PositiveSmallIntegerField("年度", unique=True)
    annual_amount = models.DecimalField("扶贫标准（元/人·年）", **MONEY)
    exit_threshold = models.DecimalField(
        "自治区脱贫标准（元/人·年）",
        null=True,
        blank=True,
        **MONEY,
        help_text="空则与扶贫标准相同",
    )
    source = models.CharField("来源", max_length=200, blank=True)
    is_confirmed = models.BooleanField("已核实", default=False)

    class Meta:
        verbose_name = "扶贫标准"
        verbose_name_plural = "扶贫标准"
        ordering = ["-year"]

    def __str__(self) -> str:
        return f"{self.year}: {self.annual_amount}"


class PolicySetting(BaseModel):
    """The procedure and calculation rules in force for an area from a date."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name="区划")
    effective_from = models.DateField("生效日期")
    is_confirmed = models.BooleanField(
        "已核实", default=False, help_text="未核实的是按 domain.md 设置的默认值，请按本地文件核对"
    )
    note = models.CharField("依据/说明", max_length=300, blank=True)

    procedure_profile = models.CharField(
        "审核审批程序",
        max_length=12,
        choices=ProcedureProfile.choices,
        default=ProcedureProfile.TRIAL_2012,
    )
    # Time limits in working days (工作日) unless named *_calendar_days.
    investigation_days = models.PositiveSmallIntegerField("入户调查时限（工作日）", default=10)
    appraisal_days = models.PositiveSmallIntegerField("民主评议时限（工作日）", default=5)
    township_review_days = models.PositiveSmallIntegerField("乡镇审核时限（工作日）", default=5)
    notice_calendar_days = models.PositiveSmallIntegerField("公示期（天）", default=7)
    county_review_days = models.PositiveSmallIntegerField("县级审批时限（工作日）", default=5)
    tekun_investigation_days = models.PositiveSmallIntegerField(
        "特困调查时限（工作日）", default=15
    )
    tekun_county_review_days = models.PositiveSmallIntegerField(
        "特困县级审核时限（工作日）", default=15
    )
    decision_days = models.PositiveSmallIntegerField("公示后决定时限（工作日）", default=3)
    rejection_notice_days = models.PositiveSmallIntegerField(
        "不予批准告知时限（工作日）", default=3
    )
    objection_days = models.PositiveSmallIntegerField("异议复查时限（工作日）", default=20)
    overall_days = models.PositiveSmallIntegerField("总时限（工作日）", default=30)
    overall_extended_days = models.PositiveSmallIntegerField("延长后总时限（工作日）", default=45)
    county_sample_rate = models.DecimalField(
        "县级入户抽查比例", max_digits=4, decimal_places=2, default=Decimal("0.30")
    )
    # Calculation
    rounding = models.CharField(
        "金额取整", max_length=16, choices=RoundingRule.choices, default=RoundingRule.YUAN_HALF_UP
    )
    minimum_per_person_monthly = models.DecimalField(
        "每名保障对象最低月保障金（元）", default=Decimal("0"), **MONEY
    )
    edge_family_factor = models.DecimalField(
        "低保边缘家庭系数", max_digits=4, decimal_places=2, default=Decimal("1.50")
    )
    medical_deduction_cap = models.DecimalField(
        "医疗支出扣减上限（元/月）", null=True, blank=True, **MONEY, help_text="空表示不设上限"
    )
    education_deduction_cap = models.DecimalField(
        "教育支出扣减上限（元/月）", null=True, blank=True, **MONEY
    )
    employment_deduction_cap = models.DecimalField(
        "就业成本扣减上限（元/月）", null=True, blank=True, **MONEY
    )
    disability_deduction_cap = models.DecimalField(
        "残疾支出扣减上限（元/月）", null=True, blank=True, **MONEY
    )
    # Assets (家庭财产): all thresholds are local rules (domain.md §3, all [CFG]).
    deposit_limit_per_person = models.DecimalField(
        "人均存款等金融资产上限（元）", null=True, blank=True, **MONEY, help_text="空表示不限"
    )
    vehicle_limit = models.PositiveSmallIntegerField(
        "机动车辆上限（辆，不含残疾人功能性车辆）", null=True, blank=True
    )
    house_limit = models.PositiveSmallIntegerField("房产上限（套）", null=True, blank=True)
    business_registration_disqualifies = models.BooleanField(
        "有工商登记（正常经营）即不符合", default=True
    )
    # Dynamic management
    gradual_exit_months = models.PositiveSmallIntegerField("渐退期（月）", default=6)
    registry_gradual_exit_months = models.PositiveSmallIntegerField(
        "建档立卡低保户渐退期（月）", default=12
    )
    death_check_months = models.PositiveSmallIntegerField("成员死亡后核查时限（月）", default=3)
    work_refusal_limit = models.PositiveSmallIntegerField("无正当理由拒绝就业次数上限", default=3)
    # 逢救必核 (domain.md §11): a report on every required item, not older than this.
    verification_validity_days = models.PositiveSmallIntegerField(
        "核对结果有效期（天）", default=180
    )
    verification_required_items = models.JSONField(
        "必须核对的项目",
        default=list,
        blank=True,
        help_text="核对项目代码列表，如 vehicle、real_estate、business、deposits；空表示不要求",
    )
    temporary_township_limit = models.DecimalField(
        "苏木乡镇临时救助审批限额（元）",
        default=Decimal("1000.00"),
        **MONEY,
        help_text="委托苏木乡镇审批的临时救助金额上限，超过的报旗县民政局审批",
    )
    payment_frequency = models.CharField(
        "发放周期",
        max_length=10,
        choices=PaymentFrequency.choices,
        default=PaymentFrequency.MONTHLY,
    )

    class Meta:
        verbose_name = "政策参数"
        verbose_name_plural = "政策参数"
        ordering = ["area__code", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "effective_from"], name="policy_area_date_unique"
            ),
            models.CheckConstraint(
                condition=Q(county_sample_rate__gte=0) & Q(county_sample_rate__lte=1),
                name="policy_sample_rate_fraction",
            ),
            models.CheckConstraint(
                condition=Q(edge_family_factor__gte=1), name="policy_edge_factor"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.effective_from:%Y-%m-%d}"


class ClassifiedUplift(BaseModel):
    """分类施保: extra benefit for a covered person of a category, under one policy setting."""

    policy = models.ForeignKey(
        PolicySetting, on_delete=models.CASCADE, related_name="uplifts", verbose_name="政策参数"
    )
    category = models.CharField("类别", max_length=30, choices=UpliftCategory.choices)
    mode = models.CharField("方式", max_length=10, choices=UpliftMode.choices)
    value = models.DecimalField(
        "数值", max_digits=10, decimal_places=2, help_text="百分比填 10 表示保障标准的 10%"
    )
    elderly_min_age = models.PositiveSmallIntegerField(
        "老年人起始年龄", null=True, blank=True, help_text="仅“老年人”类别"
    )

    class Meta:
        verbose_name = "分类施保"
        verbose_name_plural = "分类施保"
        constraints = [
            models.UniqueConstraint(
                fields=["policy", "category"], name="uplift_policy_category_unique"
            ),
            models.CheckConstraint(condition=Q(value__gte=0), name="uplift_value_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.value}"
