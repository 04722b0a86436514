import io
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import PaymentSheet
from cases.services.payments import payment_sheet_generate, payment_sheet_transition
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

JUNE = date(2026, 6, 1)
LIST_URL = reverse("cases:payment_sheet_list")
TOTALS_URL = reverse("cases:payment_totals")


def _detail_url(sheet: PaymentSheet) -> str:
    return reverse("cases:payment_sheet_detail", kwargs={"sheet_id": sheet.pk})


def _export_url(sheet: PaymentSheet) -> str:
    return reverse("cases:payment_sheet_export", kwargs={"sheet_id": sheet.pk})


@pytest.fixture
def sheet(make_household, world, users) -> PaymentSheet:
    make_household(number="DB-0001")
    return payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)


def test_urls_are_named_in_the_cases_namespace():
    assert LIST_URL == "/cases/payments/"
    assert TOTALS_URL == "/cases/payments/totals/"
    assert reverse("cases:payment_sheet_detail", kwargs={"sheet_id": 7}) == "/cases/payments/7/"
    assert (
        reverse("cases:payment_sheet_export", kwargs={"sheet_id": 7})
        == "/cases/payments/7/export.xlsx"
    )


def test_caseworker_generates_a_sheet_from_the_list_page(
    make_household, world, users, login_client
):
    make_household(number="DB-0001")
    client = login_client(users.caseworker)

    page = client.get(LIST_URL)
    response = client.post(LIST_URL, {"township": world.township.code, "month": "2026-06"})

    assert page.status_code == 200
    assert 'id="generate-form"' in page.content.decode()
    assert f'value="{world.township.code}"' in page.content.decode()
    sheet = PaymentSheet.objects.get()
    assert response.status_code == 302
    assert response["Location"] == _detail_url(sheet)
    assert (sheet.township, sheet.month, sheet.household_count) == (world.township, JUNE, 1)


def test_generating_for_a_township_out_of_scope_is_a_form_error(world, users, login_client):
    client = login_client(users.caseworker)

    response = client.post(LIST_URL, {"township": world.sibling_township.code, "month": "2026-06"})

    assert response.status_code == 200
    assert not PaymentSheet.objects.exists()
    assert "township" in response.context["generate_form"].errors


def test_users_without_generate_see_no_form_and_may_not_post(sheet, world, users, login_client):
    client = login_client(users.head)

    page = client.get(LIST_URL)
    response = client.post(LIST_URL, {"township": world.township.code, "month": "2026-07"})

    assert 'id="generate-form"' not in page.content.decode()
    assert response.status_code == 403
    assert PaymentSheet.objects.count() == 1


def test_list_page_filters_by_month(sheet, world, users, login_client, make_household):
    payment_sheet_generate(actor=users.caseworker, township=world.township, month=date(2026, 7, 1))
    client = login_client(users.county_officer)

    response = client.get(LIST_URL, {"month": "2026-07"})

    assert [s.month for s in response.context["page"]] == [date(2026, 7, 1)]


def test_detail_page_shows_totals_masked_lines_and_allowed_actions(
    make_household, world, users, login_client
):
    id_number = make_id_number()
    make_household(number="DB-0001", head_name="巴特尔", head_id_number=id_number)
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    head_page = login_client(users.head).get(_detail_url(sheet)).content.decode()
    caseworker_page = login_client(users.caseworker).get(_detail_url(sheet)).content.decode()

    assert "巴特尔" in head_page
    assert id_number[:6] + "********" + id_number[14:] in head_page
    assert id_number not in head_page
    assert "622848*********8901" in head_page
    assert "6228480012345678901" not in head_page
    assert 'data-action="check"' in head_page
    assert 'name="version" value="0"' in head_page
    assert _export_url(sheet) in head_page
    assert 'data-action="check"' not in caseworker_page
    assert 'data-action="regenerate"' in caseworker_page


def test_generator_with_both_roles_sees_the_four_eyes_hint(
    make_household, world, make_user, login_client
):
    both = make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=world.township,
        extra=((Role.TOWNSHIP_HEAD, world.township),),
    )
    make_household()
    sheet = payment_sheet_generate(actor=both, township=world.township, month=JUNE)

    page = login_client(both).get(_detail_url(sheet)).content.decode()

    assert 'data-action="check"' not in page
    assert 'id="four-eyes-hint"' in page


def test_checking_from_the_detail_page(sheet, users, login_client):
    client = login_client(users.head)

    response = client.post(_detail_url(sheet), {"action": "check", "version": "0"}, follow=True)

    sheet.refresh_from_db()
    assert (sheet.status, sheet.checked_by) == ("checked", users.head)
    assert "操作成功，花名册当前状态：已核对。" in response.content.decode()


