"""Read-only admin for import batches and their staged rows (written by the pipeline only)."""

from django.contrib import admin
from django.http import HttpRequest

from lowbao.imports.models import ImportBatch, ImportRow


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(ImportBatch)
class ImportBatchAdmin(_ReadOnly):
    list_display = (
        "id",
        "kind",
        "original_name",
        "county",
        "status",
        "job_status",
        "rows_read",
        "error_count",
        "created_at",
        "applied_at",
    )
    list_filter = ("kind", "status")
    search_fields = ("original_name", "=sha256")
    list_select_related = ("county",)
    show_full_result_count = False
    readonly_fields = [field.name for field in ImportBatch._meta.fields]


@admin.register(ImportRow)
class ImportRowAdmin(_ReadOnly):
    list_display = ("batch", "row_number", "household", "match", "written_at")
    list_select_related = ("batch",)
    list_filter = ("match",)
    search_fields = ("=household",)
    raw_id_fields = ("batch",)
    show_full_result_count = False
    readonly_fields = [field.name for field in ImportRow._meta.fields]

    @admin.display(description="写入时间")
    def written_at(self, row: ImportRow):
        return row.written_at
