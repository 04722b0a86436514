from django.apps import AppConfig


class AreasConfig(AppConfig):
    name = "lowbao.areas"
    label = "areas"
    verbose_name = "行政区划与权限"
