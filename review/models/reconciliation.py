"""The ledger reconciliation (reconciliation.md): runs, their findings and the township worklist
items that carry over from run to run.

- A ``ReconciliationSweep`` is one province-wide run (the beat schedule or ``reconcile --all``):
  one ``ReconciliationRun`` per county hangs under it.
- A ``ReconciliationRun`` is one county and as-of date. Its ``status`` is claimed by conditional
  updates (QUEUED → RUNNING → FINISHED | FAILED); a partial unique index keeps one active run per
  county, so the same county is never reconciled twice at once.
- A ``ReconciliationItem`` is one finding that a township must resolve, keyed by
  (county, category, key) — the key is built from the households' numbers or the person's ID hash,
  so the next run that finds the same thing keeps the item and its history (carry-over) instead
  of making a new one. ``ReconciliationFinding`` says which runs found which items; ``ItemEvent``
  is the item's history (found, found again, resolved, reopened, closed by the data).
- No plain ID numbers are stored: items point at ``Person`` rows (``person_ids``); exports and
  pages decrypt and mask them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from lowbao.areas.models import Area
from lowbao.core.models import BaseModel


class ReconciliationCategory(models.TextChoices):
    """The fixed category codes of reconciliation.md (the UI shows the labels)."""

    LINKED = "linked", "低保与建档立卡一致"
    ATTR_MISMATCH = "attr_mismatch", "贫困户属性与低保状态不符"
    AMOUNT_MISMATCH = "amount_mismatch", "低保金额不一致"
    MEMBER_MISMATCH = "member_mismatch", "家庭成员不一致"
    SPLIT_HOUSEHOLD = "split_household", "户结构交叉"
    REGISTRY_DIBAO_MISSING = "registry_dibao_missing", "建档立卡标注低保但未在保"
    SHOULD_PROTECT = "should_protect", "应保尽保（疑似应保未保）"
    SHOULD_REGISTER = "should_register", "应扶尽扶（疑似应纳未纳）"
    SHOULD_EXIT_REVIEW = "should_exit_review", "应退则退（需复核）"
    DUPLICATE_PERSON = "duplicate_person", "重复享受"
    DIBAO_AND_TEKUN = "dibao_and_tekun", "低保特困重复"


class RunTrigger(models.TextChoices):
    SCHEDULE = "schedule", "定时任务"
    MANUAL = "manual", "手动（网页）"
    COMMAND = "command", "命令行"


class RunStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "比对中"
    FINISHED = "finished", "已完成"
    FAILED = "failed", "失败"


ACTIVE_RUN_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class ItemState(models.TextChoices):
    OPEN = "open", "待处理"
    VERIFIED = "verified", "已核实无误"
    CORRECTED = "corrected", "已更正"
    INCLUDED = "included", "已纳入"
    EXITED = "exited", "已退出"
    REFERRED = "referred", "已转办"
    CLOSED_BY_DATA = "closed_by_data", "数据已消除"


class ReconciliationSweep(BaseModel):
    """One province-wide reconciliation (all counties, one as-of date)."""

    as_of = models.DateField("比对基准日")
    period = models.CharField("期次", max_length=6, help_text="如 2026H2")
    trigger = models.CharField("发起方式", max_length=10, choices=RunTrigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    status = models.CharField(
        "状态", max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    counties_total = models.PositiveIntegerField("旗县数", default=0)
    counties_done = models.PositiveIntegerField("已完成旗县数", default=0)
    counties_failed = models.PositiveIntegerField("失败旗县数", default=0)
    counties_skipped = models.PositiveIntegerField(
        "跳过旗县数", default=0, help_text="发起时已有比对在进行的旗县，未列入本次"
    )
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "全区台账比对"
        verbose_name_plural = "全区台账比对"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="recon_sweep_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"全区台账比对 {self.period}（{self.as_of}）"


class ReconciliationRun(BaseModel):
    """One county's reconciliation on one as-of date."""

    sweep = models.ForeignKey(
        ReconciliationSweep,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="runs",
        verbose_name="全区比对",
    )
    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    as_of = models.DateField("比对基准日")
    period = models.CharField("期次", max_length=6, help_text="如 2026H2")
    trigger = models.CharField("发起方式", max_length=10, choices=RunTrigger.choices)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="发起人",
    )
    status = models.CharField(
        "状态", max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    step = models.CharField("当前步骤", max_length=60, blank=True)
    attempts = models.PositiveSmallIntegerField("执行次数", default=0)
    counts = models.JSONField("各类数量", default=dict, blank=True)
    dibao_households = models.PositiveIntegerField("低保/特困在保户数", default=0)
    registry_households = models.PositiveIntegerField("建档立卡户数", default=0)
    registry_snapshot = models.ForeignKey(
        "poverty.RegistrySnapshot",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="所用建档立卡快照",
    )
    error = models.CharField("失败原因", max_length=500, blank=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)

    class Meta:
        verbose_name = "台账比对"
        verbose_name_plural = "台账比对"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=RunStatus.values), name="recon_run_status_valid"
            ),
            # never two active runs for one county (claimed at enqueue time)
            models.UniqueConstraint(
                fields=["county"],
                condition=Q(status__in=ACTIVE_RUN_STATUSES),
                name="recon_run_one_active_per_county",
            ),
        ]
        indexes = [
            models.Index(fields=["county", "-as_of"], name="recon_run_county_asof_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.county.name} {self.period}（{self.as_of}）"


class ReconciliationItem(BaseModel):
    """One finding a township resolves; kept across runs while the same finding recurs."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    township = models.ForeignKey(
        Area,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="责任苏木乡镇",
    )
    category = models.CharField("类别", max_length=24, choices=ReconciliationCategory.choices)
    key = models.CharField(
        "比对键",
        max_length=200,
        help_text="类别内的稳定标识：户编号组合或身份证号索引，跨期次保持不变",
    )
    dibao_household = models.ForeignKey(
        "cases.Household",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="低保/特困户",
    )
    registry_household = models.ForeignKey(
        "poverty.RegistryHousehold",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="建档立卡户",
    )
    dibao_numbers = models.JSONField("低保户编号", default=list, blank=True)
    registry_numbers = models.JSONField("建档立卡户编号", default=list, blank=True)
    person_ids = models.JSONField("涉及人员", default=list, blank=True, help_text="Person 主键")
    details = models.JSONField(
        "明细",
        default=dict,
        blank=True,
        help_text="如仅在低保/仅在建档立卡的人员、两边金额；不含明文身份证号",
    )
    state = models.CharField("处理状态", max_length=16, choices=ItemState.choices)
    first_run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="首次发现",
    )
    # Every run rewrites ``last_run`` of every item it finds again. Without an index on it (runs
    # are never deleted, nothing filters items by it) and with free room on the table's pages
    # (fillfactor 50 on PostgreSQL, migration 0005), that rewrite is a heap-only (HOT) update
    # that touches none of the other indexes (quality.md P5). No database constraint either:
    # PostgreSQL checks a foreign key row by row (a locking lookup of the run per item, ~94,000
    # at the commit of a province run); the only writer is the run's own set-based UPDATE, which
    # takes the run id from ``recon_scope`` (runs created in that transaction), and runs are
    # never deleted (PROTECT here; ``test_reconciliation_integrity`` checks no item or finding
    # points at a missing run).
    last_run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="最近发现",
        db_index=False,
        db_constraint=False,
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="处理人",
    )
    resolved_at = models.DateTimeField("处理时间", null=True, blank=True)
    resolution_note = models.CharField("处理说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "比对问题"
        verbose_name_plural = "比对问题"
        ordering = ["county_id", "category", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "category", "key"], name="recon_item_once_per_finding"
            ),
            models.CheckConstraint(
                condition=Q(category__in=ReconciliationCategory.values)
                & ~Q(category=ReconciliationCategory.LINKED),
                name="recon_item_category_valid",
            ),
            models.CheckConstraint(
                condition=Q(state__in=ItemState.values), name="recon_item_state_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["township", "state", "category"], name="recon_item_worklist_idx"),
            models.Index(fields=["county", "state", "category"], name="recon_item_county_idx"),
            # Keyset pagination of the worklist on (category, key, id) (quality.md P6).
            models.Index(
                fields=["township", "state", "category", "key", "id"],
                name="recon_item_town_seek_idx",
            ),
            models.Index(
                fields=["county", "state", "category", "key", "id"],
                name="recon_item_county_seek_idx",
            ),
            models.Index(
                fields=["state", "category", "key", "id"], name="recon_item_state_seek_idx"
            ),
            # the worklist's capped tab counts for users of many counties: an index-only scan
            # of one state and category, the county checked in the index (quality.md P6)
            models.Index(fields=["state", "category", "county"], name="recon_item_tab_count_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_category_display()} {self.key}"


class ReconciliationFinding(models.Model):
    """Which run found which item (the run's item list).

    Written only by the run's set-based ``INSERT … SELECT`` (``reconciliation_sql.write``) from a
    join of the found rows with the items and the scope's runs of the same transaction, so both
    ids exist by construction. The foreign keys have no database constraint: PostgreSQL checks
    them row by row at commit (two locking lookups per finding, ~190,000 for a province run —
    about 5 s of a 20 s run, quality.md P5). Deletion stays governed by the ORM (CASCADE from the
    run, PROTECT for the item), and ``test_reconciliation_integrity`` checks for orphans.
    """

    # no index of its own: the unique (run, item) index serves every lookup by run, and one
    # index less to fill for each of the ~94,000 findings of a province run
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.CASCADE,
        related_name="findings",
        verbose_name="比对",
        db_constraint=False,
        db_index=False,
    )
    item = models.ForeignKey(
        ReconciliationItem,
        on_delete=models.PROTECT,
        related_name="findings",
        verbose_name="问题",
        db_constraint=False,
    )

    class Meta:
        verbose_name = "比对发现"
        verbose_name_plural = "比对发现"
        constraints = [
            models.UniqueConstraint(fields=["run", "item"], name="recon_finding_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.item_id}"


class ItemEvent(models.Model):
    """The history of an item: found, found again, resolved, reopened, closed by the data."""

    class Action(models.TextChoices):
        FOUND = "found", "发现"
        FOUND_AGAIN = "found_again", "再次发现"
        RESOLVED = "resolved", "处理"
        REOPENED = "reopened", "重新打开"
        CLOSED_BY_DATA = "closed_by_data", "数据已消除"

    item = models.ForeignKey(
        ReconciliationItem, on_delete=models.CASCADE, related_name="events", verbose_name="问题"
    )
    run = models.ForeignKey(
        ReconciliationRun,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="比对",
    )
    action = models.CharField("动作", max_length=16, choices=Action.choices)
    state_from = models.CharField("原状态", max_length=16, blank=True)
    state_to = models.CharField("新状态", max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    at = models.DateTimeField("时间")
    note = models.CharField("说明", max_length=500, blank=True)

    class Meta:
        verbose_name = "问题处理记录"
        verbose_name_plural = "问题处理记录"
        ordering = ["item_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.action}"
