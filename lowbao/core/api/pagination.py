"""Pagination of the API lists: page numbers for the small lists, keyset pages for the big ones."""

from typing import Any

from django.db.models import QuerySet
from rest_framework.pagination import BasePagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response

from lowbao.core.paging import COUNT_CAP, KeysetPage, keyset_page


class StandardPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500


class KeysetPagination(BasePagination):
    """Keyset pages (``lowbao.core.paging``) in the shape of the other lists — ``count``,
    ``next``, ``previous``, ``results`` — plus ``count_capped`` when there are more than
    ``count`` rows. ``page_size`` is 1–200 (50 by default; out of range is clamped, nonsense
    ignored); ``next``/``previous`` carry the ``after``/``before`` key of the page's edge row, and
    a bad key gives the first page. The view names its order in ``keyset_ordering``."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"

    def _page_size(self, request: Request) -> int:
        try:
            size = int(request.query_params.get(self.page_size_query_param, self.page_size))
        except (TypeError, ValueError):
            return self.page_size
        return min(max(size, 1), self.max_page_size)

    def paginate_queryset(
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list[Any]:
        self.request = request
        self.page: KeysetPage = keyset_page(
            request.query_params,
            queryset,
            ordering=view.keyset_ordering,
            per_page=self._page_size(request),
        )
        return self.page.object_list

    def _link(self, query: str) -> str | None:
        if not query:
            return None
        return self.request.build_absolute_uri(f"{self.request.path}?{query}")

    def get_paginated_response(self, data: list[Any]) -> Response:
        return Response(
            {
                "count": self.page.count,
                "count_capped": self.page.count_capped,
                "next": self._link(self.page.next_query),
                "previous": self._link(self.page.previous_query),
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        link = {"type": "string", "nullable": True, "format": "uri"}
        return {
            "type": "object",
            "required": ["count", "count_capped", "next", "previous", "results"],
            "properties": {
                "count": {"type": "integer", "description": f"总数，最多数到 {COUNT_CAP}"},
                "count_capped": {"type": "boolean", "description": f"多于 {COUNT_CAP} 条"},
                "next": link,
                "previous": link,
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        cursor = {"type": "string", "maxLength": 500}
        return [
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"每页条数（1–{self.max_page_size}，默认 {self.page_size}）",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
            {
                "name": "after",
                "required": False,
                "in": "query",
                "description": "下一页的位置（取自 next 链接）",
                "schema": cursor,
            },
            {
                "name": "before",
                "required": False,
                "in": "query",
                "description": "上一页的位置（取自 previous 链接）",
                "schema": cursor,
            },
        ]
