"""``/api/v1/`` endpoints of the poverty app; each api module owns its urlpatterns."""

from poverty.api import linkage, registry, verification

urlpatterns = [*registry.urlpatterns, *verification.urlpatterns, *linkage.urlpatterns]
