"""Pages of the poverty app: registry."""

urlpatterns: list = []
