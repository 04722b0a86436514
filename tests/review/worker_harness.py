"""Real Celery workers and beat for the review tests (quality.md R3, R5): processes of our own,
started the way ``celery -A lowbao worker|beat`` does, against the pytest-django test database
on PostgreSQL and a Redis broker; plus a private ``redis-server`` a test may kill and restart.

Used by ``test_reconciliation_worker.py`` and ``test_reconciliation_kill_harness.py``.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis
from celery.exceptions import AlwaysEagerIgnored
from django.db import connection

from lowbao.celery import app as celery_app
from review.models import ReconciliationRun
from review.services.reconciliation_sql import STEPS
from review.tasks import reconciliation_run_task

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOWBAO_TEST_REDIS_URL", "redis://127.0.0.1:6379/14")
STARTUP_SECONDS = 60
RUN_SECONDS = 90

# Starts the project's Celery app the way ``celery -A lowbao worker|beat`` does, after test-only
# overrides: tasks are sent to the broker (test settings make Celery eager), the Django settings
# given (e.g. the reconciliation pauses after each step so a test can kill the worker mid-run)
# and the broker's transport options (a short visibility timeout brings a killed worker's
# message back quickly).
LAUNCHER = """
import json, sys
from django.conf import settings
role, name, config = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
settings.CELERY_TASK_ALWAYS_EAGER = False
for key, value in config["settings"].items():
    setattr(settings, key, value)
import django
django.setup()
from lowbao.celery import app
app.conf.task_always_eager = False
app.conf.broker_transport_options = config["transport"]
if config.get("stall_file"):
    from tests.review.worker_harness import install_statement_stall
    install_statement_stall(config["stall_file"])
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


def skip_reason(redis_url: str = REDIS_URL) -> str:
    """Why a worker test cannot run here ("" when it can)."""
    if connection.vendor != "postgresql":
        return (
            "needs PostgreSQL: set DATABASE_URL=postgres://… (the worker needs a shared database)"
        )
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url} is not reachable ({exc})"
    return ""


def database_url() -> str:
    """The URL of the test database (pytest-django's ``test_<name>``) for the processes."""
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

    def __init__(
        self,
        role: str,
        *,
        pause: float = 0.0,
        visibility: float = 3600,
        broker_url: str = REDIS_URL,
        settings: dict[str, Any] | None = None,
        stall_file: str = "",
    ) -> None:
        self.role = role
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"recon-{role}-", suffix=".log", delete=False
        )
        config = {
            "settings": {"LOWBAO_RECONCILIATION_TEST_PAUSE_SECONDS": pause, **(settings or {})},
            "transport": {
                "visibility_timeout": visibility,
                "unacked_restore_interval": 1,
                "unacked_restore_throttle": 1,
            },
            "stall_file": stall_file,
        }
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "lowbao.settings.test",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": broker_url,
        }
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCHER,
                role,
                f"recon-{role}-{time.monotonic_ns()}",
                json.dumps(config),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return Path(self.log.name).read_text(errors="replace")

    def output(self) -> str:
        return self.text()[-4000:]

    def wait_ready(self) -> None:
        wait_for(lambda: "ready." in self.output(), STARTUP_SECONDS, "worker startup", self)

    def pool_pids(self) -> list[int]:
        return [
            int(stat.parts[2])
            for stat in Path("/proc").glob("[0-9]*/stat")
            if _parent_pid(stat) == self.process.pid
        ]

    def kill_pool_processes(self) -> None:
        """SIGKILL the worker's pool processes only (the main process lives on)."""
        children = self.pool_pids()
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


@contextmanager
def started_processes() -> Iterator[Callable[..., Process]]:
    """``start(role, **options)`` starts a ``Process``; every one is stopped on exit."""
    started: list[Process] = []

    def start(role: str, **options: Any) -> Process:
        process = Process(role, **options)
        started.append(process)
        return process

    try:
        yield start
    finally:
        for process in started:
            process.stop()


