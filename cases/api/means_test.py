"""``POST /api/v1/means-test/``: trial calculation (试算, contracts.md). Nothing is stored and
nothing is audited: it is a calculation, not a change of state."""

from decimal import Decimal
from typing import Any

from django.urls import path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.choices import (
    HEALTH_ALIASES,
    RELATION_ALIASES,
    DisabilityType,
    Health,
    LabourCapacity,
    Programme,
    Relation,
)
from cases.means_test import (
    COVERAGES,
    NO_COUNTED_MEMBER,
    AssetsInput,
    MemberInput,
    means_test_run,
)
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code
from lowbao.core.api.permissions import HasCapability
from lowbao.people.api.fields import IdNumberSerializerField

_LABOUR_ALIASES = {
    **{label: value for value, label in LabourCapacity.choices},
    "丧失劳动能力": LabourCapacity.LOST,
    "无劳动能力": LabourCapacity.NONE,
}
_DISABILITY_TYPE_ALIASES = {
    **{label: value for value, label in DisabilityType.choices},
    **{f"{label}残疾": value for value, label in DisabilityType.choices},
}
_PROGRAMME_ALIASES = {
    **{label: value for value, label in Programme.choices},
    "特困": Programme.TEKUN,
}
_NON_NEGATIVE = {"min_value": "金额不能为负数"}
_COUNT = {"min_value": "数量不能为负数"}


class AliasChoiceField(serializers.ChoiceField):
    """Accepts a code or any of its Chinese spellings; returns the code."""

    def __init__(self, *, values: list[str], aliases: dict[str, str], **kwargs: Any) -> None:
        self.aliases = {key: str(value) for key, value in aliases.items()}
        kwargs.setdefault("error_messages", {"invalid_choice": "无法识别的取值“{input}”"})
        super().__init__(choices=[*values, *self.aliases], **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if isinstance(data, str):
            data = data.strip()
        if data == "" and self.allow_blank:
            return ""
        value = str(super().to_internal_value(data))
        return self.aliases.get(value, value)


def _money(**kwargs: Any) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        error_messages=_NON_NEGATIVE,
        **kwargs,
    )


class MeansTestMemberSerializer(serializers.Serializer):
    id_number = IdNumberSerializerField()
    relation = AliasChoiceField(values=Relation.values, aliases=RELATION_ALIASES)
    counted = serializers.BooleanField(default=True)
    covered = serializers.BooleanField(
        default=None, allow_null=True, help_text="仅单人保：true 表示此人为单人保对象"
    )
    income_monthly = _money(default=Decimal("0"))
    labor_capacity = AliasChoiceField(
        values=LabourCapacity.values,
        aliases=_LABOUR_ALIASES,
        required=False,
        allow_blank=True,
        default="",
    )
    health = AliasChoiceField(
        values=Health.values,
        aliases=HEALTH_ALIASES,
        required=False,
        allow_blank=True,
        default="",
    )
    disability_grade = serializers.IntegerField(
        min_value=1,
        max_value=4,
        required=False,
        allow_null=True,
        default=None,
        error_messages={"min_value": "残疾等级应为 1–4 级", "max_value": "残疾等级应为 1–4 级"},
    )
    disability_type = AliasChoiceField(
        values=DisabilityType.values,
        aliases=_DISABILITY_TYPE_ALIASES,
        required=False,
        allow_blank=True,
        default="",
    )
    in_school = serializers.BooleanField(default=False)


class MeansTestDeductionsSerializer(serializers.Serializer):
    medical = _money(default=Decimal("0"))
    education = _money(default=Decimal("0"))
    employment = _money(default=Decimal("0"))
    disability = _money(default=Decimal("0"))


class MeansTestAssetsSerializer(serializers.Serializer):
    deposits = _money(default=Decimal("0"))
    vehicles = serializers.IntegerField(min_value=0, default=0, error_messages=_COUNT)
    houses = serializers.IntegerField(min_value=0, default=0, error_messages=_COUNT)
    business_registered = serializers.BooleanField(default=False)


class MeansTestUpliftSerializer(serializers.Serializer):
    id_number = serializers.CharField(help_text="已脱敏（前 6 位和后 4 位）")
    category = serializers.CharField(help_text="分类施保类别（中文），如 重度残疾")
    amount = serializers.FloatField()


class MeansTestApi(APIView):
    """试算: eligibility and monthly benefit for a household described in the request."""

    permission_classes = [HasCapability.of(Perm.MEANS_TEST_RUN)]

    @extend_schema_serializer(component_name="MeansTestInput")
    class InputSerializer(serializers.Serializer):
        area = serializers.RegexField(
            r"^[0-9]{12}$", error_messages={"invalid": "区划代码应为 12 位数字"}
        )
        date = serializers.DateField()
        coverage = serializers.ChoiceField(choices=list(COVERAGES), default="household")
        programme = AliasChoiceField(
            values=Programme.values, aliases=_PROGRAMME_ALIASES, default=Programme.DIBAO
        )
        members = MeansTestMemberSerializer(many=True, max_length=50)
        deductions_monthly = MeansTestDeductionsSerializer(required=False)
        assets = MeansTestAssetsSerializer(required=False)

        def validate_members(self, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if not members:
                raise serializers.ValidationError("至少填写一名家庭成员")
            if not any(member["counted"] for member in members):
                raise serializers.ValidationError(NO_COUNTED_MEMBER)
            return members

    @extend_schema_serializer(component_name="MeansTestResult")
    class OutputSerializer(serializers.Serializer):
        eligible = serializers.BooleanField()
        reasons = serializers.ListField(child=serializers.CharField())
        edge_family = serializers.BooleanField(help_text="低保边缘家庭")
        standard_monthly = serializers.FloatField()
        household_income_monthly = serializers.FloatField()
        deductions_allowed_monthly = serializers.FloatField()
        members_counted = serializers.IntegerField()
        members_covered = serializers.IntegerField()
        per_capita_income_monthly = serializers.FloatField()
        base_benefit_monthly = serializers.FloatField()
        uplifts = MeansTestUpliftSerializer(many=True)
        monthly_benefit = serializers.FloatField()
        lines = serializers.ListField(child=serializers.CharField(), help_text="算账单逐行说明")

    @extend_schema(
        summary="试算（不保存）",
        request=InputSerializer,
        responses={200: OutputSerializer},
        tags=["means-test"],
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        area = access_area_by_code(request.user, data["area"], perm=Perm.MEANS_TEST_RUN)
        deductions = data.get("deductions_monthly") or {}
        assets = data.get("assets") or {}
        result = means_test_run(
            area=area,
            on=data["date"],
            members=[
                MemberInput(
                    id_number=member["id_number"],
                    relation=member["relation"],
                    counted=member["counted"],
                    covered=member["covered"],
                    income_monthly=member["income_monthly"],
                    labour_capacity=member["labor_capacity"],
                    health=member["health"],
                    disability_grade=member["disability_grade"],
                    disability_type=member["disability_type"],
                    in_school=member["in_school"],
                )
                for member in data["members"]
            ],
            deductions=dict(deductions),
            assets=AssetsInput(**assets),
            coverage=data["coverage"],
            programme=data["programme"],
        )
        return Response(result.to_json())


urlpatterns = [path("means-test/", MeansTestApi.as_view(), name="means-test")]
