"""django-import-export resources for reference data edited in the admin (style B.6)."""

from import_export import fields, resources, widgets

from cases.models import GuaranteeStandard, PovertyLine
from lowbao.areas.models import Area


class GuaranteeStandardResource(resources.ModelResource):
    """Columns of the ``standards`` ledger (ledgers.md §6)."""

    area = fields.Field(
        attribute="area",
        column_name="区划代码",
        widget=widgets.ForeignKeyWidget(Area, field="code"),
    )
    effective_from = fields.Field(
        attribute="effective_from", column_name="生效日期", widget=widgets.DateWidget()
    )
    rural_dibao_monthly = fields.Field(
        attribute="rural_dibao_monthly", column_name="农村低保标准", widget=widgets.DecimalWidget()
    )
    tekun_basic_monthly = fields.Field(
        attribute="tekun_basic_monthly",
        column_name="特困基本生活标准",
        widget=widgets.DecimalWidget(),
    )

    class Meta:
        model = GuaranteeStandard
        import_id_fields = ("area", "effective_from")
        fields = ("area", "effective_from", "rural_dibao_monthly", "tekun_basic_monthly")
        skip_unchanged = True


class PovertyLineResource(resources.ModelResource):
    class Meta:
        model = PovertyLine
        import_id_fields = ("year",)
        fields = ("year", "annual_amount", "exit_threshold", "source", "is_confirmed")
        skip_unchanged = True
