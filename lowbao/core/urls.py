from django.urls import path

from lowbao.core import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.health, name="health"),
]
