"""The area switcher narrows a user with several assignments to one of them."""

import pytest

from lowbao.areas.roles import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_township_user(areas, make_user):
    return make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=areas.township,
        extra=((Role.TOWNSHIP_CASEWORKER, areas.sibling_township),),
    )


def test_user_with_two_assignments_sees_both_until_switching(
    areas, two_township_user, login_client
):
    client = login_client(two_township_user)

    page = client.get("/").content.decode()

    assert 'id="area-switcher"' in page
    assert client.get(f"/api/v1/areas/{areas.sibling_township.code}/").status_code == 200


def test_switching_to_one_assignment_hides_the_other_township(
    areas, two_township_user, login_client
):
    client = login_client(two_township_user)
    first = two_township_user.area_roles.get(area=areas.township)

    response = client.post("/accounts/switch-area/", {"assignment": first.pk, "next": "/areas/"})

    assert response.status_code == 302
    assert response["Location"] == "/areas/"
    assert client.get(f"/api/v1/areas/{areas.township.code}/").status_code == 200
    assert client.get(f"/api/v1/areas/{areas.sibling_township.code}/").status_code == 404
    assert client.get(f"/areas/{areas.sibling_township.code}/").status_code == 404


def test_switching_back_to_all_restores_both(areas, two_township_user, login_client):
    client = login_client(two_township_user)
    first = two_township_user.area_roles.get(area=areas.township)
    client.post("/accounts/switch-area/", {"assignment": first.pk})

    client.post("/accounts/switch-area/", {"assignment": "all"})

    assert client.get(f"/api/v1/areas/{areas.sibling_township.code}/").status_code == 200


def test_switching_to_someone_elses_assignment_is_refused(
    areas, two_township_user, make_user, login_client
):
    other = make_user(role=Role.COUNTY_CIVIL_AFFAIRS, area=areas.county)
    client = login_client(two_township_user)

    client.post("/accounts/switch-area/", {"assignment": other.area_roles.get().pk})

    assert "lowbao_active_assignment" not in client.session
    assert client.get(f"/api/v1/areas/{areas.county.code}/").status_code == 404


def test_switch_redirect_never_leaves_the_site(areas, two_township_user, login_client):
    client = login_client(two_township_user)

    response = client.post(
        "/accounts/switch-area/", {"assignment": "all", "next": "https://evil.example/"}
    )

    assert response["Location"] == "/"
