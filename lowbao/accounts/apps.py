from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lowbao.accounts"
    label = "accounts"
    verbose_name = "账号"
