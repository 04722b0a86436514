"""The application procedure (domain.md §5): one ``Application`` per attempt to enter dibao or
特困, its status history and the record each step leaves behind."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.choices import (
    CLOSED_APPLICATION_STATUSES,
    ApplicationAction,
    ApplicationStatus,
    AppraisalOutcome,
    CountyVisitReason,
    NoticeStage,
    ProcedureProfile,
    Programme,
    TownshipOpinion,
)
from cases.models.households import Household
from cases.models.policy import MONEY
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel

USER = settings.AUTH_USER_MODEL


class Application(BaseModel):
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="applications", verbose_name="保障户"
    )
    # The village, repeated from the household so that scoping needs no extra join.
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    programme = models.CharField("救助类型", max_length=10, choices=Programme.choices)
    profile = models.CharField("审核程序", max_length=12, choices=ProcedureProfile.choices)
    status = models.CharField(
        "状态", max_length=20, choices=ApplicationStatus.choices, default=ApplicationStatus.APPLIED
    )
    applied_on = models.DateField("申请日期")
    applicant_name = models.CharField("申请人", max_length=50)
    reason = models.TextField("申请理由", blank=True)
    authorisation_signed = models.BooleanField("已签署家庭经济状况核对授权书", default=False)
    declares_close_relative = models.BooleanField("申报有近亲属为经办人员或村干部", default=False)
    close_relative_note = models.CharField("近亲属说明", max_length=200, blank=True)
    submitted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )
    accepted_on = models.DateField("受理日期", null=True, blank=True)
    accepted_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="受理人",
    )
    due_on = models.DateField("本环节截止日期", null=True, blank=True)
    overall_due_on = models.DateField("总截止日期", null=True, blank=True)
    is_extended = models.BooleanField("已延长时限", default=False)
    township_opinion = models.CharField(
        "乡镇审核意见", max_length=14, blank=True, choices=TownshipOpinion.choices
    )
    township_opinion_text = models.TextField("乡镇审核意见说明", blank=True)
    proposed_amount = models.DecimalField("拟保障金额（元/月）", null=True, blank=True, **MONEY)
    means_test = models.JSONField("核算结果", default=dict, blank=True)
    county_visit_required = models.BooleanField("须县级入户核查", default=False)
    county_visit_reason = models.CharField(
        "县级入户原因", max_length=16, blank=True, choices=CountyVisitReason.choices
    )
    sample = models.ForeignKey(
        "CountySample",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name="抽查批次",
    )
    decided_on = models.DateField("审批日期", null=True, blank=True)
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="审批人",
    )
    approved_amount = models.DecimalField("核定月保障金额（元）", null=True, blank=True, **MONEY)
    payment_start_month = models.DateField("发放起始月", null=True, blank=True)
    certificate_number = models.CharField("证书编号", max_length=40, blank=True)
    rejection_reason = models.TextField("不予批准理由", blank=True)
    version = models.PositiveIntegerField("版本", default=0)

    class Meta:
        verbose_name = "申请"
        verbose_name_plural = "申请"
        ordering = ["-applied_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ApplicationStatus.values), name="application_status_valid"
            ),
            models.UniqueConstraint(
                fields=["household", "programme"],
                condition=~Q(status__in=[status.value for status in CLOSED_APPLICATION_STATUSES]),
                name="one_open_application_per_household_programme",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.APPROVED)
                | (Q(approved_amount__isnull=False) & Q(payment_start_month__isnull=False)),
                name="approved_application_has_amount_and_start",
            ),
            models.CheckConstraint(
                condition=~Q(status=ApplicationStatus.REJECTED) | ~Q(rejection_reason=""),
                name="rejected_application_has_reason",
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="application_status_due_idx")]

    def __str__(self) -> str:
        return f"{self.household.number} {self.get_status_display()}"

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_APPLICATION_STATUSES


class StatusTransition(models.Model):
    """One row per transition: the household page's timeline and the workflow's evidence."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="transitions", verbose_name="申请"
    )
    from_status = models.CharField("原状态", max_length=20, choices=ApplicationStatus.choices)
    to_status = models.CharField("新状态", max_length=20, choices=ApplicationStatus.choices)
    action = models.CharField("操作", max_length=20, choices=ApplicationAction.choices)
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="操作人"
    )
    at = models.DateTimeField("时间", auto_now_add=True)
    comment = models.TextField("意见", blank=True)

    class Meta:
        verbose_name = "状态变更"
        verbose_name_plural = "状态变更"
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_from_status_display()} → {self.get_to_status_display()}"


