from django.apps import AppConfig


class PovertyConfig(AppConfig):
    name = "poverty"
    verbose_name = "建档立卡衔接"

    def ready(self) -> None:
        from lowbao.core.demo import DEMO_SEEDERS
        from poverty.demo import seed_demo_registry
        from poverty.hooks import register
        from poverty.navigation import register_menu

        register()
        register_menu()
        if seed_demo_registry not in DEMO_SEEDERS:
            DEMO_SEEDERS.append(seed_demo_registry)
