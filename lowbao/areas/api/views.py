from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.generics import ListAPIView, RetrieveAPIView
from rest_framework.request import Request

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import access_area_by_code
from lowbao.areas.selectors import area_list
from lowbao.core.api.permissions import HasCapability


class AreaOutputSerializer(serializers.ModelSerializer):
    parent_code = serializers.CharField(
        source="parent.code", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Area
        fields = ["code", "name", "level", "parent_code"]


class AreaFilterSerializer(serializers.Serializer):
    level = serializers.ChoiceField(
        choices=AreaLevel.choices, required=False, help_text="只列此级别"
    )
    parent = serializers.RegexField(
        r"^[0-9]{12}$", required=False, help_text="只列此上级（12 位代码）的直接下级"
    )
    under = serializers.RegexField(
        r"^[0-9]{12}$", required=False, help_text="只列此区划（12 位代码）及其全部下级"
    )


@extend_schema(
    summary="我的管辖区划",
    parameters=[AreaFilterSerializer],
)
class AreaListApi(ListAPIView):
    """The areas under the caller's scope (contracts.md: lists simply lack what is out of scope)."""

    serializer_class = AreaOutputSerializer
    permission_classes = [HasCapability.of(Perm.AREA_VIEW)]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Area]:
        request: Request = self.request  # type: ignore[assignment]
        filters = AreaFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        return area_list(
            actor=request.user,
            level=filters.validated_data.get("level"),
            parent_code=filters.validated_data.get("parent"),
            under_code=filters.validated_data.get("under"),
        )


@extend_schema(summary="区划详情")
class AreaDetailApi(RetrieveAPIView):
    serializer_class = AreaOutputSerializer
    permission_classes = [HasCapability.of(Perm.AREA_VIEW)]

    def get_object(self) -> Area:
        return access_area_by_code(self.request.user, self.kwargs["code"], perm=Perm.AREA_VIEW)
