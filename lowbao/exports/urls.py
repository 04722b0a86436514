"""Export jobs: big exports streamed by Celery, downloaded when done."""

app_name = "exports"
urlpatterns: list = []
