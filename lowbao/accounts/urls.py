from django.urls import path

from lowbao.accounts import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("switch-area/", views.switch_area, name="switch_area"),
    path("two-factor/", views.second_factor_overview, name="second_factor"),
    path("two-factor/setup/", views.second_factor_setup, name="second_factor_setup"),
    path("two-factor/verify/", views.second_factor_verify, name="second_factor_verify"),
    path(
        "two-factor/recovery-codes/",
        views.recovery_codes_regenerate,
        name="recovery_codes_regenerate",
    ),
    path("two-factor/reset/", views.second_factor_reset_search, name="second_factor_reset_search"),
    path("two-factor/reset/<int:user_id>/", views.second_factor_reset, name="second_factor_reset"),
]
