"""The ledger reconciliation (台账比对, reconciliation.md; contracts.md ``reconcile``).

Entry points (every caller — web UI, Celery, the command — goes through these):

- ``reconciliation_request``: a county officer's 立即比对. Creates a QUEUED run (period ``2026H1``
  before 1 July, ``2026H2`` from 1 July), audited, and enqueues ``reconciliation_run_task`` on
  commit. A county has at most one active run (a partial unique index): a second request gets
  ``reconciliation_already_running`` (409).
- ``reconciliation_run_execute``: what the task runs. It claims the run by a conditional update
  (QUEUED → RUNNING, attempts + 1) and computes the findings set-based
  (``review.services.reconciliation_sql``), step by step with the progress on the run, then
  writes items, findings, history, counts and FINISHED in **one** transaction. Any failure marks
  the run FAILED with a Chinese ``error`` and writes nothing else.
- ``reconciliation_sweep_start``: the half-yearly job (beat) — one run per county that has ledger
  data, fanned out as a Celery ``group`` of per-county tasks. There is no result backend, so no
  chord: each county task, in its final transaction, adds itself to the sweep's counters, and the
  conditional update that sees every county counted closes the sweep (FINISHED, or FAILED when a
  county failed). Counties with an active run are skipped and counted (``counties_skipped``).
- ``reconciliation_run_now`` / ``reconciliation_sweep_run``: the same, synchronously (the
  ``reconcile`` command); a whole sweep is computed in one set-based pass over all its counties.
- ``reconciliation_report``: the contracts.md JSON of a run.
- ``reconciliation_runs_requeue``: periodic (beat, ``lowbao/celery.py``): sends the task again
  for active runs whose message is lost — see below.

Claims and dead workers (quality.md R3). Tasks are ``acks_late`` and rejected when their worker is
lost, so a killed worker's message comes back. On PostgreSQL the executor holds a session advisory
lock on the run from before its claim until after its last write; the lock dies with the
worker's connection, so a RUNNING run whose lock is free belongs to a dead worker and is claimed
again (``attempts`` + 1) — and a live one is never run twice. SQLite has no such lock: a RUNNING
run is re-claimable when its progress has not moved for ``LOWBAO_RECONCILIATION_STALE_SECONDS``
(default 600). A request for a county whose active run is dead fails that run and starts anew.

Lost messages. A broker restarted without persistence loses the queued and unacknowledged
messages; and a killed executor's PostgreSQL session may outlive its process for a while (it ends
when PostgreSQL notices the closed client socket: the executor sets
``client_connection_check_interval`` so a long statement notices too), so a redelivered message
can find the run still locked — the task then retries later rather than dropping it. Whatever
still slips through, ``reconciliation_runs_requeue`` (beat) picks up: an active run that nothing
touched for ``LOWBAO_RECONCILIATION_REQUEUE_AFTER_SECONDS`` (default 900) and whose lock is free
(QUEUED: its message may be gone; RUNNING: its executor is dead) is claimed by a conditional
update of ``updated_at``, audited, and its task sent again after commit. A message that was not
lost after all only makes a duplicate delivery, which the claim turns into a no-op.

Carry-over (R2): items are keyed by (county, category, key); see ``Computation.write`` for the
state rules. A resolved item found again **stays resolved** and gets a ``found_again`` event: the
township's decision stands while the data shows the same finding, and the history shows it was
seen again. Items not found any more become ``closed_by_data`` (resolved ones too: who resolved
them, when and the note stay); found again later, they reopen as 待处理.

Settings (all optional): ``LOWBAO_RECONCILIATION_WORK_MEM`` (PostgreSQL ``work_mem`` of the run's
session, default ``256MB``), ``LOWBAO_RECONCILIATION_STALE_SECONDS``,
``LOWBAO_RECONCILIATION_REQUEUE_AFTER_SECONDS``, ``LOWBAO_RECONCILIATION_REQUEUE_INTERVAL_SECONDS``
(how often beat runs the requeue, default 300), ``LOWBAO_RECONCILIATION_BUSY_RETRY_SECONDS``
(``review.tasks``), and — for tests that kill a worker mid-run only —
``LOWBAO_RECONCILIATION_TEST_PAUSE_SECONDS`` (a sleep after each step).

Beat schedule: ``review/migrations/0004_reconciliation_beat_schedule.py`` creates the periodic
task ``review.tasks.reconciliation_sweep_task`` (1 January and 1 July, 02:00 Asia/Shanghai) in
django-celery-beat's ``DatabaseScheduler`` tables when missing, so it is edited (or disabled) in
the admin under "Periodic tasks"; later migrations never overwrite it.
"""

