"""Admin for Person: read-only, masked, searchable by exact ID number through the blind index.

Rows are written only by ``person_upsert`` (imports, forms), never here. The birth date is shown
as a year only: the masked ID number (first 6, last 4) plus the full birth date would reveal the
whole number.
"""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.models import Person
from lowbao.people.protection import id_number_blind_index


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    list_display = ["id_number_display", "name", "sex", "birth_year", "ethnicity", "updated_at"]
    list_filter = ["sex", "ethnicity"]
    search_fields = ["name"]
    search_help_text = "输入完整身份证号精确查找，或输入姓名"
    fields = ["id_number_display", "name", "sex", "birth_year", "ethnicity", "created_at"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="身份证号")
    def id_number_display(self, obj: Person) -> str:
        return obj.id_number_masked

    @admin.display(description="出生年份", ordering="birth_date")
    def birth_year(self, obj: Person) -> int:
        return obj.birth_date.year

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Person], search_term: str
    ) -> tuple[QuerySet[Person], bool]:
        try:
            parsed = parse_id_number(search_term)
        except IdNumberError:
            return super().get_search_results(request, queryset, search_term)
        return queryset.filter(id_number_hash=id_number_blind_index(parsed.value)), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
