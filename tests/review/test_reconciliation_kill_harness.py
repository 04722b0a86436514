"""Kill harness for the reconciliation (quality.md R3; issues 6 and 8): a real Celery worker, a
real Redis and PostgreSQL; the worker is SIGKILLed at a random moment of a run, round after
round, and the broker itself is restarted once — every run must end exactly as a clean run.

Each round requests one county run (through the broker, as the web page does) from the same
starting state: items carried over from two earlier runs — one resolved, one closed by the data
that the data now shows again, one the data no longer shows, and a new finding — so the write
takes every path (found, found again, reopened, closed by the data). A seeded random generator
(``LOWBAO_KILL_HARNESS_SEED``; printed, and in every assertion message, so a failure replays)
picks each round's kill point — every step, once in a pause and once inside a statement, per
twelve rounds, in random order:

- where: a random step of ``STEPS``, and in it either a random offset into the ``pause`` the
  worker makes after recording the step (test-only setting), or a random ``statement`` of the
  step's transaction (the write: up to its commit, the run already marked FINISHED in its last
  statements): just before it the worker runs ``pg_sleep`` (a test-only execute wrapper of the
  worker process, ``worker_harness.install_statement_stall``), so it is inside the step's SQL
  with the transaction open, and the harness kills it after a random delay;
- what dies: the whole worker (a new worker is started, and gets the unacknowledged message
  back after the visibility timeout: acks_late) or only its pool process (the worker requeues
  the message itself: reject_on_worker_lost). A killed worker's PostgreSQL session can outlive
  it for a moment and still hold the run: the redelivered task then retries shortly.
- in one designated round the harness's private ``redis-server`` (no persistence) is killed and
  started again while no worker is up: the unacknowledged message is gone, and beat's periodic
  ``reconciliation_runs_requeue_task`` finds the run idle with its lock free and sends it again.

After each round the state — the run's outcome and counts, every item, the run's findings,
every item event, the number of "run finished" audit rows (timestamps, ids and ``attempts`` left
out; runs named "earlier"/"this run") — must equal the clean run's; ``attempts`` must be 2 (the
killed attempt and the one that finished); the message must have come back (or, after the broker
restart, the run been requeued); then the starting state is put back.

Below the harness: focused tests of the requeue and of the busy retry, without a worker.

Needs PostgreSQL (``DATABASE_URL``) and a ``redis-server`` executable (the harness runs its own
on a free port). Skipped otherwise. ``LOWBAO_KILL_HARNESS_ROUNDS`` (default 12) sets the rounds.
"""

import contextlib
import hashlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.utils import timezone

from cases.models import BenefitPeriod, Household
from lowbao.audit.models import AuditEvent
from lowbao.celery import app as celery_app
from poverty.choices import PovertyAttribute as A
from poverty.choices import PovertyStatus as S
from review.models import (
    ItemEvent,
    ItemState,
    ReconciliationCategory,
    ReconciliationFinding,
    ReconciliationItem,
    ReconciliationRun,
    RunStatus,
    RunTrigger,
)
from review.services import reconciliation as service
from review.services.reconciliation import (
    LOCK_SPACE,
    REQUEUED_STEP,
    reconciliation_request,
    reconciliation_run_now,
    reconciliation_runs_requeue,
)
from review.services.reconciliation_sql import STEPS
from review.services.resolution import reconciliation_item_resolve
from review.tasks import reconciliation_run_task, reconciliation_runs_requeue_task
from tests.fixtures.reconciliation import AS_OF
from tests.review.worker_harness import (
    RUN_SECONDS,
    PrivateRedis,
    Process,
    StatementCounter,
    send_run_task,
    started_processes,
    wait_for,
)

SEED = int(os.environ.get("LOWBAO_KILL_HARNESS_SEED", "20260701"))
ROUNDS = int(os.environ.get("LOWBAO_KILL_HARNESS_ROUNDS", "12"))
PAUSE = 0.4  # seconds a worker pauses after recording each step
STALL = 3  # seconds of the pg_sleep a worker runs before the chosen statement
REQUEUE_AFTER = 6  # seconds an active run must be idle before beat sends it again
WORKER_SETTINGS = {
    "LOWBAO_RECONCILIATION_BUSY_RETRY_SECONDS": 1,
    "LOWBAO_RECONCILIATION_REQUEUE_AFTER_SECONDS": REQUEUE_AFTER,
    "LOWBAO_RECONCILIATION_REQUEUE_INTERVAL_SECONDS": 1,
}


