"""API of the poverty app: verification."""

urlpatterns: list = []
