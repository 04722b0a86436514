"""Load Inner Mongolia's region, 12 leagues/cities and 103 banners/counties on ``migrate``.

Uses ``apps.get_model`` only (no app code), and is idempotent like ``load_areas``.
"""

import csv
from pathlib import Path

from django.db import migrations

CSV_PATH = Path(__file__).resolve().parent.parent / "data" / "areas-inner-mongolia.csv"
DEPTH = {"region": 0, "league": 1, "county": 2, "township": 3, "village": 4}


def load(apps, schema_editor):
    Area = apps.get_model("areas", "Area")
    with CSV_PATH.open(encoding="utf-8-sig") as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: DEPTH[row["level"]])
    by_code = {area.code: area for area in Area.objects.all()}
    for row in rows:
        parent = by_code.get(row["parent_code"]) if row["parent_code"] else None
        path = f"{parent.path if parent else ''}{row['code']}/"
        area = by_code.get(row["code"])
        if area is None:
            by_code[row["code"]] = Area.objects.create(
                code=row["code"], name=row["name"], level=row["level"], parent=parent, path=path
            )
        elif (area.name, area.parent_id, area.path) != (row["name"], getattr(parent, "id", None), path):
            area.name, area.parent, area.path = row["name"], parent, path
            area.save(update_fields=["name", "parent", "path"])


class Migration(migrations.Migration):
    dependencies = [("areas", "0001_create_area_tree_and_roles")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