# --- kill points ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class KillPoint:
    step: int
    phase: str  # "pause" | "statement"
    target: str  # "worker" | "pool"
    delay: float
    statement: int = 0  # the n-th statement of the step's transaction ("statement")
    statements: int = 0  # of so many
    restart_broker: bool = False

    def describe(self) -> str:
        where = f"step {self.step} ({STEPS[self.step][0]})"
        if self.phase == "statement":
            where += f" inside statement {self.statement}/{self.statements}"
        else:
            where += " in the pause after it was recorded"
        broker = ", then restart the broker" if self.restart_broker else ""
        return f"kill the {self.target} at {where} +{self.delay:.2f}s{broker}"


def kill_plan(seed: int, rounds: int, statements: Counter[int]) -> list[KillPoint]:
    """``rounds`` kill points. Every (step, pause | statement) pair once per ``2 × len(STEPS)``
    rounds, in random order, at a random statement and delay; half the rounds kill the whole
    worker, half its pool process; one round that kills the whole worker restarts the broker.
    ``statements``: how many statements each step's transaction has (counted on the clean run)."""
    rng = random.Random(seed)
    pairs = [(step, phase) for step in range(len(STEPS)) for phase in ("pause", "statement")]
    cells: list[tuple[int, str]] = []
    while len(cells) < rounds:
        cells += rng.sample(pairs, len(pairs))
    targets = rng.sample((["worker", "pool"] * rounds)[:rounds], rounds)
    broker_round = rng.choice([i for i, target in enumerate(targets) if target == "worker"])
    plan = []
    for index, ((step, phase), target) in enumerate(zip(cells, targets, strict=False)):
        if phase == "pause":
            point = KillPoint(step, phase, target, rng.uniform(0, PAUSE * 0.6))
        else:
            n = statements[step]
            point = KillPoint(step, phase, target, rng.uniform(0, 0.5), rng.randint(1, n), n)
        plan.append(replace(point, restart_broker=index == broker_round))
    return plan


# --- the data and its starting state -------------------------------------------------------------


@dataclass
class Baseline:
    """The review tables before a round's run: put back after every round."""

    earlier_runs: set[int]
    items: dict[int, dict[str, Any]]
    event_ids: set[int]
    finding_ids: set[int]
    digest: dict[str, Any] = field(default_factory=dict)


def _suspend(household: Household, suspended: bool) -> None:
    BenefitPeriod.objects.filter(household=household).update(is_suspended=suspended)


@pytest.fixture
def harness_world(ledgers, case_users) -> tuple[Any, Baseline]:
    """Findings of every kind in a county, and a history: run 1 finds them, a township resolves
    one, run 2 (one household suspended) closes another; then that household is paid again,
    another is suspended and a new one appears — the state every round starts from."""
    a, b, c = ledgers.person(), ledgers.person(), ledgers.person()
    ledgers.dibao(a, b, amount="460.00")
    ledgers.registry(a, b, c, attribute=A.GENERAL, amount="300.00", status=S.OUT)
    ledgers.registry((ledgers.person(), "lost"), attribute=A.DIBAO, income="3000.00")
    comes_back = ledgers.dibao(ledgers.person(), income="100.00")
    goes_away = ledgers.dibao(ledgers.person(), income="120.00")
    twice = ledgers.person()
    ledgers.dibao(twice)
    ledgers.dibao(twice, village=ledgers.areas.other_county_village)
    ledgers.pair()
    county = ledgers.areas.county

    first = reconciliation_run_now(actor=None, county=county, as_of=AS_OF, trigger="command")
    resolved = ReconciliationItem.objects.get(category=ReconciliationCategory.AMOUNT_MISMATCH)
    reconciliation_item_resolve(
        actor=case_users.caseworker,
        item_id=resolved.pk,
        state=ItemState.VERIFIED,
        note="已核实：建档立卡登记的低保金额为上年标准",
    )
    _suspend(comes_back, True)
    second = reconciliation_run_now(actor=None, county=county, as_of=AS_OF, trigger="command")
    assert (first.status, second.status) == (RunStatus.FINISHED, RunStatus.FINISHED)
    _suspend(comes_back, False)
    _suspend(goes_away, True)
    ledgers.dibao(ledgers.person(), income="90.00")

    baseline = Baseline(
        earlier_runs={first.pk, second.pk},
        items={item.pop("id"): item for item in ReconciliationItem.objects.values()},
        event_ids=set(ItemEvent.objects.values_list("pk", flat=True)),
        finding_ids=set(ReconciliationFinding.objects.values_list("pk", flat=True)),
    )
    states = Counter(item["state"] for item in baseline.items.values())
    assert states == {ItemState.OPEN: 7, ItemState.VERIFIED: 1, ItemState.CLOSED_BY_DATA: 1}
    baseline.digest = state_digest(None, baseline)
    return ledgers, baseline


