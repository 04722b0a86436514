"""API of the ledger reconciliation (contracts.md: GET list/detail endpoints for reconciliation
runs and items, filterable by area, status and period, paginated; errors
``{"code", "message", "fields"}``).

- ``GET reconciliation/runs/`` and ``…/runs/{id}/``: the runs of the counties the caller covers.
- ``GET reconciliation/items/`` and ``…/items/{id}/``: the items the caller may see (by township;
  county-wide items by county), ID numbers masked.
- ``POST reconciliation/items/{id}/resolve/`` and ``…/reopen/``: the same services as the pages.

Thin views: filters are validated by an input serializer, reads go through ``review.selectors``
and writes through ``review.services.resolution``; serializers never query (the persons of a
page are read in one query and handed over in the context).
"""

from typing import Any

from django.db.models import QuerySet
from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from lowbao.areas.roles import Perm
from lowbao.core.api.permissions import HasCapability
from review.models import (
    ItemEvent,
    ItemState,
    ReconciliationCategory,
    ReconciliationItem,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
)
from review.selectors import (
    RESOLUTION_STATES,
    TASK_CATEGORIES,
    ItemFilters,
    PersonRow,
    access_item_by_id,
    access_run_by_id,
    access_township_by_code,
    access_worklist_county_by_code,
    detail_rows,
    item_events,
    item_list,
    item_person_ids,
    page_persons,
    persons_by_id,
    run_list,
)
from review.services.resolution import reconciliation_item_reopen, reconciliation_item_resolve

CODE = r"^[0-9]{12}$"
PERIOD = r"^[0-9]{4}H[12]$"
STATE_LABELS = dict(ItemState.choices)


# --- serializers -----------------------------------------------------------------------------


