"""Pages of the poverty app; each views module owns its urlpatterns."""

from poverty.views import linkage, registry, verification

app_name = "poverty"

urlpatterns = [*registry.urlpatterns, *verification.urlpatterns, *linkage.urlpatterns]
