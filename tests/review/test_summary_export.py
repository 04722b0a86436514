"""The ``.xlsx`` export per category: the rows the user may see, masked ID numbers (full ones only
with SENSITIVE_REVEAL and a reason), formula text neutralised, one audit row per export."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from lowbao.audit.models import AuditEvent
from lowbao.people.masking import mask_id_number
from review.exports import ITEM_HEADERS
from review.models import ItemState, ReconciliationCategory, ReconciliationItem
from tests.fixtures.review_items import pick_user

pytestmark = pytest.mark.django_db

EXPORT = reverse("review:reconciliation_export")


def _sheet(response) -> list[tuple]:
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    return list(workbook.active.iter_rows(values_only=True))


def _exports() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="export.reconciliation_items").order_by("seq"))


def test_the_masked_export_of_one_category(recon, case_users, login_client):
    ReconciliationItem.objects.filter(pk=recon.own_item.pk).update(
        state=ItemState.CORRECTED,
        resolution_note='=HYPERLINK("http://x")',
        resolved_by=case_users.caseworker,
    )

    response = login_client(case_users.civil_affairs).get(
        EXPORT, {"category": ReconciliationCategory.ATTR_MISMATCH, "county": "150121000000"}
    )

    rows = _sheet(response)
    assert response.status_code == 200
    assert rows[0] == (
        "土默特左旗台账比对问题清单：贫困户属性与低保状态不符（身份证号已脱敏）",
        *([None] * (len(ITEM_HEADERS) - 1)),
    )
    assert rows[1] == ITEM_HEADERS
    assert rows[2:] == [
        (
            recon.own_item.pk,
            "贫困户属性与低保状态不符",
            "土默特左旗",
            "察素齐镇",
            "DB-OWN-1",
            "1501210101",
            "巴特尔",
            mask_id_number(recon.own_id_number),
            "贫困户属性：一般贫困户",
            "2026H1（2026-01-01）",
            "2026H2（2026-07-01）",
            "已更正",
            case_users.caseworker.get_username(),
            None,
            ' =HYPERLINK("http://x")',
        )
    ]
    [audit] = _exports()
    assert audit.actor_id == case_users.civil_affairs.pk
    assert audit.area_code == "150121000000"
    assert audit.changes["masked"] is True
    assert audit.changes["rows"] == 1
    assert audit.changes["category"] == ReconciliationCategory.ATTR_MISMATCH


def test_id_numbers_are_string_cells_and_never_plain(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(
        EXPORT, {"category": ReconciliationCategory.ATTR_MISMATCH}
    )
    content = b"".join(response.streaming_content)

    assert recon.own_id_number.encode() not in content
    rows = list(load_workbook(io.BytesIO(content)).active.iter_rows(values_only=True))
    assert rows[2][7] == mask_id_number(recon.own_id_number)


@pytest.mark.parametrize(
    ("_case", "user", "category", "items"),
    [
        ("caseworker: own township", "caseworker", "attr_mismatch", ["own_item"]),
        ("caseworker: not the sibling township", "caseworker", "member_mismatch", []),
        ("caseworker: not county-wide items", "caseworker", "duplicate_person", []),
        ("sibling caseworker", "sibling_caseworker", "member_mismatch", ["sibling_item"]),
        ("county officer: county-wide", "civil_affairs", "duplicate_person", ["county_item"]),
        ("county officer: not the other county", "civil_affairs", "attr_mismatch", ["own_item"]),
        (
            "league officer: both counties",
            "league_officer",
            "attr_mismatch",
            ["own_item", "other_county_item"],
        ),
        ("another league", "other_league_officer", "attr_mismatch", []),
    ],
)
def test_the_export_holds_exactly_the_items_the_user_may_see(
    _case, user, category, items, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(
        EXPORT, {"category": category}
    )

    rows = _sheet(response)
    assert sorted(int(row[0]) for row in rows[2:]) == sorted(
        getattr(recon, name).pk for name in items
    )
    assert _exports()[-1].changes["rows"] == len(items)


def test_the_export_follows_the_state_filter(recon, case_users, login_client):
    client = login_client(case_users.caseworker)
    ReconciliationItem.objects.filter(pk=recon.own_item.pk).update(state=ItemState.VERIFIED)

    open_rows = _sheet(client.get(EXPORT, {"category": "attr_mismatch", "state": "open"}))[2:]
    all_rows = _sheet(client.get(EXPORT, {"category": "attr_mismatch"}))[2:]

    assert open_rows == []
    assert [row[0] for row in all_rows] == [recon.own_item.pk]


def test_full_id_numbers_need_the_permission_and_a_reason_and_are_audited(
    recon, case_users, login_client
):
    response = login_client(case_users.caseworker).post(
        EXPORT, {"category": "attr_mismatch", "state": "all", "reason": "入户核实需要完整证件号"}
    )

    rows = _sheet(response)
    assert rows[0][0].endswith("（含完整身份证号，导出原因：入户核实需要完整证件号）")
    assert rows[2][7] == recon.own_id_number
    [audit] = _exports()
    assert audit.changes["masked"] is False
    assert audit.changes["reveal_reason"] == "入户核实需要完整证件号"


def test_a_full_export_without_a_reason_is_refused_with_a_message(recon, case_users, login_client):
    response = login_client(case_users.caseworker).post(
        EXPORT, {"category": "attr_mismatch", "reason": "  "}, follow=True
    )

    assert response.redirect_chain[-1][1] == 302
    assert "导出完整身份证号须填写导出原因" in response.content.decode()
    assert _exports() == []


@pytest.mark.parametrize(
    ("_case", "user"),
    [("county leader", "county_leader"), ("league officer", "league_officer")],
)
def test_roles_without_the_reveal_permission_get_403_for_full_numbers(
    _case, user, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).post(
        EXPORT, {"category": "attr_mismatch", "reason": "想看"}
    )

    assert response.status_code == 403
    assert _exports() == []


def test_a_category_is_required(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(EXPORT, follow=True)

    assert "请选择要导出的问题类别" in response.content.decode()
    assert _exports() == []


@pytest.mark.parametrize(
    ("_case", "user", "params", "status"),
    [
        ("a role without reconciliation", "data_admin", {"category": "attr_mismatch"}, 403),
        (
            "a township outside the user's areas",
            "caseworker",
            {"category": "attr_mismatch", "township": "150121101000"},
            404,
        ),
        (
            "a county outside the user's areas",
            "civil_affairs",
            {"category": "attr_mismatch", "county": "150122000000"},
            404,
        ),
    ],
)
def test_denied_exports_write_no_audit_row(
    _case, user, params, status, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(EXPORT, params)

    assert response.status_code == status
    assert _exports() == []


def test_anonymous_exports_go_to_login(recon, client):
    response = client.get(EXPORT, {"category": "attr_mismatch"})

    assert response.status_code == 302
    assert _exports() == []