import logging
import time
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from functools import partial
from typing import Any

from celery import group
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from cases.models import Household
from cases.policy import poverty_line_for, standard_for
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area, actor_has_perm
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.people.models import Person
from lowbao.people.protection import decrypt
from poverty.models import RegistrySnapshot
from review.models import (
    ReconciliationCategory,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationSweep,
    RunStatus,
    RunTrigger,
)
from review.models.reconciliation import ACTIVE_RUN_STATUSES
from review.services.reconciliation_sql import STEPS, Computation, CountyResult, ScopeCounty
from review.tasks import reconciliation_run_task

logger = logging.getLogger(__name__)

__all__ = [
    "ReconciliationErrorCode",
    "period_label",
    "reconciliation_report",
    "reconciliation_request",
    "reconciliation_run_execute",
    "reconciliation_run_now",
    "reconciliation_runs_execute",
    "reconciliation_runs_requeue",
    "reconciliation_sweep_run",
    "reconciliation_sweep_start",
]

SYSTEM_LABEL = "system:reconciliation"
# Key space of the PostgreSQL advisory locks on runs: pg_try_advisory_lock(LOCK_SPACE, run id).
LOCK_SPACE = 0x52434E  # "RCN"
DEFAULT_WORK_MEM = "256MB"
DEFAULT_STALE_SECONDS = 600
DEFAULT_REQUEUE_AFTER_SECONDS = 900
# how soon the PostgreSQL session of a killed executor notices, mid-statement, that its client is
# gone (and so releases the run's advisory lock); PostgreSQL 14 and later
CLIENT_CHECK_INTERVAL = "5s"
# the run's step once ``reconciliation_runs_requeue`` sent its task again
REQUEUED_STEP = {
    RunStatus.QUEUED: "重新排队（任务消息丢失，已补发）",
    RunStatus.RUNNING: "等待重新执行（上次执行中断，已补发）",
}
ABANDONED_MESSAGE = "比对中断（执行进程已退出），已由新的比对取代"
TIMEOUT_MESSAGE = "比对超时，未写入任何比对结果；请稍后重试，仍超时请联系系统管理员"
FINISHED_STEP = "完成"
FAILED_STEP = "失败"


class ReconciliationErrorCode(StrEnum):
    ALREADY_RUNNING = "reconciliation_already_running"
    INVALID = "invalid"
    PERMISSION_DENIED = "permission_denied"


class _ClaimLostError(Exception):
    """Another executor took the run over (SQLite stale claim): drop this attempt's work."""


def period_label(as_of: date) -> str:
    """``2026H1`` for 1 January – 30 June, ``2026H2`` from 1 July."""
    return f"{as_of.year}H{1 if as_of.month < 7 else 2}"


# --- checks ----------------------------------------------------------------------------------


def _as_of(as_of: date | None) -> date:
    today = timezone.localdate()
    if as_of is None:
        return today
    if as_of > today:
        raise DomainError(
            code=ReconciliationErrorCode.INVALID,
            message=f"比对基准日 {as_of:%Y-%m-%d} 晚于今天，请选择今天或以前的日期",
            fields={"as_of": "比对基准日不能晚于今天"},
            status=400,
        )
    return as_of


def _check_county(county: Area) -> None:
    if county.level != AreaLevel.COUNTY:
        raise DomainError(
            code=ReconciliationErrorCode.INVALID,
            message=f"{county.code}（{county.name}）不是旗县级区划，台账比对按旗县进行",
            fields={"county": "请选择旗县"},
            status=400,
        )


def _is_user(actor: object) -> bool:
    return getattr(actor, "pk", None) is not None


def _check_actor(actor: object, county: Area) -> None:
    if _is_user(actor) and not actor_covers_area(actor, county, perm=Perm.RECONCILE_RUN):
        raise DomainError(
            code=ReconciliationErrorCode.PERMISSION_DENIED,
            message=f"您没有发起{county.name}台账比对的权限",
            status=403,
        )


# --- claims ----------------------------------------------------------------------------------


def _postgres() -> bool:
    return connection.vendor == "postgresql"


def _lock_key(run_id: int) -> int:
    return run_id % 2**31


