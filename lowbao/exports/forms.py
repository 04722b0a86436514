"""The export page's form: the county (for county lists) and the optional reveal with a reason."""

from typing import Any

from django import forms

from lowbao.areas.models import Area
from lowbao.exports.services import REASON_LIMIT


class ExportForm(forms.Form):
    county = forms.ChoiceField(label="旗县", required=False)
    reveal = forms.BooleanField(
        label="导出完整身份证号、银行账号和联系电话（用于重新导入或报送，须填写理由，操作将被审计）",
        required=False,
    )
    reason = forms.CharField(
        label="理由",
        max_length=REASON_LIMIT,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "如：报送旗县民政局核对"}),
    )

    def __init__(
        self, *args: Any, counties: list[Area], needs_county: bool, may_reveal: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.counties = {county.code: county for county in counties}
        if needs_county:
            self.fields["county"].required = True
            self.fields["county"].choices = [
                ("", "请选择旗县"),
                *((county.code, county.name) for county in counties),
            ]
            if len(counties) == 1:
                self.fields["county"].initial = counties[0].code
        else:
            del self.fields["county"]
        if not may_reveal:
            del self.fields["reveal"]
            del self.fields["reason"]
        for field in self.fields.values():
            css = "form-check-input" if isinstance(field, forms.BooleanField) else "form-control"
            field.widget.attrs.setdefault("class", css)

    def county_area(self) -> Area | None:
        return self.counties.get(self.cleaned_data.get("county") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("reveal") and not (data.get("reason") or "").strip():
            self.add_error("reason", "导出完整信息须填写理由")
        return data
