"""TOTP second factor at login: who must pass it, enrolment, verification, recovery codes,
lockout, and what the middleware leaves alone (quality.md S3)."""

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken

from lowbao.accounts.models import EncryptedTOTPDevice, User
from lowbao.accounts.otp_protection import recovery_code_digest
from lowbao.accounts.second_factor import (
    role_requires_second_factor,
    second_factor_required_at_login,
)
from lowbao.accounts.services import api_client_create
from lowbao.areas.roles import ROLE_LEVELS, SYSTEM_ROLES, Role
from lowbao.audit.models import AuditEvent
from tests.lowbao.accounts.second_factor_helpers import enrol, password_login, totp_code

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
REQUIRED_ROLES = {
    Role.COUNTY_CIVIL_AFFAIRS,
    Role.COUNTY_POVERTY_OFFICE,
    Role.COUNTY_LEADER,
    Role.LEAGUE_OFFICER,
    Role.REGION_OFFICER,
    Role.DATA_ADMIN,
    Role.SECURITY_ADMIN,
    Role.AUDIT_ADMIN,
}
SETUP = "/accounts/two-factor/setup/"
VERIFY = "/accounts/two-factor/verify/"


@pytest.fixture(autouse=True)
def _fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def enforced(settings):
    """Enforcement on, and django-otp's per-device back-off off (its own test turns it on)."""
    settings.LOWBAO_OTP_ENFORCED = True
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.OTP_STATIC_THROTTLE_FACTOR = 0
    return settings


@pytest.fixture
def county_officer(areas, make_user):
    return make_user(role=Role.COUNTY_CIVIL_AFFAIRS, area=areas.county, username="minzheng")


def _area_for(role: str, areas):
    level = ROLE_LEVELS[role][0]
    return {
        "village": areas.village,
        "township": areas.township,
        "county": areas.county,
        "league": areas.league,
        "region": areas.region,
    }[level]


def _actions(user: User) -> list[str]:
    return list(
        AuditEvent.objects.filter(object_id=str(user.pk), action__startswith="second_factor.")
        .order_by("seq")
        .values_list("action", flat=True)
    )


def _wrong_code(device: EncryptedTOTPDevice) -> str:
    return f"{(int(totp_code(device)) + 500_000) % 1_000_000:06d}"


def test_required_roles_are_a_settings_table_of_known_role_codes(settings):
    assert set(settings.LOWBAO_OTP_REQUIRED_ROLES) == {role.value for role in REQUIRED_ROLES}
    assert set(settings.LOWBAO_OTP_REQUIRED_ROLES) <= set(Role.values)


@pytest.mark.parametrize("role", [role for role in Role if role not in SYSTEM_ROLES])
def test_second_factor_is_required_exactly_for_county_officials_and_admins(areas, make_user, role):
    user = make_user(role=role, area=_area_for(role, areas))

    assert role_requires_second_factor(user) is (role in REQUIRED_ROLES)


def test_superusers_and_staff_need_it_without_a_role(areas, make_user):
    superuser = make_user()
    User.objects.filter(pk=superuser.pk).update(is_superuser=True, is_staff=True)
    superuser.refresh_from_db()

    assert role_requires_second_factor(superuser) is True


def test_county_officer_without_device_must_enrol_before_any_page(enforced, areas, county_officer):
    client = password_login(county_officer)

    home = client.get("/")
    area_page = client.get(f"/areas/{areas.county.code}/")
    password_page = client.get("/accounts/password/")
    setup = client.get(home["Location"])

    assert home.status_code == 302
    assert home["Location"] == f"{SETUP}?next=%2F"
    assert area_page["Location"] == f"{SETUP}?next=%2Fareas%2F{areas.county.code}%2F"
    assert password_page["Location"] == f"{SETUP}?next=%2Faccounts%2Fpassword%2F"
    html = setup.content.decode()
    assert setup.status_code == 200
    assert "为保护群众个人信息，请先绑定手机上的身份验证器" in html
    device = EncryptedTOTPDevice.objects.get(user=county_officer, confirmed=False)
    secret = re.search(r'id="otp-secret">([A-Z2-7 ]+)<', html).group(1)
    assert secret.replace(" ", "") == device.config_url.split("secret=")[1].split("&")[0]
    assert re.search(r'<svg class="qr-code" id="otp-qr-code"[^>]*><path d="M[0-9.,HVMz]+"', html)
    assert setup["Cache-Control"] == "no-store"


