"""API of the cases app: households and applications (contracts.md: GET list/detail endpoints,
filterable by area, status and period, paginated; scoped to the caller)."""

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request

from cases.choices import ApplicationStatus, HouseholdStatus, Programme
from cases.models import Application, Household, HouseholdMember
from cases.selectors import (
    access_application_by_id,
    access_household_by_id,
    application_queryset,
    household_queryset,
)
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code
from lowbao.core.api.permissions import HasCapability


class MemberOutput(serializers.Serializer):
    name = serializers.CharField(source="person.name")
    id_number = serializers.CharField(source="person.id_number_masked")
    relation = serializers.CharField(source="get_relation_display")
    counted = serializers.BooleanField(source="is_counted")
    covered = serializers.BooleanField(source="is_covered")
    in_payment = serializers.BooleanField()


class HouseholdOutput(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    programme = serializers.CharField()
    status = serializers.CharField()
    village = serializers.CharField(source="area.code")
    village_name = serializers.CharField(source="area.name")
    township = serializers.CharField(source="area.parent.code")
    county = serializers.CharField(source="county.code")
    monthly_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    per_capita_income_monthly = serializers.DecimalField(max_digits=12, decimal_places=2)
    payment_start_month = serializers.DateField(allow_null=True)
    coverage_scope = serializers.CharField()


class HouseholdDetailOutput(HouseholdOutput):
    members = MemberOutput(many=True, source="current_members")
    bank_account = serializers.CharField(source="bank_account_masked")


class ApplicationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    household = serializers.CharField(source="household.number")
    household_id = serializers.IntegerField()
    programme = serializers.CharField()
    profile = serializers.CharField()
    status = serializers.CharField()
    village = serializers.CharField(source="area.code")
    applied_on = serializers.DateField()
    due_on = serializers.DateField(allow_null=True)
    proposed_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    approved_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    payment_start_month = serializers.DateField(allow_null=True)
    decided_on = serializers.DateField(allow_null=True)


class _Filters(serializers.Serializer):
    area = serializers.RegexField(r"^[0-9]{12}$", required=False)
    programme = serializers.ChoiceField(choices=Programme.choices, required=False)
    period_from = serializers.DateField(required=False)
    period_to = serializers.DateField(required=False)


class HouseholdFilters(_Filters):
    status = serializers.ChoiceField(choices=HouseholdStatus.choices, required=False)


class ApplicationFilters(_Filters):
    status = serializers.ChoiceField(choices=ApplicationStatus.choices, required=False)


_FILTER_PARAMS = [
    OpenApiParameter("area", description="只列此区划（12 位代码）及其下级"),
    OpenApiParameter("programme", enum=Programme.values),
    OpenApiParameter("period_from", description="YYYY-MM-DD"),
    OpenApiParameter("period_to", description="YYYY-MM-DD"),
]


def _filtered(
    queryset: QuerySet, request: Request, filters_class: type, date_field: str
) -> QuerySet:
    filters = filters_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    data = filters.validated_data
    if "area" in data:
        area = access_area_by_code(request.user, data["area"], perm=Perm.CASE_VIEW)
        queryset = queryset.filter(area__path__startswith=area.path)
    for field in ("programme", "status"):
        if field in data:
            queryset = queryset.filter(**{field: data[field]})
    if "period_from" in data:
        queryset = queryset.filter(**{f"{date_field}__gte": data["period_from"]})
    if "period_to" in data:
        queryset = queryset.filter(**{f"{date_field}__lte": data["period_to"]})
    return queryset


@extend_schema(
    summary="保障户列表",
    parameters=[*_FILTER_PARAMS, OpenApiParameter("status", enum=HouseholdStatus.values)],
)
class HouseholdListApi(ListAPIView):
    serializer_class = HouseholdOutput
    permission_classes = [HasCapability.of(Perm.CASE_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Household]:
        queryset = household_queryset(actor=self.request.user).order_by("id")
        return _filtered(queryset, self.request, HouseholdFilters, "payment_start_month")


def _with_current_members(household: Household) -> Household:
    household.current_members = list(
        HouseholdMember.objects.filter(household=household, left_at__isnull=True)
        .select_related("person")
        .order_by("relation", "id")
    )
    return household


@extend_schema(summary="保障户详情（身份证号、银行账号脱敏）")
class HouseholdDetailApi(RetrieveAPIView):
    serializer_class = HouseholdDetailOutput
    permission_classes = [HasCapability.of(Perm.CASE_VIEW)]

    def get_object(self) -> Household:
        return _with_current_members(access_household_by_id(self.request.user, self.kwargs["pk"]))


@extend_schema(
    summary="申请（案件）列表",
    parameters=[*_FILTER_PARAMS, OpenApiParameter("status", enum=ApplicationStatus.values)],
)
class ApplicationListApi(ListAPIView):
    serializer_class = ApplicationOutput
    permission_classes = [HasCapability.of(Perm.CASE_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Application]:
        queryset = application_queryset(actor=self.request.user).order_by("id")
        return _filtered(queryset, self.request, ApplicationFilters, "applied_on")


@extend_schema(summary="申请（案件）详情")
class ApplicationDetailApi(RetrieveAPIView):
    serializer_class = ApplicationOutput
    permission_classes = [HasCapability.of(Perm.CASE_VIEW)]

    def get_object(self) -> Application:
        return access_application_by_id(self.request.user, self.kwargs["pk"])


urlpatterns = [
    path("households/", HouseholdListApi.as_view(), name="household-list"),
    path("households/<int:pk>/", HouseholdDetailApi.as_view(), name="household-detail"),
    path("cases/", ApplicationListApi.as_view(), name="case-list"),
    path("cases/<int:pk>/", ApplicationDetailApi.as_view(), name="case-detail"),
]
