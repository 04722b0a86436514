"""Pages of the cases app: management."""

urlpatterns: list = []
