from django.contrib import admin
from django.http import HttpRequest

from lowbao.audit.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is written by ``lowbao.audit.services.record`` only."""

    list_display = ("seq", "at", "actor_label", "action", "object_type", "object_id", "area_code")
    list_filter = ("action",)
    search_fields = ("actor_label", "=object_id")
    ordering = ("-seq",)
    show_full_result_count = False
    readonly_fields = (
        "seq",
        "at",
        "actor",
        "actor_label",
        "action",
        "object_type",
        "object_id",
        "area_code",
        "changes",
        "ip",
        "user_agent",
        "prev_hash",
        "hash",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
