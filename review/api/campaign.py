"""API of the annual review campaign (年度复核; contracts.md "Data exchange": GET list/detail
endpoints for review lists, filterable by area, status and period, paginated). Reads only.

- ``GET review/campaigns/`` and ``…/campaigns/{campaign_id}/``: a county's campaign of a year,
  its period, status and progress over the lists the caller sees;
- ``GET review/lists/`` and ``…/lists/{list_id}/``: the township lists, with their confirmation,
  signature (and the SHA-256 of the signed snapshot), filing and progress;
- ``GET review/lists/{list_id}/items/`` and ``review/items/{item_id}/``: the households under
  review, the head's ID number masked.

Scoping is the pages' (``review.services.campaign_selectors``): a township sees its own lists and
its county's campaign through them, a county its county, league and region officers their area;
an id outside that is a 404. Lists are keyset pages (``lowbao.core.paging``) with a capped count,
so a deep page costs what the first one does; the facts of a page are read in a fixed number of
queries whatever its size, and serializers never query (they get them in the context).
"""

from datetime import date
from typing import Any

from django.db.models import F, QuerySet
from django.urls import path
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from lowbao.areas.roles import Perm
from lowbao.core.api.pagination import KeysetPagination
from lowbao.core.api.permissions import HasCapability
from lowbao.people.masking import mask_value_in_text
from review.models import (
    CampaignStatus,
    ItemKind,
    ItemOutcome,
    ListStatus,
    ReconciliationCategory,
    ReviewCampaign,
    ReviewFiling,
    ReviewItem,
    ReviewList,
    ReviewSignature,
)
from review.services.campaign import is_overdue
from review.services.campaign_selectors import (
    access_campaign_by_id,
    access_item_by_id,
    access_list_by_id,
    access_review_area_by_code,
    campaign_list,
    campaign_progress_by_id,
    current_county_signatures,
    current_filings,
    current_list_signatures,
    list_items,
    list_progress_by_id,
    review_list_list,
    screening_findings,
)
from review.services.campaign_signoff import item_heads

CODE = r"^[0-9]{12}$"
MIN_YEAR, MAX_YEAR = 2000, 2100
MAX_ID = 2**31 - 1
ITEM_STATUSES = {
    "undecided": "未作出结果",
    "decided": "已作出结果",
    "overdue": "逾期未办结",
}


# --- serializers ---------------------------------------------------------------------------------


class ReviewProgressOutput(serializers.Serializer):
    households = serializers.IntegerField(help_text="户数")
    visited = serializers.IntegerField(help_text="已走访户数")
    decided = serializers.IntegerField(help_text="已作出复核结果户数")
    overdue = serializers.IntegerField(help_text="逾期未办结户数")


class ReviewCampaignProgressOutput(ReviewProgressOutput):
    lists = serializers.IntegerField(help_text="可见的苏木乡镇名单数")
    lists_open = serializers.IntegerField(help_text="复核中")
    lists_confirmed = serializers.IntegerField(help_text="乡镇已确认")
    lists_signed = serializers.IntegerField(help_text="已签字")


class ReviewSignatureOutput(serializers.Serializer):
    signer_name = serializers.CharField()
    role = serializers.CharField()
    signed_at = serializers.DateTimeField()
    content_sha256 = serializers.CharField(help_text="签字名单快照内容摘要（SHA-256）")
    snapshot = serializers.IntegerField(source="snapshot_id", help_text="签字名单快照编号")


class ReviewFilingOutput(serializers.Serializer):
    filed_at = serializers.DateTimeField()
    league = serializers.CharField(source="league.code", help_text="备案盟市区划代码")
    league_name = serializers.CharField(source="league.name")


