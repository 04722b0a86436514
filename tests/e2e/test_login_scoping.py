"""A township caseworker logs in in a real browser and sees only their township."""

import pytest

from lowbao.areas.roles import Role
from tests.e2e.navigation import open_menu
from tests.fixtures.accounts import PASSWORD

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def _login(page, live_server, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{live_server.url}/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")


def test_township_caseworker_sees_only_their_township(
    live_server, page, areas, make_user, screenshot
):
    make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township, username="caseworker_e2e")

    _login(page, live_server, "caseworker_e2e")
    page.wait_for_selector("#my-assignments")
    assert page.inner_text("#current-assignment") == "察素齐镇 · 苏木乡镇经办人"
    assert page.inner_text("#my-roots") == "察素齐镇（苏木乡镇）"

    open_menu(page, "行政区划")
    page.click("#area-roots >> text=察素齐镇")
    villages = page.locator("#area-children tbody tr td:first-child").all_inner_texts()
    assert villages == ["察素齐一村", "察素齐二村"]
    screenshot("township-caseworker-area", page)

    page.goto(f"{live_server.url}/areas/{areas.sibling_township.code}/")
    assert page.inner_text("#error-404") == "页面不存在，或不在您的管辖区域内。"
    page.goto(f"{live_server.url}/areas/{areas.county.code}/")
    assert page.locator("#error-404").count() == 1


def test_login_page_is_in_chinese_and_reports_a_wrong_password(live_server, page, areas, make_user):
    make_user(username="caseworker_e2e2")

    _login(page, live_server, "caseworker_e2e2", "wrong-password")

    assert page.inner_text("#login-error") == "用户名或密码错误。连续失败 5 次将锁定 15 分钟。"
    assert page.title() == "登录 · 农村牧区低保经办系统"


def test_first_login_goes_through_the_password_change(live_server, page, areas, make_user):
    make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=areas.township,
        username="newcomer",
        must_change_password=True,
    )

    _login(page, live_server, "newcomer")
    page.wait_for_selector("#password-change-required")
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", "Grassland#Spring7")
    page.fill("#id_new_password2", "Grassland#Spring7")
    page.click("button[type=submit]")

    page.wait_for_selector("#my-assignments")
    assert "密码已修改。" in page.inner_text("main")
