"""Celery tasks of the review app. Thin (style B.7): they take ids and call one service.

- ``reconciliation_run_task(run_id)``: one county's reconciliation. ``acks_late`` and
  ``reject_on_worker_lost``: a worker killed mid-run does not lose the message, and the service's
  claim (a conditional update, plus a PostgreSQL advisory lock held while the run executes)
  makes a second delivery a no-op once the run is over, or a restart when its worker died.
- ``reconciliation_sweep_task()``: the half-yearly job started by celery beat (the periodic task
  is stored in django-celery-beat's tables and edited in the admin; see
  ``review.services.reconciliation``). It fans out one ``reconciliation_run_task`` per county.
"""

from celery import shared_task

from review.models import RunTrigger


@shared_task(
    bind=True,
    name="review.tasks.reconciliation_run_task",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def reconciliation_run_task(self: object, run_id: int) -> None:
    from review.services.reconciliation import reconciliation_run_execute

    reconciliation_run_execute(run_id=run_id)


@shared_task(
    bind=True,
    name="review.tasks.reconciliation_sweep_task",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def reconciliation_sweep_task(self: object) -> int:
    from review.services.reconciliation import reconciliation_sweep_start

    return reconciliation_sweep_start(actor=None, trigger=RunTrigger.SCHEDULE).pk
