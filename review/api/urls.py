"""``/api/v1/`` endpoints of the review app; each api module owns its urlpatterns."""

from review.api import campaign, reconciliation

urlpatterns = [*reconciliation.urlpatterns, *campaign.urlpatterns]