def test_reloading_the_enrolment_page_keeps_the_same_secret(enforced, county_officer):
    client = password_login(county_officer)

    first = client.get(SETUP).content.decode()
    second = client.get(SETUP).content.decode()

    assert EncryptedTOTPDevice.objects.filter(user=county_officer).count() == 1
    secret = re.compile(r'id="otp-secret">([A-Z2-7 ]+)<')
    assert secret.search(first).group(1) == secret.search(second).group(1)


def test_enrolment_with_the_right_code_shows_ten_recovery_codes_once(enforced, county_officer):
    client = password_login(county_officer)
    client.get(SETUP)
    device = EncryptedTOTPDevice.objects.get(user=county_officer)

    response = client.post(SETUP, {"token": totp_code(device), "next": "/"})

    html = response.content.decode()
    codes = re.findall(r"<li>([a-z2-7]{4})-([a-z2-7]{4})</li>", html)
    assert response.status_code == 200
    assert "身份验证器已绑定。" in html
    assert len(codes) == 10
    stored = set(
        StaticToken.objects.filter(device__user=county_officer).values_list("token", flat=True)
    )
    assert stored == {recovery_code_digest(county_officer.pk, a + b) for a, b in codes}
    device.refresh_from_db()
    county_officer.refresh_from_db()
    assert device.confirmed is True
    assert county_officer.second_factor_enrolled is True
    assert _actions(county_officer) == ["second_factor.enrol"]
    assert client.get("/").status_code == 200
    overview = client.get("/accounts/two-factor/").content.decode()
    assert '剩余可用恢复码：<strong id="recovery-codes-left">10</strong>' in overview
    assert not any(a + b in overview or f"{a}-{b}" in overview for a, b in codes)


def test_enrolment_with_a_wrong_code_is_refused_and_changes_nothing(enforced, county_officer):
    client = password_login(county_officer)
    client.get(SETUP)
    device = EncryptedTOTPDevice.objects.get(user=county_officer)
    wrong = _wrong_code(device)

    response = client.post(SETUP, {"token": wrong})

    assert response.status_code == 200
    assert (
        "动态口令不正确：请核对手机时间，输入应用中当前显示的 6 位数字。"
        in response.content.decode()
    )
    device.refresh_from_db()
    county_officer.refresh_from_db()
    assert device.confirmed is False
    assert county_officer.second_factor_enrolled is False
    assert StaticDevice.objects.filter(user=county_officer).count() == 0
    assert _actions(county_officer) == []
    assert client.get("/")["Location"] == f"{SETUP}?next=%2F"


def test_enrolled_user_goes_to_verify_and_the_right_code_opens_the_pages(
    enforced, areas, county_officer
):
    enrolled = enrol(county_officer)
    client = password_login(county_officer)
    wanted = f"/areas/{areas.county.code}/"

    redirect = client.get(wanted)
    page = client.get(redirect["Location"])
    verified = client.post(
        VERIFY, {"token": totp_code(enrolled.device, steps_ahead=1), "next": wanted}
    )

    assert redirect["Location"] == f"{VERIFY}?next=%2Fareas%2F{areas.county.code}%2F"
    assert page.status_code == 200
    assert "请输入手机身份验证器中显示的 6 位动态口令" in page.content.decode()
    assert verified.status_code == 302
    assert verified["Location"] == wanted
    assert client.get(wanted).status_code == 200


def test_verify_ignores_a_next_url_on_another_site(enforced, county_officer):
    enrolled = enrol(county_officer)
    client = password_login(county_officer)

    response = client.post(
        VERIFY,
        {"token": totp_code(enrolled.device, steps_ahead=1), "next": "https://evil.example/"},
    )

    assert response["Location"] == "/"


def test_a_code_cannot_be_used_twice(enforced, county_officer):
    enrolled = enrol(county_officer)
    code = totp_code(enrolled.device, steps_ahead=1)
    first = password_login(county_officer)
    assert first.post(VERIFY, {"token": code})["Location"] == "/"
    second = password_login(county_officer)

    response = second.post(VERIFY, {"token": code})

    assert response.status_code == 200
    assert "动态口令或恢复码不正确，还可再试 4 次。" in response.content.decode()
    assert second.get("/")["Location"] == f"{VERIFY}?next=%2F"


def test_a_recovery_code_works_once_and_is_audited(enforced, county_officer):
    enrolled = enrol(county_officer)
    code = enrolled.recovery_codes[0]
    client = password_login(county_officer)

    response = client.post(VERIFY, {"token": f"{code[:4].upper()}-{code[4:].upper()}"})

    assert response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert not StaticToken.objects.filter(
        token=recovery_code_digest(county_officer.pk, code)
    ).exists()
    event = AuditEvent.objects.get(action="second_factor.recovery_code_used")
    assert event.changes == {"recovery_codes_left": 9}
    again = password_login(county_officer).post(VERIFY, {"token": code})
    assert "动态口令或恢复码不正确" in again.content.decode()


