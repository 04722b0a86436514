"""Runs and sweeps: requests, claims, failures, progress, fan-out and the beat schedule
(quality.md R2, R3 on one process, R5; the real worker is in test_reconciliation_worker.py)."""

import contextlib
import importlib
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.apps import apps as django_apps
from django.db import connection, transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler

from cases.models import GuaranteeStandard
from lowbao.audit.models import AuditEvent
from lowbao.celery import app as celery_app
from lowbao.core.errors import DomainError
from poverty.choices import PovertyAttribute as A
from review.models import (
    ItemEvent,
    ReconciliationFinding,
    ReconciliationItem,
    ReconciliationRun,
    ReconciliationSweep,
    RunStatus,
    RunTrigger,
)
from review.services import reconciliation as service
from review.services.reconciliation import (
    ABANDONED_MESSAGE,
    LOCK_SPACE,
    period_label,
    reconciliation_request,
    reconciliation_run_execute,
    reconciliation_sweep_start,
)
from review.services.reconciliation_sql import STEPS, Computation
from review.tasks import reconciliation_run_task, reconciliation_sweep_task
from tests.fixtures.reconciliation import AS_OF

pytestmark = pytest.mark.django_db

_beat_migration = importlib.import_module("review.migrations.0004_reconciliation_beat_schedule")


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Run ids handed to ``reconciliation_run_task.delay`` (instead of running them)."""
    calls: list[int] = []
    monkeypatch.setattr(reconciliation_run_task, "delay", calls.append)
    return calls


@pytest.fixture
def some_findings(ledgers):
    ledgers.dibao(ledgers.person(), income="100.00")
    ledgers.registry(ledgers.person(), attribute=A.DIBAO)
    ledgers.pair()
    return ledgers


def queued(areas, actor=None, as_of=AS_OF) -> ReconciliationRun:
    """A QUEUED run (the test's transaction never commits, so its task is never sent)."""
    return reconciliation_request(
        actor=actor, county=areas.county, as_of=as_of, trigger=RunTrigger.MANUAL
    )


def make_running(run: ReconciliationRun, *, minutes_ago: int) -> None:
    ReconciliationRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING,
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=minutes_ago),
        updated_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


@contextlib.contextmanager
def live_executor(run: ReconciliationRun) -> Iterator[None]:
    """Another process executing ``run``: on PostgreSQL it holds the run's advisory lock from
    its own connection; on SQLite a fresh ``updated_at`` is what tells a live run."""
    if connection.vendor != "postgresql":
        yield
        return
    settings = connection.settings_dict
    with psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        password=settings["PASSWORD"] or None,
        autocommit=True,
    ) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", [LOCK_SPACE, run.pk])
        yield


# --- requests --------------------------------------------------------------------------------


def test_a_request_queues_a_run_and_enqueues_its_task_only_after_commit(
    some_findings, case_users, sent, django_capture_on_commit_callbacks
):
    areas = some_findings.areas
    with django_capture_on_commit_callbacks() as callbacks:
        run = reconciliation_request(
            actor=case_users.civil_affairs,
            county=areas.county,
            as_of=AS_OF,
            trigger=RunTrigger.MANUAL,
        )
        assert sent == []

    assert len(callbacks) == 1
    callbacks[0]()
    assert sent == [run.pk]
    run.refresh_from_db()
    assert (run.status, run.period, run.trigger, run.started_by, run.attempts) == (
        RunStatus.QUEUED,
        "2026H2",
        RunTrigger.MANUAL,
        case_users.civil_affairs,
        0,
    )
    event = AuditEvent.objects.get(action="reconciliation.run_request")
    assert (event.object_id, event.area_code, event.actor) == (
        str(run.pk),
        areas.county.code,
        case_users.civil_affairs,
    )


