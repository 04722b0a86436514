"""API of the poverty app: linkage."""

urlpatterns: list = []
