"""API of the cases app: households."""

urlpatterns: list = []
