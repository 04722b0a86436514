"""The admins' ledger upload pages."""

app_name = "imports"
urlpatterns: list = []
