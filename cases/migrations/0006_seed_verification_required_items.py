"""逢救必核 defaults: the seeded region rows require vehicle, real-estate, business-registration
and deposit reports not older than 180 days before county approval (domain.md §11; the list is
[CFG] — counties with a wider platform add securities, insurance, social insurance, tax …)."""

from django.db import migrations

DEFAULT_ITEMS = ["vehicle", "real_estate", "business", "deposits"]


def seed(apps, schema_editor):
    PolicySetting = apps.get_model("cases", "PolicySetting")
    PolicySetting.objects.filter(area__code="150000000000", verification_required_items=[]).update(
        verification_required_items=DEFAULT_ITEMS
    )


class Migration(migrations.Migration):
    dependencies = [("cases", "0005_policy_add_verification_rules")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