def _try_lock(run_ids: Sequence[int]) -> list[int]:
    """The runs whose advisory lock this session got (all of them off PostgreSQL)."""
    if not _postgres() or not run_ids:
        return list(run_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM unnest(%s::bigint[]) AS t(id) "
            "WHERE pg_try_advisory_lock(%s, mod(id, 2147483648)::int)",
            [list(run_ids), LOCK_SPACE],
        )
        return [row[0] for row in cursor.fetchall()]


def _unlock(run_ids: Sequence[int]) -> None:
    if not _postgres() or not run_ids:
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_unlock(%s, mod(id, 2147483648)::int) "
                "FROM unnest(%s::bigint[]) AS t(id)",
                [LOCK_SPACE, list(run_ids)],
            )
    except DatabaseError:  # the connection is gone: so are the locks
        logger.warning("reconciliation runs %s: advisory unlock failed", list(run_ids))


def _stale_seconds() -> int:
    return int(getattr(settings, "LOWBAO_RECONCILIATION_STALE_SECONDS", DEFAULT_STALE_SECONDS))


def _is_abandoned(run: ReconciliationRun) -> bool:
    """A RUNNING run whose executor is gone (PostgreSQL: its advisory lock is free)."""
    if run.status != RunStatus.RUNNING:
        return False
    if not _postgres():
        return run.updated_at < timezone.now() - timedelta(seconds=_stale_seconds())
    if not _try_lock([run.pk]):
        return False
    _unlock([run.pk])
    return True


def _claim(run_ids: Sequence[int]) -> list[ReconciliationRun]:
    """Take the runs for this process: QUEUED → RUNNING, or an abandoned RUNNING run again
    (attempts + 1). Runs someone else executes, or that are over, are left alone (a duplicate
    delivery). One lock statement and one transaction for any number of runs."""
    locked = _try_lock(sorted(set(run_ids)))
    claimed: list[int] = []
    try:
        if locked:
            now = timezone.now()
            stale_before = now - timedelta(seconds=_stale_seconds())
            with transaction.atomic():
                rows = list(
                    ReconciliationRun.objects.select_for_update(no_key=True)
                    .filter(pk__in=locked, status__in=ACTIVE_RUN_STATUSES)
                    .values_list("pk", "status", "updated_at")
                )
                queued = [pk for pk, status, _ in rows if status == RunStatus.QUEUED]
                resumed = [
                    pk
                    for pk, status, updated_at in rows
                    if status == RunStatus.RUNNING and (_postgres() or updated_at < stale_before)
                ]
                step, _ = STEPS[0]
                ReconciliationRun.objects.filter(pk__in=queued).update(
                    status=RunStatus.RUNNING,
                    attempts=F("attempts") + 1,
                    started_at=now,
                    updated_at=now,
                    progress=0,
                    step=step,
                    error="",
                )
                ReconciliationRun.objects.filter(pk__in=resumed).update(
                    attempts=F("attempts") + 1,
                    updated_at=now,
                    progress=0,
                    step="重新开始（上次执行中断）",
                )
            claimed = queued + resumed
    finally:
        _unlock(sorted(set(locked) - set(claimed)))
    return list(
        ReconciliationRun.objects.select_related("county").filter(pk__in=claimed).order_by("pk")
    )


# --- creating runs ---------------------------------------------------------------------------


def _conflict(run: ReconciliationRun) -> DomainError:
    return DomainError(
        code=ReconciliationErrorCode.ALREADY_RUNNING,
        message=(
            f"{run.county.name}的台账比对正在进行（{run.get_status_display()}，"
            f"基准日 {run.as_of:%Y-%m-%d}），请等待其完成后再发起"
        ),
        status=409,
    )


def _retire_abandoned(county_ids: Sequence[int]) -> None:
    """Fail the dead active runs of these counties, so they do not block new ones."""
    active = ReconciliationRun.objects.filter(
        county_id__in=list(county_ids), status=RunStatus.RUNNING
    ).select_related("county")
    dead = [run for run in active if _is_abandoned(run)]
    if dead:
        _fail_runs(dead, ABANDONED_MESSAGE)


