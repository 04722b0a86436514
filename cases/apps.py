from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "低保与特困供养"

    def ready(self) -> None:
        from cases.navigation import register_menu

        register_menu()