def restore(baseline: Baseline) -> None:
    """Put the review tables back as they were before the round's run (its run row stays)."""
    ItemEvent.objects.exclude(pk__in=baseline.event_ids).delete()
    ReconciliationFinding.objects.exclude(pk__in=baseline.finding_ids).delete()
    ReconciliationItem.objects.exclude(pk__in=list(baseline.items)).delete()
    for pk, values in baseline.items.items():
        ReconciliationItem.objects.filter(pk=pk).update(**values)


def state_digest(run: ReconciliationRun | None, baseline: Baseline) -> dict[str, Any]:
    """What a run must leave behind, without what legitimately differs between two runs of the
    same data (timestamps, its own id, attempts, trigger)."""

    def which(run_id: int | None) -> str:
        if run_id is None:
            return "-"
        if run is not None and run_id == run.pk:
            return "this run"
        return "earlier" if run_id in baseline.earlier_runs else f"stray run {run_id}"

    keys = dict(ReconciliationItem.objects.values_list("pk", "key"))
    items = sorted(
        (
            item.county.code,
            item.category,
            item.key,
            item.township_id,
            item.dibao_household_id,
            item.registry_household_id,
            json.dumps([item.dibao_numbers, item.registry_numbers, item.person_ids]),
            json.dumps(item.details, sort_keys=True),
            item.state,
            which(item.first_run_id),
            which(item.last_run_id),
            item.resolved_by_id,
            item.resolved_at is not None,
            item.resolution_note,
        )
        for item in ReconciliationItem.objects.select_related("county")
    )
    events = sorted(
        (keys[e.item_id], which(e.run_id), e.action, e.state_from, e.state_to, e.actor_id, e.note)
        for e in ItemEvent.objects.all()
    )
    digest: dict[str, Any] = {"items": items, "events": events}
    if run is not None:
        run.refresh_from_db()
        digest["run"] = (
            run.status,
            run.progress,
            run.step,
            run.error,
            json.dumps(run.counts, sort_keys=True),
            run.dibao_households,
            run.registry_households,
            run.registry_snapshot_id,
        )
        digest["findings"] = sorted(
            keys[item_id]
            for item_id in ReconciliationFinding.objects.filter(run=run).values_list(
                "item_id", flat=True
            )
        )
        digest["finish_audits"] = AuditEvent.objects.filter(
            action="reconciliation.run_finish", object_id=str(run.pk)
        ).count()
    digest["sha256"] = hashlib.sha256(
        json.dumps(digest, sort_keys=True, default=str).encode()
    ).hexdigest()
    return digest


# --- the harness ---------------------------------------------------------------------------------


@dataclass
class Round:
    index: int
    point: KillPoint
    run: ReconciliationRun
    task_id: str
    started: float
    at_kill: str = ""
    statement: str = ""

    def label(self) -> str:
        return (
            f"[seed {SEED}, round {self.index}/{ROUNDS}] {self.point.describe()} "
            f"(replay: LOWBAO_KILL_HARNESS_SEED={SEED})"
        )


