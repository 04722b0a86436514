"""Pages of the cases app: applications."""

urlpatterns: list = []
