"""GET /api/v1/poverty/referrals/: scoped, filtered, paginated, masked, in the schema."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lowbao.areas.roles import Role
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.services.referrals import referral_insert, referral_receive
from tests.poverty.linkage.conftest import RegistryPerson, person

pytestmark = pytest.mark.django_db

URL = "/api/v1/poverty/referrals/"
TO_OFFICE = ReferralDirection.TO_POVERTY_OFFICE


@pytest.fixture
def referrals(make_registry, make_paid, case_users, areas):
    """Two in the caseworker's township (one received), one in the sibling township, one
    proposal, one in another county."""
    head = person(name="吴七")
    made = {}
    for key, village in (
        ("own", areas.village),
        ("own_received", areas.sibling_village),
        ("sibling", areas.other_township_village),
        ("other_county", areas.other_county_village),
    ):
        registry = make_registry(
            village=village,
            number=f"PK-{key}",
            members=[RegistryPerson(id_number=head.id_number, name=head.name)]
            if key == "own"
            else None,
        )
        made[key], _ = referral_insert(
            actor=case_users.civil_affairs,
            direction=TO_OFFICE,
            reason=f"理由-{key}",
            registry_household=registry,
        )
    referral_receive(actor=case_users.poverty_office, referral_id=made["own_received"].pk)
    made["proposal"], _ = referral_insert(
        actor=case_users.civil_affairs,
        direction=ReferralDirection.PROPOSE_REGISTRY,
        reason="收入低",
        household=make_paid(number="DB-P"),
    )
    made["head"] = head
    return made


def _ids(response) -> list[int]:
    return sorted(row["id"] for row in response.json()["results"])


def test_anonymous_callers_are_refused(client):
    response = client.get(URL)

    assert response.status_code in (401, 403)
    assert response.json()["code"] in ("not_authenticated", "permission_denied")


def test_a_role_without_the_capability_is_403(make_user, areas, login_client):
    user = make_user(role=Role.DATA_ADMIN, area=areas.county)

    response = login_client(user).get(URL)

    assert response.status_code == 403


def test_a_township_sees_its_own_referrals_only(referrals, case_users, login_client):
    response = login_client(case_users.caseworker).get(URL)

    assert response.status_code == 200
    assert _ids(response) == sorted(
        [referrals["own"].pk, referrals["own_received"].pk, referrals["proposal"].pk]
    )


def test_the_county_sees_the_county_and_filters(referrals, case_users, login_client):
    client = login_client(case_users.poverty_office)

    everything = client.get(URL)
    received = client.get(URL, {"status": ReferralStatus.RECEIVED})
    proposals = client.get(URL, {"direction": ReferralDirection.PROPOSE_REGISTRY})
    sibling_township = client.get(URL, {"area": "150121101000"})

    assert everything.json()["count"] == 4
    assert _ids(received) == [referrals["own_received"].pk]
    assert _ids(proposals) == [referrals["proposal"].pk]
    assert _ids(sibling_township) == [referrals["sibling"].pk]


def test_an_area_outside_the_scope_is_404_and_a_bad_filter_400(
    referrals, case_users, login_client, areas
):
    client = login_client(case_users.caseworker)

    outside = client.get(URL, {"area": areas.sibling_township.code})
    bad = client.get(URL, {"status": "done", "area": "15"})

    assert outside.status_code == 404
    assert bad.status_code == 400
    assert set(bad.json()["fields"]) == {"status", "area"}


def test_rows_carry_masked_id_numbers(referrals, case_users, login_client):
    head = referrals["head"]

    response = login_client(case_users.caseworker).get(
        URL, {"area": "150121100201", "direction": TO_OFFICE}
    )

    row = response.json()["results"][0]
    assert {key: row[key] for key in ("registry_household_number", "head_name", "status")} == {
        "registry_household_number": "PK-own",
        "head_name": "吴七",
        "status": "pending",
    }
    assert row["head_id_number_masked"] == head.id_number[:6] + "********" + head.id_number[-4:]
    assert head.id_number not in response.content.decode()


def test_the_list_is_paginated_with_a_constant_number_of_queries(
    referrals, make_registry, case_users, login_client
):
    client = login_client(case_users.poverty_office)
    client.get(URL)  # warm the session and assignment caches
    with CaptureQueriesContext(connection) as few:
        client.get(URL)
    for _ in range(5):
        referral_insert(
            actor=case_users.civil_affairs,
            direction=TO_OFFICE,
            reason="x",
            registry_household=make_registry(),
        )
    with CaptureQueriesContext(connection) as many:
        page = client.get(URL, {"page_size": 3})

    assert len(many) == len(few)
    assert (page.json()["count"], len(page.json()["results"])) == (9, 3)


def test_the_endpoint_is_in_the_schema(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()

    operation = schema["paths"][URL]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {
        "direction",
        "status",
        "area",
        "page",
    }
