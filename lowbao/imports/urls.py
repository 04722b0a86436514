"""The admins' ledger upload pages."""

from django.urls import path

from lowbao.imports import views

app_name = "imports"
urlpatterns = [
    path("", views.upload_view, name="upload"),
    path("batches/", views.batch_list_view, name="batch_list"),
    path("batches/<int:batch_id>/", views.batch_detail_view, name="batch_detail"),
    path("batches/<int:batch_id>/progress/", views.batch_progress_view, name="batch_progress"),
    path("batches/<int:batch_id>/apply/", views.batch_apply_view, name="batch_apply"),
    path("batches/<int:batch_id>/recheck/", views.batch_recheck_view, name="batch_recheck"),
    path("batches/<int:batch_id>/error-sheet/", views.error_sheet_view, name="error_sheet"),
]
