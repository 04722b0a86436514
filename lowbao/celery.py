"""Celery application. Tasks are thin: they take ids and call one service (style B.7)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lowbao.settings.local")

app = Celery("lowbao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