def _run_create(*, actor: object, county: Area, as_of: date, trigger: str) -> ReconciliationRun:
    """A QUEUED run, audited (the caller holds the transaction)."""
    _retire_abandoned([county.pk])
    active = (
        ReconciliationRun.objects.filter(county=county, status__in=ACTIVE_RUN_STATUSES)
        .select_related("county")
        .first()
    )
    if active is not None:
        raise _conflict(active)
    try:
        with transaction.atomic():
            run = ReconciliationRun.objects.create(
                county=county,
                as_of=as_of,
                period=period_label(as_of),
                trigger=trigger,
                started_by=actor if _is_user(actor) else None,
            )
    except IntegrityError:  # a concurrent request won the partial unique index
        active = ReconciliationRun.objects.filter(
            county=county, status__in=ACTIVE_RUN_STATUSES
        ).first()
        if active is None:
            raise
        raise _conflict(active) from None
    record(
        actor=actor,
        actor_label="" if _is_user(actor) else SYSTEM_LABEL,
        action="reconciliation.run_request",
        obj=run,
        area=county,
        changes={"as_of": as_of, "period": run.period, "trigger": trigger},
    )
    return run


def reconciliation_request(
    *, actor: object, county: Area, as_of: date | None = None, trigger: str
) -> ReconciliationRun:
    """Queue a reconciliation of ``county`` on ``as_of`` (default today); the task is enqueued
    only once the transaction commits (quality.md R5)."""
    _check_county(county)
    _check_actor(actor, county)
    as_of = _as_of(as_of)
    with transaction.atomic():
        run = _run_create(actor=actor, county=county, as_of=as_of, trigger=trigger)
        transaction.on_commit(partial(reconciliation_run_task.delay, run.pk))
    return run


def reconciliation_run_now(
    *, actor: object, county: Area, as_of: date | None = None, trigger: str
) -> ReconciliationRun:
    """Create the run and execute it in this process (the ``reconcile`` command)."""
    _check_county(county)
    _check_actor(actor, county)
    as_of = _as_of(as_of)
    with transaction.atomic():
        run = _run_create(actor=actor, county=county, as_of=as_of, trigger=trigger)
    return reconciliation_runs_execute(run_ids=[run.pk])[0]


def _counties_with_data(actor: object, as_of: date) -> list[Area]:
    """Counties with dibao households or a registry snapshot dated on or before ``as_of``;
    for a user, only those under their ``RECONCILE_RUN`` areas."""
    county_ids = set(Household.objects.order_by().values_list("county_id", flat=True).distinct())
    county_ids |= set(
        RegistrySnapshot.objects.filter(snapshot_date__lte=as_of)
        .order_by()
        .values_list("county_id", flat=True)
        .distinct()
    )
    counties = list(Area.objects.filter(pk__in=county_ids, level=AreaLevel.COUNTY).order_by("code"))
    if _is_user(actor):
        counties = [c for c in counties if actor_covers_area(actor, c, perm=Perm.RECONCILE_RUN)]
    return counties


def _sweep_create(
    *, actor: object, as_of: date | None, trigger: str
) -> tuple[ReconciliationSweep, list[int]]:
    """The sweep and its QUEUED runs (the caller holds the transaction)."""
    if _is_user(actor) and not actor_has_perm(actor, Perm.RECONCILE_RUN):
        raise DomainError(
            code=ReconciliationErrorCode.PERMISSION_DENIED,
            message="您没有发起台账比对的权限",
            status=403,
        )
    as_of = _as_of(as_of)
    if trigger == RunTrigger.SCHEDULE:
        # a redelivered beat message must not start the half-year twice
        existing = ReconciliationSweep.objects.filter(
            as_of=as_of, trigger=RunTrigger.SCHEDULE
        ).first()
        if existing is not None:
            return existing, []
    counties = _counties_with_data(actor, as_of)
    _retire_abandoned([county.pk for county in counties])
    now = timezone.now()
    sweep = ReconciliationSweep.objects.create(
        as_of=as_of,
        period=period_label(as_of),
        trigger=trigger,
        started_by=actor if _is_user(actor) else None,
        status=RunStatus.RUNNING,
        started_at=now,
    )
    # counties with an active run are skipped: the partial unique index refuses their row
    ReconciliationRun.objects.bulk_create(
        [
            ReconciliationRun(
                sweep=sweep,
                county=county,
                as_of=as_of,
                period=sweep.period,
                trigger=trigger,
                started_by=sweep.started_by,
            )
            for county in counties
        ],
        ignore_conflicts=True,
    )
    run_ids = list(
        ReconciliationRun.objects.filter(sweep=sweep).order_by("pk").values_list("pk", flat=True)
    )
    sweep.counties_total = len(run_ids)
    sweep.counties_skipped = len(counties) - len(run_ids)
    fields = ["counties_total", "counties_skipped", "updated_at"]
    if not run_ids:
        sweep.status, sweep.finished_at = RunStatus.FINISHED, now
        fields += ["status", "finished_at"]
    sweep.save(update_fields=fields)
    record(
        actor=actor,
        actor_label="" if _is_user(actor) else SYSTEM_LABEL,
        action="reconciliation.sweep_start",
        obj=sweep,
        changes={
            "as_of": as_of,
            "period": sweep.period,
            "trigger": trigger,
            "counties": sweep.counties_total,
            "skipped": sweep.counties_skipped,
        },
    )
    return sweep, run_ids


