"""The second factor's secrets at rest (quality.md S3, S4): the TOTP secret only as AES-GCM
ciphertext under the field keys (rotated with them), recovery codes only as keyed hashes, and a
secret that cannot be decrypted fails closed with a clear message."""

import importlib
from base64 import b32encode
from io import StringIO

import pytest
from django.apps import apps as django_apps
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from lowbao.accounts.models import EncryptedTOTPDevice
from lowbao.accounts.otp_protection import recovery_code_digest
from lowbao.accounts.reauth import reauthenticate
from lowbao.accounts.second_factor import (
    KEY_UNREADABLE_MESSAGE,
    failure_count,
    totp_enrolment_start,
)
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.people.key_rotation import protected_columns
from lowbao.people.protection import decrypt, encrypt, key_id_of
from tests.fixtures.accounts import PASSWORD
from tests.lowbao.accounts.second_factor_helpers import enrol, password_login, totp_code

pytestmark = pytest.mark.django_db

VERIFY = "/accounts/two-factor/verify/"
UNDER_TEST2 = override_settings(FIELD_ENCRYPTION_CURRENT_KEY_ID="test2")
data_migration = importlib.import_module(
    "lowbao.accounts.migrations.0004_protect_second_factor_secrets"
)


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def enforced(settings):
    settings.LOWBAO_OTP_ENFORCED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    return settings


@pytest.fixture
def county_officer(areas, make_user):
    return make_user(role=Role.COUNTY_CIVIL_AFFAIRS, area=areas.county, username="minzheng")


def _raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return list(cursor.fetchall())


def _secret_forms(device: EncryptedTOTPDevice) -> set[str]:
    """The secret as hex (django-otp's column format) and as base32 (what the app shows)."""
    key = device.bin_key
    base32 = b32encode(key).decode("ascii").rstrip("=")
    return {key.hex(), key.hex().upper(), base32, base32.lower()}


def test_the_totp_secret_rests_only_as_ciphertext_under_the_current_key(county_officer):
    enrolled = enrol(county_officer)
    device = enrolled.device

    rows = _raw_rows(EncryptedTOTPDevice._meta.db_table)

    assert len(rows) == 1
    stored = " ".join(str(value) for value in rows[0])
    assert [form for form in _secret_forms(device) if form in stored] == []
    assert key_id_of(device.key_ciphertext) == "test1"
    assert bytes.fromhex(decrypt(device.key_ciphertext)) == device.bin_key
    assert len(device.bin_key) == 20
    assert _raw_rows(TOTPDevice._meta.db_table) == []


def test_two_devices_with_the_same_secret_get_different_ciphertexts(county_officer):
    device = totp_enrolment_start(actor=county_officer)
    plain = decrypt(device.key_ciphertext)

    again = encrypt(plain)

    assert again != device.key_ciphertext
    assert decrypt(again) == plain


def test_recovery_codes_rest_only_as_keyed_hashes(county_officer, settings):
    codes = enrol(county_officer).recovery_codes

    stored = list(StaticToken.objects.values_list("token", flat=True))
    raw = " ".join(str(value) for row in _raw_rows(StaticToken._meta.db_table) for value in row)

    assert len(codes) == 10
    assert [code for code in codes if code in raw or code.upper() in raw] == []
    assert sorted(stored) == sorted(recovery_code_digest(county_officer.pk, c) for c in codes)
    assert {len(token) for token in stored} == {16}
    settings.BLIND_INDEX_KEY = "b3RoZXItYmxpbmQtaW5kZXgta2V5LTMyLWJ5dGVzLS0="
    assert recovery_code_digest(county_officer.pk, codes[0]) not in stored


def test_the_same_recovery_code_hashes_differently_for_two_users(county_officer, make_user):
    other = make_user()

    assert recovery_code_digest(county_officer.pk, "abcd2345") != recovery_code_digest(
        other.pk, "abcd2345"
    )


def test_a_stored_hash_typed_as_a_code_is_refused(enforced, county_officer):
    enrol(county_officer)
    digest = StaticToken.objects.filter(device__user=county_officer).values_list(
        "token", flat=True
    )[0]
    client = password_login(county_officer)

    response = client.post(VERIFY, {"token": digest})

    assert response.status_code == 200
    assert "动态口令或恢复码不正确，还可再试 4 次。" in response.content.decode()
    assert StaticToken.objects.filter(device__user=county_officer).count() == 10


def test_the_totp_column_is_one_of_the_rotated_protected_columns():
    labels = {column.label for column in protected_columns()}

    assert "accounts.encryptedtotpdevice.key_ciphertext" in labels


def test_rotation_reencrypts_the_secret_and_the_app_keeps_working(enforced, county_officer):
    with UNDER_TEST2:
        enrolled = enrol(county_officer)
    device = enrolled.device
    old_token = device.key_ciphertext
    old_key = device.bin_key
    assert key_id_of(old_token) == "test2"

    out = StringIO()
    call_command("rotate_field_keys", stdout=out)

    device.refresh_from_db()
    assert key_id_of(device.key_ciphertext) == "test1"
    assert device.key_ciphertext != old_token
    assert device.bin_key == old_key
    expected = "accounts.encryptedtotpdevice.key_ciphertext：轮换前 test2=1；已改用 test1 加密 1 行"
    assert expected in out.getvalue().splitlines()
    event = AuditEvent.objects.get(
        action="protection.key_rotate", object_type="accounts.encryptedtotpdevice"
    )
    assert event.object_id == "key_ciphertext"
    assert event.changes["rotated"] == 1
    client = password_login(county_officer)
    response = client.post(VERIFY, {"token": totp_code(device, steps_ahead=1)})
    assert response.status_code == 302
    assert client.get("/").status_code == 200


