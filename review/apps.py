from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "review"
    verbose_name = "年度复核"

    def ready(self) -> None:
        from lowbao.core.home import register_home_card
        from review.home import open_items_card

        register_home_card(open_items_card)
