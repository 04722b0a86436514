"""Pages of the supervision dashboard (监督统计) and its bulletins (通报), under
``/review/dashboard/``."""

from review.views import dashboard

app_name = "dashboard"

urlpatterns = [*dashboard.urlpatterns]