def _enqueue(run_ids: list[int]) -> None:
    group(reconciliation_run_task.si(run_id) for run_id in run_ids).apply_async()


def reconciliation_sweep_start(
    *, actor: object, as_of: date | None = None, trigger: str
) -> ReconciliationSweep:
    """One run per county with ledger data, one Celery task per county (enqueued on commit)."""
    with transaction.atomic():
        sweep, run_ids = _sweep_create(actor=actor, as_of=as_of, trigger=trigger)
        if run_ids:
            transaction.on_commit(partial(_enqueue, run_ids))
    return sweep


def _requeue_after_seconds() -> int:
    return int(
        getattr(
            settings, "LOWBAO_RECONCILIATION_REQUEUE_AFTER_SECONDS", DEFAULT_REQUEUE_AFTER_SECONDS
        )
    )


def reconciliation_runs_requeue() -> list[int]:
    """Send the task again for the active runs whose message is lost (beat, every few
    minutes); returns their ids. A run qualifies when nothing touched it for
    ``LOWBAO_RECONCILIATION_REQUEUE_AFTER_SECONDS`` and no session holds its advisory lock (on
    SQLite, a RUNNING run must also be stale). Claimed under the lock by a conditional update of
    ``updated_at``, so concurrent requeues (two beats, two nodes) send each run once; audited;
    the tasks are sent after commit, once the locks are released."""
    now = timezone.now()
    queued_before = now - timedelta(seconds=_requeue_after_seconds())
    running_before = queued_before
    if not _postgres():
        running_before = min(queued_before, now - timedelta(seconds=_stale_seconds()))
    before = {RunStatus.QUEUED: queued_before, RunStatus.RUNNING: running_before}
    candidates = list(
        ReconciliationRun.objects.filter(
            Q(status=RunStatus.QUEUED, updated_at__lt=queued_before)
            | Q(status=RunStatus.RUNNING, updated_at__lt=running_before)
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    locked = _try_lock(candidates)
    requeued: list[int] = []
    try:
        with transaction.atomic():
            runs = ReconciliationRun.objects.filter(
                pk__in=locked, status__in=ACTIVE_RUN_STATUSES
            ).select_related("county")
            for run in runs.order_by("pk"):
                if not ReconciliationRun.objects.filter(
                    pk=run.pk, status=run.status, updated_at__lt=before[run.status]
                ).update(step=REQUEUED_STEP[run.status], updated_at=now):
                    continue
                requeued.append(run.pk)
                record(
                    actor=None,
                    actor_label=SYSTEM_LABEL,
                    action="reconciliation.run_requeue",
                    obj=run,
                    area=run.county,
                    changes={
                        "status": run.status,
                        "attempts": run.attempts,
                        "idle_since": run.updated_at,
                    },
                )
    finally:
        _unlock(locked)
    if requeued:
        logger.warning("reconciliation runs %s: task sent again (message lost)", requeued)
        transaction.on_commit(partial(_enqueue, requeued))
    return requeued


SWEEP_TASK = "review.tasks.reconciliation_sweep_task"


def reconciliation_sweeps_catch_up() -> list[date]:
    """Start the scheduled sweeps whose beat message was lost (a broker restarted between beat
    sending it and a worker taking it): for each periodic sweep task that beat last sent more
    than ``LOWBAO_RECONCILIATION_REQUEUE_AFTER_SECONDS`` ago, if no scheduled sweep exists for
    that day (Asia/Shanghai), the sweep is started now for that day (audited). A message that
    was only late finds the sweep and does nothing (``_sweep_create`` keeps one scheduled sweep
    per day). Returns the days started."""
    from django_celery_beat.models import PeriodicTask

    sent_before = timezone.now() - timedelta(seconds=_requeue_after_seconds())
    days = sorted(
        {
            timezone.localdate(sent)
            for sent in PeriodicTask.objects.filter(
                task=SWEEP_TASK, last_run_at__isnull=False, last_run_at__lt=sent_before
            ).values_list("last_run_at", flat=True)
        }
    )
    started: list[date] = []
    for day in days:
        if ReconciliationSweep.objects.filter(as_of=day, trigger=RunTrigger.SCHEDULE).exists():
            continue
        with transaction.atomic():
            sweep = reconciliation_sweep_start(actor=None, as_of=day, trigger=RunTrigger.SCHEDULE)
            record(
                actor=None,
                actor_label=SYSTEM_LABEL,
                action="reconciliation.sweep_catch_up",
                obj=sweep,
                changes={"as_of": day, "reason": "定时比对消息丢失，补发"},
            )
        logger.warning("scheduled reconciliation of %s: beat message lost, sweep started", day)
        started.append(day)
    return started


def reconciliation_sweep_run(
    *, actor: object, as_of: date | None = None, trigger: str
) -> tuple[ReconciliationSweep, list[ReconciliationRun]]:
    """The whole sweep in this process, every county in one set-based pass (``reconcile
    --all``). Returns the sweep and its runs (finished or failed), in county-code order."""
    with transaction.atomic():
        sweep, run_ids = _sweep_create(actor=actor, as_of=as_of, trigger=trigger)
    runs = reconciliation_runs_execute(run_ids=run_ids)
    sweep.refresh_from_db()
    return sweep, sorted(runs, key=lambda run: run.county.code)


# --- executing runs --------------------------------------------------------------------------


def reconciliation_run_execute(*, run_id: int) -> ReconciliationRun | None:
    """Claim and execute one run; a duplicate delivery (run taken or over) changes nothing.
    ``None`` when no such run exists (a stale message, e.g. from another database)."""
    runs = reconciliation_runs_execute(run_ids=[run_id])
    return runs[0] if runs else None


def reconciliation_runs_execute(*, run_ids: Sequence[int]) -> list[ReconciliationRun]:
    """Claim the runs and execute the claimed ones together (runs of one as-of date are
    computed in one pass; if that pass fails, each county is retried alone, so one county's
    failure does not fail the others). Returns every run, refreshed; ids of runs that do not
    exist (a stale task message, e.g. from another database) are logged and left out."""
    claimed = _claim(run_ids)
    try:
        by_date: dict[date, list[ReconciliationRun]] = {}
        for run in claimed:
            by_date.setdefault(run.as_of, []).append(run)
        for runs in by_date.values():
            _execute_or_fail(runs)
    finally:
        _unlock([run.pk for run in claimed])
    found = ReconciliationRun.objects.select_related("county").in_bulk(list(run_ids))
    missing = [run_id for run_id in run_ids if run_id not in found]
    if missing:
        logger.warning("reconciliation runs %s do not exist: nothing to execute", missing)
    return [found[run_id] for run_id in run_ids if run_id in found]


def _execute_or_fail(runs: list[ReconciliationRun]) -> None:
    try:
        _execute(runs)
    except _ClaimLostError:
        logger.warning("reconciliation runs %s: claim taken over", [run.pk for run in runs])
    except Exception as exc:
        if len(runs) > 1:
            logger.warning("reconciliation batch failed (%s); running counties one by one", exc)
            for run in runs:
                _execute_or_fail([run])
            return
        if isinstance(exc, DomainError):
            message = exc.message
        elif isinstance(exc, SoftTimeLimitExceeded):
            message = TIMEOUT_MESSAGE
        else:
            logger.exception("reconciliation run %s failed", runs[0].pk)
            message = (
                f"比对时发生系统错误（{type(exc).__name__}），未写入任何比对结果；"
                "请稍后重试，仍失败请联系系统管理员"
            )
        _fail_runs(runs, message)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def _scope(runs: list[ReconciliationRun]) -> tuple[list[ScopeCounty], list[ReconciliationRun]]:
    """The county standards of the as-of date; a county without one fails alone."""
    scope, ready = [], []
    for run in runs:
        try:
            standard = standard_for(run.county, run.as_of).rural_dibao_monthly
        except DomainError as exc:
            _fail_runs([run], exc.message)
            continue
        scope.append(ScopeCounty(run.county_id, run.pk, _cents(standard), f"{standard:.2f}"))
        ready.append(run)
    return scope, ready


def _progress(runs: list[ReconciliationRun], index: int) -> None:
    """Record the step on the runs (its own statement, so the UI sees it while we work)."""
    label, percent = STEPS[index]
    ReconciliationRun.objects.filter(
        pk__in=[run.pk for run in runs], status=RunStatus.RUNNING
    ).update(step=label, progress=percent, updated_at=timezone.now())
    pause = float(getattr(settings, "LOWBAO_RECONCILIATION_TEST_PAUSE_SECONDS", 0) or 0)
    if pause > 0:
        time.sleep(pause)


def _execute(runs: list[ReconciliationRun]) -> None:
    """Compute and write ``runs`` (claimed, one as-of date). Raises on any failure; the
    write is one transaction, so a failure leaves the items as they were."""
    as_of = runs[0].as_of
    line = poverty_line_for(as_of.year).annual_amount
    scope, runs = _scope(runs)
    if not runs:
        return
    computation = Computation(
        scope=scope,
        as_of=as_of,
        poverty_line_cents=_cents(line),
        poverty_line_text=f"{line:.2f}",
        on_step=partial(_progress, runs),
    )
    work_mem = str(getattr(settings, "LOWBAO_RECONCILIATION_WORK_MEM", DEFAULT_WORK_MEM))
    try:
        if _postgres():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, false)", [work_mem])
                # the temporary tables are analysed for the planner; a small sample will do
                cursor.execute("SELECT set_config('default_statistics_target', '10', false)")
                # the statements are few and large: compiling each (JIT) costs more than it saves
                cursor.execute("SELECT set_config('jit', 'off', false)")
                if connection.pg_version >= 140000:
                    cursor.execute(
                        "SELECT set_config('client_connection_check_interval', %s, false)",
                        [CLIENT_CHECK_INTERVAL],
                    )
        results = computation.compute()
        _progress(runs, len(STEPS) - 1)
        now = timezone.now()
        with transaction.atomic():
            computation.write(now)
            _finish_runs(runs, results, now)
    finally:
        _cleanup()


def _cleanup() -> None:
    try:
        with transaction.atomic():
            Computation.drop_tables()
            if _postgres():
                with connection.cursor() as cursor:
                    cursor.execute("RESET work_mem")
                    cursor.execute("RESET default_statistics_target")
                    cursor.execute("RESET jit")
                    if connection.pg_version >= 140000:
                        cursor.execute("RESET client_connection_check_interval")
    except DatabaseError:  # a broken connection takes its temporary tables with it
        logger.warning("reconciliation: could not drop the temporary tables")


def _finish_runs(runs: list[ReconciliationRun], results: dict[int, CountyResult], now: Any) -> None:
    """FINISHED with the counts, in the write transaction; the runs must still be ours."""
    current = dict(
        ReconciliationRun.objects.select_for_update(no_key=True)
        .filter(pk__in=[run.pk for run in runs], status=RunStatus.RUNNING)
        .values_list("pk", "attempts")
    )
    if any(current.get(run.pk) != run.attempts for run in runs):
        raise _ClaimLostError
    for run in runs:
        result = results[run.county_id]
        run.counts = result.counts
        run.dibao_households = result.dibao_households
        run.registry_households = result.registry_households
        run.registry_snapshot_id = result.registry_snapshot_id
    # two statements for any number of runs: what they share, then each run's own figures
    ReconciliationRun.objects.filter(pk__in=[run.pk for run in runs]).update(
        status=RunStatus.FINISHED,
        progress=100,
        step=FINISHED_STEP,
        error="",
        finished_at=now,
        updated_at=now,
    )
    ReconciliationRun.objects.bulk_update(
        runs, ["counts", "dibao_households", "registry_households", "registry_snapshot"]
    )
    _count_in_sweeps(runs, failed=False)
    # the audit row last: the audit chain's lock is then held only briefly (no lock cycle with
    # a township resolving an item, which locks the item before it audits). A sweep computed
    # in one pass is one audit row with every county's counts.
    sweep_ids = {run.sweep_id for run in runs}
    if len(runs) > 1 and len(sweep_ids) == 1 and None not in sweep_ids:
        record(
            actor=None,
            actor_label=SYSTEM_LABEL,
            action="reconciliation.runs_finish",
            obj=runs[0].sweep,
            changes={
                "as_of": runs[0].as_of,
                "runs": {
                    run.county.code: {"run": run.pk, "attempts": run.attempts, "counts": run.counts}
                    for run in runs
                },
            },
        )
        return
    for run in runs:
        record(
            actor=None,
            actor_label=SYSTEM_LABEL,
            action="reconciliation.run_finish",
            obj=run,
            area=run.county,
            changes={
                "as_of": run.as_of,
                "period": run.period,
                "attempts": run.attempts,
                "counts": run.counts,
            },
        )


def _fail_runs(runs: list[ReconciliationRun], message: str) -> None:
    message = message[: ReconciliationRun._meta.get_field("error").max_length or 500]
    now = timezone.now()
    with transaction.atomic():
        failed = []
        for run in runs:
            if ReconciliationRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
                status=RunStatus.FAILED,
                error=message,
                step=FAILED_STEP,
                finished_at=now,
                updated_at=now,
            ):
                failed.append(run)
        _count_in_sweeps(failed, failed=True)
        for run in failed:
            record(
                actor=None,
                actor_label=SYSTEM_LABEL,
                action="reconciliation.run_fail",
                obj=run,
                area=run.county,
                changes={"as_of": run.as_of, "period": run.period, "error": message},
            )


