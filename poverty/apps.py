from django.apps import AppConfig


class PovertyConfig(AppConfig):
    name = "poverty"
    verbose_name = "建档立卡衔接"
