"""A real Celery worker SIGKILLed at random points of an import's parse and apply (quality.md R3).

A clean run first: a roster (``.xlsx``, stored encrypted) is uploaded as a big file, parsed and
previewed by a real worker (Redis broker, the test PostgreSQL database), confirmed and applied;
its content digest of every table an import writes (``content_digest``) is the reference, and its
durations bound the kill points. Then ``ROUNDS`` rounds on a database emptied of the import's rows:
a seeded random generator picks the phase (parse or apply), the moment (a fraction of that phase's
clean duration) and what is killed — the whole worker (a new one is started: the message that the
dead worker never acknowledged comes back after the visibility timeout) or only its pool process
(the worker requeues the message at once, so the redelivered parse finds the dead claim still
fresh and retries until it is stale). Each round must end APPLIED, once, with the digest of the
clean run.

The seed is printed and recorded (``record_property``); set ``LOWBAO_IMPORT_KILL_SEED`` to replay
a run. Test-only settings passed to the workers make the pipeline pause after each step
(``LOWBAO_IMPORT_TEST_PAUSE_SECONDS``), report progress every few rows and treat a claim as stale
after ``STALE_SECONDS``.

Needs PostgreSQL (``DATABASE_URL``) and Redis (``LOWBAO_TEST_REDIS_URL``, default
``redis://127.0.0.1:6379/13``, a database of its own that the test empties). Skipped otherwise.
"""

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from celery.exceptions import AlwaysEagerIgnored
from django.db import connection
from django.db.models import Max

from cases.models import BenefitPeriod, Household, HouseholdAsset, HouseholdMember, MemberIncome
from lowbao.audit.models import AuditEvent
from lowbao.celery import app as celery_app
from lowbao.imports import jobs
from lowbao.imports.jobs import import_batch_check, import_batch_confirm
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportStatus, JobStatus, QueuedJob
from lowbao.imports.pipeline import import_batch_create
from lowbao.people.models import Person
from tests.lowbao.imports.database_digest import content_digest
from tests.lowbao.imports.test_import_ledger_command import ROSTER_HEADERS, roster_row
from tests.lowbao.imports.test_upload_pages import make_admins, xlsx_bytes
from tests.lowbao.people.factories import make_id_number

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[3]
REDIS_URL = os.environ.get("LOWBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")
DEFAULT_SEED = 20261129
ROUNDS = 10
HOUSEHOLDS = 8
PAUSE_SECONDS = 0.08
PROGRESS_ROWS = 2
STALE_SECONDS = 2
VISIBILITY_SECONDS = 4
STARTUP_SECONDS = 60
JOB_SECONDS = 60

LAUNCHER = """
import sys
from django.conf import settings
media, pause, progress, stale, visibility, name = sys.argv[1:7]
settings.CELERY_TASK_ALWAYS_EAGER = False
settings.MEDIA_ROOT = media
settings.LOWBAO_IMPORT_TEST_PAUSE_SECONDS = float(pause)
settings.LOWBAO_IMPORT_PROGRESS_ROWS = int(progress)
settings.LOWBAO_IMPORT_STALE_SECONDS = int(stale)
import django
django.setup()
from lowbao.celery import app
app.conf.task_always_eager = False
app.conf.broker_transport_options = {
    "visibility_timeout": float(visibility),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
app.worker_main([
    "worker", "--loglevel=INFO", "--concurrency=1", "--pool=prefork", "-n", name + "@%h",
    "--without-gossip", "--without-mingle", "--without-heartbeat",
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


def _database_url() -> str:
    settings = connection.settings_dict
    auth = settings["USER"] or ""
    if settings["PASSWORD"]:
        auth += f":{settings['PASSWORD']}"
    host, port = settings["HOST"] or "127.0.0.1", settings["PORT"] or 5432
    return f"postgres://{auth}@{host}:{port}/{settings['NAME']}"


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):  # the process ended meanwhile
            continue
        if parent == pid:
            found.append(int(stat.parts[2]))
    return found


class Worker:
    """A Celery worker of ours in its own process group (a kill takes its pool with it)."""

    def __init__(self, media: Path) -> None:
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix="import-worker-", suffix=".log", delete=False
        )
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lowbao.settings.test",
            "DATABASE_URL": _database_url(),
            "CELERY_BROKER_URL": REDIS_URL,
        }
        arguments = [media, PAUSE_SECONDS, PROGRESS_ROWS, STALE_SECONDS, VISIBILITY_SECONDS]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                *(str(argument) for argument in arguments),
                f"import-worker-{time.monotonic_ns()}",
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

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def kill_pool(self) -> None:
        children = _children(self.process.pid)
        assert children, "the worker has no pool process"
        for pid in children:
            os.kill(pid, signal.SIGKILL)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()
        Path(self.log.name).unlink(missing_ok=True)


def wait_for(condition: Callable[[], object], seconds: float, what: str, *logs: Worker) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    tails = "\n\n".join(worker.output() for worker in logs)
    pytest.fail(f"timed out after {seconds}s waiting for {what}\n{tails}")


@pytest.fixture
def broker() -> Iterator[redis.Redis]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()


@pytest.fixture
def sent_to_redis(monkeypatch, broker) -> None:
    """The pytest process is eager (test settings): send the jobs' enqueues to Redis instead."""

    def sender(task: object) -> Callable[..., None]:
        def send(*args: object) -> None:
            with (
                warnings.catch_warnings(),
                celery_app.connection_for_write(REDIS_URL) as broker_connection,
            ):
                warnings.simplefilter("ignore", AlwaysEagerIgnored)
                celery_app.send_task(task.name, args=list(args), connection=broker_connection)

        return send

    for task in (jobs.import_batch_parse_task, jobs.import_batch_apply_task):
        monkeypatch.setattr(task, "delay", sender(task))


