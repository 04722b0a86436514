"""Pages of the annual review campaign (年度复核), under ``/review/campaign/``."""

from review.views import campaign

app_name = "campaign"

urlpatterns = [*campaign.urlpatterns]