def test_five_wrong_codes_log_out_and_shut_the_verify_step(enforced, county_officer):
    enrolled = enrol(county_officer)
    client = password_login(county_officer)
    wrong = _wrong_code(enrolled.device)

    messages = [client.post(VERIFY, {"token": wrong}) for _ in range(4)]
    fifth = client.post(VERIFY, {"token": wrong})

    assert [r.status_code for r in messages] == [200, 200, 200, 200]
    assert "还可再试 1 次" in messages[3].content.decode()
    assert fifth.status_code == 302
    assert fifth["Location"] == "/accounts/login/?second_factor_locked=1"
    assert "_auth_user_id" not in client.session
    login_page = client.get(fifth["Location"]).content.decode()
    assert "动态口令连续错误次数过多，已退出登录" in login_page
    assert _actions(county_officer) == [
        "second_factor.enrol",
        *["second_factor.verify_failed"] * 5,
        "second_factor.lockout",
    ]
    lockout = AuditEvent.objects.get(action="second_factor.lockout")
    assert lockout.changes == {"failures": 5, "minutes": 15}
    # The password still works (django-axes counts passwords), but the verify step stays shut.
    again = password_login(county_officer)
    refused = again.post(VERIFY, {"token": totp_code(enrolled.device, steps_ahead=1)})
    assert refused["Location"] == "/accounts/login/?second_factor_locked=1"
    assert "_auth_user_id" not in again.session


def test_the_verify_step_opens_again_after_the_lockout_window(enforced, county_officer):
    enforced.LOWBAO_OTP_LOCKOUT_SECONDS = 1
    enrolled = enrol(county_officer)
    client = password_login(county_officer)
    for _ in range(5):
        client.post(VERIFY, {"token": _wrong_code(enrolled.device)})
    time.sleep(1.2)
    client = password_login(county_officer)

    response = client.post(VERIFY, {"token": totp_code(enrolled.device, steps_ahead=1)})

    assert response["Location"] == "/"


def test_django_otp_back_off_asks_to_wait_without_counting_a_failure(enforced, county_officer):
    enforced.OTP_TOTP_THROTTLE_FACTOR = 60
    enrolled = enrol(county_officer)
    client = password_login(county_officer)
    wrong = _wrong_code(enrolled.device)
    client.post(VERIFY, {"token": wrong})

    response = client.post(VERIFY, {"token": totp_code(enrolled.device, steps_ahead=1)})

    assert re.search(r"尝试过于频繁，请 (59|60) 秒后再试。", response.content.decode())
    assert _actions(county_officer).count("second_factor.verify_failed") == 1


def test_unverified_session_gets_a_json_403_from_the_api(enforced, county_officer):
    enrol(county_officer)
    client = password_login(county_officer)

    response = client.get("/api/v1/areas/")

    assert response.status_code == 403
    assert response.json() == {
        "code": "second_factor_required",
        "message": "请先在网页上完成两步验证（动态口令）",
        "fields": {},
    }


def test_api_token_requests_are_not_affected(enforced, areas):
    client_account = api_client_create(
        actor=None, name="script-region", role=Role.REGION_OFFICER, area=areas.region
    )

    response = Client().get("/api/v1/areas/", HTTP_AUTHORIZATION=f"Token {client_account.token}")

    assert response.status_code == 200


def test_static_files_and_logout_work_before_verification(enforced, county_officer):
    enrol(county_officer)
    client = password_login(county_officer)

    static = client.get("/static/css/lowbao.css")
    logout = client.post("/accounts/logout/")

    assert static.status_code == 200
    assert logout.status_code == 302
    assert logout["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


def test_township_caseworker_is_not_asked_while_enforced(enforced, areas, make_user):
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)

    assert password_login(user).get("/").status_code == 200


def test_superuser_must_enrol_while_enforced(enforced, areas, make_user):
    user = make_user()
    User.objects.filter(pk=user.pk).update(is_superuser=True, is_staff=True)

    assert password_login(user).get("/admin/")["Location"] == f"{SETUP}?next=%2Fadmin%2F"


def test_enforcement_off_asks_only_users_who_enrolled(settings, areas, county_officer, make_user):
    settings.LOWBAO_OTP_ENFORCED = False
    other = make_user(role=Role.COUNTY_LEADER, area=areas.county)
    enrol(county_officer)

    assert password_login(other).get("/").status_code == 200
    assert password_login(county_officer).get("/")["Location"] == f"{VERIFY}?next=%2F"


