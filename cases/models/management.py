"""Dynamic management (domain.md §6), 特困 self-care assessment (§7) and 临时救助 (§8)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.choices import ChangeKind, ChangeOutcome, ChangeStatus
from cases.models.households import Household, HouseholdMember
from cases.models.policy import MONEY
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel
from lowbao.people.models import Person

USER = settings.AUTH_USER_MODEL


class HomeVisit(BaseModel):
    """走访: a regular or ad-hoc visit and what it found."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="home_visits", verbose_name="保障户"
    )
    visited_on = models.DateField("走访日期")
    visitors = models.JSONField("走访人员", default=list)
    findings = models.TextField("走访情况")
    change_found = models.BooleanField("发现变化", default=False)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "走访记录"
        verbose_name_plural = "走访记录"
        ordering = ["-visited_on", "-id"]


class ChangeReport(BaseModel):
    """A change in members, income or assets → re-assessment → a decision with reasons and a
    notice. The amount changes from the month after the decision."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="changes", verbose_name="保障户"
    )
    kind = models.CharField("变化类型", max_length=10, choices=ChangeKind.choices)
    reported_on = models.DateField("登记日期")
    description = models.TextField("变化情况")
    status = models.CharField(
        "状态", max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.REPORTED
    )
    means_test = models.JSONField("重新核算结果", default=dict, blank=True)
    outcome = models.CharField("处理结果", max_length=14, blank=True, choices=ChangeOutcome.choices)
    new_amount = models.DecimalField("调整后月保障金额", null=True, blank=True, **MONEY)
    effective_month = models.DateField("生效月份", null=True, blank=True)
    reasons = models.TextField("理由", blank=True)
    notice_text = models.TextField("告知书内容", blank=True)
    decided_on = models.DateField("决定日期", null=True, blank=True)
    reported_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="决定人",
    )

    class Meta:
        verbose_name = "变更报告"
        verbose_name_plural = "变更报告"
        ordering = ["-reported_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ChangeStatus.DECIDED) | (~Q(outcome="") & ~Q(reasons="")),
                name="decided_change_has_outcome_and_reasons",
            ),
        ]


class SelfCareAssessment(BaseModel):
    """特困 生活自理能力评估: six activities (domain.md §7)."""

    member = models.ForeignKey(
        HouseholdMember,
        on_delete=models.CASCADE,
        related_name="self_care_assessments",
        verbose_name="成员",
    )
    assessed_on = models.DateField("评估日期")
    can_eat = models.BooleanField("自主吃饭")
    can_dress = models.BooleanField("自主穿衣")
    can_transfer = models.BooleanField("自主上下床")
    can_toilet = models.BooleanField("自主如厕")
    can_walk_indoors = models.BooleanField("室内行走")
    can_bathe = models.BooleanField("自主洗澡")
    tier = models.CharField(
        "评估结果",
        max_length=10,
        choices=[
            ("full", "具备生活自理能力"),
            ("partial", "部分丧失生活自理能力"),
            ("complete", "完全丧失生活自理能力"),
        ],
    )
    assessed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="评估人"
    )

    class Meta:
        verbose_name = "生活自理能力评估"
        verbose_name_plural = "生活自理能力评估"
        ordering = ["-assessed_on", "-id"]


class TemporaryAssistance(BaseModel):
    """临时救助: 急难型 (help first, paperwork after) or 支出型."""

    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="申请人"
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="temporary_assistance",
        verbose_name="保障户",
    )
    kind = models.CharField(
        "类型", max_length=12, choices=[("emergency", "急难型"), ("expenditure", "支出型")]
    )
    reason = models.TextField("事由")
    household_size = models.PositiveSmallIntegerField("家庭人口")
    per_capita_income_monthly = models.DecimalField(
        "月人均收入（元）", null=True, blank=True, **MONEY
    )
    amount = models.DecimalField("救助金额（元）", **MONEY)
    form = models.CharField(
        "救助方式",
        max_length=10,
        choices=[("cash", "现金"), ("goods", "实物"), ("referral", "转介服务")],
        default="cash",
    )
    status = models.CharField(
        "状态",
        max_length=12,
        default="applied",
        choices=[
            ("applied", "已申请"),
            ("paid_first", "已先行救助"),
            ("approved", "已批准"),
            ("rejected", "不予救助"),
        ],
    )
    paperwork_completed = models.BooleanField("手续已补齐", default=False)
    applied_on = models.DateField("申请日期")
    decided_on = models.DateField("审批日期", null=True, blank=True)
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    decision_note = models.TextField("审批意见", blank=True)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "临时救助"
        verbose_name_plural = "临时救助"
        ordering = ["-applied_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="temporary_amount_non_negative")
        ]
