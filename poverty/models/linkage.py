"""The linkage work (domain.md §10, §11; notice 172号 二(一)–(四), (七)): the labour-capacity
survey, referrals both ways, the three guarantees for dibao households outside the registry,
economic verification before every assistance, disability records and close-relative filing."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from cases.models import Application, Household
from lowbao.areas.models import Area
from lowbao.core.models import BaseModel
from lowbao.people.models import Person
from poverty.choices import (
    CloseRelation,
    GuaranteeKind,
    GuaranteeStatus,
    OfficialKind,
    ReferralDirection,
    ReferralStatus,
    SurveyOutcome,
    VerificationItem,
    VerificationRequestStatus,
)
from poverty.models.registry import MONEY, RegistryHousehold

USER = settings.AUTH_USER_MODEL


class LabourSurvey(BaseModel):
    """摸底: a county's survey of registry households that lost labour capacity, with a deadline."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    title = models.CharField("名称", max_length=100)
    deadline = models.DateField("上报截止日期")
    opened_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="发起人"
    )

    class Meta:
        verbose_name = "劳动能力摸底"
        verbose_name_plural = "劳动能力摸底"
        ordering = ["-deadline", "-id"]

    def __str__(self) -> str:
        return self.title


class LabourSurveyItem(BaseModel):
    survey = models.ForeignKey(
        LabourSurvey, on_delete=models.CASCADE, related_name="items", verbose_name="摸底"
    )
    registry_household = models.ForeignKey(
        RegistryHousehold,
        on_delete=models.PROTECT,
        related_name="survey_items",
        verbose_name="建档立卡户",
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    outcome = models.CharField(
        "摸底结果", max_length=20, choices=SurveyOutcome.choices, default=SurveyOutcome.PENDING
    )
    reason = models.TextField("说明", blank=True)
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="启动的申请",
    )
    assessed_on = models.DateField("摸底日期", null=True, blank=True)
    assessed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="摸底人",
    )

    class Meta:
        verbose_name = "摸底户"
        verbose_name_plural = "摸底户"
        constraints = [
            models.UniqueConstraint(
                fields=["survey", "registry_household"], name="survey_item_once"
            ),
            models.CheckConstraint(
                condition=~Q(outcome=SurveyOutcome.NOT_ELIGIBLE) | ~Q(reason=""),
                name="survey_not_eligible_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.survey_id}:{self.registry_household_id}"


class Referral(BaseModel):
    """A household handed between civil affairs and the poverty office (both directions)."""

    direction = models.CharField("方向", max_length=20, choices=ReferralDirection.choices)
    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="嘎查村"
    )
    household = models.ForeignKey(
        Household,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="保障户",
    )
    registry_household = models.ForeignKey(
        RegistryHousehold,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="建档立卡户",
    )
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申请",
    )
    reason = models.TextField("移交原因")
    status = models.CharField(
        "状态", max_length=16, choices=ReferralStatus.choices, default=ReferralStatus.PENDING
    )
    measure = models.TextField("帮扶措施", blank=True)
    created_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="移交人"
    )
    received_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="接收人",
    )
    received_on = models.DateField("接收日期", null=True, blank=True)
    done_on = models.DateField("落实日期", null=True, blank=True)

    class Meta:
        verbose_name = "移交"
        verbose_name_plural = "移交"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=ReferralStatus.MEASURES_TAKEN) | ~Q(measure=""),
                name="referral_done_has_measure",
            ),
            models.UniqueConstraint(
                fields=["direction", "household", "registry_household"],
                condition=~Q(status=ReferralStatus.MEASURES_TAKEN),
                name="one_open_referral_per_pair",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.get_status_display()}"


class GuaranteeCheck(BaseModel):
    """两不愁三保障 for a dibao household outside the registry: one row per kind, latest wins."""

    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="+", verbose_name="保障户"
    )
    kind = models.CharField("保障内容", max_length=10, choices=GuaranteeKind.choices)
    status = models.CharField("状态", max_length=16, choices=GuaranteeStatus.choices)
    evidence = models.TextField("依据/说明", blank=True)
    checked_on = models.DateField("核实日期")
    checked_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="核实人"
    )

    class Meta:
        verbose_name = "三保障核实"
        verbose_name_plural = "三保障核实"
        ordering = ["household_id", "kind", "-checked_on", "-id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.get_status_display()}"


class VerificationRequest(BaseModel):
    """家庭经济状况核对 request, made only with the household's authorisation (先授权再核对)."""

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", verbose_name="保障户"
    )
    application = models.ForeignKey(
        Application,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="申请",
    )
    authorisation_reference = models.CharField("授权书编号/说明", max_length=200)
    items = models.JSONField("核对项目", default=list)
    status = models.CharField(
        "状态",
        max_length=10,
        choices=VerificationRequestStatus.choices,
        default=VerificationRequestStatus.REQUESTED,
    )
    requested_on = models.DateField("申请日期")
    requested_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="申请人"
    )

    class Meta:
        verbose_name = "核对申请"
        verbose_name_plural = "核对申请"
        ordering = ["-requested_on", "-id"]

    def __str__(self) -> str:
        return f"{self.household_id} {self.requested_on}"


