"""Admin of the review app: the reconciliation's runs, sweeps and items, read-only (they are
written by ``review.services``; townships resolve items on their worklist pages). The
half-yearly schedule itself is django-celery-beat's "Periodic tasks" entry
"半年台账比对（全区各旗县）", edited there."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from review.models import ReconciliationItem, ReconciliationRun, ReconciliationSweep


class _ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ReconciliationSweep)
class ReconciliationSweepAdmin(_ReadOnlyAdmin):
    list_display = (
        "id",
        "period",
        "as_of",
        "trigger",
        "status",
        "counties_total",
        "counties_done",
        "counties_failed",
        "counties_skipped",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "trigger", "period")


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(_ReadOnlyAdmin):
    list_display = (
        "id",
        "county",
        "period",
        "as_of",
        "trigger",
        "status",
        "progress",
        "step",
        "attempts",
        "started_at",
        "finished_at",
    )
    list_filter = ("status", "trigger", "period")
    list_select_related = ("county",)
    search_fields = ("=county__code", "county__name")


@admin.register(ReconciliationItem)
class ReconciliationItemAdmin(_ReadOnlyAdmin):
    list_display = ("id", "county", "township", "category", "key", "state", "last_run")
    list_filter = ("category", "state")
    list_select_related = ("county", "township", "last_run")
    search_fields = ("=county__code", "=township__code", "key")
    exclude = ("person_ids",)
