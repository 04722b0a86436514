from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

admin.site.site_header = "lowbao 系统管理"
admin.site.site_title = "lowbao"

urlpatterns = [
    path("", include("lowbao.core.urls")),
    path("accounts/", include("lowbao.accounts.urls")),
    path("areas/", include("lowbao.areas.urls")),
    path("cases/", include("cases.urls")),
    path("poverty/", include("poverty.urls")),
    path("review/campaign/", include("review.campaign_urls")),
    path("review/dashboard/", include("review.dashboard_urls")),
    path("review/", include("review.urls")),
    path("imports/", include("lowbao.imports.urls")),
    path("exports/", include("lowbao.exports.urls")),
    path("api/v1/", include("lowbao.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
]

handler403 = "lowbao.core.error_views.permission_denied"
handler404 = "lowbao.core.error_views.page_not_found"
handler500 = "lowbao.core.error_views.server_error"
