from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "lowbao.people"
    label = "people"
    verbose_name = "人员"
