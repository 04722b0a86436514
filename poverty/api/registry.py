"""API of the poverty app: registry."""

urlpatterns: list = []
