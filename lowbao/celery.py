"""Celery application. Tasks are thin: they take ids and call one service (style B.7)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lowbao.settings.local")

app = Celery("lowbao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule_reconciliation_requeue(sender: Celery, **kwargs: object) -> None:
    """Beat: send the task again for reconciliation runs whose message was lost
    (``review.services.reconciliation.reconciliation_runs_requeue``)."""
    from django.conf import settings

    sender.add_periodic_task(
        float(getattr(settings, "LOWBAO_RECONCILIATION_REQUEUE_INTERVAL_SECONDS", 300)),
        sender.signature("review.tasks.reconciliation_runs_requeue_task"),
        name="reconciliation-runs-requeue",
    )
