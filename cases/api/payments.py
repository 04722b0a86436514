"""API of the cases app: payment sheets (read-only, scoped, masked)."""

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request

from cases.models import PaymentSheet
from cases.payment_selectors import (
    access_payment_sheet_by_id,
    payment_line_row,
    payment_sheet_lines,
    payment_sheet_list,
)
from lowbao.areas.roles import Perm
from lowbao.core.api.permissions import HasCapability

MONTH_FORMAT = "%Y-%m"


@extend_schema_field({"type": "string", "pattern": r"^\d{4}-\d{2}$", "example": "2026-11"})
class MonthField(serializers.DateField):
    """A month shown as ``YYYY-MM`` (the first of the month is stored)."""


class PaymentSheetOutputSerializer(serializers.ModelSerializer):
    township = serializers.CharField(source="township.code", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True)
    county = serializers.CharField(source="township.parent.code", read_only=True)
    month = MonthField(format=MONTH_FORMAT, read_only=True)
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    generated_by = serializers.CharField(source="generated_by.get_username", read_only=True)
    checked_by = serializers.CharField(
        source="checked_by.get_username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = PaymentSheet
        fields = [
            "id",
            "township",
            "township_name",
            "county",
            "month",
            "status",
            "status_label",
            "household_count",
            "person_count",
            "total_amount",
            "version",
            "generated_by",
            "checked_by",
        ]


class PaymentLineOutputSerializer(serializers.Serializer):
    """A ``PaymentLineRow``: ID numbers and bank accounts masked (quality.md S4)."""

    household_id = serializers.IntegerField()
    household_number = serializers.CharField()
    head_name = serializers.CharField()
    head_id_number_masked = serializers.CharField()
    village = serializers.CharField(source="village_code")
    village_name = serializers.CharField()
    covered_persons = serializers.IntegerField()
    monthly_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    bank_name = serializers.CharField()
    bank_account_masked = serializers.CharField()


class PaymentSheetDetailOutputSerializer(PaymentSheetOutputSerializer):
    lines = PaymentLineOutputSerializer(many=True, source="line_rows", read_only=True)

    class Meta(PaymentSheetOutputSerializer.Meta):
        fields = [*PaymentSheetOutputSerializer.Meta.fields, "lines"]


class PaymentSheetFilterSerializer(serializers.Serializer):
    month = serializers.DateField(input_formats=[MONTH_FORMAT], required=False)
    township = serializers.RegexField(r"^[0-9]{12}$", required=False)


@extend_schema(
    summary="发放花名册列表",
    parameters=[
        OpenApiParameter("month", description="发放月份 YYYY-MM"),
        OpenApiParameter("township", description="苏木乡镇 12 位代码"),
    ],
)
class PaymentSheetListApi(ListAPIView):
    """The sheets in the caller's areas (a list simply lacks the others)."""

    serializer_class = PaymentSheetOutputSerializer
    permission_classes = [HasCapability.of(Perm.PAYMENT_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[PaymentSheet]:
        request: Request = self.request  # type: ignore[assignment]
        filters = PaymentSheetFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return payment_sheet_list(
            actor=request.user,
            month=filters.validated_data.get("month"),
            township_code=filters.validated_data.get("township"),
        )


@extend_schema(summary="发放花名册详情（含全部明细，身份证号与银行账号脱敏）")
class PaymentSheetDetailApi(RetrieveAPIView):
    serializer_class = PaymentSheetDetailOutputSerializer
    permission_classes = [HasCapability.of(Perm.PAYMENT_VIEW)]

    def get_object(self) -> PaymentSheet:
        sheet = access_payment_sheet_by_id(self.request.user, self.kwargs["sheet_id"])
        sheet.line_rows = [  # type: ignore[attr-defined]
            payment_line_row(line) for line in payment_sheet_lines(sheet=sheet)
        ]
        return sheet


urlpatterns = [
    path("payment-sheets/", PaymentSheetListApi.as_view(), name="payment-sheet-list"),
    path(
        "payment-sheets/<int:sheet_id>/",
        PaymentSheetDetailApi.as_view(),
        name="payment-sheet-detail",
    ),
]
