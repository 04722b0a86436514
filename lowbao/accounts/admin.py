from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from lowbao.accounts.models import ApiToken, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "display_name", "is_active", "is_service_account", "last_login")
    fieldsets = (
        *DjangoUserAdmin.fieldsets,
        (
            "lowbao",
            {
                "fields": (
                    "display_name",
                    "must_change_password",
                    "password_changed_at",
                    "is_service_account",
                )
            },
        ),
    )


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("user", "key_hash", "prefix", "created_at", "last_used_at")

    def has_add_permission(self, request: object) -> bool:
        return False
