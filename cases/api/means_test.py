"""API of the cases app: means_test."""

urlpatterns: list = []
