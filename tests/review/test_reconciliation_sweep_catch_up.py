"""A scheduled sweep whose beat message was lost (the broker restarted before a worker took it)
is started by the requeue task (quality.md R3): beat recorded the send, no sweep exists for
that day. A message that is merely late, or a sweep that exists, starts nothing."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from lowbao.audit.models import AuditEvent
from review.models import ReconciliationSweep, RunTrigger
from review.services.reconciliation import (
    SWEEP_TASK,
    reconciliation_sweep_start,
    reconciliation_sweeps_catch_up,
)
from review.tasks import reconciliation_runs_requeue_task

pytestmark = pytest.mark.django_db


@pytest.fixture
def schedule():
    """The half-yearly schedule of migration 0004 (a transactional test elsewhere may have
    flushed it)."""
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="2", day_of_month="1", month_of_year="1,7", timezone="Asia/Shanghai"
    )
    task, _ = PeriodicTask.objects.get_or_create(
        task=SWEEP_TASK, defaults={"name": "半年台账比对（全区各旗县）", "crontab": crontab}
    )
    return task


@pytest.fixture
def sent(schedule):
    task = schedule

    def mark(ago: timedelta):
        task.last_run_at = timezone.now() - ago
        task.save(update_fields=["last_run_at"])
        return timezone.localdate(task.last_run_at)

    return mark


def test_a_sweep_sent_by_beat_an_hour_ago_and_never_started_is_started_for_its_day(
    findings_world, sent
):
    day = sent(timedelta(hours=1))

    assert reconciliation_sweeps_catch_up() == [day]

    sweep = ReconciliationSweep.objects.get()
    assert (sweep.as_of, sweep.trigger) == (day, RunTrigger.SCHEDULE)
    event = AuditEvent.objects.get(action="reconciliation.sweep_catch_up")
    assert event.object_id == str(sweep.pk)
    assert reconciliation_sweeps_catch_up() == []
    assert ReconciliationSweep.objects.count() == 1


def test_a_message_sent_a_minute_ago_may_still_be_on_its_way(findings_world, sent):
    sent(timedelta(minutes=1))

    assert reconciliation_sweeps_catch_up() == []
    assert ReconciliationSweep.objects.count() == 0


def test_a_sweep_that_started_is_not_started_again(findings_world, sent):
    day = sent(timedelta(hours=2))
    reconciliation_sweep_start(actor=None, as_of=day, trigger=RunTrigger.SCHEDULE)

    assert reconciliation_sweeps_catch_up() == []
    assert ReconciliationSweep.objects.count() == 1


def test_a_schedule_beat_never_sent_starts_nothing(findings_world, schedule):
    assert schedule.last_run_at is None

    assert reconciliation_sweeps_catch_up() == []


def test_the_requeue_task_catches_up_lost_sweeps(findings_world, sent):
    day = sent(timedelta(hours=1))

    reconciliation_runs_requeue_task()

    assert list(ReconciliationSweep.objects.values_list("as_of", flat=True)) == [day]
