"""The half-yearly reconciliation in celery beat's ``DatabaseScheduler`` tables (issue 6).

Default: 1 January and 1 July at 02:00 Asia/Shanghai (reconciliation.md). The row is created
only when no periodic task of that name exists, so a schedule edited or disabled in the admin
("Periodic tasks") is never overwritten; reversing the migration leaves it alone too.
"""

from django.db import migrations
from django.utils import timezone

TASK = "review.tasks.reconciliation_sweep_task"
NAME = "半年台账比对（全区各旗县）"
DESCRIPTION = (
    "每半年比对各旗县的低保/特困在保户与建档立卡台账（默认每年1月1日、7月1日 02:00，"
    "北京时间）。可在此修改执行时间或停用。"
)


def create_schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTasks = apps.get_model("django_celery_beat", "PeriodicTasks")
    if PeriodicTask.objects.filter(name=NAME).exists():
        return
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0",
        hour="2",
        day_of_week="*",
        day_of_month="1",
        month_of_year="1,7",
        timezone="Asia/Shanghai",
    )
    PeriodicTask.objects.create(
        name=NAME, task=TASK, crontab=crontab, enabled=True, description=DESCRIPTION
    )
    # tell a running beat (DatabaseScheduler) that its schedule changed
    PeriodicTasks.objects.update_or_create(ident=1, defaults={"last_update": timezone.now()})


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0003_sweep_add_counties_skipped"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create_schedule, migrations.RunPython.noop)]
