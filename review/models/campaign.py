"""The annual review campaign (年度复核, 内政办发〔2016〕172号 二(三), issue 7).

Each fourth quarter a county reviews every dibao/特困 household in payment and every registry
household not yet out of poverty, screens both ways (应扶尽扶、应保尽保、应退则退), has the county
civil-affairs and poverty offices jointly confirm the list of dibao recipients in the registry,
has the township heads and the county leader sign the reviewed lists, and files them with the
league/city; the region spot-checks the filings.

- ``ReviewPolicy``: when the campaign opens and how long it runs (policy data, most specific area
  wins; without a row the defaults of 172号 apply: 1 October, three months).
- ``ReviewCampaign`` (county × year) → ``ReviewList`` (one per township) → ``ReviewItem`` (one per
  household). The campaign's status follows from the sign-off rows (``review.services.campaign``
  holds the stage table): open → township lists confirmed → jointly confirmed → signed → filed.
- Sign-off rows are append-only facts: ``ReviewConfirmation`` and ``ReviewSignature`` carry the
  *round* they belong to. A reopening (``ReviewReopen``) starts a new round of the list (and of the
  county list), so the earlier rows stay as history and no longer count.
- ``ReviewListSnapshot`` freezes the rows of a signed list as JSON with their SHA-256; the database
  refuses any UPDATE of a snapshot (a trigger, see the migration), so what was signed never
  changes, whatever happens to the households later.
- ``ReviewFiling`` is the filing (备案) with the league/city; ``SpotCheck`` and
  ``SpotCheckFinding`` are the region's reproducible spot checks of the filings.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from lowbao.areas.models import Area
from lowbao.core.models import BaseModel

USER = settings.AUTH_USER_MODEL
MONEY = {"max_digits": 12, "decimal_places": 2}


class CampaignStatus(models.TextChoices):
    OPEN = "open", "复核中"
    LISTS_CONFIRMED = "lists_confirmed", "乡镇名单已确认"
    JOINTLY_CONFIRMED = "jointly_confirmed", "民政扶贫已共同确认"
    SIGNED = "signed", "已签字确认"
    FILED = "filed", "已报备案"


class ListStatus(models.TextChoices):
    OPEN = "open", "复核中"
    CONFIRMED = "confirmed", "乡镇已确认"
    SIGNED = "signed", "已签字"


class ItemKind(models.TextChoices):
    DIBAO = "dibao", "低保"
    TEKUN = "tekun", "特困供养"
    REGISTRY = "registry", "建档立卡"


class ItemOutcome(models.TextChoices):
    CONTINUE = "continue", "继续保障（维持）"
    ADJUST_AMOUNT = "adjust_amount", "调整保障金额（次月起）"
    GRADUAL_EXIT = "gradual_exit", "进入渐退期"
    STOP = "stop", "停发（退出）"
    PROPOSE_REGISTRY = "propose_registry", "建议纳入建档立卡"
    PROPOSE_REGISTRY_EXIT = "propose_registry_exit", "建议退出建档立卡"


class SignOffScope(models.TextChoices):
    TOWNSHIP = "township", "苏木乡镇名单"
    COUNTY = "county", "旗县名单"


class ReviewPolicy(BaseModel):
    """When the annual review opens and how long it runs, per area (the most specific area on the
    path with a row in force wins; region → league → county)."""

    area = models.ForeignKey(Area, on_delete=models.PROTECT, related_name="+", verbose_name="区划")
    effective_from = models.DateField("生效日期")
    opens_month = models.PositiveSmallIntegerField("开始月份", default=10)
    opens_day = models.PositiveSmallIntegerField("开始日", default=1)
    duration_months = models.PositiveSmallIntegerField("复核期（月）", default=3)
    note = models.CharField("依据/说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "年度复核参数"
        verbose_name_plural = "年度复核参数"
        ordering = ["area_id", "-effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["area", "effective_from"], name="review_policy_once_per_date"
            ),
            models.CheckConstraint(
                condition=Q(opens_month__gte=1) & Q(opens_month__lte=12),
                name="review_policy_month_valid",
            ),
            models.CheckConstraint(
                condition=Q(opens_day__gte=1) & Q(opens_day__lte=28),
                name="review_policy_day_valid",
            ),
            models.CheckConstraint(
                condition=Q(duration_months__gte=1) & Q(duration_months__lte=12),
                name="review_policy_duration_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area} {self.effective_from:%Y-%m-%d}"


class ReviewCampaign(BaseModel):
    """One county's annual review of one year."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    year = models.PositiveSmallIntegerField("年度")
    opens_on = models.DateField("开始日期")
    due_on = models.DateField("截止日期")
    status = models.CharField(
        "状态", max_length=20, choices=CampaignStatus.choices, default=CampaignStatus.OPEN
    )
    round = models.PositiveSmallIntegerField(
        "旗县名单轮次", default=1, help_text="每次重新打开加 1；此前的共同确认和签字不再有效"
    )
    opened_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="发起人"
    )
    policy_note = models.CharField("时限依据", max_length=300, blank=True)

    class Meta:
        verbose_name = "年度复核"
        verbose_name_plural = "年度复核"
        ordering = ["-year", "county__code"]
        constraints = [
            models.UniqueConstraint(fields=["county", "year"], name="review_campaign_once_a_year"),
            models.CheckConstraint(
                condition=Q(status__in=CampaignStatus.values), name="review_campaign_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(due_on__gt=models.F("opens_on")), name="review_campaign_due_after_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county.name} {self.year} 年度复核"


class ReviewList(BaseModel):
    """A township's review list in a campaign."""

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.CASCADE, related_name="lists", verbose_name="年度复核"
    )
    township = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="苏木乡镇"
    )
    status = models.CharField(
        "状态", max_length=12, choices=ListStatus.choices, default=ListStatus.OPEN
    )
    round = models.PositiveSmallIntegerField("轮次", default=1)
    confirmed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="确认人",
    )
    confirmed_at = models.DateTimeField("确认时间", null=True, blank=True)

    class Meta:
        verbose_name = "复核名单"
        verbose_name_plural = "复核名单"
        ordering = ["campaign_id", "township__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "township"], name="review_list_once_per_township"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ListStatus.values), name="review_list_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(status=ListStatus.OPEN) | Q(confirmed_at__isnull=False),
                name="review_list_confirmed_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.township.name} {self.campaign.year} 复核名单"


class ReviewItem(BaseModel):
    """One household under review: the work done on it and the outcome decided.

    ``dibao_household`` is set for 低保/特困 households in payment; ``registry_household`` for
    registry households, and for a dibao household also when it shares a member with one (the
    link found at opening). ``in_registry`` keeps that link as it was at opening.
    """

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.CASCADE, related_name="items", verbose_name="年度复核"
    )
    review_list = models.ForeignKey(
        ReviewList, on_delete=models.CASCADE, related_name="items", verbose_name="复核名单"
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    kind = models.CharField("类别", max_length=10, choices=ItemKind.choices)
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
    in_registry = models.BooleanField("在建档立卡台账", default=False)
    amount_at_opening = models.DecimalField("复核开始时月保障金额", default=0, **MONEY)
    # the work
    visited_on = models.DateField("走访日期", null=True, blank=True)
    visit_findings = models.TextField("走访情况", blank=True)
    home_visit = models.ForeignKey(
        "cases.HomeVisit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="走访记录",
    )
    verification_request = models.ForeignKey(
        "poverty.VerificationRequest",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="核对申请",
    )
    change = models.ForeignKey(
        "cases.ChangeReport",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="复核核算（变更报告）",
    )
    means_test = models.JSONField("复核核算结果", default=dict, blank=True)
    means_tested_on = models.DateField("核算日期", null=True, blank=True)
    worked_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="经办人",
    )
    # proposal (township) and decision (county)
    proposed_outcome = models.CharField(
        "建议结果", max_length=24, blank=True, choices=ItemOutcome.choices
    )
    proposal_note = models.TextField("建议说明", blank=True)
    proposed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="建议人",
    )
    outcome = models.CharField("复核结果", max_length=24, blank=True, choices=ItemOutcome.choices)
    new_amount = models.DecimalField("调整后月保障金额", null=True, blank=True, **MONEY)
    effective_month = models.DateField("生效月份", null=True, blank=True)
    decision_note = models.TextField("决定理由", blank=True)
    referral = models.ForeignKey(
        "poverty.Referral",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="移交",
    )
    decided_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="决定人",
    )
    decided_at = models.DateTimeField("决定时间", null=True, blank=True)

    class Meta:
        verbose_name = "复核对象"
        verbose_name_plural = "复核对象"
        ordering = ["review_list_id", "area__code", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ItemKind.values), name="review_item_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(dibao_household__isnull=False) | Q(registry_household__isnull=False),
                name="review_item_has_household",
            ),
            models.CheckConstraint(
                condition=Q(kind=ItemKind.REGISTRY, dibao_household__isnull=True)
                | (~Q(kind=ItemKind.REGISTRY) & Q(dibao_household__isnull=False)),
                name="review_item_kind_matches_household",
            ),
            models.CheckConstraint(
                condition=Q(outcome="") | Q(decided_at__isnull=False),
                name="review_item_decided_has_time",
            ),
            models.UniqueConstraint(
                fields=["campaign", "dibao_household"],
                condition=Q(dibao_household__isnull=False),
                name="review_item_once_per_dibao_household",
            ),
            models.UniqueConstraint(
                fields=["campaign", "registry_household"],
                condition=Q(registry_household__isnull=False),
                name="review_item_once_per_registry_household",
            ),
        ]
        indexes = [
            models.Index(fields=["review_list", "outcome"], name="review_item_progress_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.dibao_household_id or self.registry_household_id}"

    @property
    def household_number(self) -> str:
        """户编号 of the dibao household, else of the registry household."""
        if self.dibao_household_id is not None:
            return self.dibao_household.number
        return self.registry_household.number if self.registry_household_id else ""


class ReviewListSnapshot(models.Model):
    """The frozen rows of a list as signed (township list, or the county list when
    ``review_list`` is empty). Never updated: the database refuses it."""

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.PROTECT, related_name="snapshots", verbose_name="年度复核"
    )
    review_list = models.ForeignKey(
        ReviewList,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="snapshots",
        verbose_name="苏木乡镇名单",
    )
    scope = models.CharField("名单范围", max_length=10, choices=SignOffScope.choices)
    round = models.PositiveSmallIntegerField("轮次")
    title = models.CharField("标题", max_length=200)
    header = models.JSONField("表头信息", default=dict)
    rows = models.JSONField("名单内容")
    row_count = models.PositiveIntegerField("户数")
    content_sha256 = models.CharField("内容摘要（SHA-256）", max_length=64)
    created_at = models.DateTimeField("冻结时间")

    class Meta:
        verbose_name = "签字名单快照"
        verbose_name_plural = "签字名单快照"
        ordering = ["campaign_id", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.title}（{self.content_sha256[:12]}…）"


class ReviewConfirmation(models.Model):
    """A confirmation: the township head's of the township list, or one county office's (civil
    affairs or poverty office) of the list of dibao recipients in the registry. One per office
    (role) and round."""

    campaign = models.ForeignKey(
        ReviewCampaign,
        on_delete=models.CASCADE,
        related_name="confirmations",
        verbose_name="年度复核",
    )
    review_list = models.ForeignKey(
        ReviewList,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="confirmations",
        verbose_name="苏木乡镇名单",
    )
    scope = models.CharField("名单范围", max_length=10, choices=SignOffScope.choices)
    round = models.PositiveSmallIntegerField("轮次")
    role = models.CharField("确认部门（角色）", max_length=40)
    confirmed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="确认人"
    )
    confirmed_at = models.DateTimeField("确认时间")
    content_sha256 = models.CharField("确认内容摘要", max_length=64)
    households = models.PositiveIntegerField("户数", default=0)
    persons = models.PositiveIntegerField("人数", default=0)
    note = models.CharField("意见", max_length=300, blank=True)

    class Meta:
        verbose_name = "名单确认"
        verbose_name_plural = "名单确认"
        ordering = ["campaign_id", "confirmed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review_list", "round", "role"],
                condition=Q(review_list__isnull=False),
                name="review_confirmation_once_per_list_round_role",
            ),
            models.UniqueConstraint(
                fields=["campaign", "round", "role"],
                condition=Q(review_list__isnull=True),
                name="review_confirmation_once_per_county_round_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.confirmed_at:%Y-%m-%d}"


class ReviewSignature(models.Model):
    """A signature (签字确认) of a list: who, in which role, when, the content hash, and the
    frozen snapshot signed. One per list, round and role."""

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.CASCADE, related_name="signatures", verbose_name="年度复核"
    )
    review_list = models.ForeignKey(
        ReviewList,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="signatures",
        verbose_name="苏木乡镇名单",
    )
    scope = models.CharField("名单范围", max_length=10, choices=SignOffScope.choices)
    round = models.PositiveSmallIntegerField("轮次")
    role = models.CharField("签字身份（角色）", max_length=40)
    signer = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="签字人"
    )
    signer_name = models.CharField("签字人姓名", max_length=50)
    signed_at = models.DateTimeField("签字时间")
    content_sha256 = models.CharField("名单内容摘要（SHA-256）", max_length=64)
    snapshot = models.ForeignKey(
        ReviewListSnapshot, on_delete=models.PROTECT, related_name="+", verbose_name="名单快照"
    )
    reauth_method = models.CharField(
        "身份再验证方式", max_length=40, help_text="如 password；启用动态口令后为 password+totp"
    )

    class Meta:
        verbose_name = "签字确认"
        verbose_name_plural = "签字确认"
        ordering = ["campaign_id", "signed_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["review_list", "round", "role"],
                condition=Q(review_list__isnull=False),
                name="review_signature_once_per_list_round_role",
            ),
            models.UniqueConstraint(
                fields=["campaign", "round", "role"],
                condition=Q(review_list__isnull=True),
                name="review_signature_once_per_county_round_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.signer_name} {self.signed_at:%Y-%m-%d %H:%M}"


class ReviewReopen(models.Model):
    """The county reopened a list (a township list, or the county list alone) with a reason."""

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.CASCADE, related_name="reopenings", verbose_name="年度复核"
    )
    review_list = models.ForeignKey(
        ReviewList,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="reopenings",
        verbose_name="苏木乡镇名单",
    )
    reason = models.TextField("重新打开原因")
    from_status = models.CharField("原状态", max_length=20)
    from_round = models.PositiveSmallIntegerField("原轮次")
    actor = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="操作人"
    )
    at = models.DateTimeField("时间")

    class Meta:
        verbose_name = "重新打开"
        verbose_name_plural = "重新打开"
        ordering = ["campaign_id", "at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d} {self.reason[:20]}"


class ReviewFiling(models.Model):
    """The filing (备案) of a signed campaign with the league/city: who, when and the hashes of
    every signed list filed."""

    campaign = models.ForeignKey(
        ReviewCampaign, on_delete=models.PROTECT, related_name="filings", verbose_name="年度复核"
    )
    round = models.PositiveSmallIntegerField("轮次")
    league = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="备案盟市"
    )
    filed_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="报备人"
    )
    filed_at = models.DateTimeField("报备时间")
    county_snapshot = models.ForeignKey(
        ReviewListSnapshot, on_delete=models.PROTECT, related_name="+", verbose_name="旗县名单"
    )
    county_sha256 = models.CharField("旗县名单摘要", max_length=64)
    township_hashes = models.JSONField(
        "苏木乡镇名单摘要", default=list, help_text="[{township, name, sha256, snapshot}]"
    )
    registry_dibao_households = models.PositiveIntegerField("纳入建档立卡的低保户数", default=0)
    registry_dibao_persons = models.PositiveIntegerField("纳入建档立卡的低保人数", default=0)
    note = models.CharField("说明", max_length=300, blank=True)

    class Meta:
        verbose_name = "复核备案"
        verbose_name_plural = "复核备案"
        ordering = ["-filed_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "round"], name="review_filing_once_a_round"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} 备案 {self.filed_at:%Y-%m-%d}"


class SpotCheckStatus(models.TextChoices):
    DRAWN = "drawn", "已抽取，核查中"
    RETURNED = "returned", "结果已反馈旗县"


class SpotCheck(BaseModel):
    """A region officer's spot check of one league's filed reviews: a reproducible random sample
    of items (``random.Random(seed)`` over the population ids in id order)."""

    league = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="盟市"
    )
    year = models.PositiveSmallIntegerField("复核年度")
    seed = models.CharField("随机种子", max_length=40)
    sample_size = models.PositiveIntegerField("抽查户数")
    population_size = models.PositiveIntegerField("备案总户数")
    sampled_item_ids = models.JSONField("抽中的复核对象", default=list)
    status = models.CharField(
        "状态", max_length=10, choices=SpotCheckStatus.choices, default=SpotCheckStatus.DRAWN
    )
    drawn_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="抽查人"
    )
    returned_at = models.DateTimeField("反馈时间", null=True, blank=True)
    summary = models.TextField("抽查结论", blank=True)

    class Meta:
        verbose_name = "备案抽查"
        verbose_name_plural = "备案抽查"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=SpotCheckStatus.values), name="spot_check_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.league.name} {self.year} 抽查（种子 {self.seed}）"


