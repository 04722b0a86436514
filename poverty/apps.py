from django.apps import AppConfig


class PovertyConfig(AppConfig):
    name = "poverty"
    verbose_name = "建档立卡衔接"

    def ready(self) -> None:
        from poverty.hooks import register
        from poverty.navigation import register_menu

        register()
        register_menu()
