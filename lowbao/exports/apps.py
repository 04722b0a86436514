from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "lowbao.exports"
    label = "exports"
    verbose_name = "数据导出"