class ReconciliationErrorOutput(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField()


class ReconciliationRunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    county = serializers.CharField(source="county.code")
    county_name = serializers.CharField(source="county.name")
    sweep = serializers.IntegerField(source="sweep_id", allow_null=True)
    as_of = serializers.DateField()
    period = serializers.CharField(help_text="如 2026H2")
    trigger = serializers.ChoiceField(choices=RunTrigger.choices)
    status = serializers.ChoiceField(choices=RunStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    progress = serializers.IntegerField(help_text="0–100")
    step = serializers.CharField()
    counts = serializers.DictField(
        child=serializers.IntegerField(), help_text="各类别数量（含 linked）"
    )
    dibao_households = serializers.IntegerField()
    registry_households = serializers.IntegerField()
    error = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)


class ReconciliationRunRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    period = serializers.CharField()
    as_of = serializers.DateField()


class ReconciliationPersonOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    id_number = serializers.CharField(source="id_number_masked", help_text="脱敏")


class ReconciliationDetailOutput(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    text = serializers.CharField()
    persons = ReconciliationPersonOutput(many=True)


class ReconciliationItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    county = serializers.CharField(source="county.code")
    county_name = serializers.CharField(source="county.name")
    township = serializers.SerializerMethodField()
    township_name = serializers.SerializerMethodField()
    category = serializers.ChoiceField(choices=ReconciliationCategory.choices)
    category_label = serializers.CharField(source="get_category_display")
    state = serializers.ChoiceField(choices=ItemState.choices)
    state_label = serializers.CharField(source="get_state_display")
    dibao_household = serializers.SerializerMethodField(help_text="低保/特困户编号")
    registry_household = serializers.SerializerMethodField(help_text="建档立卡户编号")
    dibao_numbers = serializers.ListField(child=serializers.CharField())
    registry_numbers = serializers.ListField(child=serializers.CharField())
    persons = serializers.SerializerMethodField()
    details = serializers.SerializerMethodField()
    first_found = ReconciliationRunRefOutput(source="first_run")
    last_found = ReconciliationRunRefOutput(source="last_run")
    resolved_by = serializers.SerializerMethodField()
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolution_note = serializers.CharField()

    def _persons(self) -> dict[int, PersonRow]:
        return self.context.get("persons", {})

    def get_township(self, item: ReconciliationItem) -> str | None:
        return item.township.code if item.township_id else None

    def get_township_name(self, item: ReconciliationItem) -> str | None:
        return item.township.name if item.township_id else None

    def get_dibao_household(self, item: ReconciliationItem) -> str | None:
        return item.dibao_household.number if item.dibao_household_id else None

    def get_registry_household(self, item: ReconciliationItem) -> str | None:
        return item.registry_household.number if item.registry_household_id else None

    @extend_schema_field(ReconciliationPersonOutput(many=True))
    def get_persons(self, item: ReconciliationItem) -> list[dict[str, Any]]:
        persons = self._persons()
        listed = [persons[pk] for pk in item.person_ids or [] if pk in persons]
        return ReconciliationPersonOutput(listed, many=True).data

    @extend_schema_field(ReconciliationDetailOutput(many=True))
    def get_details(self, item: ReconciliationItem) -> list[dict[str, Any]]:
        return ReconciliationDetailOutput(
            detail_rows(item.details, self._persons()), many=True
        ).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_resolved_by(self, item: ReconciliationItem) -> str | None:
        return item.resolved_by.get_username() if item.resolved_by_id else None


class ReconciliationEventOutput(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.ChoiceField(choices=ItemEvent.Action.choices)
    action_label = serializers.CharField(source="get_action_display")
    state_from = serializers.CharField()
    state_to = serializers.CharField()
    actor = serializers.SerializerMethodField()
    run = serializers.IntegerField(source="run_id", allow_null=True)
    note = serializers.CharField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_actor(self, event: ItemEvent) -> str | None:
        return event.actor.get_username() if event.actor_id else None


class ReconciliationItemDetailOutput(ReconciliationItemOutput):
    events = ReconciliationEventOutput(many=True, source="event_list")


class ReconciliationRunFilters(serializers.Serializer):
    county = serializers.RegexField(CODE, required=False, help_text="旗县 12 位区划代码")
    status = serializers.ChoiceField(choices=RunStatus.choices, required=False)
    period = serializers.RegexField(PERIOD, required=False, help_text="如 2026H2")


class ReconciliationItemFiltersInput(serializers.Serializer):
    county = serializers.RegexField(CODE, required=False, help_text="旗县 12 位区划代码")
    township = serializers.RegexField(CODE, required=False, help_text="苏木乡镇 12 位区划代码")
    category = serializers.ChoiceField(choices=list(TASK_CATEGORIES), required=False)
    state = serializers.ChoiceField(choices=ItemState.choices, required=False)
    period = serializers.RegexField(
        PERIOD, required=False, help_text="在该期次比对中发现，如 2026H2"
    )


class ReconciliationResolveInput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=[(state, STATE_LABELS[state]) for state in RESOLUTION_STATES]
    )
    note = serializers.CharField(max_length=500, help_text="处理说明（必填）")


class ReconciliationReopenInput(serializers.Serializer):
    note = serializers.CharField(max_length=500, help_text="重新打开的原因（必填）")


# --- views -----------------------------------------------------------------------------------

_ERRORS = {
    400: OpenApiResponse(ReconciliationErrorOutput, description="请求有误"),
    403: OpenApiResponse(ReconciliationErrorOutput, description="没有处理比对问题的权限"),
    404: OpenApiResponse(ReconciliationErrorOutput, description="不存在或不在管辖范围内"),
    409: OpenApiResponse(
        ReconciliationErrorOutput, description="问题状态已变化（已被他人处理、数据已消除等）"
    ),
}


@extend_schema(
    summary="台账比对记录列表",
    parameters=[
        OpenApiParameter("county", description="旗县 12 位区划代码"),
        OpenApiParameter("status", enum=RunStatus.values),
        OpenApiParameter("period", description="期次，如 2026H2"),
    ],
)
class RunListApi(ListAPIView):
    serializer_class = ReconciliationRunOutput
    permission_classes = [HasCapability.of(Perm.RECONCILE_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[ReconciliationRun]:
        filters = ReconciliationRunFilters(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        county = None
        if "county" in data:
            county = access_worklist_county_by_code(self.request.user, data["county"])
        return run_list(
            actor=self.request.user,
            county=county,
            status=data.get("status", ""),
            period=data.get("period", ""),
        )


@extend_schema(summary="台账比对记录详情")
class RunDetailApi(GenericAPIView):
    serializer_class = ReconciliationRunOutput
    permission_classes = [HasCapability.of(Perm.RECONCILE_VIEW)]

    def get(self, request: Request, pk: int) -> Response:
        return Response(ReconciliationRunOutput(access_run_by_id(request.user, pk)).data)


@extend_schema(
    summary="台账比对问题列表（身份证号脱敏）",
    parameters=[
        OpenApiParameter("county", description="旗县 12 位区划代码"),
        OpenApiParameter("township", description="苏木乡镇 12 位区划代码"),
        OpenApiParameter("category", enum=list(TASK_CATEGORIES)),
        OpenApiParameter("state", enum=ItemState.values),
        OpenApiParameter("period", description="在该期次比对中发现，如 2026H2"),
    ],
)
class ItemListApi(ListAPIView):
    serializer_class = ReconciliationItemOutput
    permission_classes = [HasCapability.of(Perm.RECONCILE_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[ReconciliationItem]:
        filters = ReconciliationItemFiltersInput(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        data = filters.validated_data
        actor = self.request.user
        county = access_worklist_county_by_code(actor, data["county"]) if "county" in data else None
        township = access_township_by_code(actor, data["township"]) if "township" in data else None
        return item_list(
            actor=actor,
            filters=ItemFilters(
                category=data.get("category", ""),
                state=data.get("state", ""),
                county=county,
                township=township,
                period=data.get("period", ""),
            ),
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        items = list(page if page is not None else [])
        serializer = ReconciliationItemOutput(
            items, many=True, context={"persons": page_persons(items)}
        )
        return self.get_paginated_response(serializer.data)


def _detail(item: ReconciliationItem) -> dict[str, Any]:
    item.event_list = item_events(item)
    persons = persons_by_id(item_person_ids(item))
    return ReconciliationItemDetailOutput(item, context={"persons": persons}).data


@extend_schema(summary="台账比对问题详情（含处理记录，身份证号脱敏）")
class ItemDetailApi(GenericAPIView):
    serializer_class = ReconciliationItemDetailOutput
    permission_classes = [HasCapability.of(Perm.RECONCILE_VIEW)]

    def get(self, request: Request, pk: int) -> Response:
        return Response(_detail(access_item_by_id(request.user, pk)))


class ItemResolveApi(GenericAPIView):
    serializer_class = ReconciliationResolveInput
    permission_classes = [HasCapability.of(Perm.RECONCILE_RESOLVE)]

    @extend_schema(
        summary="处理台账比对问题",
        description=(
            "把待处理的问题处理为 已核实无误/已更正/已纳入/已退出/已转办，须填写处理说明。"
            "问题已被他人处理或数据已消除时返回 409。"
        ),
        request=ReconciliationResolveInput,
        responses={200: ReconciliationItemDetailOutput, **_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = ReconciliationResolveInput(data=request.data)
        body.is_valid(raise_exception=True)
        item = reconciliation_item_resolve(
            actor=request.user,
            item_id=pk,
            state=body.validated_data["state"],
            note=body.validated_data["note"],
        )
        return Response(_detail(access_item_by_id(request.user, item.pk)))


class ItemReopenApi(GenericAPIView):
    serializer_class = ReconciliationReopenInput
    permission_classes = [HasCapability.of(Perm.RECONCILE_RESOLVE)]

    @extend_schema(
        summary="重新打开已处理的台账比对问题",
        request=ReconciliationReopenInput,
        responses={200: ReconciliationItemDetailOutput, **_ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        body = ReconciliationReopenInput(data=request.data)
        body.is_valid(raise_exception=True)
        item = reconciliation_item_reopen(
            actor=request.user, item_id=pk, note=body.validated_data["note"]
        )
        return Response(_detail(access_item_by_id(request.user, item.pk)))


urlpatterns = [
    path("reconciliation/runs/", RunListApi.as_view(), name="reconciliation-run-list"),
    path("reconciliation/runs/<int:pk>/", RunDetailApi.as_view(), name="reconciliation-run-detail"),
    path("reconciliation/items/", ItemListApi.as_view(), name="reconciliation-item-list"),
    path(
        "reconciliation/items/<int:pk>/",
        ItemDetailApi.as_view(),
        name="reconciliation-item-detail",
    ),
    path(
        "reconciliation/items/<int:pk>/resolve/",
        ItemResolveApi.as_view(),
        name="reconciliation-item-resolve",
    ),
    path(
        "reconciliation/items/<int:pk>/reopen/",
        ItemReopenApi.as_view(),
        name="reconciliation-item-reopen",
    ),
]
