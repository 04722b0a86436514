"""Pages of the cases app: payments."""

urlpatterns: list = []
