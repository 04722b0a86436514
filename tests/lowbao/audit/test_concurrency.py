import threading

import pytest
from django.db import connection, connections, transaction

from lowbao.audit.models import AuditEvent
from lowbao.audit.selectors import ChainVerification, audit_chain_verify
from lowbao.audit.services import record

THREADS = 10
EVENTS_PER_THREAD = 5


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_build_one_gap_free_chain():
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            start.wait()
            for number in range(EVENTS_PER_THREAD):
                with transaction.atomic():
                    record(
                        actor=None,
                        action="case.update",
                        actor_label=f"system:worker{worker}",
                        object_type="cases.case",
                        object_id=str(number),
                    )
        except BaseException as error:  # reported by the main thread
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert list(AuditEvent.objects.values_list("seq", flat=True)) == list(range(1, 51))
    assert audit_chain_verify() == ChainVerification(ok=True, count=THREADS * EVENTS_PER_THREAD)
