"""Pages of the cases app; each views module owns its urlpatterns."""

from cases.views import applications, households, management, means_test, payments

app_name = "cases"

urlpatterns = [
    *households.urlpatterns,
    *applications.urlpatterns,
    *means_test.urlpatterns,
    *payments.urlpatterns,
    *management.urlpatterns,
]