class FindingResult(models.TextChoices):
    CONFIRMED = "confirmed", "核实无误"
    PROBLEM = "problem", "发现问题"


class SpotCheckFinding(BaseModel):
    """The finding on one sampled item; the county sees it once the check is returned."""

    spot_check = models.ForeignKey(
        SpotCheck, on_delete=models.CASCADE, related_name="findings", verbose_name="抽查"
    )
    item = models.ForeignKey(
        ReviewItem, on_delete=models.PROTECT, related_name="spot_findings", verbose_name="复核对象"
    )
    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    result = models.CharField("抽查结果", max_length=10, choices=FindingResult.choices)
    note = models.TextField("说明", blank=True)
    recorded_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="记录人"
    )

    class Meta:
        verbose_name = "抽查发现"
        verbose_name_plural = "抽查发现"
        ordering = ["spot_check_id", "item_id"]
        constraints = [
            models.UniqueConstraint(fields=["spot_check", "item"], name="spot_finding_once"),
            models.CheckConstraint(
                condition=Q(result__in=FindingResult.values), name="spot_finding_result_valid"
            ),
            models.CheckConstraint(
                condition=Q(result=FindingResult.CONFIRMED) | ~Q(note=""),
                name="spot_finding_problem_has_note",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.spot_check_id}:{self.item_id} {self.result}"
