"""Let each run's rewrite of ``ReconciliationItem.last_run`` be a heap-only (HOT) update:
no index on ``last_run`` and, on PostgreSQL, pages filled to half so the new row version fits
next to the old one (quality.md P5). SQLite needs neither."""

import django.db.models.deletion
from django.db import migrations, models


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE review_reconciliationitem SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE review_reconciliationitem RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0004_reconciliation_beat_schedule"),
    ]

    operations = [
        migrations.AlterField(
            model_name="reconciliationitem",
            name="last_run",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="review.reconciliationrun",
                verbose_name="最近发现",
            ),
        ),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
