"""The navbar: direct entries, then drop-down groups, each only with what the roles allow."""

import pytest
from django.urls import reverse

from lowbao.areas.navigation import MenuEntry, menu_groups
from lowbao.areas.roles import Perm, Role

pytestmark = pytest.mark.django_db


def _entries(*specs: tuple[str, str]) -> list[tuple[MenuEntry, str]]:
    return [(MenuEntry(label, "x", Perm.AREA_VIEW, group), f"/{label}/") for label, group in specs]


def test_entries_without_a_group_come_first_then_groups_in_their_order():
    entries = _entries(("行政区划", "数据管理"), ("工作台", ""), ("台账比对", "复核比对"))
    entries += _entries(("台账导入", "数据管理"), ("年度复核", "复核比对"), ("保障户", ""))

    groups = menu_groups(entries)

    assert [item["label"] for item in groups] == ["工作台", "保障户", "复核比对", "数据管理"]
    assert [entry["label"] for entry in groups[2]["entries"]] == ["台账比对", "年度复核"]
    assert [entry["label"] for entry in groups[3]["entries"]] == ["行政区划", "台账导入"]


def test_a_group_with_one_allowed_entry_shows_that_entry_directly():
    groups = menu_groups(_entries(("工作台", ""), ("我的导出", "数据管理")))

    assert groups == [
        {"label": "工作台", "url": "/工作台/", "active": False},
        {"label": "我的导出", "url": "/我的导出/", "active": False},
    ]


def test_the_current_page_marks_its_entry_and_its_group_active():
    entries = _entries(("工作台", ""), ("台账比对", "复核比对"), ("年度复核", "复核比对"))

    groups = menu_groups(entries, path="/年度复核/")

    assert groups[0]["active"] is False
    assert groups[1]["active"] is True
    assert [entry["active"] for entry in groups[1]["entries"]] == [False, True]


def test_a_caseworker_gets_the_case_group_as_a_drop_down_and_no_admin_entries(
    areas, make_user, login_client
):
    caseworker = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)

    response = login_client(caseworker).get(reverse("cases:household_list"))

    groups = {item["label"]: item for item in response.context["nav_groups"]}
    assert [label for label in groups if "entries" not in groups[label]][:4] == [
        "工作台",
        "我的待办",
        "保障户",
        "申请登记",
    ]
    assert groups["保障户"]["active"] is True
    assert "台账导入" not in str(response.context["nav_groups"])
    assert "经办人员" not in str(response.context["nav_groups"])
    html = response.content.decode()
    assert 'data-bs-toggle="dropdown"' in html
    assert f'href="{reverse("cases:payment_sheet_list")}"' in html
    flat = [entry["label"] for entry in response.context["nav_menu"]]
    nested = [
        entry["label"]
        for item in response.context["nav_groups"]
        for entry in item.get("entries", [item])
    ]
    assert sorted(flat) == sorted(nested)
