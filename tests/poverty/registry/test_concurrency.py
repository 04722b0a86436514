"""Concurrent pushes of the same snapshot on real PostgreSQL: one snapshot, written once
(quality.md R2: re-running gives the same result, no duplicates)."""

import threading

import pytest
from django.db import connection

from poverty.choices import SnapshotSource
from poverty.models import RegistryHousehold, RegistryMember, RegistrySnapshot
from poverty.services.registry import registry_snapshot_apply
from poverty.validation import validate_registry_rows
from tests.poverty.registry.conftest import FIRST_SNAPSHOT, household_rows

pytestmark = pytest.mark.django_db(transaction=True)


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


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_eight_parallel_identical_pushes_write_one_snapshot(areas):
    rows = [row for index in range(5) for row in household_rows(f"C{index}", size=3)]
    households = validate_registry_rows(rows, county=areas.county).households

    results = _run_parallel(
        8,
        lambda _index: registry_snapshot_apply(
            actor=None,
            county=areas.county,
            households=households,
            snapshot_date=FIRST_SNAPSHOT,
            source=SnapshotSource.API,
        ),
    )

    assert all(isinstance(result, RegistrySnapshot) for result in results), results
    assert {result.pk for result in results} == {RegistrySnapshot.objects.get().pk}
    assert sorted(result.replayed for result in results) == [False] + [True] * 7
    assert RegistryHousehold.objects.count() == 5
    assert RegistryMember.objects.count() == 15