def wait_for(condition: Callable[[], object], seconds: float, what: str, *logs: Process) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    tails = "\n\n".join(f"--- {process.role} ---\n{process.output()}" for process in logs)
    pytest.fail(f"timed out after {seconds}s waiting for {what}\n{tails}")


def send_run_task(run_id: int, broker_url: str = REDIS_URL) -> str:
    """Send ``reconciliation_run_task`` to the broker (the pytest process itself is eager);
    returns the task id."""
    with (
        warnings.catch_warnings(),
        celery_app.connection_for_write(broker_url) as broker_connection,
    ):
        warnings.simplefilter("ignore", AlwaysEagerIgnored)
        result = celery_app.send_task(
            reconciliation_run_task.name, args=[run_id], connection=broker_connection
        )
    return result.id


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A ``redis-server`` of the test's own, without persistence (like the machine's Redis),
    on a free port: the test may kill it and start it again, and every queued message is gone."""

    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    @staticmethod
    def executable() -> str | None:
        return shutil.which("redis-server")

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable() or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                return
            except redis.RedisError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def restart(self) -> None:
        """SIGKILL the server and start it again on the same port (empty)."""
        self.kill()
        self.start()
        self.restarts += 1

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url)


# --- the statements of a run, and a stall inside one ---------------------------------------------

STEP_LABELS = {label: index for index, (label, _) in enumerate(STEPS)}
RUN_UPDATE = f'UPDATE "{ReconciliationRun._meta.db_table}"'


class StatementCounter:
    """Numbers the statements of a reconciliation run as (step, n): the n-th statement of the
    first transaction after the step was recorded on the run (``_progress``: an UPDATE of the
    run carrying the step's label) — the step's own transaction, or for the last step the write
    transaction up to its commit."""

    def __init__(self) -> None:
        self.step: int | None = None
        self.ordinal = 0
        self.transaction: object = None
        self.counts: Counter[int] = Counter()

    def see(self, sql: str, params: Any, many: bool, db: Any) -> tuple[int, int] | None:
        if sql.startswith(RUN_UPDATE) and not many:
            labels = [p for p in params or () if isinstance(p, str) and p in STEP_LABELS]
            if labels:
                self.step, self.ordinal, self.transaction = STEP_LABELS[labels[0]], 0, None
                return None
        if self.step is None or not db.in_atomic_block:
            return None
        outermost = db.atomic_blocks[0]
        if self.transaction is None:
            self.transaction = outermost  # kept: no other block can take its id
        elif outermost is not self.transaction:  # a later transaction: the step is over
            self.step = None
            return None
        self.ordinal += 1
        self.counts[self.step] = max(self.counts[self.step], self.ordinal)
        return self.step, self.ordinal

    def wrapper(self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        self.see(sql, params, many, context["connection"])
        return execute(sql, params, many, context)


def install_statement_stall(control: str) -> None:
    """In a worker process: when ``control`` (JSON written by the test) names ``step`` and
    ``statement``, run ``SELECT pg_sleep(seconds)`` just before that statement of a run — the
    worker is then inside the step's SQL, in its open transaction, where the test kills it. The
    statement's text goes to ``<control>.at``."""
    from django.db.backends.signals import connection_created

    counter = StatementCounter()

    def stall(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        at = counter.see(sql, params, many, context["connection"])
        if at is not None:
            try:
                wanted = json.loads(Path(control).read_text())
            except (OSError, ValueError):
                wanted = None
            if wanted and (wanted["step"], wanted["statement"]) == at:
                Path(f"{control}.at").write_text(sql[:300])
                context["cursor"].cursor.execute("SELECT pg_sleep(%s)", [wanted["seconds"]])
        return execute(sql, params, many, context)

    def install(sender: object, connection: Any, **kwargs: object) -> None:
        # the signal comes again on every reconnection of the same connection object
        if stall not in connection.execute_wrappers:
            connection.execute_wrappers.append(stall)

    connection_created.connect(install, weak=False)
