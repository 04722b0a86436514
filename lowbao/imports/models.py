"""Staging of ledger imports (style B.6): one ``ImportBatch`` per file content, one ``ImportRow``
per data row of the file.

Staging never holds a plain ID number or bank account: ``ImportRow.raw`` keeps the cells as typed
with those columns masked (first 6, last 4). The full values are only read from the stored file,
in memory, when a batch is parsed or applied.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from lowbao.areas.models import Area
from lowbao.core.models import BaseModel


class ImportKind(models.TextChoices):
    DIBAO = "dibao", "低保/特困花名册"
    POVERTY = "poverty", "建档立卡贫困人口"
    DISABILITY = "disability", "残疾人信息"
    VERIFICATION = "verification", "家庭经济状况核对结果"
    STANDARDS = "standards", "保障标准"
    AREAS = "areas", "苏木乡镇/嘎查村区划"


class ImportStatus(models.TextChoices):
    """Business status of a batch (style B.6). A parsed or rejected batch may be parsed again
    (the same file against today's data); an applied batch is final."""

    UPLOADED = "uploaded", "已上传"
    PARSING = "parsing", "解析中"
    PARSED = "parsed", "已解析"
    REJECTED = "rejected", "已拒绝"
    RECONCILING = "reconciling", "比对中"
    IN_REVIEW = "in_review", "待复核"
    APPLYING = "applying", "写入中"
    APPLIED = "applied", "已导入"
    FAILED = "failed", "失败"


class JobStatus(models.TextChoices):
    """State of the background work on a batch, separate from its business status (B.4)."""

    IDLE = "idle", "空闲"
    RUNNING = "running", "运行中"
    DONE = "done", "完成"
    FAILED = "failed", "失败"


class QueuedJob(models.TextChoices):
    """Background work requested for a batch and not finished yet (the upload page's big-file
    path): set by a conditional update before the task is enqueued, so a second click finds it
    taken, and cleared by the task when it ends."""

    NONE = "", "无"
    PARSE = "parse", "校验"
    APPLY = "apply", "写入"


class RowMatch(models.TextChoices):
    NEW = "new", "新增"
    MATCHED = "matched", "已匹配"
    CONFLICT = "conflict", "冲突"
    INVALID = "invalid", "有错误"


class ImportBatch(BaseModel):
    kind = models.CharField("台账类型", max_length=20, choices=ImportKind.choices)
    original_name = models.CharField("原文件名", max_length=255)
    file = models.CharField("存储路径", max_length=300, help_text="相对 MEDIA_ROOT")
    file_format = models.CharField("文件格式", max_length=8, blank=True)
    sha256 = models.CharField("文件摘要", max_length=64)
    size = models.PositiveBigIntegerField("文件大小", default=0)
    county = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="旗县",
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="上传人",
    )
    status = models.CharField(
        "状态", max_length=12, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    job_status = models.CharField(
        "任务状态", max_length=8, choices=JobStatus.choices, default=JobStatus.IDLE
    )
    error_code = models.CharField(
        "拒绝原因代码", max_length=40, blank=True, help_text="整个文件无法读取时"
    )
    options = models.JSONField("选项", default=dict, blank=True)
    counts = models.JSONField("统计", default=dict, blank=True)
    errors = models.JSONField("错误（前若干条）", default=list, blank=True)
    warnings = models.JSONField("警告（前若干条）", default=list, blank=True)
    error_count = models.PositiveIntegerField("错误数", default=0)
    warning_count = models.PositiveIntegerField("警告数", default=0)
    rows_read = models.PositiveIntegerField("已读行数", default=0)
    rows_total_estimate = models.PositiveIntegerField("估计总行数", null=True, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    applied_at = models.DateTimeField("导入时间", null=True, blank=True)
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="导入人",
    )
    queued_job = models.CharField(
        "排队中的任务", max_length=8, choices=QueuedJob.choices, default="", blank=True
    )
    queued_at = models.DateTimeField("排队时间", null=True, blank=True)
    job_message = models.CharField(
        "任务信息", max_length=500, blank=True, help_text="后台任务被拒绝或失败时的说明"
    )
    preview = models.JSONField(
        "变更预览", default=dict, blank=True, help_text="试导入（回滚）得到的新增/更新/未变及样例"
    )
    claimed_at = models.DateTimeField(
        "认领时间",
        null=True,
        blank=True,
        help_text="解析或写入的执行进程最后一次报告进度的时间；超过时限未更新视为进程已退出",
    )
    claim_token = models.CharField(
        "认领标记", max_length=32, blank=True, help_text="正在执行的解析或写入的标记，结束时清空"
    )

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same file twice is the same batch: per kind and county, or per kind for the
            # person-level ledgers that have no county (NULLs are distinct in a unique index).
            models.UniqueConstraint(
                fields=["kind", "county", "sha256"],
                condition=Q(county__isnull=False),
                name="import_batch_file_once_per_county",
            ),
            models.UniqueConstraint(
                fields=["kind", "sha256"],
                condition=Q(county__isnull=True),
                name="import_batch_file_once_without_county",
            ),
            models.CheckConstraint(
                condition=Q(status__in=ImportStatus.values), name="import_batch_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=ImportKind.values), name="import_batch_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(queued_job__in=QueuedJob.values), name="import_batch_queued_job_valid"
            ),
        ]
        indexes = [models.Index(fields=["kind", "status"], name="import_batch_kind_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.original_name}"


class ImportRow(models.Model):
    """One data row of a batch's file, with every problem found on it.

    ``household`` is the row's 户编号 (empty for person-level ledgers): "skip invalid" leaves out
    whole households, so the rows of a household share their fate.
    """

    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="rows", verbose_name="批次"
    )
    row_number = models.PositiveIntegerField("行号")
    household = models.CharField("户编号", max_length=40, blank=True)
    raw = models.JSONField("原始值（敏感值已脱敏）", default=dict)
    match = models.CharField("匹配", max_length=10, choices=RowMatch.choices)
    errors = models.JSONField("错误", default=list, blank=True)
    warnings = models.JSONField("警告", default=list, blank=True)

    class Meta:
        verbose_name = "导入行"
        verbose_name_plural = "导入行"
        ordering = ["batch_id", "row_number"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "row_number"], name="import_row_once"),
            models.CheckConstraint(
                condition=Q(match__in=RowMatch.values), name="import_row_match_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.row_number}"

    @property
    def written_at(self):
        """When the row's data was written: the batch's apply, for every row that is not invalid
        ("skip invalid" leaves invalid households out; all-or-nothing has none)."""
        if self.match == RowMatch.INVALID:
            return None
        return self.batch.applied_at
