"""A real Celery worker (and beat) against Redis and the test database (quality.md R3, R5).

- The half-yearly periodic task, as stored for django-celery-beat, is fired by a real ``celery
  beat`` (DatabaseScheduler) and executed by a real worker: the sweep fans out one task per
  county through Redis and the last county closes the sweep.
- A worker is SIGKILLed in the middle of a run (a test-only setting pauses after each step); a
  new worker gets the message back (acks_late + reject on worker lost; the killed worker never
  acknowledged it) and the run, claimed again, ends with exactly the items of a clean run.

Needs PostgreSQL (``DATABASE_URL``; the workers connect to pytest-django's ``test_<name>``
database) and Redis (``LOWBAO_TEST_REDIS_URL``, default ``redis://127.0.0.1:6379/14``, a
database of its own that the tests empty). Skipped otherwise; CI has both.
"""

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
import redis
from django.apps import apps as django_apps
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from poverty.choices import PovertyAttribute as A
from poverty.choices import PovertyStatus as S
from review.models import (
    ItemEvent,
    ReconciliationFinding,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationSweep,
    RunStatus,
    RunTrigger,
)
from review.services.reconciliation import reconciliation_request, reconciliation_run_now
from review.tasks import reconciliation_run_task
from tests.fixtures.reconciliation import AS_OF
from tests.review.worker_harness import (
    REDIS_URL,
    RUN_SECONDS,
    STARTUP_SECONDS,
    Process,
    send_run_task,
    skip_reason,
    started_processes,
    wait_for,
)

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    reason = skip_reason()
    if reason:
        pytest.skip(reason)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def processes() -> Iterator[Callable[..., Process]]:
    with started_processes() as start:
        yield start


@pytest.fixture
def county_ledgers(broker, ledgers):
    """Findings of several categories in two counties (committed: the test is transactional)."""
    a, b, c = ledgers.person(), ledgers.person(), ledgers.person()
    ledgers.dibao(a, b, amount="460.00")
    ledgers.registry(a, b, c, attribute=A.GENERAL, amount="300.00", status=S.OUT)
    ledgers.registry((ledgers.person(), "lost"), attribute=A.DIBAO, income="3000.00")
    ledgers.dibao(ledgers.person(), income="100.00")
    twice = ledgers.person()
    ledgers.dibao(twice)
    ledgers.dibao(twice, village=ledgers.areas.other_county_village)
    ledgers.pair()
    return ledgers


@pytest.fixture
def sent_to_redis(monkeypatch, broker) -> None:
    """The pytest process is eager (test settings): send its enqueues to Redis instead."""
    monkeypatch.setattr(reconciliation_run_task, "delay", send_run_task)


def item_keys(run: ReconciliationRun) -> set[tuple[int, str, str]]:
    return set(
        ReconciliationFinding.objects.filter(run=run).values_list(
            "item_id", "item__category", "item__key"
        )
    )


def test_beat_fires_the_half_yearly_sweep_and_a_real_worker_runs_every_county(
    county_ledgers, broker, processes
):
    migration = __import__(
        "review.migrations.0004_reconciliation_beat_schedule", fromlist=["create_schedule"]
    )
    PeriodicTask.objects.filter(name=migration.NAME).delete()
    migration.create_schedule(django_apps, None)
    # due at once instead of on 1 January / 1 July (the crontab itself is tested elsewhere)
    task = PeriodicTask.objects.get(name=migration.NAME)
    task.crontab = None
    task.interval, _ = IntervalSchedule.objects.get_or_create(every=1, period="days")
    task.last_run_at = timezone.now() - timedelta(days=2)
    task.save()

    worker = processes("worker")
    worker.wait_ready()
    beat = processes("beat")
    wait_for(ReconciliationSweep.objects.exists, STARTUP_SECONDS, "beat to fire", beat, worker)
    beat.stop()
    sweep = ReconciliationSweep.objects.get()
    wait_for(
        lambda: ReconciliationSweep.objects.filter(pk=sweep.pk, status=RunStatus.FINISHED).exists(),
        RUN_SECONDS,
        "the sweep to finish",
        worker,
    )

    sweep.refresh_from_db()
    assert (sweep.trigger, sweep.counties_total, sweep.counties_done, sweep.counties_failed) == (
        RunTrigger.SCHEDULE,
        2,
        2,
        0,
    )
    runs = {run.county.code: run for run in sweep.runs.select_related("county")}
    assert set(runs) == {"150121000000", "150122000000"}
    assert all((run.status, run.attempts) == (RunStatus.FINISHED, 1) for run in runs.values())
    counts = {code: {k: v for k, v in run.counts.items() if v} for code, run in runs.items()}
    assert counts == {
        "150121000000": {
            "linked": 1,
            "attr_mismatch": 1,
            "amount_mismatch": 1,
            "member_mismatch": 1,
            "should_exit_review": 1,
            "registry_dibao_missing": 1,
            "should_protect": 1,
            "should_register": 1,
            "duplicate_person": 1,
        },
        "150122000000": {"duplicate_person": 1},
    }
    assert json.loads(task.kwargs or "{}") == {}


@pytest.mark.parametrize(
    ("_case", "kill_at_progress", "whole_worker"),
    [
        ("worker_killed_while_reading", 5, True),
        ("pool_process_killed_while_matching", 35, False),
        ("worker_killed_before_writing", 80, True),
    ],
)
def test_a_worker_killed_mid_run_is_replaced_and_the_run_ends_as_a_clean_run(
    county_ledgers, sent_to_redis, processes, _case, kill_at_progress, whole_worker
):
    """The whole worker killed: a new worker gets the unacknowledged message back. Only the
    pool process killed: the worker itself requeues the message (reject_on_worker_lost)."""
    areas = county_ledgers.areas
    first = processes("worker", pause=1.5)
    first.wait_ready()
    run = reconciliation_request(
        actor=None, county=areas.county, as_of=AS_OF, trigger=RunTrigger.MANUAL
    )
    wait_for(
        lambda: ReconciliationRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, progress__gte=kill_at_progress
        ).exists(),
        RUN_SECONDS,
        f"the run to reach {kill_at_progress}%",
        first,
    )

    if whole_worker:
        first.kill()
    else:
        first.kill_pool_processes()

    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)
    assert not ReconciliationItem.objects.exists()
    finisher = processes("worker", visibility=1) if whole_worker else first
    wait_for(
        lambda: ReconciliationRun.objects.filter(pk=run.pk, status=RunStatus.FINISHED).exists(),
        RUN_SECONDS,
        "the run to be finished after the kill",
        finisher,
    )
    run.refresh_from_db()
    assert (run.status, run.attempts, run.progress) == (RunStatus.FINISHED, 2, 100)
    killed_run_items = item_keys(run)

    clean = reconciliation_run_now(
        actor=None, county=areas.county, as_of=AS_OF, trigger=RunTrigger.COMMAND
    )

    assert clean.counts == run.counts
    assert item_keys(clean) == killed_run_items
    assert len(killed_run_items) == 8
    assert ReconciliationItem.objects.count() == 8
    assert ReconciliationFinding.objects.filter(run=run).count() == 8
    # exactly one "found" per item: the killed attempt wrote nothing
    assert ItemEvent.objects.filter(action=ItemEvent.Action.FOUND).count() == 8
    assert ItemEvent.objects.count() == 8
