"""Data exchange of the verification platform and the disabled persons' federation (contracts.md).

- ``POST /api/v1/verification/reports/`` (role ``verification_platform_system``) and
  ``POST /api/v1/disability/records/`` (role ``disability_federation_system``): JSON bodies
  ``{"reports": [...]}`` / ``{"records": [...]}`` whose rows carry the ledger's columns
  (ledgers.md §5, §4; Chinese headers, their aliases, or the English names in the schema).
  Validated like the ledgers, all or nothing (422 ``invalid_rows`` with every error, nothing
  written), idempotent (the same body again: everything ``unchanged``), one audit row per request.
- ``GET /api/v1/verification/reports/?application=<id>``: the reports on the members of an
  application's household, for users who may see verification results there (404 outside).
"""

from typing import Any

from django.http import Http404
from django.urls import path
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from cases.selectors import application_queryset
from lowbao.areas.roles import Perm
from lowbao.core.api.permissions import HasCapability
from lowbao.core.errors import DomainError
from lowbao.core.throttling import PushRateThrottle
from poverty.models import VerificationExplanation, VerificationReport
from poverty.services.disability import disability_records_apply
from poverty.services.verification import (
    ReportSource,
    VerificationErrorCode,
    item_label,
    verification_reports_apply,
)
from poverty.verification_validation import (
    DISABILITY_HEADERS,
    VERIFICATION_HEADERS,
    LedgerValidation,
    validate_disability_rows,
    validate_verification_rows,
)

MAX_ROWS = 5000


def _row_schema(name: str, headers: dict[str, tuple[str, ...]], required: tuple[str, ...]) -> type:
    """A serializer that only documents a ledger row (keys are the Chinese headers)."""
    fields = {
        header: serializers.CharField(
            required=header in required,
            help_text=f"别名：{'、'.join(aliases)}" if aliases else "",
        )
        for header, aliases in headers.items()
    }
    return type(name, (serializers.Serializer,), fields)


VerificationLedgerRow = _row_schema(
    "VerificationLedgerRow",
    VERIFICATION_HEADERS,
    ("身份证号", "姓名", "核对项目", "核对结果", "核对日期"),
)
DisabilityLedgerRow = _row_schema(
    "DisabilityLedgerRow",
    DISABILITY_HEADERS,
    ("身份证号", "姓名", "残疾证号", "残疾类别", "残疾等级"),
)


class VerificationReportsInput(serializers.Serializer):
    reports = VerificationLedgerRow(many=True)


class DisabilityRecordsInput(serializers.Serializer):
    records = DisabilityLedgerRow(many=True)


