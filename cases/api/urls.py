"""``/api/v1/`` endpoints of the cases app; each api module owns its urlpatterns."""

from cases.api import households, means_test, payments

urlpatterns = [
    *means_test.urlpatterns,
    *households.urlpatterns,
    *payments.urlpatterns,
]
