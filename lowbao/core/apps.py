from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "lowbao.core"
    label = "core"
    verbose_name = "基础"
