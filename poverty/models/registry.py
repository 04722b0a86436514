"""The 建档立卡 registry as lowbao knows it: current households and members (the latest
snapshot), and every snapshot with its entries, so that the registry on any date and the changes
between two snapshots can be told (issue 4)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.choices import Health, LabourCapacity, Relation, SchoolStatus
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel
from lowbao.people.models import Person
from poverty.choices import (
    PovertyAttribute,
    PovertyCause,
    PovertyStatus,
    SnapshotSource,
    WorkStatus,
)

MONEY = {"max_digits": 12, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL


class RegistrySnapshot(BaseModel):
    """One export of a county's registry (import or API push), dated by the export date."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    snapshot_date = models.DateField("快照日期")
    source = models.CharField("来源", max_length=10, choices=SnapshotSource.choices)
    source_name = models.CharField("文件/请求", max_length=200, blank=True)
    content_hash = models.CharField("内容摘要", max_length=64)
    household_count = models.PositiveIntegerField("户数", default=0)
    person_count = models.PositiveIntegerField("人数", default=0)
    created_count = models.PositiveIntegerField("新增户", default=0)
    updated_count = models.PositiveIntegerField("变更户", default=0)
    unchanged_count = models.PositiveIntegerField("未变户", default=0)
    left_count = models.PositiveIntegerField("退出台账户", default=0)
    is_partial = models.BooleanField(
        "增量推送", default=False, help_text="接口增量推送只更新所列户，不把未列出的户标记为退出"
    )
    created_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )

    class Meta:
        verbose_name = "建档立卡快照"
        verbose_name_plural = "建档立卡快照"
        ordering = ["county_id", "-snapshot_date", "-id"]
        indexes = [
            models.Index(fields=["county", "snapshot_date"], name="snapshot_county_date_idx")
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.snapshot_date:%Y-%m-%d}"


