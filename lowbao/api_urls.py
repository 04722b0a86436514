"""``/api/v1/``: every endpoint is in the OpenAPI schema (contracts.md)."""

from django.urls import include, path

urlpatterns = [
    path("", include("lowbao.areas.api.urls")),
    path("", include("cases.api.urls")),
    path("", include("poverty.api.urls")),
    path("", include("review.api.urls")),
]
