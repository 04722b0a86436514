"""Login, lockout, password rules, forced changes and session lifetime (quality.md S3)."""

import time
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from lowbao.accounts.models import User
from lowbao.areas.roles import Role
from tests.fixtures.accounts import PASSWORD

pytestmark = pytest.mark.django_db


def _post_login(client: Client, username: str, password: str):
    return client.post("/accounts/login/", {"username": username, "password": password})


def test_correct_password_logs_in_and_lands_on_the_workbench(areas, make_user):
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township, username="zhangsan")
    client = Client()

    response = _post_login(client, "zhangsan", PASSWORD)

    assert response.status_code == 302
    assert response["Location"] == "/"
    home = client.get("/")
    assert "察素齐镇" in home.content.decode()
    assert int(client.session["_auth_user_id"]) == user.pk


def test_wrong_password_shows_a_chinese_message(areas, make_user):
    make_user(username="lisi")

    response = _post_login(Client(), "lisi", "wrong-password")

    assert response.status_code == 200
    assert "用户名或密码错误。连续失败 5 次将锁定 15 分钟。" in response.content.decode()


def test_five_failures_lock_the_account_even_with_the_right_password(areas, make_user):
    make_user(username="wangwu")
    client = Client()
    for _ in range(5):
        _post_login(client, "wangwu", "wrong-password")

    response = _post_login(client, "wangwu", PASSWORD)

    assert response.status_code == 429
    assert "该账号已被锁定 15 分钟" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_lockout_ends_after_fifteen_minutes(areas, make_user):
    make_user(username="zhaoliu")
    client = Client()
    for _ in range(5):
        _post_login(client, "zhaoliu", "wrong-password")
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = _post_login(client, "zhaoliu", PASSWORD)

    assert response.status_code == 302


def test_four_failures_do_not_lock(areas, make_user):
    make_user(username="sunqi")
    client = Client()
    for _ in range(4):
        _post_login(client, "sunqi", "wrong-password")

    assert _post_login(client, "sunqi", PASSWORD).status_code == 302


def test_service_account_cannot_log_in_to_pages(areas, make_user):
    user = make_user(username="system1")
    User.objects.filter(pk=user.pk).update(is_service_account=True)

    response = _post_login(Client(), "system1", PASSWORD)

    assert response.status_code == 200
    assert "接口账号不能登录网页。" in response.content.decode()


def test_first_login_forces_a_password_change(areas, make_user, login_client):
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township, must_change_password=True)
    client = login_client(user)

    assert client.get("/").headers["Location"] == "/accounts/password/"
    assert client.get(f"/areas/{areas.township.code}/").headers["Location"] == "/accounts/password/"
    page = client.get("/accounts/password/")
    assert "首次登录或密码已到期，请先修改密码再继续。" in page.content.decode()

    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Grassland#Spring7",
            "new_password2": "Grassland#Spring7",
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.must_change_password is False
    assert user.check_password("Grassland#Spring7")
    assert client.get("/").status_code == 200


def test_password_older_than_the_configured_period_must_change(
    areas, make_user, login_client, settings
):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=91))

    assert login_client(user).get("/").status_code == 302


def test_password_within_the_period_is_fine(areas, make_user, login_client, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)
    User.objects.filter(pk=user.pk).update(password_changed_at=timezone.now() - timedelta(days=89))

    assert login_client(user).get("/").status_code == 200


@pytest.mark.parametrize(
    ("_case", "password", "message"),
    [
        ("chinese_common", "Huhehaote@123", "该密码过于常见，请换一个。"),
        ("too_short", "Ab#12345", "密码太短，至少需要 10 个字符。"),
        (
            "two_classes",
            "grasslandspring",
            "密码须至少包含大写字母、小写字母、数字、符号中的三类。",
        ),
        ("all_digits", "52013145201314", "密码只包含数字。"),
    ],
)
def test_weak_new_password_is_refused_with_the_rule(
    areas, make_user, login_client, _case, password, message
):
    user = make_user(must_change_password=True)
    client = login_client(user)

    response = client.post(
        "/accounts/password/",
        {"old_password": PASSWORD, "new_password1": password, "new_password2": password},
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert user.must_change_password is True


def test_mismatched_confirmation_is_refused(areas, make_user, login_client):
    client = login_client(make_user())

    response = client.post(
        "/accounts/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Grassland#Spring7",
            "new_password2": "Grassland#Spring8",
        },
    )

    assert "两次输入的新密码不一致。" in response.content.decode()


def test_session_ends_twelve_hours_after_login_however_active(areas, make_user, login_client):
    client = login_client(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))
    assert client.get("/").status_code == 200
    session = client.session
    session["lowbao_session_started"] = int(time.time()) - 12 * 3600 - 1
    session.save()

    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?expired=1"
    assert client.get("/").status_code == 302


def test_idle_timeout_is_fifteen_minutes_renewed_by_activity_once_a_minute(settings):
    assert settings.SESSION_COOKIE_AGE == 15 * 60
    assert settings.SESSION_RENEW_SECONDS == 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False


def test_logout_needs_post_and_ends_the_session(areas, make_user, login_client):
    client = login_client(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))

    response = client.post("/accounts/logout/")

    assert response.status_code == 302
    assert client.get("/").status_code == 302