@pytest.fixture
def enrolled_under_a_removed_key(enforced, county_officer, settings):
    """Enrolled under key test2, which is then taken out of FIELD_ENCRYPTION_KEYS."""
    with UNDER_TEST2:
        enrolled = enrol(county_officer)
        code = totp_code(enrolled.device, steps_ahead=1)
    settings.FIELD_ENCRYPTION_KEYS = {"test1": settings.FIELD_ENCRYPTION_KEYS["test1"]}
    return enrolled, code


def test_a_device_under_a_removed_key_fails_closed_at_login(
    enrolled_under_a_removed_key, county_officer, caplog
):
    enrolled, code = enrolled_under_a_removed_key
    client = password_login(county_officer)

    response = client.post(VERIFY, {"token": code})

    assert response.status_code == 200
    assert KEY_UNREADABLE_MESSAGE in response.content.decode()
    assert client.get("/")["Location"] == f"{VERIFY}?next=%2F"
    assert failure_count(county_officer) == 0
    device = EncryptedTOTPDevice.objects.get(pk=enrolled.device.pk)
    assert device.throttling_failure_count == 0
    assert device.last_t == enrolled.device.last_t
    assert "cannot be decrypted" in caplog.text
    assert "'test2'" in caplog.text
    assert code not in caplog.text


def test_a_recovery_code_still_gets_in_when_the_totp_key_is_gone(
    enrolled_under_a_removed_key, county_officer
):
    enrolled, _code = enrolled_under_a_removed_key
    client = password_login(county_officer)

    response = client.post(VERIFY, {"token": enrolled.recovery_codes[0]})

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_a_device_under_a_removed_key_fails_closed_at_sign_off(
    enrolled_under_a_removed_key, county_officer
):
    _enrolled, code = enrolled_under_a_removed_key

    with pytest.raises(DomainError) as refusal:
        reauthenticate(user=county_officer, password=PASSWORD, otp_token=code)

    assert refusal.value.code == "reauth_otp"
    assert refusal.value.status == 403
    assert refusal.value.message == KEY_UNREADABLE_MESSAGE
    assert failure_count(county_officer) == 0


def test_a_tampered_secret_fails_closed(enforced, county_officer):
    enrolled = enrol(county_officer)
    code = totp_code(enrolled.device, steps_ahead=1)
    token = enrolled.device.key_ciphertext
    flipped = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    EncryptedTOTPDevice.objects.filter(pk=enrolled.device.pk).update(key_ciphertext=flipped)
    client = password_login(county_officer)

    response = client.post(VERIFY, {"token": code})

    assert KEY_UNREADABLE_MESSAGE in response.content.decode()
    assert client.get("/")["Location"] == f"{VERIFY}?next=%2F"


def test_a_pending_device_under_a_removed_key_is_replaced_on_the_enrolment_page(
    county_officer, settings
):
    with UNDER_TEST2:
        pending = totp_enrolment_start(actor=county_officer)
    settings.FIELD_ENCRYPTION_KEYS = {"test1": settings.FIELD_ENCRYPTION_KEYS["test1"]}

    fresh = totp_enrolment_start(actor=county_officer)

    assert fresh.pk != pending.pk
    assert key_id_of(fresh.key_ciphertext) == "test1"
    assert list(EncryptedTOTPDevice.objects.filter(user=county_officer)) == [fresh]


# --- the data migration ----------------------------------------------------------------------


def _plain_enrolment(user) -> tuple[TOTPDevice, list[str]]:
    """A user as django-otp stored them before the migration: plain hex key, plain codes."""
    device = TOTPDevice.objects.create(user=user, name="身份验证器", confirmed=True, last_t=7)
    static = StaticDevice.objects.create(user=user, name="恢复码", confirmed=True)
    codes = ["abcd2345", "efgh6723"]
    StaticToken.objects.bulk_create(StaticToken(device=static, token=code) for code in codes)
    return device, codes


def test_the_data_migration_encrypts_old_devices_and_hashes_old_codes(enforced, county_officer):
    plain_device, codes = _plain_enrolment(county_officer)
    county_officer.second_factor_enrolled = True
    county_officer.save(update_fields=["second_factor_enrolled"])

    data_migration.encrypt_totp_devices(django_apps, None)
    data_migration.hash_recovery_codes(django_apps, None)
    data_migration.encrypt_totp_devices(django_apps, None)  # a re-run changes nothing
    data_migration.hash_recovery_codes(django_apps, None)

    assert TOTPDevice.objects.count() == 0
    device = EncryptedTOTPDevice.objects.get(user=county_officer)
    assert device.bin_key.hex() == plain_device.key
    assert (device.confirmed, device.last_t, device.name) == (True, 7, "身份验证器")
    assert device.created_at == plain_device.created_at
    assert key_id_of(device.key_ciphertext) == "test1"
    assert sorted(StaticToken.objects.values_list("token", flat=True)) == sorted(
        recovery_code_digest(county_officer.pk, code) for code in codes
    )
    client = password_login(county_officer)
    assert client.post(VERIFY, {"token": totp_code(device)}).status_code == 302
    assert password_login(county_officer).post(VERIFY, {"token": codes[1]}).status_code == 302


def test_the_data_migration_reverses_devices_to_plain_hex(county_officer):
    enrolled = enrol(county_officer)
    secret = enrolled.device.bin_key

    data_migration.decrypt_totp_devices(django_apps, None)

    assert EncryptedTOTPDevice.objects.count() == 0
    assert TOTPDevice.objects.get(user=county_officer).key == secret.hex()
