"""API of the poverty app: the registry (contracts.md "Data exchange").

- ``POST /api/v1/poverty/households/``: the poverty office's system pushes a county's registry
  as ledger rows (ledgers.md §3), validated by the same rules as the ledger import, all-or-nothing,
  idempotent and audited (by the service).
- ``GET /api/v1/poverty/households/`` and ``…/<id>/``: scoped, filtered, paginated, masked.
- ``GET /api/v1/poverty/snapshots/``: the snapshots of the counties the caller covers.
"""

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from cases.choices import Relation
from lowbao.areas.models import AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code, actor_has_perm
from lowbao.core.api.permissions import HasCapability
from lowbao.core.errors import CoreErrorCode, DomainError
from lowbao.core.throttling import PushRateThrottle
from poverty.choices import PovertyAttribute, PovertyStatus, SnapshotSource
from poverty.models import RegistryHousehold, RegistrySnapshot
from poverty.selectors import (
    access_registry_household_by_id,
    head_members,
    registry_household_list,
    registry_members,
    snapshot_queryset,
)
from poverty.services.registry import registry_snapshot_apply
from poverty.validation import validate_registry_rows

MAX_ROWS_PER_PUSH = 100_000
# DRF parses JSON from the raw stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE does not apply:
# refuse oversized bodies before parsing (a county's registry is a few tens of MB at most).
MAX_PUSH_BYTES = 64 * 1024 * 1024
MONEY = {"max_digits": 12, "decimal_places": 2}


# --- serializers -----------------------------------------------------------------------------


class ProblemOutput(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True, help_text="households 列表中的序号（从 1 起）")
    column = serializers.CharField(allow_null=True)
    value = serializers.CharField(help_text="身份证号已脱敏")
    code = serializers.CharField()
    message = serializers.CharField()


class InvalidRowsFields(serializers.Serializer):
    errors = ProblemOutput(many=True)
    warnings = ProblemOutput(many=True)


class InvalidRowsOutput(serializers.Serializer):
    code = serializers.CharField(default="invalid_rows")
    message = serializers.CharField()
    fields = InvalidRowsFields()


class ErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField()


class PushInput(serializers.Serializer):
    county = serializers.RegexField(r"^[0-9]{12}$", help_text="旗县 12 位区划代码")
    snapshot_date = serializers.DateField(help_text="扶贫系统导出（快照）日期")
    partial = serializers.BooleanField(
        default=False, help_text="true：只更新所列户，不把未列出的户标记为退出台账"
    )
    households = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=MAX_ROWS_PER_PUSH,
        help_text=(
            "人员行，列名同建档立卡台账（ledgers.md §3）：户编号、人编号、苏木乡镇、嘎查村、"
            "嘎查村代码、姓名、证件号码、与户主关系、民族、文化程度、在校生状况、健康状况、"
            "务工状况、劳动能力、务工时间、贫困户属性、主要致贫原因、脱贫状态、脱贫年度、"
            "识别年度、家庭年人均纯收入、享受低保金额、帮扶责任人"
        ),
    )

    def validate_snapshot_date(self, value: Any) -> Any:
        if value > timezone.localdate():
            raise serializers.ValidationError("快照日期不能晚于今天")
        return value


class PushOutput(serializers.Serializer):
    snapshot = serializers.IntegerField()
    county = serializers.CharField()
    snapshot_date = serializers.DateField()
    partial = serializers.BooleanField()
    replayed = serializers.BooleanField(help_text="同一内容已推送过：返回原快照，未写入任何数据")
    households = serializers.IntegerField()
    persons = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    left = serializers.IntegerField()
    quality_issues = serializers.IntegerField()
    warnings = ProblemOutput(many=True)


class RegistryMemberOutput(serializers.Serializer):
    name = serializers.CharField(source="person.name")
    id_number = serializers.CharField(source="person.id_number_masked")
    person_number = serializers.CharField()
    relation = serializers.CharField(source="get_relation_display")
    sex = serializers.CharField(source="person.sex")
    birth_year = serializers.IntegerField(source="person.birth_date.year")
    school_status = serializers.CharField(source="get_school_status_display")
    health = serializers.CharField(source="get_health_display")
    labour_capacity = serializers.CharField(source="get_labour_capacity_display")
    work_status = serializers.CharField(source="get_work_status_display")
    work_months = serializers.IntegerField(allow_null=True)


class RegistryHouseholdOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    county = serializers.CharField(source="county.code")
    township = serializers.CharField(source="area.parent.code")
    township_name = serializers.CharField(source="area.parent.name")
    village = serializers.CharField(source="area.code")
    village_name = serializers.CharField(source="area.name")
    head_name = serializers.SerializerMethodField()
    head_id_number = serializers.SerializerMethodField(help_text="脱敏")
    attribute = serializers.ChoiceField(choices=PovertyAttribute.choices)
    attribute_label = serializers.CharField(source="get_attribute_display")
    main_cause = serializers.CharField(source="get_main_cause_display")
    poverty_status = serializers.ChoiceField(choices=PovertyStatus.choices)
    poverty_status_label = serializers.CharField(source="get_poverty_status_display")
    exit_year = serializers.IntegerField(allow_null=True)
    identified_year = serializers.IntegerField(allow_null=True)
    annual_income_per_capita = serializers.DecimalField(**MONEY)
    dibao_amount_recorded = serializers.DecimalField(allow_null=True, **MONEY)
    helper_name = serializers.CharField()
    in_registry = serializers.BooleanField()
    left_registry_on = serializers.DateField(allow_null=True)
    last_snapshot_date = serializers.DateField(source="last_snapshot.snapshot_date")

    def get_head_name(self, household: RegistryHousehold) -> str:
        head = getattr(household, "head", None)
        return head.person.name if head else ""

    def get_head_id_number(self, household: RegistryHousehold) -> str:
        head = getattr(household, "head", None)
        return head.person.id_number_masked if head else ""


class RegistryHouseholdDetailOutput(RegistryHouseholdOutput):
    other_causes = serializers.ListField(child=serializers.CharField())
    helper_unit = serializers.CharField()
    members = RegistryMemberOutput(many=True, source="member_list")


class SnapshotOutput(serializers.Serializer):
    id = serializers.IntegerField()
    county = serializers.CharField(source="county.code")
    county_name = serializers.CharField(source="county.name")
    snapshot_date = serializers.DateField()
    source = serializers.ChoiceField(choices=SnapshotSource.choices)
    source_name = serializers.CharField()
    partial = serializers.BooleanField(source="is_partial")
    households = serializers.IntegerField(source="household_count")
    persons = serializers.IntegerField(source="person_count")
    created = serializers.IntegerField(source="created_count")
    updated = serializers.IntegerField(source="updated_count")
    unchanged = serializers.IntegerField(source="unchanged_count")
    left = serializers.IntegerField(source="left_count")
    created_at = serializers.DateTimeField()


class HouseholdFilters(serializers.Serializer):
    area = serializers.RegexField(r"^[0-9]{12}$", required=False)
    status = serializers.ChoiceField(choices=PovertyStatus.choices, required=False)
    attribute = serializers.ChoiceField(choices=PovertyAttribute.choices, required=False)
    in_registry = serializers.BooleanField(required=False, allow_null=True)
    period_from = serializers.DateField(required=False)
    period_to = serializers.DateField(required=False)


class SnapshotFilters(serializers.Serializer):
    county = serializers.RegexField(r"^[0-9]{12}$", required=False)


# --- permissions -----------------------------------------------------------------------------


class CanSeeSnapshots(BasePermission):
    """Readers of the registry, and the system that pushes it (to check its own pushes)."""

    message = "没有执行此操作的权限"

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (
                actor_has_perm(user, Perm.REGISTRY_VIEW) or actor_has_perm(user, Perm.REGISTRY_PUSH)
            )
        )


SNAPSHOT_PERMS = (Perm.REGISTRY_VIEW, Perm.REGISTRY_PUSH)


# --- views -----------------------------------------------------------------------------------


def _push_response(snapshot: RegistrySnapshot, warnings: list[dict[str, Any]]) -> dict[str, Any]:
    replayed = bool(getattr(snapshot, "replayed", False))
    return {
        "snapshot": snapshot.pk,
        "county": snapshot.county.code,
        "snapshot_date": snapshot.snapshot_date,
        "partial": snapshot.is_partial,
        "replayed": replayed,
        "households": snapshot.household_count,
        "persons": snapshot.person_count,
        "created": 0 if replayed else snapshot.created_count,
        "updated": 0 if replayed else snapshot.updated_count,
        "unchanged": snapshot.household_count if replayed else snapshot.unchanged_count,
        "left": 0 if replayed else snapshot.left_count,
        "quality_issues": snapshot.quality_issues.count(),
        "warnings": warnings,
    }


_LIST_PARAMETERS = [
    OpenApiParameter("area", description="只列此区划（12 位代码）及其下级"),
    OpenApiParameter("status", enum=PovertyStatus.values, description="脱贫状态"),
    OpenApiParameter("attribute", enum=PovertyAttribute.values, description="贫困户属性"),
    OpenApiParameter("in_registry", bool, description="true 在台账 / false 已退出台账"),
    OpenApiParameter("period_from", description="最近一次出现在快照的日期起（YYYY-MM-DD）"),
    OpenApiParameter("period_to", description="最近一次出现在快照的日期止（YYYY-MM-DD）"),
]


