"""Benefit periods (what is owed from which month) and monthly payment sheets (发放花名册)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.choices import BenefitKind, PaymentSheetStatus
from cases.models.households import Household
from cases.models.policy import MONEY
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel

USER = settings.AUTH_USER_MODEL


class BenefitPeriod(BaseModel):
    """The monthly amount a household is owed from ``start_month`` (first of a month) until
    ``end_month`` (inclusive, open when null). An amount change closes one period and opens the
    next from the following month; payment sheets read these rows, never the household's current
    amount, so history is reproducible.
    """

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="benefit_periods", verbose_name="保障户"
    )
    start_month = models.DateField("起始月")
    end_month = models.DateField("截止月", null=True, blank=True)
    monthly_amount = models.DecimalField("月保障金额（元）", **MONEY)
    covered_persons = models.PositiveSmallIntegerField("保障人数")
    kind = models.CharField(
        "发放类型", max_length=14, choices=BenefitKind.choices, default=BenefitKind.NORMAL
    )
    reason = models.CharField("依据", max_length=200)
    is_suspended = models.BooleanField("暂停发放", default=False)
    created_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="登记人",
    )

    class Meta:
        verbose_name = "保障期间"
        verbose_name_plural = "保障期间"
        ordering = ["household_id", "start_month"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_month__day=1), name="benefit_start_first_of_month"
            ),
            models.CheckConstraint(
                condition=Q(end_month__isnull=True) | Q(end_month__gte=models.F("start_month")),
                name="benefit_period_ordered",
            ),
            models.CheckConstraint(
                condition=Q(monthly_amount__gte=0), name="benefit_amount_non_negative"
            ),
            models.UniqueConstraint(
                fields=["household", "start_month"], name="benefit_period_start_unique"
            ),
        ]


class PaymentSheet(BaseModel):
    """发放花名册 of one township for one month (or a quarter's first month)."""

    township = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="苏木乡镇"
    )
    month = models.DateField("发放月份")
    status = models.CharField(
        "状态",
        max_length=14,
        choices=PaymentSheetStatus.choices,
        default=PaymentSheetStatus.GENERATED,
    )
    household_count = models.PositiveIntegerField("户数", default=0)
    person_count = models.PositiveIntegerField("人数", default=0)
    total_amount = models.DecimalField("合计金额（元）", default=0, max_digits=14, decimal_places=2)
    generated_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="生成人"
    )
    checked_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="核对人",
    )
    version = models.PositiveIntegerField("版本", default=0)

    class Meta:
        verbose_name = "发放花名册"
        verbose_name_plural = "发放花名册"
        ordering = ["-month", "township__code"]
        constraints = [
            models.UniqueConstraint(fields=["township", "month"], name="payment_sheet_unique"),
            models.CheckConstraint(condition=Q(month__day=1), name="payment_sheet_first_of_month"),
        ]


class PaymentLine(models.Model):
    sheet = models.ForeignKey(
        PaymentSheet, on_delete=models.CASCADE, related_name="lines", verbose_name="花名册"
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="payment_lines", verbose_name="保障户"
    )
    benefit_period = models.ForeignKey(
        BenefitPeriod, on_delete=models.PROTECT, related_name="+", verbose_name="保障期间"
    )
    amount = models.DecimalField("金额（元）", **MONEY)
    covered_persons = models.PositiveSmallIntegerField("保障人数")

    class Meta:
        verbose_name = "发放明细"
        verbose_name_plural = "发放明细"
        constraints = [
            models.UniqueConstraint(
                fields=["sheet", "household"], name="payment_line_once_per_sheet"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id}: {self.amount}"