class VerificationReport(BaseModel):
    """One item's result for one person (from the platform, an import or entered by hand).

    ``id_number_hash`` keeps reports for persons lowbao does not know yet; ``person`` is filled
    when the person appears.
    """

    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="人员",
    )
    id_number_hash = models.CharField("身份证号索引", max_length=64, db_index=True)
    name = models.CharField("姓名", max_length=50)
    item = models.CharField("核对项目", max_length=20, choices=VerificationItem.choices)
    found = models.BooleanField("核对结果：有")
    amount = models.DecimalField("金额（元）", null=True, blank=True, **MONEY)
    detail = models.CharField("明细", max_length=300, blank=True)
    checked_on = models.DateField("核对日期")
    request = models.ForeignKey(
        VerificationRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reports",
        verbose_name="核对申请",
    )
    source = models.CharField(
        "来源",
        max_length=12,
        choices=[("platform", "核对平台"), ("import", "台账导入"), ("manual", "手工录入")],
    )

    class Meta:
        verbose_name = "核对结果"
        verbose_name_plural = "核对结果"
        ordering = ["-checked_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["id_number_hash", "item", "checked_on"],
                name="verification_report_once_per_day",
            ),
        ]
        indexes = [
            models.Index(fields=["person", "item", "checked_on"], name="verification_lookup_idx")
        ]

    def __str__(self) -> str:
        return f"{self.get_item_display()} {'有' if self.found else '无'}"


class VerificationExplanation(BaseModel):
    """A written explanation of findings that contradict the declaration, needed before approval."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="+", verbose_name="申请"
    )
    report = models.ForeignKey(
        VerificationReport, on_delete=models.PROTECT, related_name="+", verbose_name="核对结果"
    )
    explanation = models.TextField("书面说明")
    written_by = models.ForeignKey(
        USER, on_delete=models.PROTECT, related_name="+", verbose_name="说明人"
    )

    class Meta:
        verbose_name = "核对结果说明"
        verbose_name_plural = "核对结果说明"
        constraints = [
            models.UniqueConstraint(fields=["application", "report"], name="explanation_once"),
        ]

    def __str__(self) -> str:
        return self.explanation[:30]


class DisabilityRecord(BaseModel):
    """残疾人信息 from the disabled persons' federation (ledgers.md §4), kept even before the
    person is known to lowbao, and applied to every household member record of the person."""

    id_number_hash = models.CharField("身份证号索引", max_length=64, unique=True)
    id_number_ciphertext = models.TextField("身份证号（密文）")
    person = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="人员",
    )
    name = models.CharField("姓名", max_length=50)
    certificate_number = models.CharField("残疾证号", max_length=24)
    disability_type = models.CharField("残疾类别", max_length=14)
    grade = models.PositiveSmallIntegerField("残疾等级")
    issued_on = models.DateField("发证日期", null=True, blank=True)

    class Meta:
        verbose_name = "残疾人信息"
        verbose_name_plural = "残疾人信息"
        constraints = [
            models.CheckConstraint(
                condition=Q(grade__gte=1) & Q(grade__lte=4), name="disability_grade_1_4"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.grade}级"


class Official(BaseModel):
    """A county's civil-affairs staff member or village cadre (低保经办人员 / 村干部)."""

    county = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="旗县"
    )
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="+", verbose_name="任职区域"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="人员"
    )
    kind = models.CharField("身份", max_length=20, choices=OfficialKind.choices)
    position = models.CharField("职务", max_length=60, blank=True)
    active = models.BooleanField("在任", default=True)

    class Meta:
        verbose_name = "经办人员和村干部"
        verbose_name_plural = "经办人员和村干部"
        constraints = [
            models.UniqueConstraint(fields=["county", "person", "kind"], name="official_once")
        ]

    def __str__(self) -> str:
        return f"{self.person.name}（{self.get_kind_display()}）"


class OfficialRelative(BaseModel):
    """A close relative (近亲属) of an official, as the county records them."""

    official = models.ForeignKey(
        Official, on_delete=models.CASCADE, related_name="relatives", verbose_name="人员"
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", verbose_name="近亲属"
    )
    relation = models.CharField("关系", max_length=12, choices=CloseRelation.choices)

    class Meta:
        verbose_name = "近亲属"
        verbose_name_plural = "近亲属"
        constraints = [
            models.UniqueConstraint(fields=["official", "person"], name="official_relative_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person.name}（{self.get_relation_display()}）"


class CloseRelativeFiling(BaseModel):
    """近亲属备案 of an application (S3 art. 14, S4 art. 11): filed, routed to a county visit."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="+", verbose_name="申请"
    )
    official = models.ForeignKey(
        Official,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="相关人员",
    )
    relation = models.CharField("关系", max_length=12, choices=CloseRelation.choices, blank=True)
    source = models.CharField(
        "来源", max_length=10, choices=[("declared", "申请人申报"), ("matched", "系统比对")]
    )
    filed_on = models.DateField("备案日期")
    filed_by = models.ForeignKey(
        USER,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="备案人",
    )

    class Meta:
        verbose_name = "近亲属备案"
        verbose_name_plural = "近亲属备案"
        constraints = [
            models.UniqueConstraint(
                fields=["application", "official"], name="filing_once_per_official"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {self.get_source_display()}"
