from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "lowbao.exports"
    label = "exports"
    verbose_name = "数据导出"

    def ready(self) -> None:
        from lowbao.exports.navigation import register_menu

        register_menu()
