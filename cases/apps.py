from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "低保与特困供养"

    def ready(self) -> None:
        from cases.demo import seed_demo_households
        from cases.home import open_applications_card
        from cases.navigation import register_menu
        from lowbao.core.demo import DEMO_SEEDERS
        from lowbao.core.home import register_home_card

        register_menu()
        register_home_card(open_applications_card)
        if seed_demo_households not in DEMO_SEEDERS:
            DEMO_SEEDERS.append(seed_demo_households)
