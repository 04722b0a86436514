from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from lowbao.accounts.models import ApiToken, User

# Devices change only through lowbao.accounts.second_factor (enrolment, the security admin's
# audited reset), which keeps User.second_factor_enrolled in step: no admin pages for them.
# The same holds for lowbao's EncryptedTOTPDevice, which is never registered.
for _device_model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(_device_model):
        admin.site.unregister(_device_model)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    list_display = (
        "username",
        "display_name",
        "is_active",
        "is_service_account",
        "second_factor_enrolled",
        "last_login",
    )
    readonly_fields = ("second_factor_enrolled",)
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
                    "second_factor_enrolled",
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