class RegistryHouseholdsApi(GenericAPIView):
    """GET: the registry households the caller may see. POST: the poverty office's push."""

    serializer_class = RegistryHouseholdOutput
    filter_backends: list[type] = []
    throttle_classes = [PushRateThrottle]  # POST only

    def get_permissions(self) -> list[BasePermission]:
        perm = Perm.REGISTRY_PUSH if self.request.method == "POST" else Perm.REGISTRY_VIEW
        return [HasCapability.of(perm)()]

    def get_queryset(self) -> QuerySet[RegistryHousehold]:
        filters = HouseholdFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        area = None
        if "area" in data:
            area = access_area_by_code(self.request.user, data["area"], perm=Perm.REGISTRY_VIEW)
        return registry_household_list(
            actor=self.request.user,
            area=area,
            attribute=data.get("attribute", ""),
            poverty_status=data.get("status", ""),
            in_registry=data.get("in_registry"),
            period_from=data.get("period_from"),
            period_to=data.get("period_to"),
        ).select_related("last_snapshot")

    @extend_schema(
        summary="建档立卡户列表（身份证号脱敏）",
        parameters=_LIST_PARAMETERS,
        responses=RegistryHouseholdOutput(many=True),
    )
    def get(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        households = list(page if page is not None else [])
        heads = head_members(household.pk for household in households)
        for household in households:
            household.head = heads.get(household.pk)
        return self.get_paginated_response(RegistryHouseholdOutput(households, many=True).data)

    @extend_schema(
        summary="推送建档立卡数据（扶贫部门系统）",
        description=(
            "按旗县推送建档立卡人员行，校验规则与台账导入相同。任一错误则整批不写入（422，"
            "列出全部错误与警告）。同一旗县、同一日期、同一内容重复推送返回原快照（replayed）。"
            "partial=false 时，该旗县未列出的户标记为退出台账（不删除）。"
        ),
        request=PushInput,
        responses={
            200: PushOutput,
            400: OpenApiResponse(ErrorOutput, description="请求格式错误"),
            404: OpenApiResponse(ErrorOutput, description="旗县不存在或不在管辖范围内"),
            409: OpenApiResponse(ErrorOutput, description="快照日期早于最近一次快照"),
            413: OpenApiResponse(ErrorOutput, description="请求过大"),
            422: OpenApiResponse(InvalidRowsOutput, description="数据有误，未写入"),
        },
    )
    def post(self, request: Request) -> Response:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_PUSH_BYTES:
            raise DomainError(
                code="too_large",
                message=f"请求过大（上限 {MAX_PUSH_BYTES // 2**20} MB）",
                status=413,
            )
        body = PushInput(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        county = access_area_by_code(request.user, data["county"], perm=Perm.REGISTRY_PUSH)
        if county.level != AreaLevel.COUNTY:
            raise DomainError(
                code=CoreErrorCode.INVALID,
                message="county 应为旗县级区划代码",
                fields={"county": ["应为旗县级区划代码"]},
            )
        result = validate_registry_rows(data["households"], county=county)
        if not result.is_valid:
            raise DomainError(
                code="invalid_rows",
                message=f"数据有 {len(result.errors)} 处错误，未写入任何数据",
                fields={"errors": result.errors, "warnings": result.warnings},
                status=422,
            )
        snapshot = registry_snapshot_apply(
            actor=request.user,
            county=county,
            households=result.households,
            snapshot_date=data["snapshot_date"],
            source=SnapshotSource.API,
            source_name=f"api:{request.user.get_username()}",
            partial=data["partial"],
        )
        return Response(PushOutput(_push_response(snapshot, result.warnings)).data)


class RegistryHouseholdDetailApi(RetrieveAPIView):
    serializer_class = RegistryHouseholdDetailOutput
    permission_classes = [HasCapability.of(Perm.REGISTRY_VIEW)]

    @extend_schema(summary="建档立卡户详情（身份证号脱敏）")
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    def get_object(self) -> RegistryHousehold:
        household = access_registry_household_by_id(self.request.user, self.kwargs["pk"])
        household.member_list = registry_members(household)
        household.head = next(
            (m for m in household.member_list if m.relation == Relation.HEAD), None
        )
        return household


@extend_schema(
    summary="建档立卡快照列表",
    parameters=[OpenApiParameter("county", description="旗县 12 位区划代码")],
)
class SnapshotListApi(ListAPIView):
    serializer_class = SnapshotOutput
    permission_classes = [CanSeeSnapshots]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[RegistrySnapshot]:
        filters = SnapshotFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = snapshot_queryset(actor=self.request.user, perms=SNAPSHOT_PERMS)
        if "county" in filters.validated_data:
            queryset = queryset.filter(county__code=filters.validated_data["county"])
        return queryset.order_by("-snapshot_date", "-id")


urlpatterns = [
    path(
        "poverty/households/",
        RegistryHouseholdsApi.as_view(),
        name="poverty-household-push",
    ),
    path(
        "poverty/households/<int:pk>/",
        RegistryHouseholdDetailApi.as_view(),
        name="poverty-household-detail",
    ),
    path("poverty/snapshots/", SnapshotListApi.as_view(), name="poverty-snapshot-list"),
]