class Investigation(BaseModel):
    """家庭经济状况调查: home visit by ≥ 2 investigators, neighbour interviews, letters."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="investigations", verbose_name="申请"
    )
    investigators = models.JSONField("调查人员", default=list)
    visited_on = models.DateField("入户日期")
    home_visit_record = models.TextField("入户调查记录")
    neighbour_interviews = models.TextField("邻里访问记录", blank=True)
    letters = models.TextField("信函索证", blank=True)
    data_check_summary = models.TextField("信息核对情况", blank=True)
    applicant_signed = models.BooleanField("申请人已签字确认", default=False)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "入户调查"
        verbose_name_plural = "入户调查"
        ordering = ["visited_on", "id"]


class DemocraticAppraisal(BaseModel):
    """民主评议 (2012 profile; optional in 2021): ≥ 2/3 of attendees are villager reps."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="appraisals", verbose_name="申请"
    )
    held_on = models.DateField("评议日期")
    attendees_total = models.PositiveSmallIntegerField("参加人数")
    villager_representatives = models.PositiveSmallIntegerField("其中村民代表人数")
    minutes = models.TextField("评议记录")
    outcome = models.CharField("评议结论", max_length=10, choices=AppraisalOutcome.choices)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "民主评议"
        verbose_name_plural = "民主评议"
        constraints = [
            models.CheckConstraint(
                condition=Q(villager_representatives__lte=models.F("attendees_total")),
                name="appraisal_representatives_within_attendees",
            ),
        ]


class PublicNotice(BaseModel):
    """公示: 7 calendar days in the village; only name, number of members and amount are shown."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="notices", verbose_name="申请"
    )
    stage = models.CharField("公示类型", max_length=10, choices=NoticeStage.choices)
    starts_on = models.DateField("公示开始")
    ends_on = models.DateField("公示结束")
    location = models.CharField("公示地点", max_length=100, blank=True)
    closed_on = models.DateField("结束处理日期", null=True, blank=True)
    posted_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "公示"
        verbose_name_plural = "公示"
        ordering = ["starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="notice_dates_ordered"
            ),
        ]


class Objection(BaseModel):
    notice = models.ForeignKey(
        PublicNotice, on_delete=models.CASCADE, related_name="objections", verbose_name="公示"
    )
    received_on = models.DateField("收到日期")
    content = models.TextField("异议内容")
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "公示异议"
        verbose_name_plural = "公示异议"


class CountySample(BaseModel):
    """A reproducible random draw of applications for county home visits (≥ 30%)."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    drawn_on = models.DateField("抽取日期")
    seed = models.CharField("随机种子", max_length=64)
    rate = models.DecimalField("抽查比例", max_digits=4, decimal_places=2)
    pool_size = models.PositiveIntegerField("待审核申请数")
    drawn_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="抽取人"
    )

    class Meta:
        verbose_name = "县级抽查批次"
        verbose_name_plural = "县级抽查批次"


class CountyVisit(BaseModel):
    """县级入户核查 record."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="county_visits", verbose_name="申请"
    )
    visited_on = models.DateField("核查日期")
    visitors = models.JSONField("核查人员", default=list)
    record = models.TextField("核查记录")
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="登记人"
    )

    class Meta:
        verbose_name = "县级入户核查"
        verbose_name_plural = "县级入户核查"
