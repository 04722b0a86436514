"""Export jobs: one row per export a user asked for, small or big.

A job is written by ``services.export_job_run`` (in the request for small exports, by
``tasks.export_job_run_task`` for big ones). The file lives under ``MEDIA_ROOT/exports/`` until
``expires_at``; then the periodic purge deletes it and marks the job expired. The job row never
holds personal data: ``filters`` are the list page's filters (never an ID number: searching by ID
number is a POST on the list pages and is not carried into exports).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from lowbao.areas.models import Area
from lowbao.core.models import BaseModel


class ExportStatus(models.TextChoices):
    """QUEUED → RUNNING → DONE → EXPIRED, or FAILED. A worker claims a job by a conditional
    update from QUEUED (or from RUNNING when the same Celery message is delivered again after its
    worker died)."""

    QUEUED = "queued", "排队中"
    RUNNING = "running", "生成中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"
    EXPIRED = "expired", "已过期"


class ExportJob(BaseModel):
    kind = models.CharField("导出内容", max_length=40)
    filters = models.JSONField("筛选条件", default=dict, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人",
    )
    area = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="旗县",
    )
    assignment_id = models.PositiveBigIntegerField(
        "当时选择的角色",
        null=True,
        blank=True,
        help_text="区域切换所选的角色分配，任务按它限定范围",
    )
    reveal = models.BooleanField("显示完整证件号和账号", default=False)
    reveal_reason = models.CharField("显示完整信息的理由", max_length=200, blank=True)
    status = models.CharField(
        "状态", max_length=10, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    task_id = models.CharField("任务编号", max_length=64, blank=True)
    rows_expected = models.PositiveIntegerField("预计行数", default=0)
    rows_written = models.PositiveIntegerField("已写行数", default=0)
    row_count = models.PositiveIntegerField("行数", null=True, blank=True)
    file = models.CharField("存储路径", max_length=300, blank=True, help_text="相对 MEDIA_ROOT")
    file_name = models.CharField("下载文件名", max_length=200, blank=True)
    size = models.PositiveBigIntegerField("文件大小", default=0)
    sha256 = models.CharField("文件摘要", max_length=64, blank=True)
    error_message = models.CharField("失败原因", max_length=300, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    expires_at = models.DateTimeField("文件删除时间", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "导出任务"
        verbose_name_plural = "导出任务"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ExportStatus.values), name="export_job_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(reveal=False) | ~Q(reveal_reason=""),
                name="export_job_reveal_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="export_job_requester_idx")
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"

    @property
    def progress_percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_expected:
            return 0
        return min(99, self.rows_written * 100 // self.rows_expected)
