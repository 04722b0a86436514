"""GET /api/v1/households/ and /api/v1/cases/: scoped, filtered, paginated, masked."""

import pytest
from django.test import Client

from tests.fixtures.cases import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_applications(new_application, areas, case_users):
    head = member(income="100")
    mine = new_application(members=[head])
    theirs = new_application(village=areas.other_township_village, by=case_users.sibling_caseworker)
    return head, mine, theirs


@pytest.mark.parametrize(
    ("user_name", "sees_mine", "sees_theirs"),
    [
        ("village_assistant", True, False),
        ("caseworker", True, False),
        ("township_head", True, False),
        ("civil_affairs", True, True),
        ("poverty_office", True, True),
        ("county_leader", True, True),
        ("sibling_caseworker", False, True),
        ("other_county_civil_affairs", False, False),
    ],
)
def test_lists_and_details_by_role_and_area(
    two_applications, case_users, login_client, user_name, sees_mine, sees_theirs
):
    _, mine, theirs = two_applications
    client = login_client(getattr(case_users, user_name))

    households = {row["number"] for row in client.get("/api/v1/households/").json()["results"]}
    cases = {row["id"] for row in client.get("/api/v1/cases/").json()["results"]}

    assert (mine.household.number in households, theirs.household.number in households) == (
        sees_mine,
        sees_theirs,
    )
    assert (mine.pk in cases, theirs.pk in cases) == (sees_mine, sees_theirs)
    expected = 200 if sees_mine else 404
    assert client.get(f"/api/v1/households/{mine.household_id}/").status_code == expected
    assert client.get(f"/api/v1/cases/{mine.pk}/").status_code == expected


def test_detail_masks_id_numbers(two_applications, case_users, login_client):
    head, mine, _ = two_applications
    client = login_client(case_users.caseworker)

    body = client.get(f"/api/v1/households/{mine.household_id}/").json()

    assert body["members"] == [
        {
            "name": head.name,
            "id_number": f"{head.id_number[:6]}********{head.id_number[-4:]}",
            "relation": "户主",
            "counted": True,
            "covered": True,
            "in_payment": False,
        }
    ]
    assert head.id_number not in str(body)


def test_filters_by_area_status_and_period(two_applications, areas, case_users, login_client):
    _, mine, _ = two_applications
    client = login_client(case_users.civil_affairs)

    by_area = client.get(f"/api/v1/cases/?area={areas.township.code}").json()["results"]
    by_status = client.get("/api/v1/cases/?status=approved").json()["results"]
    by_period = client.get("/api/v1/cases/?period_from=2099-01-01").json()["results"]
    bad = client.get("/api/v1/cases/?status=nonsense")
    outside = client.get(f"/api/v1/cases/?area={areas.other_county_township.code}")

    assert [row["id"] for row in by_area] == [mine.pk]
    assert by_status == []
    assert by_period == []
    assert bad.status_code == 400
    assert bad.json()["fields"] == {"status": ["“nonsense” 不是合法选项。"]}
    assert outside.status_code == 404


def test_anonymous_and_roles_without_case_view(two_applications, areas, make_user, login_client):
    anonymous = Client().get("/api/v1/households/")
    data_admin = login_client(make_user(role="data_admin", area=areas.county)).get("/api/v1/cases/")

    assert anonymous.status_code == 401
    assert data_admin.status_code == 403


def test_household_list_query_count_is_flat(
    new_application, case_users, login_client, django_assert_num_queries
):
    client = login_client(case_users.caseworker)
    new_application(members=[member()])
    client.get("/api/v1/households/")
    with django_assert_num_queries(5):
        client.get("/api/v1/households/")
    for _ in range(5):
        new_application(members=[member()])
    with django_assert_num_queries(5):
        response = client.get("/api/v1/households/")

    assert response.json()["count"] == 6
