"""Move the second factor's secrets out of plain text (quality.md S3, S4).

- Every ``otp_totp.TOTPDevice`` becomes an ``accounts.EncryptedTOTPDevice`` with the same state
  (user, name, confirmed, step, drift, last step used, back-off, timestamps) and its secret
  encrypted under the current field key; the plain row is deleted. Authenticator apps keep
  working (same secret); sessions verified with the old device are asked for a code again.
- Every plain recovery code in ``otp_static.StaticToken`` is replaced by its keyed hash
  (``lowbao.accounts.otp_protection.recovery_code_digest``); the codes users hold keep working.

Batched by primary key and idempotent: a re-run finds no plain device and skips every token
that is already a digest (16 characters; a plain code has 8).

Reverse: devices are decrypted back into ``otp_totp.TOTPDevice``. Recovery codes cannot be
recovered from their hashes, so they stay hashed and stop matching: users regenerate them.
"""

from django.db import migrations

from lowbao.accounts.otp_protection import PLAIN_RECOVERY_CODE, recovery_code_digest
from lowbao.people.protection import decrypt, encrypt

BATCH_SIZE = 500
DEVICE_STATE_FIELDS = (
    "user_id",
    "name",
    "confirmed",
    "throttling_failure_timestamp",
    "throttling_failure_count",
    "created_at",
    "last_used_at",
    "step",
    "t0",
    "digits",
    "tolerance",
    "drift",
    "last_t",
)


def _batches(queryset):
    last_pk = 0
    while True:
        rows = list(queryset.filter(pk__gt=last_pk).order_by("pk")[:BATCH_SIZE])
        if not rows:
            return
        yield rows
        last_pk = rows[-1].pk


def _copy_devices(source_model, target_model, secret):
    """Copy every device of ``source_model`` with ``secret(device)`` as its key, then delete it."""
    key_field = "key" if target_model._meta.model_name == "totpdevice" else "key_ciphertext"
    for devices in _batches(source_model.objects.all()):
        copies = target_model.objects.bulk_create(
            target_model(
                **{key_field: secret(device)},
                **{name: getattr(device, name) for name in DEVICE_STATE_FIELDS},
            )
            for device in devices
        )
        # created_at is auto_now_add, so the insert stamped "now": put the original back.
        for device, copy in zip(devices, copies, strict=True):
            target_model.objects.filter(pk=copy.pk).update(created_at=device.created_at)
        source_model.objects.filter(pk__in=[device.pk for device in devices]).delete()


def encrypt_totp_devices(apps, schema_editor):
    _copy_devices(
        apps.get_model("otp_totp", "TOTPDevice"),
        apps.get_model("accounts", "EncryptedTOTPDevice"),
        lambda device: encrypt(device.key),
    )


def hash_recovery_codes(apps, schema_editor):
    token_model = apps.get_model("otp_static", "StaticToken")
    for tokens in _batches(token_model.objects.select_related("device")):
        plain = [token for token in tokens if PLAIN_RECOVERY_CODE.fullmatch(token.token)]
        for token in plain:
            token.token = recovery_code_digest(token.device.user_id, token.token)
        token_model.objects.bulk_update(plain, ["token"])


def decrypt_totp_devices(apps, schema_editor):
    _copy_devices(
        apps.get_model("accounts", "EncryptedTOTPDevice"),
        apps.get_model("otp_totp", "TOTPDevice"),
        lambda device: decrypt(device.key_ciphertext),
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_encrypted_totp_device"),
        ("otp_totp", "0003_add_timestamps"),
        ("otp_static", "0003_add_timestamps"),
    ]

    operations = [
        migrations.RunPython(encrypt_totp_devices, decrypt_totp_devices),
        migrations.RunPython(hash_recovery_codes, migrations.RunPython.noop),
    ]
