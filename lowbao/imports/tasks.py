"""Celery tasks of the upload page's big-file path (style B.7): they take ids and call one service.

Both are ``acks_late``: a worker killed mid-task leaves the message to be delivered again, and the
services find the batch's state in PostgreSQL (the pipeline claims each step by a conditional
update, so a second delivery does nothing twice). They are enqueued only through
``transaction.on_commit`` (``lowbao.imports.jobs``).
"""

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError

RETRYABLE = (OperationalError, InterfaceError)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=RETRYABLE,
    retry_backoff=True,
    max_retries=3,
    name="imports.import_batch_parse",
)
def import_batch_parse_task(self: Any, batch_id: int) -> None:
    """Parse the batch's stored file and compute its preview. A lost database connection is
    retried: the pipeline parses a FAILED batch again."""
    from lowbao.imports.jobs import import_batch_prepare_by_id

    import_batch_prepare_by_id(batch_id=batch_id)


@shared_task(bind=True, acks_late=True, name="imports.import_batch_apply")
def import_batch_apply_task(self: Any, batch_id: int, actor_id: int) -> None:
    """Apply the parsed batch in the name of the admin who confirmed it. Not retried: a failed
    apply leaves the batch FAILED and nothing written; the admin checks it again and confirms."""
    from lowbao.imports.jobs import import_batch_apply_by_id

    import_batch_apply_by_id(batch_id=batch_id, actor_id=actor_id)
