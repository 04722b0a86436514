"""Celery tasks of the export framework: thin, by id, calling one service (style B.7)."""

from typing import Any

from celery import shared_task


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    name="exports.export_job_run",
)
def export_job_run_task(self: Any, job_id: int) -> None:
    """Write an export job's file. Enqueued only on commit by ``export_job_request``; a
    duplicate or redelivered message is harmless (the service claims the job by a conditional
    update)."""
    from lowbao.exports.services import export_job_run

    export_job_run(job_id=job_id, task_id=self.request.id)


@shared_task(bind=True, acks_late=True, ignore_result=True, name="exports.export_files_purge")
def export_files_purge_task(self: Any) -> None:
    """Delete export files past their retention (periodic, ``CELERY_BEAT_SCHEDULE``)."""
    from lowbao.exports.services import export_files_purge

    export_files_purge()
