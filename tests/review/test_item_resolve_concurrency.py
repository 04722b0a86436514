"""Concurrent resolutions of one item on real PostgreSQL (quality.md R4): exactly one succeeds,
every other caller gets a clear 409 conflict, and the history holds one resolution."""

import threading

import pytest
from django.db import connection

from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from review.models import ItemEvent, ItemState, ReconciliationItem
from review.services.resolution import reconciliation_item_resolve

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 20


def _run_parallel(count: int, work) -> list[object]:
    results: list[object] = [None] * count
    barrier = threading.Barrier(count)

    def runner(index: int) -> None:
        try:
            barrier.wait()
            results[index] = work(index)
        except Exception as exc:  # collected and asserted below
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


@pytest.mark.postgres
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_twenty_parallel_resolutions_one_wins_the_others_get_a_conflict(recon, case_users):
    states = [ItemState.VERIFIED, ItemState.CORRECTED]
    users = [case_users.caseworker, case_users.township_head, case_users.civil_affairs]

    results = _run_parallel(
        PARALLEL,
        lambda index: reconciliation_item_resolve(
            actor=users[index % len(users)],
            item_id=recon.own_item.pk,
            state=states[index % len(states)],
            note=f"第{index}人",
        ),
    )

    winners = [r for r in results if isinstance(r, ReconciliationItem)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1, results
    assert len(losers) == PARALLEL - 1, results
    assert {(e.code, e.status) for e in losers} == {("item_already_resolved", 409)}
    item = ReconciliationItem.objects.get(pk=recon.own_item.pk)
    assert (item.state, item.resolution_note) == (winners[0].state, winners[0].resolution_note)
    assert ItemEvent.objects.filter(item=item, action=ItemEvent.Action.RESOLVED).count() == 1
    assert AuditEvent.objects.filter(action="reconciliation.item_resolve").count() == 1
