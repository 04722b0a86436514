"""Encrypt the upload files stored plain before ``lowbao.imports.storage`` (quality.md S4).

Each stored file a batch points to that still lacks the encryption header is rewritten
encrypted under the current key, in place (same name: the name is the plain content's SHA-256),
atomically. Idempotent: encrypted files are skipped, so an interrupted run is simply run again.
Files that are gone are left to the batch (a check reports them). Nothing to do, no key needed.
The reverse is a no-op: encrypted files stay readable by every later version.
"""

from django.db import migrations


def encrypt_plain_files(apps, schema_editor):
    from lowbao.imports import storage

    batch_model = apps.get_model("imports", "ImportBatch")
    stored = sorted(set(batch_model.objects.exclude(file="").values_list("file", flat=True)))
    for relative in stored:
        try:
            if not storage.is_encrypted(relative):
                storage.reencrypt(relative)
        except FileNotFoundError:
            continue


class Migration(migrations.Migration):
    dependencies = [("imports", "0004_batch_claim_heartbeat")]

    operations = [migrations.RunPython(encrypt_plain_files, migrations.RunPython.noop)]
