from django.urls import path

from lowbao.areas import views

app_name = "areas"

urlpatterns = [
    path("", views.area_list, name="area_list"),
    path("<str:code>/", views.area_detail, name="area_detail"),
]