class ReviewCampaignOutput(serializers.Serializer):
    id = serializers.IntegerField()
    county = serializers.CharField(source="county.code")
    county_name = serializers.CharField(source="county.name")
    year = serializers.IntegerField(help_text="复核年度")
    opens_on = serializers.DateField(help_text="复核开始日期")
    due_on = serializers.DateField(help_text="复核截止日期（含）")
    status = serializers.ChoiceField(choices=CampaignStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    round = serializers.IntegerField(help_text="旗县名单轮次（重新打开后加 1）")
    progress = serializers.SerializerMethodField()
    county_signature = serializers.SerializerMethodField(
        help_text="旗县主要领导本轮签字（仅旗县及以上可见）"
    )
    filing = serializers.SerializerMethodField(help_text="本轮备案")
    created_at = serializers.DateTimeField()

    @extend_schema_field(ReviewCampaignProgressOutput)
    def get_progress(self, campaign: ReviewCampaign) -> dict[str, Any]:
        return ReviewCampaignProgressOutput(self.context["progress"][campaign.pk]).data

    @extend_schema_field(ReviewSignatureOutput(allow_null=True))
    def get_county_signature(self, campaign: ReviewCampaign) -> dict[str, Any] | None:
        signature = self.context["county_signatures"].get(campaign.pk)
        return ReviewSignatureOutput(signature).data if signature else None

    @extend_schema_field(ReviewFilingOutput(allow_null=True))
    def get_filing(self, campaign: ReviewCampaign) -> dict[str, Any] | None:
        filing = self.context["filings"].get(campaign.pk)
        return ReviewFilingOutput(filing).data if filing else None


class ReviewListOutput(serializers.Serializer):
    id = serializers.IntegerField()
    campaign = serializers.IntegerField(source="campaign_id")
    year = serializers.IntegerField(source="campaign.year")
    county = serializers.CharField(source="campaign.county.code")
    county_name = serializers.CharField(source="campaign.county.name")
    township = serializers.CharField(source="township.code")
    township_name = serializers.CharField(source="township.name")
    status = serializers.ChoiceField(choices=ListStatus.choices)
    status_label = serializers.CharField(source="get_status_display")
    round = serializers.IntegerField(help_text="轮次（重新打开后加 1）")
    confirmed_by = serializers.SerializerMethodField()
    confirmed_at = serializers.DateTimeField(allow_null=True)
    signature = serializers.SerializerMethodField(help_text="本轮签字（已签字时）")
    content_sha256 = serializers.SerializerMethodField(
        help_text="签字名单快照内容摘要（SHA-256，已签字时）"
    )
    filed = serializers.SerializerMethodField(help_text="本轮已报盟市备案")
    filed_at = serializers.SerializerMethodField()
    progress = serializers.SerializerMethodField()

    def _signature(self, review_list: ReviewList) -> ReviewSignature | None:
        if review_list.status != ListStatus.SIGNED:
            return None
        return self.context["signatures"].get(review_list.pk)

    def _filing(self, review_list: ReviewList) -> ReviewFiling | None:
        if review_list.status != ListStatus.SIGNED:
            return None
        return self.context["filings"].get(review_list.campaign_id)

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_confirmed_by(self, review_list: ReviewList) -> str | None:
        return review_list.confirmed_by.get_username() if review_list.confirmed_by_id else None

    @extend_schema_field(ReviewSignatureOutput(allow_null=True))
    def get_signature(self, review_list: ReviewList) -> dict[str, Any] | None:
        signature = self._signature(review_list)
        return ReviewSignatureOutput(signature).data if signature else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_content_sha256(self, review_list: ReviewList) -> str | None:
        signature = self._signature(review_list)
        return signature.content_sha256 if signature else None

    @extend_schema_field(serializers.BooleanField())
    def get_filed(self, review_list: ReviewList) -> bool:
        return self._filing(review_list) is not None

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_filed_at(self, review_list: ReviewList) -> str | None:
        filing = self._filing(review_list)
        return serializers.DateTimeField().to_representation(filing.filed_at) if filing else None

    @extend_schema_field(ReviewProgressOutput)
    def get_progress(self, review_list: ReviewList) -> dict[str, Any]:
        return ReviewProgressOutput(self.context["progress"][review_list.pk]).data


class ReviewItemOutput(serializers.Serializer):
    id = serializers.IntegerField()
    review_list = serializers.IntegerField(source="review_list_id")
    campaign = serializers.IntegerField(source="campaign_id")
    township = serializers.CharField(source="review_list.township.code")
    village = serializers.CharField(source="area.code")
    village_name = serializers.CharField(source="area.name")
    kind = serializers.ChoiceField(choices=ItemKind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    household_number = serializers.CharField(help_text="低保/特困户编号，否则建档立卡户编号")
    dibao_household = serializers.SerializerMethodField(help_text="低保/特困户编号")
    registry_household = serializers.SerializerMethodField(help_text="建档立卡户编号")
    in_registry = serializers.BooleanField(help_text="复核开始时在建档立卡台账")
    head_name = serializers.SerializerMethodField(help_text="户主姓名")
    head_id_number = serializers.SerializerMethodField(help_text="户主身份证号（脱敏）")
    members = serializers.SerializerMethodField(help_text="现有成员人数")
    amount_at_opening = serializers.DecimalField(max_digits=12, decimal_places=2)
    visited_on = serializers.DateField(allow_null=True)
    means_tested_on = serializers.DateField(allow_null=True)
    proposed_outcome = serializers.CharField(help_text="乡镇建议结果，取值同 outcome（空：未建议）")
    outcome = serializers.ChoiceField(
        choices=ItemOutcome.choices, allow_blank=True, help_text="复核结果（空：未作出）"
    )
    outcome_label = serializers.SerializerMethodField()
    new_amount = serializers.DecimalField(max_digits=12, decimal_places=2, allow_null=True)
    effective_month = serializers.DateField(allow_null=True)
    decided_at = serializers.DateTimeField(allow_null=True)
    overdue = serializers.SerializerMethodField(help_text="复核期已过仍未作出结果")

    def _head(self, item: ReviewItem) -> tuple[str, str, int]:
        return self.context["heads"].get(item.pk, ("", "", 0))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_dibao_household(self, item: ReviewItem) -> str | None:
        return item.dibao_household.number if item.dibao_household_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_registry_household(self, item: ReviewItem) -> str | None:
        return item.registry_household.number if item.registry_household_id else None

    @extend_schema_field(serializers.CharField())
    def get_head_name(self, item: ReviewItem) -> str:
        return self._head(item)[0]

    @extend_schema_field(serializers.CharField())
    def get_head_id_number(self, item: ReviewItem) -> str:
        return self._head(item)[1]

    @extend_schema_field(serializers.IntegerField())
    def get_members(self, item: ReviewItem) -> int:
        return self._head(item)[2]

    @extend_schema_field(serializers.CharField())
    def get_outcome_label(self, item: ReviewItem) -> str:
        return item.get_outcome_display() if item.outcome else ""

    @extend_schema_field(serializers.BooleanField())
    def get_overdue(self, item: ReviewItem) -> bool:
        return is_overdue(item, today=self.context["today"])


class ReviewScreeningOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text="台账比对问题编号")
    category = serializers.ChoiceField(choices=ReconciliationCategory.choices)
    category_label = serializers.CharField(source="get_category_display")
    state = serializers.CharField()
    state_label = serializers.CharField(source="get_state_display")


class MaskedText(serializers.CharField):
    """Free text typed by officers, with any ID-number-looking value masked."""

    def to_representation(self, value: Any) -> str:
        return mask_value_in_text(super().to_representation(value))


class ReviewItemDetailOutput(ReviewItemOutput):
    visit_findings = MaskedText(help_text="走访情况（身份证号脱敏）")
    proposal_note = MaskedText(help_text="建议说明（身份证号脱敏）")
    decision_note = MaskedText(help_text="决定理由（身份证号脱敏）")
    proposed_by = serializers.SerializerMethodField()
    decided_by = serializers.SerializerMethodField()
    home_visit = serializers.IntegerField(source="home_visit_id", allow_null=True)
    verification_request = serializers.IntegerField(
        source="verification_request_id", allow_null=True
    )
    change = serializers.IntegerField(source="change_id", allow_null=True, help_text="复核核算")
    referral = serializers.IntegerField(source="referral_id", allow_null=True)
    screening = serializers.SerializerMethodField(
        help_text="本年度双向排查发现（应扶尽扶、应保尽保、应退则退）"
    )

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_proposed_by(self, item: ReviewItem) -> str | None:
        return item.proposed_by.get_username() if item.proposed_by_id else None

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_decided_by(self, item: ReviewItem) -> str | None:
        return item.decided_by.get_username() if item.decided_by_id else None

    @extend_schema_field(ReviewScreeningOutput(many=True))
    def get_screening(self, item: ReviewItem) -> list[dict[str, Any]]:
        return ReviewScreeningOutput(self.context["screening"].get(item.pk, []), many=True).data


class ReviewCampaignFilters(serializers.Serializer):
    area = serializers.RegexField(CODE, required=False)
    status = serializers.ChoiceField(choices=CampaignStatus.choices, required=False)
    year = serializers.IntegerField(min_value=MIN_YEAR, max_value=MAX_YEAR, required=False)


class ReviewListFilters(serializers.Serializer):
    area = serializers.RegexField(CODE, required=False)
    status = serializers.ChoiceField(choices=ListStatus.choices, required=False)
    year = serializers.IntegerField(min_value=MIN_YEAR, max_value=MAX_YEAR, required=False)
    campaign = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class ReviewItemFilters(serializers.Serializer):
    area = serializers.RegexField(CODE, required=False)
    status = serializers.ChoiceField(choices=list(ITEM_STATUSES.items()), required=False)
    kind = serializers.ChoiceField(choices=ItemKind.choices, required=False)
    outcome = serializers.ChoiceField(choices=ItemOutcome.choices, required=False)
    in_registry = serializers.BooleanField(required=False, allow_null=True, default=None)


_AREA = OpenApiParameter(
    "area",
    description="区划 12 位代码：本区划及其下级（旗县代码即其全部苏木乡镇），或所在的上级",
    pattern=CODE,
)
_YEAR = OpenApiParameter(
    "year",
    {"type": "integer", "minimum": MIN_YEAR, "maximum": MAX_YEAR},
    description=f"复核年度（{MIN_YEAR}–{MAX_YEAR}）",
)


def _filters(serializer_class: type[serializers.Serializer], request: Request) -> dict[str, Any]:
    filters = serializer_class(data=request.query_params)
    filters.is_valid(raise_exception=True)
    data = dict(filters.validated_data)
    if "area" in data:
        data["area"] = access_review_area_by_code(request.user, data["area"])
    return data


# --- the facts of a page (a fixed number of queries for any number of rows) -----------------------


def _campaign_context(request: Request, campaigns: list[ReviewCampaign]) -> dict[str, Any]:
    return {
        "progress": campaign_progress_by_id(
            actor=request.user, campaigns=campaigns, today=timezone.localdate()
        ),
        "county_signatures": current_county_signatures(actor=request.user, campaigns=campaigns),
        "filings": current_filings([campaign.pk for campaign in campaigns]),
    }


def _list_context(lists: list[ReviewList]) -> dict[str, Any]:
    signed = [row for row in lists if row.status == ListStatus.SIGNED]
    filed = {row.campaign_id for row in signed if row.campaign.status == CampaignStatus.FILED}
    return {
        "progress": list_progress_by_id(lists, today=timezone.localdate()),
        "signatures": current_list_signatures(signed),
        "filings": current_filings(sorted(filed)),
    }


def _item_context(items: list[ReviewItem], today: date) -> dict[str, Any]:
    heads = item_heads(ReviewItem.objects.filter(pk__in=[item.pk for item in items]))
    return {"heads": heads, "today": today}


# --- views ---------------------------------------------------------------------------------------


@extend_schema(
    summary="年度复核列表",
    parameters=[_AREA, OpenApiParameter("status", enum=CampaignStatus.values), _YEAR],
)
class CampaignListApi(ListAPIView):
    serializer_class = ReviewCampaignOutput
    permission_classes = [HasCapability.of(Perm.REVIEW_VIEW)]
    pagination_class = KeysetPagination
    filter_backends: list[type] = []
    keyset_ordering = ("-year", "county_code", "id")

    def get_queryset(self) -> QuerySet[ReviewCampaign]:
        data = _filters(ReviewCampaignFilters, self.request)
        return campaign_list(
            actor=self.request.user,
            area=data.get("area"),
            status=data.get("status", ""),
            year=data.get("year"),
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        campaigns = self.paginate_queryset(self.get_queryset())
        context = _campaign_context(request, campaigns)
        return self.get_paginated_response(
            ReviewCampaignOutput(campaigns, many=True, context=context).data
        )


@extend_schema(summary="年度复核详情（复核期、状态、进度、签字与备案）")
class CampaignDetailApi(GenericAPIView):
    serializer_class = ReviewCampaignOutput
    permission_classes = [HasCapability.of(Perm.REVIEW_VIEW)]

    def get(self, request: Request, campaign_id: int) -> Response:
        campaign = access_campaign_by_id(request.user, campaign_id)
        context = _campaign_context(request, [campaign])
        return Response(ReviewCampaignOutput(campaign, context=context).data)


@extend_schema(
    summary="苏木乡镇复核名单列表",
    parameters=[
        _AREA,
        OpenApiParameter("status", enum=ListStatus.values),
        _YEAR,
        OpenApiParameter(
            "campaign",
            {"type": "integer", "minimum": 1, "maximum": MAX_ID},
            description="年度复核编号",
        ),
    ],
)
class ReviewListListApi(ListAPIView):
    serializer_class = ReviewListOutput
    permission_classes = [HasCapability.of(Perm.REVIEW_VIEW)]
    pagination_class = KeysetPagination
    filter_backends: list[type] = []
    keyset_ordering = ("-campaign_year", "township_code", "id")

    def get_queryset(self) -> QuerySet[ReviewList]:
        data = _filters(ReviewListFilters, self.request)
        return review_list_list(
            actor=self.request.user,
            campaign_id=data.get("campaign"),
            area=data.get("area"),
            status=data.get("status", ""),
            year=data.get("year"),
        )

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        lists = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(
            ReviewListOutput(lists, many=True, context=_list_context(lists)).data
        )


@extend_schema(summary="苏木乡镇复核名单详情（确认、签字、备案、进度）")
class ReviewListDetailApi(GenericAPIView):
    serializer_class = ReviewListOutput
    permission_classes = [HasCapability.of(Perm.REVIEW_VIEW)]

    def get(self, request: Request, list_id: int) -> Response:
        review_list = access_list_by_id(request.user, list_id)
        return Response(ReviewListOutput(review_list, context=_list_context([review_list])).data)


@extend_schema(
    summary="复核名单中的复核对象（户主身份证号脱敏）",
    parameters=[
        OpenApiParameter(
            "area", description="嘎查村（或苏木乡镇）12 位代码：只列该区划内的户", pattern=CODE
        ),
        OpenApiParameter("status", enum=list(ITEM_STATUSES)),
        OpenApiParameter("kind", enum=ItemKind.values),
        OpenApiParameter("outcome", enum=ItemOutcome.values),
        OpenApiParameter("in_registry", bool, description="复核开始时在建档立卡台账"),
    ],
)
class ReviewListItemListApi(ListAPIView):
    serializer_class = ReviewItemOutput
    permission_classes = [HasCapability.of(Perm.REVIEW_VIEW)]
    pagination_class = KeysetPagination
    filter_backends: list[type] = []
    keyset_ordering = ("area_code", "id")

    def get_queryset(self) -> QuerySet[ReviewItem]:
        review_list = access_list_by_id(self.request.user, self.kwargs["list_id"])
        data = _filters(ReviewItemFilters, self.request)
        items = list_items(
            actor=self.request.user,
            review_list=review_list,
            show=data.get("status", ""),
            today=timezone.localdate(),
        )
        if "area" in data:
            items = items.filter(area__path__startswith=data["area"].path)
        if "kind" in data:
            items = items.filter(kind=data["kind"])
        if "outcome" in data:
            items = items.filter(outcome=data["outcome"])
        if data.get("in_registry") is not None:
            items = items.filter(in_registry=data["in_registry"])
        return items.annotate(area_code=F("area__code"))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        items = self.paginate_queryset(self.get_queryset())
        context = _item_context(items, timezone.localdate())
        return self.get_paginated_response(ReviewItemOutput(items, many=True, context=context).data)


@extend_schema(summary="复核对象详情（身份证号脱敏）")
class ReviewItemDetailApi(GenericAPIView):
    serializer_class = ReviewItemDetailOutput
    permission_classes = [HasCapability.of(Perm.REVIEW_VIEW)]

    def get(self, request: Request, item_id: int) -> Response:
        item = access_item_by_id(request.user, item_id)
        context = _item_context([item], timezone.localdate())
        context["screening"] = screening_findings(campaign=item.campaign, items=[item])
        return Response(ReviewItemDetailOutput(item, context=context).data)


urlpatterns = [
    path("review/campaigns/", CampaignListApi.as_view(), name="review-campaign-list"),
    path(
        "review/campaigns/<int:campaign_id>/",
        CampaignDetailApi.as_view(),
        name="review-campaign-detail",
    ),
    path("review/lists/", ReviewListListApi.as_view(), name="review-list-list"),
    path("review/lists/<int:list_id>/", ReviewListDetailApi.as_view(), name="review-list-detail"),
    path(
        "review/lists/<int:list_id>/items/",
        ReviewListItemListApi.as_view(),
        name="review-list-item-list",
    ),
    path("review/items/<int:item_id>/", ReviewItemDetailApi.as_view(), name="review-item-detail"),
]