def test_a_committed_request_runs_the_task_eagerly_without_a_broker(
    some_findings, case_users, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = reconciliation_request(
            actor=case_users.poverty_office,
            county=some_findings.areas.county,
            as_of=AS_OF,
            trigger=RunTrigger.MANUAL,
        )

    run.refresh_from_db()
    assert (run.status, run.progress, run.attempts) == (RunStatus.FINISHED, 100, 1)
    assert ReconciliationFinding.objects.filter(run=run).count() == 2


def test_a_rolled_back_request_enqueues_nothing(
    some_findings, case_users, sent, django_capture_on_commit_callbacks
):
    def request_then_fail() -> None:
        with transaction.atomic():
            reconciliation_request(
                actor=case_users.civil_affairs,
                county=some_findings.areas.county,
                trigger=RunTrigger.MANUAL,
            )
            raise RuntimeError("rolled back")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        request_then_fail()

    assert callbacks == []
    assert sent == []
    assert not ReconciliationRun.objects.exists()


def test_a_second_request_while_a_run_is_queued_is_a_conflict(ledgers, case_users, sent):
    first = queued(ledgers.areas, actor=case_users.civil_affairs)

    with pytest.raises(DomainError) as refused:
        reconciliation_request(
            actor=case_users.poverty_office,
            county=ledgers.areas.county,
            trigger=RunTrigger.MANUAL,
        )

    assert (refused.value.code, refused.value.status) == ("reconciliation_already_running", 409)
    assert refused.value.message == (
        "土默特左旗的台账比对正在进行（排队中，基准日 2026-07-01），请等待其完成后再发起"
    )
    assert list(ReconciliationRun.objects.values_list("pk", flat=True)) == [first.pk]


def test_a_request_while_a_live_run_is_running_is_a_conflict(ledgers, sent):
    run = queued(ledgers.areas)
    make_running(run, minutes_ago=0)

    with live_executor(run), pytest.raises(DomainError) as refused:
        reconciliation_request(actor=None, county=ledgers.areas.county, trigger=RunTrigger.MANUAL)

    assert refused.value.code == "reconciliation_already_running"
    assert ReconciliationRun.objects.count() == 1


def test_a_request_retires_a_run_whose_worker_died(ledgers, sent):
    dead = queued(ledgers.areas)
    make_running(dead, minutes_ago=30)

    run = reconciliation_request(actor=None, county=ledgers.areas.county, trigger=RunTrigger.MANUAL)

    dead.refresh_from_db()
    assert (dead.status, dead.error) == (RunStatus.FAILED, ABANDONED_MESSAGE)
    assert run.status == RunStatus.QUEUED


@pytest.mark.parametrize(
    ("_case", "as_of", "label"),
    [
        ("new_year", date(2026, 1, 1), "2026H1"),
        ("last_day_of_june", date(2026, 6, 30), "2026H1"),
        ("first_of_july", date(2026, 7, 1), "2026H2"),
        ("december", date(2025, 12, 31), "2025H2"),
    ],
)
def test_the_period_label_follows_the_half_year(_case, as_of, label):
    assert period_label(as_of) == label


@pytest.mark.parametrize(
    ("_case", "user", "code", "status"),
    [
        ("township_caseworker", "caseworker", "permission_denied", 403),
        ("other_county_officer", "other_county_civil_affairs", "permission_denied", 403),
        ("county_leader_reads_only", "county_leader", "permission_denied", 403),
    ],
)
def test_only_county_reconciliation_officers_of_the_county_may_request(
    ledgers, case_users, sent, _case, user, code, status
):
    with pytest.raises(DomainError) as refused:
        reconciliation_request(
            actor=getattr(case_users, user), county=ledgers.areas.county, trigger=RunTrigger.MANUAL
        )

    assert (refused.value.code, refused.value.status) == (code, status)
    assert refused.value.message == "您没有发起土默特左旗台账比对的权限"
    assert not ReconciliationRun.objects.exists()


def test_a_request_refuses_a_future_date_and_a_non_county_area(ledgers, sent):
    with pytest.raises(DomainError) as future:
        reconciliation_request(
            actor=None,
            county=ledgers.areas.county,
            as_of=timezone.localdate() + timedelta(days=1),
            trigger=RunTrigger.MANUAL,
        )
    with pytest.raises(DomainError) as township:
        reconciliation_request(actor=None, county=ledgers.areas.township, trigger=RunTrigger.MANUAL)

    assert (future.value.code, future.value.status) == ("invalid", 400)
    assert "晚于今天" in future.value.message
    assert township.value.message == "150121100000（察素齐镇）不是旗县级区划，台账比对按旗县进行"
    assert not ReconciliationRun.objects.exists()


# --- claims ----------------------------------------------------------------------------------


def test_executing_a_finished_run_again_changes_nothing(some_findings, sent):
    run = queued(some_findings.areas)
    reconciliation_run_execute(run_id=run.pk)
    before = (
        list(ReconciliationItem.objects.values_list("pk", "state", "last_run_id")),
        ReconciliationFinding.objects.count(),
        ItemEvent.objects.count(),
    )

    again = reconciliation_run_execute(run_id=run.pk)

    assert (again.status, again.attempts) == (RunStatus.FINISHED, 1)
    assert before == (
        list(ReconciliationItem.objects.values_list("pk", "state", "last_run_id")),
        ReconciliationFinding.objects.count(),
        ItemEvent.objects.count(),
    )


def test_a_run_whose_worker_died_is_claimed_again_and_finishes(some_findings, sent):
    run = queued(some_findings.areas)
    make_running(run, minutes_ago=30)

    done = reconciliation_run_execute(run_id=run.pk)

    assert (done.status, done.attempts, done.progress) == (RunStatus.FINISHED, 2, 100)
    assert ReconciliationFinding.objects.filter(run=run).count() == 2


def test_a_run_being_executed_elsewhere_is_not_executed_twice(some_findings, sent):
    run = queued(some_findings.areas)
    make_running(run, minutes_ago=0)

    with live_executor(run):
        result = reconciliation_run_execute(run_id=run.pk)

    assert (result.status, result.attempts) == (RunStatus.RUNNING, 1)
    assert not ReconciliationItem.objects.exists()


def test_a_run_id_that_does_not_exist_is_logged_and_skipped(some_findings, sent, caplog):
    run = queued(some_findings.areas)
    missing = run.pk + 1000

    with caplog.at_level("WARNING", logger="review.services.reconciliation"):
        runs = service.reconciliation_runs_execute(run_ids=[missing, run.pk])
        alone = reconciliation_run_execute(run_id=missing + 1)

    assert [(r.pk, r.status) for r in runs] == [(run.pk, RunStatus.FINISHED)]
    assert alone is None
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert f"reconciliation runs [{missing}] do not exist: nothing to execute" in warnings
    assert f"reconciliation runs [{missing + 1}] do not exist: nothing to execute" in warnings
    assert not ReconciliationRun.objects.filter(pk__in=[missing, missing + 1]).exists()


def test_the_run_task_of_a_run_that_does_not_exist_does_nothing(some_findings, sent, caplog):
    run = queued(some_findings.areas)

    with caplog.at_level("WARNING", logger="review.services.reconciliation"):
        result = reconciliation_run_task.apply(args=[run.pk + 1000])

    assert result.successful()
    assert any("do not exist" in r.getMessage() for r in caplog.records)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert not ReconciliationItem.objects.exists()


# --- failures --------------------------------------------------------------------------------


def test_a_failure_while_writing_marks_the_run_failed_and_writes_nothing(
    some_findings, sent, monkeypatch
):
    reconciliation_run_execute(run_id=queued(some_findings.areas).pk)
    before = (
        list(ReconciliationItem.objects.order_by("pk").values()),
        list(ItemEvent.objects.order_by("pk").values()),
        ReconciliationFinding.objects.count(),
    )
    some_findings.dibao(some_findings.person(), income="50.00")
    real_write = Computation.write

    def write_then_fail(self, now):
        real_write(self, now)
        raise RuntimeError("disk full")

    monkeypatch.setattr(Computation, "write", write_then_fail)
    run = queued(some_findings.areas)

    failed = reconciliation_run_execute(run_id=run.pk)

    assert (failed.status, failed.step) == (RunStatus.FAILED, "失败")
    assert failed.error == (
        "比对时发生系统错误（RuntimeError），未写入任何比对结果；请稍后重试，仍失败请联系系统管理员"
    )
    assert failed.counts == {}
    assert before == (
        list(ReconciliationItem.objects.order_by("pk").values()),
        list(ItemEvent.objects.order_by("pk").values()),
        ReconciliationFinding.objects.count(),
    )
    assert AuditEvent.objects.filter(
        action="reconciliation.run_fail", object_id=str(run.pk)
    ).exists()


def test_a_failure_while_computing_marks_the_run_failed_and_the_next_run_works(
    some_findings, sent, monkeypatch
):
    def broken(self, cursor):
        cursor.execute("SELECT no_such_column FROM recon_dm", {})

    with monkeypatch.context() as patch:
        patch.setattr(Computation, "_links", broken)
        failed = reconciliation_run_execute(run_id=queued(some_findings.areas).pk)

    assert failed.status == RunStatus.FAILED
    assert not ReconciliationItem.objects.exists()
    done = reconciliation_run_execute(run_id=queued(some_findings.areas).pk)
    assert done.status == RunStatus.FINISHED
    assert ReconciliationItem.objects.count() == 2


def test_a_county_without_a_standard_on_the_date_fails_with_the_reason(some_findings, sent):
    GuaranteeStandard.objects.all().delete()

    failed = reconciliation_run_execute(run_id=queued(some_findings.areas).pk)

    assert failed.status == RunStatus.FAILED
    assert failed.error == "土默特左旗在 2026-07-01 没有适用的保障标准，请先导入保障标准"


def test_the_progress_of_each_step_is_visible_on_the_run(
    some_findings, sent, monkeypatch, settings
):
    settings.LOWBAO_RECONCILIATION_TEST_PAUSE_SECONDS = 0.001
    run = queued(some_findings.areas)
    seen: list[tuple[str, int, str]] = []
    monkeypatch.setattr(
        service.time,
        "sleep",
        lambda seconds: seen.append(
            ReconciliationRun.objects.values_list("step", "progress", "status").get(pk=run.pk)
        ),
    )

    reconciliation_run_execute(run_id=run.pk)

    assert seen == [(label, percent, RunStatus.RUNNING) for label, percent in STEPS]
    run.refresh_from_db()
    assert (run.step, run.progress) == ("完成", 100)


# --- sweeps ----------------------------------------------------------------------------------


@pytest.fixture
def two_counties(some_findings):
    some_findings.dibao(
        some_findings.person(), income="10.00", village=some_findings.areas.other_county_village
    )
    return some_findings


def test_a_sweep_fans_out_one_task_per_county_and_closes_itself(
    two_counties, case_users, django_capture_on_commit_callbacks
):
    areas = two_counties.areas
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sweep = reconciliation_sweep_start(actor=None, as_of=AS_OF, trigger=RunTrigger.SCHEDULE)

    assert len(callbacks) == 1
    sweep.refresh_from_db()
    runs = list(sweep.runs.order_by("county__code"))
    assert [(run.county, run.status, run.period) for run in runs] == [
        (areas.county, RunStatus.FINISHED, "2026H2"),
        (areas.sibling_county, RunStatus.FINISHED, "2026H2"),
    ]
    assert (sweep.status, sweep.counties_total, sweep.counties_done, sweep.counties_failed) == (
        RunStatus.FINISHED,
        2,
        2,
        0,
    )
    assert sweep.finished_at is not None


def test_a_sweep_skips_and_counts_counties_with_an_active_run(
    two_counties, sent, django_capture_on_commit_callbacks
):
    busy = queued(two_counties.areas)
    with django_capture_on_commit_callbacks(execute=True):
        sweep = reconciliation_sweep_start(actor=None, as_of=AS_OF, trigger=RunTrigger.SCHEDULE)

    sweep.refresh_from_db()
    assert (sweep.counties_total, sweep.counties_skipped, sweep.counties_done) == (1, 1, 1)
    assert sweep.status == RunStatus.FINISHED
    assert list(sweep.runs.values_list("county", flat=True)) == [
        two_counties.areas.sibling_county.pk
    ]
    busy.refresh_from_db()
    assert busy.status == RunStatus.QUEUED


def test_a_sweep_with_a_failed_county_ends_failed_after_every_county(
    two_counties, django_capture_on_commit_callbacks
):
    GuaranteeStandard.objects.exclude(area=two_counties.areas.county).delete()

    with django_capture_on_commit_callbacks(execute=True):
        sweep = reconciliation_sweep_start(actor=None, as_of=AS_OF, trigger=RunTrigger.SCHEDULE)

    sweep.refresh_from_db()
    assert (sweep.status, sweep.counties_done, sweep.counties_failed) == (RunStatus.FAILED, 1, 1)
    assert dict(sweep.runs.values_list("county__code", "status")) == {
        "150121000000": RunStatus.FINISHED,
        "150122000000": RunStatus.FAILED,
    }


def test_the_beat_task_starts_one_sweep_per_day_even_if_delivered_twice(
    two_counties, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = reconciliation_sweep_task.apply().get()
        second = reconciliation_sweep_task.apply().get()

    assert first == second
    sweep = ReconciliationSweep.objects.get()
    assert (sweep.trigger, sweep.as_of, sweep.status) == (
        RunTrigger.SCHEDULE,
        timezone.localdate(),
        RunStatus.FINISHED,
    )
    assert ReconciliationRun.objects.count() == 2


def test_a_sweep_without_any_ledger_data_is_finished_at_once(areas, policy_defaults):
    sweep = reconciliation_sweep_start(actor=None, trigger=RunTrigger.SCHEDULE)

    assert (sweep.status, sweep.counties_total) == (RunStatus.FINISHED, 0)


def test_the_tasks_are_late_acknowledged_and_requeued_when_their_worker_is_lost():
    for task in (reconciliation_run_task, reconciliation_sweep_task):
        assert (task.acks_late, task.reject_on_worker_lost) == (True, True)


def test_the_run_task_executes_the_run(some_findings, sent):
    run = queued(some_findings.areas)

    reconciliation_run_task.apply(args=[run.pk])

    run.refresh_from_db()
    assert run.status == RunStatus.FINISHED


# --- beat schedule ---------------------------------------------------------------------------


def test_the_beat_schedule_is_created_once_and_admin_edits_are_kept(db):
    PeriodicTask.objects.filter(name=_beat_migration.NAME).delete()

    _beat_migration.create_schedule(django_apps, None)
    _beat_migration.create_schedule(django_apps, None)

    task = PeriodicTask.objects.get(name=_beat_migration.NAME)
    crontab = task.crontab
    assert (task.task, task.enabled) == ("review.tasks.reconciliation_sweep_task", True)
    assert (
        crontab.minute,
        crontab.hour,
        crontab.day_of_month,
        crontab.month_of_year,
        crontab.day_of_week,
        str(crontab.timezone),
    ) == ("0", "2", "1", "1,7", "*", "Asia/Shanghai")
    assert task.task in celery_app.tasks
    CrontabSchedule.objects.filter(pk=crontab.pk).update(hour="3")

    _beat_migration.create_schedule(django_apps, None)

    assert PeriodicTask.objects.get(name=_beat_migration.NAME).crontab.hour == "3"


def test_the_database_scheduler_runs_the_sweep_next_on_1_january_or_1_july_at_2(db):
    PeriodicTask.objects.filter(name=_beat_migration.NAME).delete()
    _beat_migration.create_schedule(django_apps, None)
    now = timezone.now()

    entry = DatabaseScheduler.Entry(
        PeriodicTask.objects.get(name=_beat_migration.NAME), app=celery_app
    )

    shanghai = ZoneInfo("Asia/Shanghai")
    local = now.astimezone(shanghai)
    candidates = [
        datetime(year, month, 1, 2, 0, tzinfo=shanghai)
        for year in (local.year, local.year + 1)
        for month in (1, 7)
    ]
    expected = min(moment for moment in candidates if moment > local)
    due = now + entry.schedule.remaining_estimate(now)
    assert entry.task == "review.tasks.reconciliation_sweep_task"
    assert abs(due - expected) < timedelta(seconds=5)
