"""Admin for policy data (standards, procedure and calculation rules, uplifts, poverty lines).

Rows seeded from defaults that could not be confirmed show "待核实" until an admin confirms them.
Every save is audited. Case data itself is never edited here: it changes only through services.
"""

from django.contrib import admin
from django.http import HttpRequest
from import_export.admin import ImportExportModelAdmin

from cases.models import ClassifiedUplift, GuaranteeStandard, PolicySetting, PovertyLine
from cases.resources import GuaranteeStandardResource, PovertyLineResource
from lowbao.audit.services import record


@admin.display(description="核实", boolean=False)
def confirmation(obj: object) -> str:
    return "已核实" if obj.is_confirmed else "待核实"


class AuditedAdmin(admin.ModelAdmin):
    def save_model(self, request: HttpRequest, obj: object, form: object, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record(
            actor=request.user,
            action=f"policy.{'change' if change else 'create'}",
            obj=obj,
            changes={name: str(form.cleaned_data.get(name)) for name in form.changed_data},
            request=request,
        )

    def delete_model(self, request: HttpRequest, obj: object) -> None:
        record(
            actor=request.user,
            action="policy.delete",
            obj=obj,
            changes={"row": str(obj)},
            request=request,
        )
        super().delete_model(request, obj)


class ClassifiedUpliftInline(admin.TabularInline):
    model = ClassifiedUplift
    extra = 0


@admin.register(PolicySetting)
class PolicySettingAdmin(AuditedAdmin):
    list_display = ("area", "effective_from", "procedure_profile", confirmation, "note")
    list_filter = ("is_confirmed", "procedure_profile")
    search_fields = ("area__name", "area__code")
    autocomplete_fields = ()
    raw_id_fields = ("area",)
    inlines = [ClassifiedUpliftInline]


@admin.register(GuaranteeStandard)
class GuaranteeStandardAdmin(AuditedAdmin, ImportExportModelAdmin):
    resource_classes = [GuaranteeStandardResource]
    list_display = (
        "area",
        "effective_from",
        "rural_dibao_monthly",
        "tekun_basic_monthly",
        confirmation,
        "source",
    )
    list_filter = ("is_confirmed",)
    search_fields = ("area__name", "area__code")
    raw_id_fields = ("area",)


@admin.register(PovertyLine)
class PovertyLineAdmin(AuditedAdmin, ImportExportModelAdmin):
    resource_classes = [PovertyLineResource]
    list_display = ("year", "annual_amount", "exit_threshold", confirmation, "source")
    list_filter = ("is_confirmed",)
