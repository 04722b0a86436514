from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "lowbao.accounts"
    label = "accounts"
    verbose_name = "账号"

    def ready(self) -> None:
        from lowbao.accounts.navigation import register_menu

        register_menu()
