"""The upload form: kind, county (only counties under the actor's areas), snapshot date, sheet,
the file and the explicit "skip invalid" choice."""

from typing import Any

from django import forms
from django.utils import timezone

from lowbao.areas.models import Area
from lowbao.imports.kinds import ImportOptions, LedgerKind, get_kind
from lowbao.imports.models import ImportKind
from lowbao.imports.selectors import actor_imports_region_wide, import_county_choices

SNAPSHOT_KIND = "poverty"
STANDARDS_KIND = "standards"


def available_kinds() -> list[LedgerKind]:
    """The kinds the pipeline knows, in the model's order (``areas`` once it is registered)."""
    return [spec for code in ImportKind.values if (spec := get_kind(code)) is not None]


class UploadForm(forms.Form):
    kind = forms.ChoiceField(label="台账类型")
    county = forms.ChoiceField(
        label="旗县",
        required=False,
        help_text="低保花名册、建档立卡和区划必须选择旗县；残疾人、核对结果和保障标准可不选。",
    )
    snapshot_date = forms.DateField(
        label="建档立卡导出日期",
        required=False,
        help_text="只用于建档立卡台账；不填则为今天。",
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    sheet = forms.CharField(
        label="工作表名称", required=False, max_length=100, help_text="不填则读取第一个工作表。"
    )
    file = forms.FileField(label="文件", help_text=".xlsx、.xls 或 .csv（UTF-8 或 GBK）")
    skip_invalid = forms.BooleanField(
        label="跳过有错误的户（其余写入）",
        required=False,
        help_text=(
            "默认只要有一处错误就不写入任何数据。勾选后，有错误的户整户跳过、其余各户写入；"
            "这一选择会记入审计日志。"
        ),
    )

    def __init__(self, *args: Any, actor: object, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.actor = actor
        self.kinds = {spec.code: spec for spec in available_kinds()}
        self.counties = {area.code: area for area in import_county_choices(actor=actor)}
        self.fields["kind"].choices = [(code, spec.label) for code, spec in self.kinds.items()]
        county_choices = [
            (code, f"{area.parent.name} · {area.name}" if area.parent else area.name)
            for code, area in self.counties.items()
        ]
        if len(county_choices) == 1:
            self.fields["county"].initial = county_choices[0][0]
        self.fields["county"].choices = [("", "（不指定旗县）"), *county_choices]
        for name, field in self.fields.items():
            css = {
                "kind": "form-select",
                "county": "form-select",
                "skip_invalid": "form-check-input",
            }
            field.widget.attrs.setdefault("class", css.get(name, "form-control"))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        spec = self.kinds.get(data.get("kind", ""))
        if spec is None:
            return data
        county = self.counties.get(data.get("county") or "")
        if spec.needs_county and county is None:
            self.add_error("county", f"导入{spec.label}须选择旗县")
        if (
            spec.code == STANDARDS_KIND
            and county is None
            and not actor_imports_region_wide(self.actor)
        ):
            self.add_error(
                "county",
                "您只能为管辖范围内的旗县导入保障标准，请选择旗县（文件中只能有该旗县的标准）",
            )
        snapshot_date = data.get("snapshot_date")
        if snapshot_date is not None:
            if spec.code != SNAPSHOT_KIND:
                self.add_error("snapshot_date", "导出日期只用于建档立卡台账，请清空")
            elif snapshot_date > timezone.localdate():
                self.add_error("snapshot_date", "导出日期不能晚于今天")
        data["county_area"] = county
        return data

    @property
    def county_area(self) -> Area | None:
        return self.cleaned_data.get("county_area")

    def options(self) -> ImportOptions:
        return ImportOptions(
            skip_invalid=bool(self.cleaned_data.get("skip_invalid")),
            sheet=(self.cleaned_data.get("sheet") or "").strip() or None,
            snapshot_date=self.cleaned_data.get("snapshot_date"),
        )