@pytest.fixture
def workers(settings, tmp_path) -> Iterator[Callable[[], Worker]]:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LOWBAO_IMPORT_SYNC_MAX_BYTES = 0  # every upload is checked and applied in Celery
    started: list[Worker] = []

    def start() -> Worker:
        worker = Worker(settings.MEDIA_ROOT)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@dataclass
class Kill:
    phase: str  # "parse" or "apply"
    # parse: rows read when the kill comes (0: just claimed); apply: seconds into the apply
    # transaction, as a fraction of the clean run's
    point: float
    target: str  # "worker" (then a new worker) or "pool" (the worker requeues the message)

    def __str__(self) -> str:
        where = f"{self.point:.0f} rows" if self.phase == "parse" else f"{self.point:.2f}"
        return f"{self.phase}@{where}/{self.target}"


def choose_kills(seed: int) -> list[Kill]:
    """Every phase with every target at least twice; the rest and every point at random."""
    picks = random.Random(seed)
    plans = [("parse", "worker"), ("parse", "pool"), ("apply", "worker"), ("apply", "pool")] * 2
    plans += [
        (picks.choice(["parse", "apply"]), picks.choice(["worker", "pool"]))
        for _ in range(ROUNDS - len(plans))
    ]
    picks.shuffle(plans)
    rows = 2 * HOUSEHOLDS
    return [
        Kill(
            phase,
            picks.randrange(0, rows + 1, PROGRESS_ROWS)
            if phase == "parse"
            else picks.uniform(0.05, 0.8),
            target,
        )
        for phase, target in plans
    ]


def roster_xlsx(path: Path) -> Path:
    rows = []
    for index in range(HOUSEHOLDS):
        rows.append(roster_row(f"K{index:03d}", make_id_number()))
        rows.append(roster_row(f"K{index:03d}", make_id_number(), "配偶"))
    path.write_bytes(xlsx_bytes(ROSTER_HEADERS, rows))
    return path


def reset_imported_data() -> int:
    """Empty what an import of the roster writes (the audit trail cannot be emptied: the seq it
    has reached is returned, and the digest counts only later events)."""
    for model in (
        MemberIncome,
        HouseholdAsset,
        BenefitPeriod,
        HouseholdMember,
        Household,
        Person,
        ImportBatch,
    ):
        model._base_manager.all().delete()
    return AuditEvent.objects.aggregate(seq=Max("seq"))["seq"] or 0


def parse_done(batch_id: int) -> bool:
    return (
        ImportBatch.objects.filter(
            pk=batch_id,
            status=ImportStatus.PARSED,
            job_status=JobStatus.DONE,
            queued_job=QueuedJob.NONE,
        )
        .exclude(preview={})
        .exists()
    )


def apply_done(batch_id: int) -> bool:
    return ImportBatch.objects.filter(
        pk=batch_id, status=ImportStatus.APPLIED, queued_job=QueuedJob.NONE
    ).exists()


