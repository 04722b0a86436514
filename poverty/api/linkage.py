"""API of the linkage work: referrals between civil affairs and the poverty office (read-only,
scoped, masked)."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView
from rest_framework.request import Request

from lowbao.areas.roles import Perm
from lowbao.core.api.permissions import HasCapability
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.linkage_selectors import ReferralRow, referral_list, referral_row


class ReferralOutputSerializer(serializers.Serializer):
    """A ``ReferralRow``: the head's ID number is masked (quality.md S4)."""

    id = serializers.IntegerField()
    # Plain strings (values listed in the filter parameters), so that the schema has no second
    # "status" enum colliding with the other apps' ones.
    direction = serializers.CharField()
    direction_label = serializers.CharField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    created_on = serializers.DateField()
    county = serializers.CharField(source="county_code")
    area = serializers.CharField(source="area_code")
    township_name = serializers.CharField()
    village_name = serializers.CharField()
    household_number = serializers.CharField()
    registry_household_number = serializers.CharField()
    head_name = serializers.CharField()
    head_id_number_masked = serializers.CharField()
    reason = serializers.CharField()
    measure = serializers.CharField()
    application_id = serializers.IntegerField(allow_null=True)
    received_on = serializers.DateField(allow_null=True)
    done_on = serializers.DateField(allow_null=True)


class ReferralFilterSerializer(serializers.Serializer):
    direction = serializers.ChoiceField(choices=ReferralDirection.choices, required=False)
    status = serializers.ChoiceField(choices=ReferralStatus.choices, required=False)
    area = serializers.RegexField(r"^[0-9]{12}$", required=False)


@extend_schema(
    summary="民政与扶贫部门双向移交列表",
    parameters=[
        OpenApiParameter(
            "direction",
            OpenApiTypes.STR,
            enum=ReferralDirection.values,
            description="to_poverty_office 移交扶贫部门；propose_registry 建议纳入建档立卡",
        ),
        OpenApiParameter("status", OpenApiTypes.STR, enum=ReferralStatus.values),
        OpenApiParameter("area", OpenApiTypes.STR, description="区划 12 位代码（含下级）"),
    ],
)
class ReferralListApi(ListAPIView):
    """Referrals in the caller's areas, newest first (a list simply lacks the others; an
    ``area`` outside them is a 404)."""

    serializer_class = ReferralOutputSerializer
    permission_classes = [HasCapability.of(Perm.REGISTRY_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self):
        request: Request = self.request  # type: ignore[assignment]
        filters = ReferralFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return referral_list(
            actor=request.user,
            direction=filters.validated_data.get("direction", ""),
            status=filters.validated_data.get("status", ""),
            area_code=filters.validated_data.get("area", ""),
        )

    def paginate_queryset(self, queryset) -> list[ReferralRow] | None:
        page = super().paginate_queryset(queryset)
        return None if page is None else [referral_row(referral) for referral in page]


urlpatterns = [
    path("poverty/referrals/", ReferralListApi.as_view(), name="poverty-referral-list"),
]
