"""Pages of the poverty app: verification."""

urlpatterns: list = []
