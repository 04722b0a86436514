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
import os
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from celery.exceptions import AlwaysEagerIgnored
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from lowbao.celery import app as celery_app
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

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOWBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
STARTUP_SECONDS = 60
RUN_SECONDS = 90

# Starts the project's Celery app the way ``celery -A lowbao worker|beat`` does, after two
# test-only overrides: tasks are sent to the broker (test settings make Celery eager), and the
# reconciliation pauses after each step so a test can kill the worker mid-run.
LAUNCHER = """
import sys
from django.conf import settings
role, pause, visibility, name = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
settings.CELERY_TASK_ALWAYS_EAGER = False
settings.LOWBAO_RECONCILIATION_TEST_PAUSE_SECONDS = pause
import django
django.setup()
from lowbao.celery import app
app.conf.task_always_eager = False
app.conf.broker_transport_options = {
    "visibility_timeout": visibility,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
if role == "worker":
    app.worker_main([
        "worker", "--loglevel=INFO", "--concurrency=1", "--pool=prefork", "-n", name + "@%h",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
    ])
else:
    app.start([
        "beat", "--loglevel=INFO", "--scheduler=django_celery_beat.schedulers:DatabaseScheduler",
        "--max-interval=1",
    ])
"""


def _skip_reason() -> str:
    if connection.vendor != "postgresql":
        return (
            "needs PostgreSQL: set DATABASE_URL=postgres://… (the worker needs a shared database)"
        )
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {REDIS_URL} is not reachable ({exc})"
    return ""


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


def _database_url() -> str:
    settings = connection.settings_dict
    auth = settings["USER"] or ""
    if settings["PASSWORD"]:
        auth += f":{settings['PASSWORD']}"
    host = settings["HOST"] or "127.0.0.1"
    port = settings["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{settings['NAME']}"


def _parent_pid(stat: Path) -> int | None:
    try:
        text = stat.read_text()
    except OSError:  # the process ended meanwhile
        return None
    return int(text.rsplit(")", 1)[1].split()[1])


class Process:
    """A worker or beat process of ours (its own process group, so a kill takes its children)."""

    def __init__(self, role: str, *, pause: float = 0.0, visibility: float = 3600) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"recon-{role}-", suffix=".log", delete=False
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lowbao.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                role,
                str(pause),
                str(visibility),
                f"recon-{role}-{time.monotonic_ns()}",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def wait_ready(self) -> None:
        wait_for(lambda: "ready." in self.output(), STARTUP_SECONDS, "worker startup", self)

    def kill_pool_processes(self) -> None:
        """SIGKILL the worker's pool processes only (the main process lives on)."""
        children = [
            int(stat.parts[2])
            for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent_pid(stat) == self.process.pid
        ]
        assert children, "the worker has no pool process"
        for pid in children:
            os.kill(pid, signal.SIGKILL)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


@pytest.fixture
def processes() -> Iterator[Callable[..., Process]]:
    started: list[Process] = []

    def start(role: str, **options: float) -> Process:
        process = Process(role, **options)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def wait_for(condition: Callable[[], object], seconds: float, what: str, *logs: Process) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    tails = "\n\n".join(process.output() for process in logs)
    pytest.fail(f"timed out after {seconds}s waiting for {what}\n{tails}")


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

    def send(run_id: int) -> None:
        with (
            warnings.catch_warnings(),
            celery_app.connection_for_write(REDIS_URL) as broker_connection,
        ):
            warnings.simplefilter("ignore", AlwaysEagerIgnored)
            celery_app.send_task(
                reconciliation_run_task.name, args=[run_id], connection=broker_connection
            )

    monkeypatch.setattr(reconciliation_run_task, "delay", send)


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
