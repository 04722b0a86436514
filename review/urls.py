"""Pages of the review app; each views module owns its urlpatterns."""

from review.views import summary, worklist

app_name = "review"

urlpatterns = [*summary.urlpatterns, *worklist.urlpatterns]
