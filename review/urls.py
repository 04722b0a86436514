"""Pages of the review app: reconciliation worklists and county summary."""

app_name = "review"
urlpatterns: list = []