class LedgerProblemOutput(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField()
    value = serializers.CharField(allow_null=True, help_text="身份证号、残疾证号已脱敏")
    code = serializers.CharField()
    message = serializers.CharField()


class VerificationPushOutput(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    linked = serializers.IntegerField(help_text="身份证号已在系统中的行数")
    warnings = LedgerProblemOutput(many=True)


class DisabilityPushOutput(VerificationPushOutput):
    members_updated = serializers.IntegerField(help_text="更新了残疾信息的家庭成员记录数")


class LedgerInvalidRowsFields(serializers.Serializer):
    errors = LedgerProblemOutput(many=True)
    warnings = LedgerProblemOutput(many=True)


class LedgerInvalidRowsOutput(serializers.Serializer):
    code = serializers.CharField(default=VerificationErrorCode.INVALID_ROWS.value)
    message = serializers.CharField()
    fields = LedgerInvalidRowsFields()


def _rows_of(data: Any, key: str) -> list[Any]:
    """The list under ``key``; its rows are validated by the ledger validator, not DRF."""
    rows = data.get(key) if isinstance(data, dict) else None
    if not isinstance(rows, list):
        raise DomainError(
            code="invalid",
            message=f'请求体应为 {{"{key}": [...]}}',
            fields={key: ["应为列表"]},
        )
    if len(rows) > MAX_ROWS:
        raise DomainError(
            code="invalid",
            message=f"每次最多提交 {MAX_ROWS} 行，请分批提交",
            fields={key: [f"最多 {MAX_ROWS} 行"]},
        )
    return rows


def _refuse_invalid(validation: LedgerValidation) -> None:
    if not validation.is_valid:
        raise DomainError(
            code=VerificationErrorCode.INVALID_ROWS,
            message=f"数据有 {len(validation.errors)} 处错误，未写入任何数据",
            fields=validation.as_fields(),
        )


_PUSH_RESPONSES = {
    401: OpenApiResponse(description="未登录或令牌无效"),
    403: OpenApiResponse(description="没有推送权限"),
    422: OpenApiResponse(LedgerInvalidRowsOutput, description="有错误的行；未写入任何数据"),
}

_REPORT_EXAMPLE = OpenApiExample(
    "一人两项",
    value={
        "reports": [
            {
                "身份证号": "150121198001010017",
                "姓名": "张三",
                "核对项目": "车辆",
                "核对结果": "有",
                "金额": "35000",
                "明细": "蒙A12345",
                "核对日期": "2026-07-01",
            },
            {
                "身份证号": "150121198001010017",
                "姓名": "张三",
                "核对项目": "存款",
                "核对结果": "无",
                "核对日期": "2026-07-01",
            },
        ]
    },
    request_only=True,
)


class VerificationReportOutput(serializers.Serializer):
    id = serializers.IntegerField()
    id_number = serializers.SerializerMethodField(help_text="脱敏")
    name = serializers.CharField()
    item = serializers.CharField()
    item_label = serializers.SerializerMethodField()
    found = serializers.BooleanField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)
    detail = serializers.CharField()
    checked_on = serializers.DateField()
    source = serializers.CharField()
    explanation = serializers.SerializerMethodField(help_text="本申请对该结果的书面说明")

    def get_id_number(self, report: VerificationReport) -> str:
        return self.context.get("masked", {}).get(report.id_number_hash, "")

    def get_item_label(self, report: VerificationReport) -> str:
        return item_label(report.item)

    def get_explanation(self, report: VerificationReport) -> str | None:
        return self.context.get("explanations", {}).get(report.pk)


class _ApplicationFilter(serializers.Serializer):
    application = serializers.IntegerField(min_value=1)


class _ByMethod(BasePermission):
    """GET needs VERIFICATION_VIEW; POST needs VERIFICATION_PUSH."""

    view_perm = HasCapability.of(Perm.VERIFICATION_VIEW)
    push_perm = HasCapability.of(Perm.VERIFICATION_PUSH)
    message = "没有执行此操作的权限"

    def has_permission(self, request: Request, view: object) -> bool:
        check = self.view_perm if request.method in ("GET", "HEAD", "OPTIONS") else self.push_perm
        return check().has_permission(request, view)


class VerificationReportsApi(GenericAPIView):
    permission_classes = [_ByMethod]
    throttle_classes = [PushRateThrottle]  # POST only
    serializer_class = VerificationReportOutput
    queryset = VerificationReport.objects.none()

    @extend_schema(
        summary="申请家庭成员的核对结果",
        parameters=[OpenApiParameter("application", int, required=True, description="申请 id")],
        responses={200: VerificationReportOutput(many=True)},
    )
    def get(self, request: Request) -> Response:
        filters = _ApplicationFilter(data=request.query_params)
        filters.is_valid(raise_exception=True)
        application = (
            application_queryset(actor=request.user, perm=Perm.VERIFICATION_VIEW)
            .filter(pk=filters.validated_data["application"])
            .first()
        )
        if application is None:
            raise Http404("申请不存在或不在您的管辖范围内")
        persons = [
            member.person
            for member in application.household.members.filter(left_at__isnull=True).select_related(
                "person"
            )
        ]
        masked = {person.id_number_hash: person.id_number_masked for person in persons}
        page = self.paginate_queryset(
            VerificationReport.objects.filter(id_number_hash__in=list(masked)).order_by(
                "-checked_on", "item", "-id"
            )
        )
        explanations = dict(
            VerificationExplanation.objects.filter(application=application).values_list(
                "report_id", "explanation"
            )
        )
        serializer = VerificationReportOutput(
            page, many=True, context={"explanations": explanations, "masked": masked}
        )
        return self.get_paginated_response(serializer.data)

    @extend_schema(
        summary="核对平台推送核对结果（全部成功或全部不写入，可重复推送）",
        request=VerificationReportsInput,
        responses={200: VerificationPushOutput, **_PUSH_RESPONSES},
        examples=[_REPORT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        validation = validate_verification_rows(_rows_of(request.data, "reports"))
        _refuse_invalid(validation)
        counts = verification_reports_apply(
            actor=request.user,
            rows=validation.rows,
            source=ReportSource.PLATFORM,
            audit_action="verification.reports_push",
        )
        return Response({**counts.as_dict(), "warnings": validation.warnings})


class DisabilityRecordsApi(GenericAPIView):
    permission_classes = [HasCapability.of(Perm.DISABILITY_PUSH)]
    throttle_classes = [PushRateThrottle]
    serializer_class = DisabilityRecordsInput
    queryset = VerificationReport.objects.none()

    @extend_schema(
        summary="残联推送残疾人信息（全部成功或全部不写入，可重复推送）",
        request=DisabilityRecordsInput,
        responses={200: DisabilityPushOutput, **_PUSH_RESPONSES},
    )
    def post(self, request: Request) -> Response:
        validation = validate_disability_rows(_rows_of(request.data, "records"))
        _refuse_invalid(validation)
        counts = disability_records_apply(actor=request.user, rows=validation.rows, source="api")
        return Response({**counts.as_dict(), "warnings": validation.warnings})


urlpatterns = [
    path(
        "verification/reports/",
        VerificationReportsApi.as_view(),
        name="verification-report-push",
    ),
    path("disability/records/", DisabilityRecordsApi.as_view(), name="disability-record-push"),
]
