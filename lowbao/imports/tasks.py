"""Celery tasks of the upload page's big-file path (style B.7): they take ids and call one service.

Both are ``acks_late`` and rejected when their worker is lost: a worker killed mid-task leaves the
message to be delivered again, and the services find the batch's state in PostgreSQL (the
pipeline claims each step by a conditional update, so a second delivery does nothing twice). A
redelivered parse that finds the batch still claimed by the dead worker retries once that claim
is stale (``ClaimBusy``) and then takes it over (quality.md R3). They are enqueued only through
``transaction.on_commit`` (``lowbao.imports.jobs``). Their time limits come from settings
(``LOWBAO_IMPORT_TASK_TIME_LIMIT``, ``LOWBAO_IMPORT_TASK_SOFT_TIME_LIMIT``); the stale limit of a
claim is above the hard one.
"""

from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError

RETRYABLE = (OperationalError, InterfaceError)
DEFAULT_TIME_LIMIT = 2 * 3600
SOFT_LIMIT_MARGIN = 120
# A redelivered parse waits for a dead worker's claim to go stale at most this many times.
MAX_CLAIM_WAITS = 5


def _time_limit() -> int:
    return int(getattr(settings, "LOWBAO_IMPORT_TASK_TIME_LIMIT", DEFAULT_TIME_LIMIT))


def _soft_time_limit() -> int:
    default = max(1, _time_limit() - SOFT_LIMIT_MARGIN)
    return int(getattr(settings, "LOWBAO_IMPORT_TASK_SOFT_TIME_LIMIT", default))


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    max_retries=3,
    time_limit=_time_limit(),
    soft_time_limit=_soft_time_limit(),
    name="imports.import_batch_parse",
)
def import_batch_parse_task(self: Any, batch_id: int, take_over: str = "") -> None:
    """Parse the batch's stored file and compute its preview. A lost database connection is
    retried: the pipeline parses a FAILED batch again. ``take_over`` is set on the retry of a
    redelivered message: the claim of the dead worker it waited for."""
    from lowbao.imports.jobs import ClaimBusy, import_batch_prepare_by_id

    try:
        import_batch_prepare_by_id(batch_id=batch_id, take_over=take_over)
    except ClaimBusy as busy:
        raise self.retry(
            kwargs={"batch_id": batch_id, "take_over": busy.token},
            countdown=busy.wait_seconds + 1,
            max_retries=MAX_CLAIM_WAITS,
            exc=busy,
        ) from None


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    time_limit=_time_limit(),
    soft_time_limit=_soft_time_limit(),
    name="imports.import_batch_apply",
)
def import_batch_apply_task(self: Any, batch_id: int, actor_id: int) -> None:
    """Apply the parsed batch in the name of the admin who confirmed it. Not retried: a failed
    apply leaves the batch FAILED and nothing written; the admin checks it again and confirms. A
    worker killed mid-apply leaves it PARSED (the apply is one transaction): the redelivered
    message applies it."""
    from lowbao.imports.jobs import import_batch_apply_by_id

    import_batch_apply_by_id(batch_id=batch_id, actor_id=actor_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, name="imports.import_files_purge")
def import_files_purge_task(self: Any) -> None:
    """Delete stored upload files past their retention (periodic, ``CELERY_BEAT_SCHEDULE``)."""
    from lowbao.imports.storage import import_files_purge

    import_files_purge()