@pytest.fixture
def private_broker() -> Iterator[PrivateRedis]:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://… (workers share the database)")
    if PrivateRedis.executable() is None:
        pytest.skip("needs a redis-server executable (the harness restarts its own broker)")
    broker = PrivateRedis()
    broker.start()
    try:
        yield broker
    finally:
        broker.kill()


def _say(capsys: pytest.CaptureFixture[str], line: str) -> None:
    with capsys.disabled():
        print(line, flush=True)  # noqa: T201 - the seed and the rounds, for replaying a failure


def _stalled() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
            "AND state = 'active' AND query LIKE 'SELECT pg_sleep%%'"
        )
        return cursor.fetchone() is not None


def kill(victim: Process, target: str) -> None:
    if target == "worker":
        victim.kill()
    else:
        victim.kill_pool_processes()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_runs_killed_at_random_moments_and_a_broker_restart_end_as_a_clean_run(
    private_broker, harness_world, monkeypatch, capsys, tmp_path
):
    ledgers, baseline = harness_world
    county = ledgers.areas.county

    counter = StatementCounter()
    with connection.execute_wrapper(counter.wrapper):
        clean_run = reconciliation_run_now(
            actor=None, county=county, as_of=AS_OF, trigger="command"
        )
    clean = state_digest(clean_run, baseline)
    assert clean["run"][0] == RunStatus.FINISHED
    assert Counter(event[2] for event in clean["events"]) == {
        ItemEvent.Action.FOUND: 10,  # 9 in the earlier runs, 1 new
        ItemEvent.Action.RESOLVED: 1,
        ItemEvent.Action.CLOSED_BY_DATA: 2,  # one in the earlier run, one now
        ItemEvent.Action.REOPENED: 1,
        ItemEvent.Action.FOUND_AGAIN: 2,  # the resolved item, in the earlier run and now
    }
    assert set(counter.counts) == set(range(len(STEPS)))
    restore(baseline)
    assert state_digest(None, baseline) == baseline.digest
    plan = kill_plan(SEED, ROUNDS, counter.counts)
    _say(
        capsys,
        f"\nreconciliation kill harness: seed {SEED}, {ROUNDS} rounds; statements per step "
        f"{[counter.counts[step] for step in range(len(STEPS))]}; clean digest "
        f"{clean['sha256'][:12]}",
    )

    sent: list[str] = []
    monkeypatch.setattr(
        reconciliation_run_task,
        "delay",
        lambda run_id: sent.append(send_run_task(run_id, private_broker.url)),
    )
    stall_file = tmp_path / "stall.json"
    with started_processes() as start:

        def worker() -> Process:
            return start(
                "worker",
                pause=PAUSE,
                visibility=1,
                broker_url=private_broker.url,
                settings=WORKER_SETTINGS,
                stall_file=str(stall_file),
            )

        beat = start("beat", broker_url=private_broker.url, settings=WORKER_SETTINGS)
        victim = worker()
        victim.wait_ready()
        workers = [victim]
        for index, point in enumerate(plan, start=1):
            if point.phase == "statement":
                stall_file.write_text(
                    json.dumps({"step": point.step, "statement": point.statement, "seconds": STALL})
                )
            run = reconciliation_request(
                actor=None, county=county, as_of=AS_OF, trigger=RunTrigger.MANUAL
            )
            this = Round(index, point, run, sent[-1], time.monotonic())
            percent = STEPS[point.step][1]
            wait_for(
                lambda run=run, percent=percent: ReconciliationRun.objects.filter(
                    pk=run.pk, status=RunStatus.RUNNING, attempts=1, progress__gte=percent
                ).exists(),
                RUN_SECONDS,
                f"{this.label()}: the run to reach {percent}%",
                victim,
                beat,
            )
            if point.phase == "statement":
                wait_for(_stalled, RUN_SECONDS, f"{this.label()}: the stall", victim)
            time.sleep(point.delay)
            kill(victim, point.target)
            stall_file.unlink(missing_ok=True)
            at = Path(f"{stall_file}.at")
            if at.exists():
                this.statement = " ".join(at.read_text().split())[:70]
                at.unlink()
            run.refresh_from_db()
            this.at_kill = f"{run.progress}% {run.step}"
            assert (run.status, run.attempts) == (RunStatus.RUNNING, 1), (
                f"{this.label()}: the worker finished before it was killed ({this.at_kill})"
            )
            if point.restart_broker:
                private_broker.restart()
            if point.target == "worker":
                victim = worker()
                workers.append(victim)
            wait_for(
                lambda run=run: ReconciliationRun.objects.filter(
                    pk=run.pk, status__in=(RunStatus.FINISHED, RunStatus.FAILED)
                ).exists(),
                RUN_SECONDS,
                f"{this.label()}: the run to end after the kill",
                victim,
                beat,
            )

            got = state_digest(run, baseline)
            run.refresh_from_db()
            logs = "".join(process.text() for process in workers)
            deliveries = logs.count(f"reconciliation_run_task[{this.task_id}] received")
            retries = logs.count(f"reconciliation_run_task[{this.task_id}] retry")
            requeued = AuditEvent.objects.filter(
                action="reconciliation.run_requeue", object_id=str(run.pk)
            ).count()
            _say(
                capsys,
                f"  round {index:2} ({time.monotonic() - this.started:4.1f}s): "
                f"{point.describe()}; at {this.at_kill!r}"
                + (f" before {this.statement!r}" if this.statement else "")
                + f"; message delivered {deliveries}x (busy: retried {retries}x)"
                + f", requeued {requeued}x"
                + f"; digest {got['sha256'][:12]}",
            )
            assert got == clean, f"{this.label()}: the run ended unlike the clean run"
            assert run.attempts == 2, f"{this.label()}: {run.attempts} attempts"
            if point.restart_broker:
                assert requeued >= 1, f"{this.label()}: the lost message was not requeued"
            else:
                assert deliveries >= 2, f"{this.label()}: the message was not redelivered"
            restore(baseline)
            assert state_digest(None, baseline) == baseline.digest
        assert private_broker.restarts == 1


