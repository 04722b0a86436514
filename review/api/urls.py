"""``/api/v1/`` endpoints of the review app (reconciliation runs and items)."""

urlpatterns: list = []