class RegistryHousehold(BaseModel):
    """A registry household (identity: county + 户编号), with its latest known values."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    number = models.CharField("户编号", max_length=40)
    attribute = models.CharField("贫困户属性", max_length=16, choices=PovertyAttribute.choices)
    main_cause = models.CharField("主要致贫原因", max_length=2, choices=PovertyCause.choices)
    other_causes = models.JSONField("其他致贫原因", default=list, blank=True)
    poverty_status = models.CharField("脱贫状态", max_length=10, choices=PovertyStatus.choices)
    exit_year = models.PositiveSmallIntegerField("脱贫年度", null=True, blank=True)
    identified_year = models.PositiveSmallIntegerField("识别年度", null=True, blank=True)
    annual_income_per_capita = models.DecimalField("家庭年人均纯收入（元）", **MONEY)
    dibao_amount_recorded = models.DecimalField(
        "享受低保金额（元/月）", null=True, blank=True, **MONEY
    )
    helper_name = models.CharField("帮扶责任人", max_length=50, blank=True)
    helper_unit = models.CharField("帮扶单位", max_length=100, blank=True)
    in_registry = models.BooleanField("在台账", default=True)
    left_registry_on = models.DateField("退出台账日期", null=True, blank=True)
    first_snapshot = models.ForeignKey(
        RegistrySnapshot, on_delete=models.PROTECT, related_name="+", verbose_name="首次出现"
    )
    last_snapshot = models.ForeignKey(
        RegistrySnapshot, on_delete=models.PROTECT, related_name="+", verbose_name="最近出现"
    )

    class Meta:
        verbose_name = "建档立卡户"
        verbose_name_plural = "建档立卡户"
        ordering = ["county_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "number"], name="registry_number_unique_in_county"
            ),
            models.CheckConstraint(
                condition=Q(attribute__in=PovertyAttribute.values), name="registry_attribute_valid"
            ),
            models.CheckConstraint(
                condition=Q(poverty_status__in=PovertyStatus.values), name="registry_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["county", "in_registry"], name="registry_county_in_idx")]

    def __str__(self) -> str:
        return self.number


class RegistryMember(BaseModel):
    household = models.ForeignKey(
        RegistryHousehold,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name="建档立卡户",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="人员"
    )
    person_number = models.CharField("人编号", max_length=40, blank=True)
    relation = models.CharField("与户主关系", max_length=2, choices=Relation.choices)
    education = models.CharField("文化程度", max_length=20, blank=True)
    school_status = models.CharField(
        "在校生状况", max_length=20, blank=True, choices=SchoolStatus.choices
    )
    health = models.CharField("健康状况", max_length=20, blank=True, choices=Health.choices)
    labour_capacity = models.CharField(
        "劳动能力", max_length=10, blank=True, choices=LabourCapacity.choices
    )
    work_status = models.CharField(
        "务工状况", max_length=16, blank=True, choices=WorkStatus.choices
    )
    work_months = models.PositiveSmallIntegerField("务工时间（月）", null=True, blank=True)
    disability_certificate = models.CharField("残疾证号", max_length=24, blank=True)

    class Meta:
        verbose_name = "建档立卡户成员"
        verbose_name_plural = "建档立卡户成员"
        ordering = ["household_id", "relation", "id"]
        constraints = [
            models.UniqueConstraint(fields=["household", "person"], name="registry_member_once"),
            models.CheckConstraint(
                condition=Q(work_months__isnull=True) | Q(work_months__lte=12),
                name="registry_work_months_0_12",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person.name}（{self.get_relation_display()}）"


class RegistrySnapshotEntry(models.Model):
    """A household as it stood in one snapshot: its values and a digest to compare snapshots."""

    snapshot = models.ForeignKey(
        RegistrySnapshot, on_delete=models.CASCADE, related_name="entries", verbose_name="快照"
    )
    household = models.ForeignKey(
        RegistryHousehold,
        on_delete=models.PROTECT,
        related_name="snapshot_entries",
        verbose_name="建档立卡户",
    )
    attribute = models.CharField("贫困户属性", max_length=16, choices=PovertyAttribute.choices)
    poverty_status = models.CharField("脱贫状态", max_length=10, choices=PovertyStatus.choices)
    annual_income_per_capita = models.DecimalField("家庭年人均纯收入（元）", **MONEY)
    dibao_amount_recorded = models.DecimalField(
        "享受低保金额（元/月）", null=True, blank=True, **MONEY
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    data_hash = models.CharField("内容摘要", max_length=64)
    change = models.CharField(
        "变化",
        max_length=10,
        choices=[("created", "新增"), ("updated", "变更"), ("unchanged", "未变")],
    )

    class Meta:
        verbose_name = "快照户"
        verbose_name_plural = "快照户"
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "household"], name="snapshot_entry_once"),
        ]

    def __str__(self) -> str:
        return f"{self.snapshot_id}:{self.household_id}"


class RegistrySnapshotMember(models.Model):
    """A member of a household in one snapshot (the reconciliation joins on these)."""

    entry = models.ForeignKey(
        RegistrySnapshotEntry,
        on_delete=models.CASCADE,
        related_name="members",
        verbose_name="快照户",
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="人员"
    )
    labour_capacity = models.CharField(
        "劳动能力", max_length=10, blank=True, choices=LabourCapacity.choices
    )

    class Meta:
        verbose_name = "快照成员"
        verbose_name_plural = "快照成员"
        constraints = [
            models.UniqueConstraint(fields=["entry", "person"], name="snapshot_member_once"),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}:{self.person_id}"


class DataQualityIssue(models.Model):
    """A registry data-quality rule (domain.md §9, last list) failed in a snapshot."""

    snapshot = models.ForeignKey(
        RegistrySnapshot,
        on_delete=models.CASCADE,
        related_name="quality_issues",
        verbose_name="快照",
    )
    household = models.ForeignKey(
        RegistryHousehold, on_delete=models.CASCADE, related_name="+", verbose_name="建档立卡户"
    )
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="人员",
    )
    township = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="苏木乡镇"
    )
    rule = models.CharField("规则", max_length=40)
    message = models.CharField("问题", max_length=300)

    class Meta:
        verbose_name = "数据质量问题"
        verbose_name_plural = "数据质量问题"
        indexes = [models.Index(fields=["snapshot", "township"], name="dq_snapshot_township_idx")]

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"
