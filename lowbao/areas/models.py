from django.conf import settings
from django.db import models
from django.db.models import Q

from lowbao.areas.roles import Role
from lowbao.core.models import BaseModel


class AreaLevel(models.TextChoices):
    REGION = "region", "自治区"
    LEAGUE = "league", "盟市"
    COUNTY = "county", "旗县"
    TOWNSHIP = "township", "苏木乡镇"
    VILLAGE = "village", "嘎查村"


LEVEL_DEPTH = {
    AreaLevel.REGION: 0,
    AreaLevel.LEAGUE: 1,
    AreaLevel.COUNTY: 2,
    AreaLevel.TOWNSHIP: 3,
    AreaLevel.VILLAGE: 4,
}


class Area(BaseModel):
    """One node of the 5-level tree, keyed by the 12-digit NBS statistical code.

    ``path`` is the materialised path of ancestor codes (``150000000000/150100000000/…/``), so
    "everything under X" is ``path__startswith=X.path`` on an indexed column. Codes are kept even
    when an area is abolished (``valid_to``), because old records still point at them.
    """

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=100)
    level = models.CharField("级别", max_length=10, choices=AreaLevel.choices)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name="上级",
    )
    path = models.CharField("路径", max_length=80, db_index=True)
    urban_rural_class = models.CharField("城乡分类代码", max_length=3, blank=True)
    valid_from = models.DateField("启用日期", null=True, blank=True)
    valid_to = models.DateField("停用日期", null=True, blank=True)

    class Meta:
        verbose_name = "行政区划"
        verbose_name_plural = "行政区划"
        ordering = ["code"]
        indexes = [
            models.Index(
                fields=["path"], name="area_path_prefix_idx", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(code__regex=r"^[0-9]{12}$"), name="area_code_12_digits"
            ),
            models.CheckConstraint(
                condition=Q(level__in=[choice.value for choice in AreaLevel]),
                name="area_level_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return LEVEL_DEPTH[self.level]

    def is_within(self, other: "Area") -> bool:
        return self.path.startswith(other.path)


class UserAreaRole(BaseModel):
    """A role held by a user over an area (and everything below it), for a period."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="area_roles",
        verbose_name="用户",
    )
    role = models.CharField("角色", max_length=40, choices=Role.choices)
    area = models.ForeignKey(
        Area, on_delete=models.PROTECT, related_name="user_roles", verbose_name="区域"
    )
    valid_from = models.DateField("生效日期")
    valid_to = models.DateField("失效日期", null=True, blank=True)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="授权人",
    )

    class Meta:
        verbose_name = "角色分配"
        verbose_name_plural = "角色分配"
        ordering = ["user_id", "valid_from", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "role", "area", "valid_from"], name="user_area_role_unique"
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="user_area_role_valid_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.area.name} · {self.get_role_display()}"
