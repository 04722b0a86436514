"""Celery tasks of the review app. Thin (style B.7): they take ids and call one service.

- ``reconciliation_run_task(run_id)``: one county's reconciliation. ``acks_late`` and
  ``reject_on_worker_lost``: a worker killed mid-run does not lose the message, and the service's
  claim (a conditional update, plus a PostgreSQL advisory lock held while the run executes)
  makes a second delivery a no-op once the run is over, or a restart when its worker died. A
  delivery that finds the run still active but held by another session (a live executor, or
  the database session of a killed one that PostgreSQL has not ended yet) is retried after
  ``LOWBAO_RECONCILIATION_BUSY_RETRY_SECONDS`` (default 60) instead of being dropped: dropping
  it would leave a killed run without a message.
- ``reconciliation_sweep_task()``: the half-yearly job started by celery beat (the periodic task
  is stored in django-celery-beat's tables and edited in the admin; see
  ``review.services.reconciliation``). It fans out one ``reconciliation_run_task`` per county.
- ``reconciliation_runs_requeue_task()``: periodic (beat, ``lowbao/celery.py``): sends the run
  task again for active runs whose message was lost (a broker restarted without persistence)
  or whose executor died after its message was dropped.
"""

from celery import Task, shared_task
from django.conf import settings

from review.models import RunTrigger
from review.models.reconciliation import ACTIVE_RUN_STATUSES

DEFAULT_BUSY_RETRY_SECONDS = 60


@shared_task(
    bind=True,
    name="review.tasks.reconciliation_run_task",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=None,
)
def reconciliation_run_task(self: Task, run_id: int) -> None:
    from review.services.reconciliation import reconciliation_run_execute

    run = reconciliation_run_execute(run_id=run_id)
    if run is None:  # no such run (a stale message): logged by the service, nothing to do
        return
    # eager (tests, no broker): a retry would run again at once, in a loop
    if run.status in ACTIVE_RUN_STATUSES and not self.request.is_eager:
        countdown = getattr(
            settings, "LOWBAO_RECONCILIATION_BUSY_RETRY_SECONDS", DEFAULT_BUSY_RETRY_SECONDS
        )
        raise self.retry(countdown=float(countdown))


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


@shared_task(
    name="review.tasks.reconciliation_runs_requeue_task",
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
)
def reconciliation_runs_requeue_task() -> list[int]:
    from review.services.reconciliation import (
        reconciliation_runs_requeue,
        reconciliation_sweeps_catch_up,
    )

    reconciliation_sweeps_catch_up()
    return reconciliation_runs_requeue()