def test_a_conflict_shows_a_chinese_message(sheet, users, login_client):
    payment_sheet_transition(actor=users.county_officer, sheet_id=sheet.pk, action="check")
    client = login_client(users.county_officer)

    response = client.post(
        _detail_url(sheet), {"action": "send_to_bank", "version": "0"}, follow=True
    )

    assert response.status_code == 200
    assert "花名册已被他人修改，请刷新后重试" in response.content.decode()
    sheet.refresh_from_db()
    assert (sheet.status, sheet.version) == ("checked", 1)


@pytest.mark.parametrize(
    ("_case", "user_attr", "post", "message"),
    [
        (
            "caseworker_checks",
            "caseworker",
            {"action": "check", "version": "0"},
            "没有核对发放花名册的权限",
        ),
        ("missing_version", "head", {"action": "check"}, "请求已过期，请刷新页面后重试。"),
    ],
)
def test_refused_actions_show_a_message(
    sheet, users, login_client, _case, user_attr, post, message
):
    response = login_client(getattr(users, user_attr)).post(_detail_url(sheet), post, follow=True)

    assert response.status_code == 200
    assert message in response.content.decode()
    sheet.refresh_from_db()
    assert (sheet.status, sheet.version) == ("generated", 0)


def test_regenerate_from_the_detail_page(sheet, make_household, users, login_client):
    make_household(number="DB-0002")

    response = login_client(users.caseworker).post(
        _detail_url(sheet), {"action": "regenerate", "version": "0"}
    )

    sheet.refresh_from_db()
    assert response.status_code == 302
    assert (sheet.household_count, sheet.version) == (2, 1)


@pytest.mark.parametrize("user_attr", ["sibling_head", "sibling_caseworker"])
def test_sibling_township_gets_404_for_the_sheet_pages(sheet, users, login_client, user_attr):
    client = login_client(getattr(users, user_attr))

    assert client.get(_detail_url(sheet)).status_code == 404
    assert client.post(_detail_url(sheet), {"action": "check", "version": "0"}).status_code == 404
    assert client.get(_export_url(sheet)).status_code == 404
    sheet.refresh_from_db()
    assert sheet.status == "generated"


def test_user_without_payment_role_gets_403(sheet, world, make_user, login_client):
    client = login_client(make_user(role=Role.DATA_ADMIN, area=world.county))

    assert client.get(LIST_URL).status_code == 403
    assert client.get(TOTALS_URL).status_code == 403
    assert client.get(_detail_url(sheet)).status_code == 403


def test_anonymous_is_sent_to_login(sheet, client):
    response = client.get(_detail_url(sheet))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_export_download(sheet, users, login_client):
    response = login_client(users.county_officer).get(_export_url(sheet))

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    assert workbook.active.cell(row=3, column=1).value == "DB-0001"
    assert AuditEvent.objects.filter(action="export.payment_sheet").count() == 1


def test_totals_page_is_scoped(make_household, world, users, make_user, login_client):
    make_household(village=world.village, amount="300.00")
    make_household(village=world.other_township_village, amount="460.00")
    payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)
    payment_sheet_generate(
        actor=users.sibling_caseworker, township=world.sibling_township, month=JUNE
    )

    county_page = login_client(users.county_officer).get(
        TOTALS_URL, {"month": "2026-06", "level": "county"}
    )
    township_page = login_client(users.caseworker).get(
        TOTALS_URL, {"month": "2026-06", "level": "county"}
    )

    assert [(r.code, r.total_amount) for r in county_page.context["rows"]] == [
        ("150121000000", 760)
    ]
    assert [(r.code, r.total_amount) for r in township_page.context["rows"]] == [
        ("150121000000", 300)
    ]
    assert "土默特左旗" in county_page.content.decode()


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200
    return len(context.captured_queries)


def test_detail_page_query_count_does_not_grow_with_lines(
    make_household, world, users, login_client, django_assert_num_queries
):
    for _ in range(2):
        make_household(village=world.village)
    for _ in range(20):
        make_household(village=world.other_township_village)
    small = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)
    large = payment_sheet_generate(
        actor=users.sibling_caseworker, township=world.sibling_township, month=JUNE
    )
    client = login_client(users.county_officer)
    client.get(_detail_url(small))  # warm-up (session, content types)
    with_2_lines = _queries(client, _detail_url(small))

    with django_assert_num_queries(with_2_lines):
        response = client.get(_detail_url(large))

    assert len(response.context["rows"]) == 20


def test_list_page_query_count_does_not_grow_with_sheets(
    make_household, world, users, login_client
):
    client = login_client(users.county_officer)
    for month in range(1, 3):
        payment_sheet_generate(
            actor=users.caseworker, township=world.township, month=date(2026, month, 1)
        )
    client.get(LIST_URL)
    with_2 = _queries(client, LIST_URL)
    for month in range(3, 13):
        payment_sheet_generate(
            actor=users.caseworker, township=world.township, month=date(2026, month, 1)
        )
        payment_sheet_generate(
            actor=users.sibling_caseworker,
            township=world.sibling_township,
            month=date(2026, month, 1),
        )

    with_22 = _queries(client, LIST_URL)

    assert PaymentSheet.objects.count() == 22
    assert with_2 == with_22
