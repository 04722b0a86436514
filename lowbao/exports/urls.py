"""Export pages: a list's export page, the user's export jobs, the download."""

from django.urls import path

from lowbao.exports import views

app_name = "exports"
urlpatterns = [
    path("", views.job_list, name="job_list"),
    path("new/<slug:kind>/", views.export_new, name="export_new"),
    path("<int:job_id>/download/", views.job_download, name="job_download"),
]