# --- the requeue and the busy retry, without a worker --------------------------------------------


@pytest.fixture
def findings(ledgers):
    ledgers.dibao(ledgers.person(), income="100.00")
    ledgers.registry(ledgers.person(), attribute=A.DIBAO)
    ledgers.pair()
    return ledgers


@pytest.fixture
def enqueued(monkeypatch) -> list[list[int]]:
    """Run ids the requeue sends (instead of sending them)."""
    calls: list[list[int]] = []
    monkeypatch.setattr(service, "_enqueue", calls.append)
    monkeypatch.setattr(reconciliation_run_task, "delay", lambda run_id: None)
    return calls


def _run(areas, *, status: str, idle_minutes: int) -> ReconciliationRun:
    run = reconciliation_request(
        actor=None, county=areas.county, as_of=AS_OF, trigger=RunTrigger.MANUAL
    )
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=status,
        attempts=0 if status == RunStatus.QUEUED else 1,
        updated_at=timezone.now() - timedelta(minutes=idle_minutes),
    )
    return run


@contextlib.contextmanager
def held_by_another_session(run: ReconciliationRun) -> Iterator[None]:
    """A live executor of ``run``: it holds the run's advisory lock from its own session."""
    db = connection.settings_dict
    with psycopg.connect(
        dbname=db["NAME"],
        user=db["USER"],
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        password=db["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, run.pk])
        yield


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "status", "idle_minutes", "requeued"),
    [
        ("queued_and_idle_its_message_is_lost", RunStatus.QUEUED, 16, True),
        ("queued_recently_its_message_still_waits", RunStatus.QUEUED, 14, False),
        ("running_and_idle_its_executor_is_dead", RunStatus.RUNNING, 16, True),
        ("running_recently", RunStatus.RUNNING, 14, False),
    ],
)
def test_the_requeue_sends_idle_active_runs_again_once(
    findings, enqueued, django_capture_on_commit_callbacks, _case, status, idle_minutes, requeued
):
    run = _run(findings.areas, status=status, idle_minutes=idle_minutes)
    before = ReconciliationRun.objects.get(pk=run.pk)

    with django_capture_on_commit_callbacks(execute=True):
        first = reconciliation_runs_requeue()
    with django_capture_on_commit_callbacks(execute=True):
        second = reconciliation_runs_requeue()

    run.refresh_from_db()
    audits = AuditEvent.objects.filter(action="reconciliation.run_requeue", object_id=str(run.pk))
    if requeued:
        assert (first, second, enqueued) == ([run.pk], [], [[run.pk]])
        assert (run.status, run.attempts, run.step) == (
            status,
            before.attempts,
            REQUEUED_STEP[status],
        )
        assert run.updated_at > before.updated_at
        assert [(a.actor_label, a.area_code, a.changes["status"]) for a in audits] == [
            ("system:reconciliation", findings.areas.county.code, status)
        ]
    else:
        assert (first, second, enqueued) == ([], [], [])
        assert (run.step, run.updated_at) == (before.step, before.updated_at)
        assert not audits.exists()


