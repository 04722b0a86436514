"""A security admin resets a user's second factor (lost phone): scope, reason, audit, not self."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp.plugins.otp_static.models import StaticDevice

from lowbao.accounts.models import EncryptedTOTPDevice, User
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from tests.lowbao.accounts.second_factor_helpers import enrol, password_login, verified_login

pytestmark = pytest.mark.django_db

SEARCH = "/accounts/two-factor/reset/"


def _reset_url(user: User) -> str:
    return f"/accounts/two-factor/reset/{user.pk}/"


@pytest.fixture
def security_admin(areas, make_user):
    return make_user(role=Role.SECURITY_ADMIN, area=areas.county, username="anquan")


@pytest.fixture
def officer(areas, make_user):
    user = make_user(role=Role.COUNTY_CIVIL_AFFAIRS, area=areas.county, username="wangminzheng")
    enrol(user)
    return user


def _devices(user: User) -> tuple[int, int]:
    return (
        EncryptedTOTPDevice.objects.filter(user=user).count(),
        StaticDevice.objects.filter(user=user).count(),
    )


def test_reset_deletes_the_devices_audits_the_reason_and_forces_enrolment(
    settings, areas, security_admin, officer, login_client
):
    client = login_client(security_admin)

    response = client.post(_reset_url(officer), {"reason": "手机丢失，本人到窗口核实身份"})

    assert response.status_code == 302
    assert response["Location"] == f"{SEARCH}?q=wangminzheng"
    officer.refresh_from_db()
    assert officer.second_factor_enrolled is False
    assert _devices(officer) == (0, 0)
    event = AuditEvent.objects.get(action="second_factor.reset")
    assert event.actor_id == security_admin.pk
    assert event.object_id == str(officer.pk)
    assert event.area_code == areas.county.code
    assert event.changes == {
        "username": "wangminzheng",
        "reason": "手机丢失，本人到窗口核实身份",
        "devices": 1,
    }
    page = client.get(response["Location"]).content.decode()
    assert "已重置 wangminzheng 的两步验证；该用户下次登录时须重新绑定身份验证器。" in page
    settings.LOWBAO_OTP_ENFORCED = True
    assert password_login(officer).get("/")["Location"] == "/accounts/two-factor/setup/?next=%2F"


def test_search_finds_people_in_scope_by_username_or_name(security_admin, officer, login_client):
    client = login_client(security_admin)

    by_username = client.get(SEARCH, {"q": "minzheng"}).content.decode()
    by_name = client.get(SEARCH, {"q": "测试"}).content.decode()

    assert "wangminzheng" in by_username
    assert "已绑定" in by_username
    assert f'href="{_reset_url(officer)}"' in by_username
    assert "wangminzheng" in by_name


def test_search_shows_the_admin_but_offers_no_reset_of_themselves(security_admin, login_client):
    html = login_client(security_admin).get(SEARCH, {"q": "anquan"}).content.decode()

    assert '<span class="text-muted">本人</span>' in html
    assert f'href="{_reset_url(security_admin)}"' not in html


def test_an_admin_cannot_reset_their_own_second_factor(security_admin):
    client = verified_login(security_admin, enrol(security_admin))

    page = client.get(_reset_url(security_admin))
    response = client.post(_reset_url(security_admin), {"reason": "想换手机"})

    assert "不能重置自己的两步验证，请联系另一位安全管理员。" in page.content.decode()
    assert response.status_code == 403
    assert _devices(security_admin) == (1, 1)
    assert not AuditEvent.objects.filter(action="second_factor.reset").exists()


@pytest.mark.parametrize(
    ("_case", "reason", "status", "message"),
    [
        ("empty", "", 200, "该字段是必填项。"),
        ("blank", "   ", 200, "该字段是必填项。"),
        ("one_char", "丢", 400, "请填写重置原因（2–200 个字，如“手机丢失”）。"),
    ],
)
def test_a_reset_without_a_reason_changes_nothing(
    security_admin, officer, login_client, _case, reason, status, message
):
    response = login_client(security_admin).post(_reset_url(officer), {"reason": reason})

    assert response.status_code == status
    assert f'<div class="invalid-feedback" id="reason-error">{message}</div>' in (
        response.content.decode()
    )
    officer.refresh_from_db()
    assert officer.second_factor_enrolled is True
    assert _devices(officer) == (1, 1)
    assert not AuditEvent.objects.filter(action="second_factor.reset").exists()


def _target(areas, make_user, where: str) -> User:
    placements = {
        "own_county": (Role.COUNTY_LEADER, areas.county),
        "own_township": (Role.TOWNSHIP_CASEWORKER, areas.township),
        "own_village": (Role.VILLAGE_ASSISTANT, areas.village),
        "sibling_county": (Role.COUNTY_LEADER, areas.sibling_county),
        "other_county_township": (Role.TOWNSHIP_HEAD, areas.other_county_township),
        "parent_league": (Role.LEAGUE_OFFICER, areas.league),
    }
    if where == "no_assignment":
        user = make_user(username="nobody-target")
    else:
        role, area = placements[where]
        user = make_user(role=role, area=area, username=f"target-{where.replace('_', '-')}")
    enrol(user)
    return user


@pytest.mark.parametrize(
    ("_case", "where", "visible"),
    [
        ("own_county", "own_county", True),
        ("own_township", "own_township", True),
        ("own_village", "own_village", True),
        ("sibling_county", "sibling_county", False),
        ("other_county_township", "other_county_township", False),
        ("parent_level", "parent_league", False),
        ("no_assignment", "no_assignment", False),
    ],
)
def test_a_county_security_admin_reaches_only_accounts_in_their_county(
    areas, make_user, security_admin, login_client, _case, where, visible
):
    target = _target(areas, make_user, where)
    client = login_client(security_admin)

    found = target.username in client.get(SEARCH, {"q": "target"}).content.decode()
    page = client.get(_reset_url(target))
    post = client.post(_reset_url(target), {"reason": "手机丢失"})

    assert found is visible
    assert page.status_code == (200 if visible else 404)
    assert post.status_code == (302 if visible else 404)
    target.refresh_from_db()
    assert target.second_factor_enrolled is (not visible)
    assert _devices(target) == ((0, 0) if visible else (1, 1))


def test_a_league_security_admin_reaches_the_counties_below(areas, make_user, login_client):
    admin = make_user(role=Role.SECURITY_ADMIN, area=areas.league)
    target = _target(areas, make_user, "sibling_county")

    response = login_client(admin).post(_reset_url(target), {"reason": "手机丢失"})

    assert response.status_code == 302
    assert _devices(target) == (0, 0)


@pytest.mark.parametrize(
    ("_case", "role", "expected"),
    [
        ("county_civil_affairs", Role.COUNTY_CIVIL_AFFAIRS, 403),
        ("audit_admin", Role.AUDIT_ADMIN, 403),
        ("data_admin", Role.DATA_ADMIN, 403),
        ("no_role", None, 403),
    ],
)
def test_only_account_managers_may_open_the_reset_pages(
    areas, make_user, officer, login_client, _case, role, expected
):
    user = make_user(role=role, area=areas.county if role else None)
    client = login_client(user)

    assert client.get(SEARCH, {"q": "wang"}).status_code == expected
    assert client.post(_reset_url(officer), {"reason": "手机丢失"}).status_code == expected
    assert _devices(officer) == (1, 1)


def test_anonymous_is_sent_to_login(officer):
    response = Client().post(_reset_url(officer), {"reason": "手机丢失"})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert _devices(officer) == (1, 1)


def test_the_menu_offers_the_reset_page_to_security_admins_only(
    areas, make_user, security_admin, login_client
):
    caseworker = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)

    assert "重置两步验证" in login_client(security_admin).get("/").content.decode()
    assert "重置两步验证" not in login_client(caseworker).get("/").content.decode()


def test_search_runs_the_same_number_of_queries_for_one_or_many_results(
    areas, make_user, security_admin, login_client
):
    client = login_client(security_admin)
    make_user(role=Role.COUNTY_LEADER, area=areas.county, username="many-0")
    client.get(SEARCH, {"q": "many-"})  # warm the session and assignment caches
    with CaptureQueriesContext(connection) as one:
        client.get(SEARCH, {"q": "many-"})
    for index in range(1, 6):
        make_user(role=Role.TOWNSHIP_HEAD, area=areas.township, username=f"many-{index}")
    with CaptureQueriesContext(connection) as six:
        html = client.get(SEARCH, {"q": "many-"}).content.decode()

    assert len(re.findall(r'href="/accounts/two-factor/reset/\d+/"', html)) == 6
    assert len(six.captured_queries) == len(one.captured_queries)