def _count_in_sweeps(runs: list[ReconciliationRun], *, failed: bool) -> None:
    """Add the runs to their sweeps' counters; the update that completes a sweep closes it."""
    counter = "counties_failed" if failed else "counties_done"
    now = timezone.now()
    for sweep_id, count in Counter(run.sweep_id for run in runs if run.sweep_id).items():
        ReconciliationSweep.objects.filter(pk=sweep_id).update(
            **{counter: F(counter) + count}, updated_at=now
        )
        complete = ReconciliationSweep.objects.filter(
            pk=sweep_id,
            status__in=ACTIVE_RUN_STATUSES,
            counties_total__lte=F("counties_done") + F("counties_failed"),
        )
        complete.filter(counties_failed=0).update(
            status=RunStatus.FINISHED, finished_at=now, updated_at=now
        )
        complete.filter(counties_failed__gt=0).update(
            status=RunStatus.FAILED, finished_at=now, updated_at=now
        )


# --- report ----------------------------------------------------------------------------------

CATEGORY_ORDER = {code: index for index, code in enumerate(ReconciliationCategory.values)}


def reconciliation_report(run: ReconciliationRun) -> dict[str, Any]:
    """The ``reconcile --json`` object of one run (contracts.md): every category code in
    ``counts`` (0 when nothing was found), every item of the run except ``linked`` (which is
    only counted), with the full normalised ID numbers involved. For the operator on the
    server; the web pages mask ID numbers."""
    stored = run.counts if isinstance(run.counts, dict) else {}
    counts = {code: int(stored.get(code, 0)) for code in ReconciliationCategory.values}
    items = list(
        ReconciliationItem.objects.filter(findings__run=run).select_related(
            "township", "dibao_household", "registry_household"
        )
    )
    items.sort(key=lambda item: (CATEGORY_ORDER[item.category], item.key))
    person_ids: set[int] = set()
    for item in items:
        person_ids.update(_ints(item.person_ids))
        if isinstance(item.details, dict):
            person_ids.update(_ints(item.details.get("only_in_dibao")))
            person_ids.update(_ints(item.details.get("only_in_registry")))
    id_numbers = {
        pk: decrypt(ciphertext)
        for pk, ciphertext in Person.objects.filter(pk__in=person_ids).values_list(
            "pk", "id_number_ciphertext"
        )
    }
    report: dict[str, Any] = {
        "county": run.county.code,
        "as_of": run.as_of.isoformat(),
        "period": run.period,
        "status": run.status,
        "counts": counts,
        "items": [_item_report(item, id_numbers) for item in items],
    }
    if run.status == RunStatus.FAILED:
        report["error"] = run.error
    return report


def _ints(values: Any) -> list[int]:
    if not isinstance(values, list):
        return []
    return [v for v in values if isinstance(v, int) and not isinstance(v, bool)]


def _item_report(item: ReconciliationItem, id_numbers: dict[int, str]) -> dict[str, Any]:
    def numbers(person_ids: Any) -> list[str]:
        return sorted(id_numbers[pk] for pk in _ints(person_ids) if pk in id_numbers)

    row: dict[str, Any] = {
        "category": item.category,
        "dibao_household": item.dibao_household.number if item.dibao_household else None,
        "registry_household": (item.registry_household.number if item.registry_household else None),
        "id_numbers": numbers(item.person_ids),
        "township": item.township.code if item.township else None,
        "dibao_households": list(item.dibao_numbers or []),
        "registry_households": list(item.registry_numbers or []),
        "state": item.state,
    }
    if item.category == ReconciliationCategory.MEMBER_MISMATCH and isinstance(item.details, dict):
        row["only_in_dibao"] = numbers(item.details.get("only_in_dibao"))
        row["only_in_registry"] = numbers(item.details.get("only_in_registry"))
    return row
