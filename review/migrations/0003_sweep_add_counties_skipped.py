from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("review", "0002_annual_review_campaign"),
    ]

    operations = [
        migrations.AddField(
            model_name="reconciliationsweep",
            name="counties_skipped",
            field=models.PositiveIntegerField(
                default=0,
                help_text="发起时已有比对在进行的旗县，未列入本次",
                verbose_name="跳过旗县数",
            ),
        ),
    ]
