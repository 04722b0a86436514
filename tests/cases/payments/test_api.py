from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cases.models import PaymentSheet
from cases.services.payments import payment_sheet_generate
from lowbao.areas.roles import Role
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

JUNE, JULY = date(2026, 6, 1), date(2026, 7, 1)
LIST_URL = "/api/v1/payment-sheets/"


def _detail_url(sheet: PaymentSheet) -> str:
    return f"/api/v1/payment-sheets/{sheet.pk}/"


@pytest.fixture
def sheets(make_household, world, users) -> dict[str, PaymentSheet]:
    make_household(number="DB-0001", village=world.village)
    make_household(number="DB-0002", village=world.other_township_village)
    return {
        "own_june": payment_sheet_generate(
            actor=users.caseworker, township=world.township, month=JUNE
        ),
        "own_july": payment_sheet_generate(
            actor=users.caseworker, township=world.township, month=JULY
        ),
        "sibling_june": payment_sheet_generate(
            actor=users.sibling_caseworker, township=world.sibling_township, month=JUNE
        ),
    }


def test_list_is_scoped_filtered_and_paginated(sheets, users, world, login_client):
    client = login_client(users.county_officer)

    everything = client.get(LIST_URL).json()
    june = client.get(LIST_URL, {"month": "2026-06"}).json()
    june_own = client.get(LIST_URL, {"month": "2026-06", "township": world.township.code}).json()
    first_page = client.get(LIST_URL, {"page_size": 1}).json()

    assert everything["count"] == 3
    assert [(r["month"], r["township"]) for r in everything["results"]] == [
        ("2026-07", "150121100000"),
        ("2026-06", "150121100000"),
        ("2026-06", "150121101000"),
    ]
    assert [r["township"] for r in june["results"]] == ["150121100000", "150121101000"]
    assert [r["id"] for r in june_own["results"]] == [sheets["own_june"].pk]
    assert (first_page["count"], len(first_page["results"])) == (3, 1)
    assert first_page["next"] is not None


def test_list_row_shape(sheets, users, login_client):
    body = login_client(users.caseworker).get(LIST_URL, {"month": "2026-06"}).json()

    assert body["results"] == [
        {
            "id": sheets["own_june"].pk,
            "township": "150121100000",
            "township_name": "察素齐镇",
            "county": "150121000000",
            "month": "2026-06",
            "status": "generated",
            "status_label": "已生成",
            "household_count": 1,
            "person_count": 2,
            "total_amount": "300.00",
            "version": 0,
            "generated_by": users.caseworker.get_username(),
            "checked_by": None,
        }
    ]


def test_sibling_township_user_lists_only_their_own_and_gets_404(sheets, users, login_client):
    client = login_client(users.sibling_head)

    listed = client.get(LIST_URL).json()
    response = client.get(_detail_url(sheets["own_june"]))

    assert [r["id"] for r in listed["results"]] == [sheets["sibling_june"].pk]
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_detail_has_masked_lines(make_household, world, users, login_client):
    id_number = make_id_number()
    make_household(number="DB-0009", head_name="巴特尔", head_id_number=id_number, persons=3)
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    response = login_client(users.head).get(_detail_url(sheet))

    body = response.json()
    assert response.status_code == 200
    assert body["id"] == sheet.pk
    assert body["lines"] == [
        {
            "household_id": body["lines"][0]["household_id"],
            "household_number": "DB-0009",
            "head_name": "巴特尔",
            "head_id_number_masked": id_number[:6] + "********" + id_number[14:],
            "village": "150121100201",
            "village_name": "察素齐一村",
            "covered_persons": 3,
            "monthly_amount": "300.00",
            "amount": "300.00",
            "bank_name": "农村信用社",
            "bank_account_masked": "622848*********8901",
        }
    ]
    assert id_number not in response.content.decode()


@pytest.mark.parametrize(
    ("_case", "query"),
    [("bad_month", {"month": "2026-13"}), ("bad_township", {"township": "1501"})],
)
def test_bad_filters_are_400(sheets, users, login_client, _case, query):
    response = login_client(users.county_officer).get(LIST_URL, query)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_roles_without_payment_view_get_403(sheets, world, make_user, login_client):
    client = login_client(make_user(role=Role.DATA_ADMIN, area=world.county))

    assert client.get(LIST_URL).status_code == 403
    assert client.get(_detail_url(sheets["own_june"])).status_code == 403


def test_anonymous_gets_401(sheets, client):
    response = client.get(LIST_URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_api_list_query_count_does_not_grow(make_household, world, users, login_client):
    client = login_client(users.county_officer)
    payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)
    client.get(LIST_URL)
    with CaptureQueriesContext(connection) as one:
        client.get(LIST_URL)
    for month in range(7, 13):
        payment_sheet_generate(
            actor=users.caseworker, township=world.township, month=date(2026, month, 1)
        )

    with CaptureQueriesContext(connection) as seven:
        body = client.get(LIST_URL).json()

    assert body["count"] == 7
    assert len(one.captured_queries) == len(seven.captured_queries)
