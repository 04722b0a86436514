from django.conf import settings
from django.db import models

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    """One entry of the append-only, hash-chained audit trail (quality.md S5).

    Invariants:
    - Rows are only ever inserted, through ``lowbao.audit.services.record``. Database triggers
      (migration 0002) refuse UPDATE, DELETE and TRUNCATE of a non-empty table.
    - ``seq`` runs 1, 2, 3, … without gaps: it is assigned under a lock inside the writer's
      transaction, not by a database sequence (those leave gaps on rollback). A gap therefore
      means a deleted row.
    - ``hash`` = sha256(``prev_hash`` + canonical JSON of the row), ``prev_hash`` of seq 1 is
      ``GENESIS_HASH``; ``lowbao.audit.selectors.audit_chain_verify`` recomputes it.
    - ``actor`` has no database constraint and ``DO_NOTHING``: deleting a user never touches
      audit rows; ``actor_label`` keeps the name.
    """

    seq = models.BigIntegerField("序号", unique=True)
    at = models.DateTimeField("时间")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="操作人",
    )
    actor_label = models.CharField(
        "操作人名称", max_length=150, help_text="用户名；系统任务为 system:<名称>。"
    )
    action = models.CharField("操作", max_length=64)
    object_type = models.CharField("对象类型", max_length=100, blank=True)
    object_id = models.CharField("对象编号", max_length=64, blank=True)
    area_code = models.CharField("区划代码", max_length=12, blank=True, db_index=True)
    changes = models.JSONField("变更内容", default=dict, blank=True)
    ip = models.GenericIPAddressField("IP 地址", null=True, blank=True, unpack_ipv4=True)
    user_agent = models.CharField("客户端", max_length=255, blank=True)
    prev_hash = models.CharField("前序哈希", max_length=64)
    hash = models.CharField("哈希", max_length=64)

    class Meta:
        verbose_name = "审计事件"
        verbose_name_plural = "审计事件"
        ordering = ["seq"]
        # Nobody may add, change or delete through Django's permission system.
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_event_object_idx"),
            models.Index(fields=["actor", "at"], name="audit_event_actor_at_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="audit_event_seq_positive"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.action} {self.actor_label}"