# Advisory locks held by another session and the idle/stale rules of a RUNNING run are
# PostgreSQL behaviour (on SQLite a RUNNING run must also pass the stale limit).
needs_postgres = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (advisory locks of other sessions)"
)


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_the_requeue_leaves_alone_an_idle_run_whose_executor_is_alive(findings, enqueued):
    run = _run(findings.areas, status=RunStatus.RUNNING, idle_minutes=60)

    with held_by_another_session(run):
        assert reconciliation_runs_requeue() == []

    assert enqueued == []
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.RUNNING, 1)


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_a_requeued_dead_run_is_claimed_again_and_finished(
    findings, django_capture_on_commit_callbacks
):
    run = _run(findings.areas, status=RunStatus.RUNNING, idle_minutes=60)

    with django_capture_on_commit_callbacks(execute=True):
        requeued = reconciliation_runs_requeue_task.apply().get()  # eager: runs the run too

    run.refresh_from_db()
    assert requeued == [run.pk]
    assert (run.status, run.attempts, run.progress) == (RunStatus.FINISHED, 2, 100)
    assert set(
        ReconciliationFinding.objects.filter(run=run).values_list("item__category", flat=True)
    ) == {ReconciliationCategory.SHOULD_REGISTER, ReconciliationCategory.REGISTRY_DIBAO_MISSING}


@pytest.mark.postgres
@needs_postgres
@pytest.mark.django_db
def test_a_delivery_while_another_session_holds_the_run_is_retried_not_dropped(
    findings, monkeypatch, settings
):
    """The killed executor's database session still holds the run: dropping the message (a
    "duplicate delivery") would leave the run RUNNING with no message at all."""
    run = _run(findings.areas, status=RunStatus.RUNNING, idle_minutes=0)
    retries: list[float] = []

    class Retried(Exception):
        pass

    def retry(*, countdown: float) -> Retried:
        retries.append(countdown)
        return Retried()

    monkeypatch.setattr(reconciliation_run_task, "retry", retry)
    settings.LOWBAO_RECONCILIATION_BUSY_RETRY_SECONDS = 7
    with held_by_another_session(run), pytest.raises(Retried):
        reconciliation_run_task(run.pk)  # called directly: not eager
    assert retries == [7.0]

    reconciliation_run_task(run.pk)  # the session is gone: the run is claimed and finished

    run.refresh_from_db()
    assert (run.status, run.attempts, retries) == (RunStatus.FINISHED, 2, [7.0])


@pytest.mark.django_db
def test_a_delivery_for_a_finished_run_is_not_retried(findings, monkeypatch):
    run = reconciliation_run_now(
        actor=None, county=findings.areas.county, as_of=AS_OF, trigger="command"
    )

    def retry(*, countdown: float) -> None:
        pytest.fail(f"retried in {countdown}s a delivery for a finished run")

    monkeypatch.setattr(reconciliation_run_task, "retry", retry)

    reconciliation_run_task(run.pk)

    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.FINISHED, 1)


def test_beat_runs_the_requeue_every_few_minutes():
    entry = celery_app.conf.beat_schedule["reconciliation-runs-requeue"]

    assert (entry["task"], entry["schedule"]) == (reconciliation_runs_requeue_task.name, 300.0)
    assert reconciliation_runs_requeue_task.name in celery_app.tasks