def test_enrolled_but_unverified_user_cannot_replace_the_device(enforced, county_officer):
    enrol(county_officer)
    client = password_login(county_officer)

    response = client.get(SETUP)

    assert response["Location"] == f"{VERIFY}?next=%2F"
    assert EncryptedTOTPDevice.objects.filter(user=county_officer).count() == 1


def test_verified_user_replaces_the_device_and_old_codes_stop_working(enforced, county_officer):
    old = enrol(county_officer)
    client = password_login(county_officer)
    client.post(VERIFY, {"token": totp_code(old.device, steps_ahead=1)})
    client.get(SETUP)
    new_device = EncryptedTOTPDevice.objects.get(user=county_officer, confirmed=False)

    response = client.post(SETUP, {"token": totp_code(new_device)})

    assert response.status_code == 200
    assert list(EncryptedTOTPDevice.objects.filter(user=county_officer)) == [new_device]
    assert not StaticToken.objects.filter(
        token__in=[recovery_code_digest(county_officer.pk, code) for code in old.recovery_codes]
    ).exists()
    event = AuditEvent.objects.filter(action="second_factor.enrol").order_by("-seq").first()
    assert event.changes == {"replaced_device": True, "recovery_codes": 10}
    assert client.get("/").status_code == 200


def test_regenerating_recovery_codes_voids_the_old_ones_and_is_audited(enforced, county_officer):
    old = enrol(county_officer)
    client = password_login(county_officer)
    client.post(VERIFY, {"token": old.recovery_codes[0]})

    response = client.post("/accounts/two-factor/recovery-codes/")

    codes = re.findall(r"<li>([a-z2-7]{4})-([a-z2-7]{4})</li>", response.content.decode())
    assert len(codes) == 10
    assert not StaticToken.objects.filter(
        token__in=[recovery_code_digest(county_officer.pk, code) for code in old.recovery_codes]
    ).exists()
    assert StaticToken.objects.filter(device__user=county_officer).count() == 10
    assert _actions(county_officer)[-1] == "second_factor.recovery_codes_regenerate"
    # The session was verified with a recovery code of the same device: it stays verified.
    assert client.get("/").status_code == 200


def test_regenerating_without_a_device_is_refused(areas, make_user, login_client):
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)
    client = login_client(user)

    response = client.post("/accounts/two-factor/recovery-codes/", follow=True)

    assert "尚未绑定身份验证器，不能生成恢复码。" in response.content.decode()
    assert StaticDevice.objects.filter(user=user).count() == 0


def test_anyone_may_enrol_voluntarily_and_is_then_asked_at_login(settings, areas, make_user):
    settings.LOWBAO_OTP_ENFORCED = False
    user = make_user(role=Role.TOWNSHIP_HEAD, area=areas.township)
    client = password_login(user)
    overview = client.get("/accounts/two-factor/").content.decode()
    client.get(SETUP)
    device = EncryptedTOTPDevice.objects.get(user=user)

    client.post(SETUP, {"token": totp_code(device)})

    assert "绑定后，登录和签批时须输入动态口令" in overview
    assert password_login(user).get("/")["Location"] == f"{VERIFY}?next=%2F"


@pytest.mark.parametrize(
    ("_case", "demo_mode", "expected"), [("demo", "1", "False"), ("no_demo", "0", "True")]
)
def test_local_settings_turn_enforcement_off_only_in_demo_mode(_case, demo_mode, expected):
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "from django.conf import settings; print(settings.LOWBAO_OTP_ENFORCED)",
        ],
        cwd=ROOT,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "lowbao.settings.local",
            "LOWBAO_DEMO_MODE": demo_mode,
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == expected


def test_deciding_costs_no_query_while_not_enforced(
    settings, county_officer, django_assert_num_queries
):
    settings.LOWBAO_OTP_ENFORCED = False

    with django_assert_num_queries(0):
        assert second_factor_required_at_login(county_officer) is False


def test_deciding_reads_the_assignments_once_per_request_while_enforced(
    enforced, county_officer, django_assert_num_queries
):
    with django_assert_num_queries(1):
        assert second_factor_required_at_login(county_officer) is True
        assert second_factor_required_at_login(county_officer) is True


def test_an_enrolment_flag_without_a_device_leads_to_enrolment_not_a_dead_end(
    enforced, county_officer
):
    User.objects.filter(pk=county_officer.pk).update(second_factor_enrolled=True)
    client = password_login(county_officer)

    to_verify = client.get("/")
    to_setup = client.get(to_verify["Location"])

    assert to_verify["Location"] == f"{VERIFY}?next=%2F"
    assert to_setup["Location"] == f"{SETUP}?next=%2F"
    assert client.get(to_setup["Location"]).status_code == 200
