"""Scoping matrix for the areas endpoint and pages (quality.md S1, style B.5).

Every role is assigned at its natural level; it must see its own area, and get a 404 for a sibling
at the same level, an area in another county (or league), and its parent.
"""

import datetime

import pytest

from lowbao.areas.models import Area, UserAreaRole
from lowbao.areas.roles import SYSTEM_ROLES, Role
from tests.fixtures.areas import AreaWorld

pytestmark = pytest.mark.django_db

# role → (own, sibling, other county/league, parent) attribute names of AreaWorld
_RELATIONS = {
    Role.VILLAGE_ASSISTANT: ("village", "sibling_village", "other_county_village", "township"),
    Role.TOWNSHIP_CASEWORKER: ("township", "sibling_township", "other_county_township", "county"),
    Role.TOWNSHIP_HEAD: ("township", "sibling_township", "other_county_township", "county"),
    Role.SERVICE_ORG: ("county", "sibling_county", "other_league_county", "league"),
    Role.COUNTY_CIVIL_AFFAIRS: ("county", "sibling_county", "other_league_county", "league"),
    Role.COUNTY_POVERTY_OFFICE: ("county", "sibling_county", "other_league_county", "league"),
    Role.COUNTY_LEADER: ("county", "sibling_county", "other_league_county", "league"),
    Role.DATA_ADMIN: ("county", "sibling_county", "other_league_county", "league"),
    Role.LEAGUE_OFFICER: ("league", "other_league", "other_league_county", "region"),
}
_HUMAN_REGION_ROLES = [Role.REGION_OFFICER, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN]

_MATRIX = [
    pytest.param(role, relation, attrs[index], expected, id=f"{role.value}-{relation}")
    for role, attrs in _RELATIONS.items()
    for index, (relation, expected) in enumerate(
        [("own", 200), ("sibling", 404), ("other_county", 404), ("parent", 404)]
    )
]


@pytest.mark.parametrize(("role", "relation", "target", "expected"), _MATRIX)
def test_area_detail_api_answers_by_relation(
    areas: AreaWorld, make_user, login_client, role, relation, target, expected
):
    own = getattr(areas, _RELATIONS[role][0])
    client = login_client(make_user(role=role, area=own))
    area = getattr(areas, target)

    response = client.get(f"/api/v1/areas/{area.code}/")

    assert response.status_code == expected
    if expected == 200:
        assert response.json() == {
            "code": area.code,
            "name": area.name,
            "level": area.level,
            "parent_code": area.parent.code if area.parent else None,
        }
    else:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(("role", "relation", "target", "expected"), _MATRIX)
def test_area_detail_page_answers_by_relation(
    areas: AreaWorld, make_user, login_client, role, relation, target, expected
):
    own = getattr(areas, _RELATIONS[role][0])
    client = login_client(make_user(role=role, area=own))
    area = getattr(areas, target)

    response = client.get(f"/areas/{area.code}/")

    assert response.status_code == expected
    if expected == 200:
        assert area.name in response.content.decode()


@pytest.mark.parametrize("role", list(_RELATIONS), ids=lambda role: role.value)
def test_area_list_api_contains_own_subtree_only(areas: AreaWorld, make_user, login_client, role):
    own = getattr(areas, _RELATIONS[role][0])
    client = login_client(make_user(role=role, area=own))

    codes = []
    url = "/api/v1/areas/?page_size=500"
    while url:
        body = client.get(url).json()
        codes += [row["code"] for row in body["results"]]
        url = body["next"]

    expected = list(
        Area.objects.filter(path__startswith=own.path)
        .order_by("code")
        .values_list("code", flat=True)
    )
    assert codes == expected


@pytest.mark.parametrize("role", _HUMAN_REGION_ROLES, ids=lambda role: role.value)
def test_region_roles_see_every_league(areas: AreaWorld, make_user, login_client, role):
    client = login_client(make_user(role=role, area=areas.region))

    body = client.get("/api/v1/areas/?level=league").json()

    assert body["count"] == 12
    assert client.get(f"/api/v1/areas/{areas.other_county_village.code}/").status_code == 200


@pytest.mark.parametrize("role", sorted(SYSTEM_ROLES), ids=str)
def test_system_roles_may_not_list_areas(areas: AreaWorld, make_user, login_client, role):
    client = login_client(make_user(role=role, area=areas.county))

    response = client.get("/api/v1/areas/")

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "没有执行此操作的权限",
        "fields": {},
    }


def test_anonymous_gets_401_from_api_and_login_redirect_from_pages(areas: AreaWorld, client):
    api = client.get(f"/api/v1/areas/{areas.county.code}/")
    page = client.get(f"/areas/{areas.county.code}/")

    assert api.status_code == 401
    assert api.json()["code"] == "not_authenticated"
    assert page.status_code == 302
    assert page["Location"].startswith("/accounts/login/")


def test_user_without_role_is_refused_everywhere(areas: AreaWorld, make_user, login_client):
    client = login_client(make_user())

    assert client.get("/api/v1/areas/").status_code == 403
    assert client.get(f"/api/v1/areas/{areas.region.code}/").status_code == 403
    assert client.get(f"/areas/{areas.region.code}/").status_code == 403
    assert client.get("/areas/").status_code == 403


def test_expired_assignment_grants_nothing(areas: AreaWorld, make_user, login_client):
    user = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)
    UserAreaRole.objects.filter(user=user).update(
        valid_from=datetime.date(2020, 1, 1), valid_to=datetime.date(2021, 1, 1)
    )
    client = login_client(user)

    assert client.get(f"/api/v1/areas/{areas.township.code}/").status_code == 403


def test_area_list_query_count_does_not_grow_with_rows(
    areas: AreaWorld, make_user, login_client, django_assert_num_queries
):
    client = login_client(make_user(role=Role.REGION_OFFICER, area=areas.region))
    client.get("/api/v1/areas/?page_size=5")  # warm the session
    # session, user, assignments, count, page, and the session save (3 with its savepoint)

    with django_assert_num_queries(5):
        small = client.get("/api/v1/areas/?page_size=5")
    with django_assert_num_queries(5):
        large = client.get("/api/v1/areas/?page_size=100")

    assert len(small.json()["results"]) == 5
    assert len(large.json()["results"]) == 100


def test_rows_without_an_area_are_invisible_to_area_bound_users(areas, make_user):
    from lowbao.accounts.models import User
    from lowbao.areas.roles import Perm
    from lowbao.areas.scoping import scope_to_actor

    region_officer = make_user(role=Role.REGION_OFFICER, area=areas.region)
    placed = make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)
    unplaced = make_user()  # no role assignment: its "area" (via roles) is empty

    visible = scope_to_actor(
        User.objects.all(),
        actor=region_officer,
        perm=Perm.AREA_VIEW,
        area_field="area_roles__area",
    )

    assert placed in visible
    assert region_officer in visible
    assert unplaced not in visible