def parse_reached(batch_id: int, rows: float) -> bool:
    return ImportBatch.objects.filter(
        pk=batch_id, status=ImportStatus.PARSING, rows_read__gte=rows
    ).exists()


def apply_running(batch_id: int) -> bool:
    """The apply's transaction holds the batch row (its claim is inside it, invisible until it
    commits): the row cannot be locked without waiting."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {ImportBatch._meta.db_table} WHERE id = %s FOR UPDATE SKIP LOCKED",  # noqa: S608
            [batch_id],
        )
        return cursor.fetchone() is None and not apply_done(batch_id)


@dataclass
class Outcome:
    digest: str
    counts: dict
    apply_seconds: float  # inside the apply transaction


def one_import(
    actor: object,
    county: object,
    path: Path,
    worker: Worker,
    start: Callable[[], Worker],
    kill: Kill | None = None,
    clean: Outcome | None = None,
) -> tuple[Outcome, Worker]:
    """Upload (queued parse), wait for the preview, confirm (queued apply), wait for APPLIED.
    With ``kill``: kill at that point of that phase and let the job recover. Returns the
    outcome and the worker alive at the end."""
    seq = reset_imported_data()
    batch = import_batch_create(
        actor=actor, kind="dibao", path=path, county=county, options=ImportOptions()
    )
    import_batch_check(actor=actor, batch=batch)
    if kill is not None and kill.phase == "parse":
        wait_for(lambda: parse_reached(batch.pk, kill.point), JOB_SECONDS, str(kill), worker)
        time.sleep(random.Random(str(kill)).uniform(0, PAUSE_SECONDS))
        assert not parse_done(batch.pk), f"{kill}: the parse ended before the kill"
        worker = kill_worker(worker, kill, start)
    wait_for(lambda: parse_done(batch.pk), JOB_SECONDS, "the parse to end", worker)

    batch.refresh_from_db()
    import_batch_confirm(actor=actor, batch=batch)
    wait_for(lambda: apply_running(batch.pk) or apply_done(batch.pk), JOB_SECONDS, "apply", worker)
    began = time.monotonic()
    if kill is not None and kill.phase == "apply":
        assert clean is not None
        time.sleep(clean.apply_seconds * kill.point)
        assert not apply_done(batch.pk), f"{kill}: the apply ended before the kill"
        worker = kill_worker(worker, kill, start)
    wait_for(lambda: apply_done(batch.pk), JOB_SECONDS, "the apply to end", worker)
    apply_seconds = time.monotonic() - began

    batch.refresh_from_db()
    assert AuditEvent.objects.filter(seq__gt=seq, action="import.apply").count() == 1
    return Outcome(content_digest(audit_after_seq=seq), batch.counts, apply_seconds), worker


def kill_worker(worker: Worker, kill: Kill, start: Callable[[], Worker]) -> Worker:
    if kill.target == "pool":
        worker.kill_pool()  # the worker requeues the message and starts a new pool process
        return worker
    worker.kill()
    return start()


def test_an_import_survives_a_worker_killed_at_random_points_of_parse_and_apply(
    areas, make_user, sent_to_redis, workers, tmp_path, record_property
):
    seed = int(os.environ.get("LOWBAO_IMPORT_KILL_SEED", DEFAULT_SEED))
    kills = choose_kills(seed)
    record_property("kill_seed", seed)
    record_property("kill_points", ", ".join(str(kill) for kill in kills))
    print(f"import worker kill harness: seed {seed}; kills {[str(k) for k in kills]}")  # noqa: T201
    actor = make_admins(areas, make_user).county
    path = roster_xlsx(tmp_path / "roster.xlsx")
    worker = workers()

    one_import(actor, areas.county, path, worker, workers)  # warm-up: imports, caches
    clean, worker = one_import(actor, areas.county, path, worker, workers)
    assert (clean.counts["households"], clean.counts["created"]) == (HOUSEHOLDS, HOUSEHOLDS)

    results = []
    for number, kill in enumerate(kills, 1):
        outcome, worker = one_import(actor, areas.county, path, worker, workers, kill, clean)
        same = (outcome.digest == clean.digest, outcome.counts == clean.counts)
        results.append((number, str(kill), *same))

    assert results == [(number, str(kill), True, True) for number, kill in enumerate(kills, 1)], (
        f"seed {seed}"
    )
