"""/api/v1/poverty/households/ (push, list, detail) and /api/v1/poverty/snapshots/."""

import json
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from lowbao.accounts.services import api_client_create
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.people.models import Person
from poverty.api import registry as registry_api
from poverty.models import (
    DataQualityIssue,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshot,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
)
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import (
    OTHER_TOWNSHIP_VILLAGE_CODE,
    household_rows,
    person_row,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/poverty/households/"
SNAPSHOTS_URL = "/api/v1/poverty/snapshots/"
COUNTY = "150121000000"
TABLES = (
    Person,
    RegistrySnapshot,
    RegistryHousehold,
    RegistryMember,
    RegistrySnapshotEntry,
    RegistrySnapshotMember,
    DataQualityIssue,
    AuditEvent,
)


def table_counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in TABLES}


def token_client(api_client) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Token {api_client.token}")


def post(client: Client, body: dict):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def body(rows, *, county: str = COUNTY, on: str = "2026-01-15", partial: bool = False) -> dict:
    return {"county": county, "snapshot_date": on, "partial": partial, "households": rows}


@pytest.fixture
def rows():
    return [*household_rows("1501210001"), *household_rows("1501210002", size=3)]


# --- push: who may ---------------------------------------------------------------------------


def test_anonymous_gets_401(areas, rows):
    assert post(Client(), body(rows)).status_code == 401
    assert Client().get(URL).status_code == 401
    assert Client().get(SNAPSHOTS_URL).status_code == 401


def test_a_human_caseworker_cannot_push(areas, rows, case_users, login_client):
    response = post(login_client(case_users.caseworker), body(rows))

    assert response.status_code == 403
    assert response.json() == {
        "code": "permission_denied",
        "message": "没有执行此操作的权限",
        "fields": {},
    }
    assert RegistrySnapshot.objects.count() == 0


@pytest.mark.parametrize(
    "role", [Role.DISABILITY_FEDERATION_SYSTEM, Role.VERIFICATION_PLATFORM_SYSTEM]
)
def test_other_offices_systems_cannot_push(areas, rows, role):
    other = api_client_create(actor=None, name=f"{role}-client", role=role, area=areas.county)

    response = post(token_client(other), body(rows))

    assert response.status_code == 403
    assert RegistrySnapshot.objects.count() == 0


def test_a_county_outside_the_service_accounts_area_is_404(areas, rows, push_client):
    before = table_counts()

    response = post(token_client(push_client), body(rows, county="150122000000"))

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert table_counts() == before


def test_a_league_wide_system_may_push_for_its_counties(areas, rows):
    league = api_client_create(
        actor=None, name="league-system", role=Role.POVERTY_OFFICE_SYSTEM, area=areas.league
    )

    response = post(token_client(league), body(rows))

    assert response.status_code == 200
    assert response.json()["created"] == 2


# --- push: validation ------------------------------------------------------------------------


def test_invalid_rows_give_422_with_every_error_and_nothing_written(areas, rows, push_client):
    bad_id = "360426199101010072"
    rows[1]["证件号码"] = bad_id
    rows[2]["嘎查村代码"] = "150122100201"
    rows[3]["劳动能力"] = "强"
    rows[4]["证件号码"] = "150121800101123"  # accepted, with a warning
    before = table_counts()

    response = post(token_client(push_client), body(rows))

    assert response.status_code == 422
    assert response.json() == {
        "code": "invalid_rows",
        "message": "数据有 3 处错误，未写入任何数据",
        "fields": {
            "errors": [
                {
                    "row": 2,
                    "column": "证件号码",
                    "value": "360426********0072",
                    "code": "id_checksum",
                    "message": "身份证号校验位错误",
                },
                {
                    "row": 3,
                    "column": "嘎查村代码",
                    "value": "150122100201",
                    "code": "area_out_of_scope",
                    "message": "150122100201（双河一村）不在土默特左旗，不能导入本旗县的台账",
                },
                {
                    "row": 4,
                    "column": "劳动能力",
                    "value": "强",
                    "code": "bad_enum",
                    "message": response.json()["fields"]["errors"][2]["message"],
                },
            ],
            "warnings": [
                {
                    "row": 5,
                    "column": "证件号码",
                    "value": "150121******123",
                    "code": "id_upgraded_from_15",
                    "message": "15位身份证号已自动升级为18位",
                }
            ],
        },
    }
    assert response.json()["fields"]["errors"][2]["message"].startswith("劳动能力“强”不是有效选项")
    assert bad_id not in response.content.decode()
    assert table_counts() == before


@pytest.mark.parametrize(
    ("_case", "payload", "field"),
    [
        (
            "no households",
            {"county": COUNTY, "snapshot_date": "2026-01-15", "households": []},
            "households",
        ),
        (
            "bad date",
            {"county": COUNTY, "snapshot_date": "2026-02-30", "households": [{}]},
            "snapshot_date",
        ),
        (
            "bad county",
            {"county": "1501", "snapshot_date": "2026-01-15", "households": [{}]},
            "county",
        ),
        (
            "rows not objects",
            {"county": COUNTY, "snapshot_date": "2026-01-15", "households": [1]},
            "households",
        ),
    ],
)
def test_malformed_bodies_give_400(areas, push_client, _case, payload, field):
    response = post(token_client(push_client), payload)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["fields"]) == [field]


def test_an_oversized_body_is_refused_before_parsing(areas, rows, push_client, monkeypatch):
    monkeypatch.setattr(registry_api, "MAX_PUSH_BYTES", 1000)

    response = post(token_client(push_client), body(rows))

    assert response.status_code == 413
    assert response.json()["code"] == "too_large"
    assert RegistrySnapshot.objects.count() == 0


def test_a_snapshot_date_in_the_future_is_refused(areas, rows, push_client):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()

    response = post(token_client(push_client), body(rows, on=tomorrow))

    assert response.status_code == 400
    assert response.json()["fields"] == {"snapshot_date": ["快照日期不能晚于今天"]}


def test_a_township_code_is_not_a_county(areas, rows, push_client):
    response = post(token_client(push_client), body(rows, county="150121100000"))

    assert response.status_code == 400
    assert response.json()["fields"] == {"county": ["应为旗县级区划代码"]}


# --- push: success and idempotency -----------------------------------------------------------


def test_push_then_the_same_body_again(areas, rows, push_client):
    client = token_client(push_client)

    first = post(client, body(rows))
    after_first = table_counts()
    again = post(client, body(rows))

    assert first.status_code == 200
    snapshot = RegistrySnapshot.objects.get()
    assert first.json() == {
        "snapshot": snapshot.pk,
        "county": COUNTY,
        "snapshot_date": "2026-01-15",
        "partial": False,
        "replayed": False,
        "households": 2,
        "persons": 5,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "left": 0,
        "quality_issues": 0,
        "warnings": [],
    }
    assert again.status_code == 200
    assert again.json() == {
        **first.json(),
        "replayed": True,
        "created": 0,
        "unchanged": 2,
    }
    assert table_counts() == after_first
    assert (snapshot.source, snapshot.source_name) == ("api", "api:poverty-system")
    assert snapshot.created_by == push_client.user
    event = AuditEvent.objects.get(action="registry.snapshot_apply")
    assert event.actor_id == push_client.user.pk


def test_partial_push_marks_nobody_as_left(areas, rows, push_client):
    client = token_client(push_client)
    post(client, body(rows))

    response = post(client, body(household_rows("1501210003"), on="2026-02-01", partial=True))

    assert response.json()["created"] == 1
    assert response.json()["left"] == 0
    assert response.json()["partial"] is True
    assert RegistryHousehold.objects.filter(in_registry=True).count() == 3


def test_full_push_marks_absent_households_as_left(areas, rows, push_client):
    client = token_client(push_client)
    post(client, body(rows))

    response = post(client, body(rows[:2], on="2026-02-01"))

    assert (response.json()["unchanged"], response.json()["left"]) == (1, 1)
    assert RegistryHousehold.objects.get(number="1501210002").left_registry_on == date(2026, 2, 1)


def test_an_older_snapshot_after_a_newer_one_is_409(areas, rows, push_client):
    client = token_client(push_client)
    post(client, body(rows, on="2026-03-01"))

    response = post(client, body(rows[:2], on="2026-02-01"))

    assert response.status_code == 409
    assert response.json()["code"] == "snapshot_out_of_order"


def test_push_response_lists_warnings_and_quality_issues(areas, push_client):
    rows = [
        person_row(household="1501210009", cells={"证件号码": "150121800101123", "帮扶责任人": ""})
    ]

    response = post(token_client(push_client), body(rows))

    assert response.status_code == 200
    assert [w["code"] for w in response.json()["warnings"]] == ["id_upgraded_from_15"]
    assert response.json()["quality_issues"] == 1


# --- GET -------------------------------------------------------------------------------------


@pytest.fixture
def pushed(areas, push_client):
    """1501210001 in 察素齐一村 (察素齐镇), 1501210002 in 毕克齐一村 (毕克齐镇)."""
    head_id = make_id_number(birth_date=date(1980, 5, 1))
    rows = [
        person_row(household="1501210001", id_number=head_id, name="巴特尔"),
        person_row(household="1501210001", relation="配偶", name="其其格"),
        *household_rows(
            "1501210002",
            village_code=OTHER_TOWNSHIP_VILLAGE_CODE,
            cells={"贫困户属性": "低保贫困户", "脱贫状态": "已脱贫"},
        ),
    ]
    response = post(token_client(push_client), body(rows))
    assert response.status_code == 200
    households = {h.number: h for h in RegistryHousehold.objects.all()}
    return head_id, households["1501210001"], households["1501210002"]


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
def test_list_and_detail_by_role_and_area(
    pushed, case_users, login_client, user_name, sees_mine, sees_theirs
):
    _, mine, theirs = pushed
    client = login_client(getattr(case_users, user_name))

    numbers = {row["number"] for row in client.get(URL).json()["results"]}

    assert (mine.number in numbers, theirs.number in numbers) == (sees_mine, sees_theirs)
    assert client.get(f"{URL}{mine.pk}/").status_code == (200 if sees_mine else 404)
    assert client.get(f"{URL}{theirs.pk}/").status_code == (200 if sees_theirs else 404)


def test_roles_without_registry_view_get_403(pushed, areas, make_user, login_client, push_client):
    data_admin = login_client(make_user(role=Role.DATA_ADMIN, area=areas.county))

    assert data_admin.get(URL).status_code == 403
    assert token_client(push_client).get(URL).status_code == 403
    assert token_client(push_client).get(f"{URL}{pushed[1].pk}/").status_code == 403


def test_detail_masks_id_numbers(pushed, case_users, login_client):
    head_id, mine, _ = pushed

    response = login_client(case_users.caseworker).get(f"{URL}{mine.pk}/")

    data = response.json()
    assert data["head_name"] == "巴特尔"
    assert data["head_id_number"] == head_id[:6] + "********" + head_id[14:]
    assert data["members"][0] == {
        "name": "巴特尔",
        "id_number": head_id[:6] + "********" + head_id[14:],
        "person_number": data["members"][0]["person_number"],
        "relation": "户主",
        "sex": "男" if int(head_id[16]) % 2 else "女",
        "birth_year": 1980,
        "school_status": "非在校生",
        "health": "健康",
        "labour_capacity": "普通劳动力",
        "work_status": "",
        "work_months": None,
    }
    assert (data["township"], data["village"], data["attribute"]) == (
        "150121100000",
        "150121100201",
        "general",
    )
    assert data["in_registry"] is True
    assert head_id not in response.content.decode()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("area=150121101000", ["1501210002"]),
        ("area=150121100201", ["1501210001"]),
        ("status=out", ["1501210002"]),
        ("attribute=general", ["1501210001"]),
        ("in_registry=true", ["1501210001", "1501210002"]),
        ("in_registry=false", []),
        ("period_from=2026-01-16", []),
        ("period_to=2026-01-15", ["1501210001", "1501210002"]),
    ],
)
def test_list_filters(pushed, case_users, login_client, query, expected):
    response = login_client(case_users.poverty_office).get(f"{URL}?{query}")

    assert [row["number"] for row in response.json()["results"]] == expected


def test_list_filter_errors(pushed, case_users, login_client):
    client = login_client(case_users.caseworker)

    bad = client.get(f"{URL}?status=nonsense")
    outside = client.get(f"{URL}?area=150121101000")

    assert bad.status_code == 400
    assert list(bad.json()["fields"]) == ["status"]
    assert outside.status_code == 404


def test_list_query_count_is_flat(
    pushed, case_users, login_client, push_client, django_assert_num_queries
):
    client = login_client(case_users.poverty_office)
    client.get(URL)
    # session, user, roles, count, page, heads; the session middleware's save (3)
    with django_assert_num_queries(6):
        small = client.get(URL)
    rows = [row for index in range(3, 13) for row in household_rows(f"15012100{index:02d}")]
    post(token_client(push_client), body(rows, on="2026-02-01", partial=True))
    with django_assert_num_queries(6):
        large = client.get(URL)

    assert (small.json()["count"], large.json()["count"]) == (2, 12)


# --- snapshots -------------------------------------------------------------------------------


def test_snapshots_list_for_county_readers_and_the_pushing_system(
    pushed, case_users, login_client, push_client
):
    snapshot = RegistrySnapshot.objects.get()

    as_office = login_client(case_users.poverty_office).get(SNAPSHOTS_URL)
    as_system = token_client(push_client).get(f"{SNAPSHOTS_URL}?county={COUNTY}")
    as_township = login_client(case_users.caseworker).get(SNAPSHOTS_URL)
    as_other_county = login_client(case_users.other_county_civil_affairs).get(SNAPSHOTS_URL)
    filtered_away = login_client(case_users.poverty_office).get(
        f"{SNAPSHOTS_URL}?county=150122000000"
    )

    assert as_office.json()["results"] == [
        {
            "id": snapshot.pk,
            "county": COUNTY,
            "county_name": "土默特左旗",
            "snapshot_date": "2026-01-15",
            "source": "api",
            "source_name": "api:poverty-system",
            "partial": False,
            "households": 2,
            "persons": 4,
            "created": 2,
            "updated": 0,
            "unchanged": 0,
            "left": 0,
            "created_at": as_office.json()["results"][0]["created_at"],
        }
    ]
    assert [row["id"] for row in as_system.json()["results"]] == [snapshot.pk]
    assert as_township.json()["results"] == []
    assert as_other_county.json()["results"] == []
    assert filtered_away.json()["results"] == []


def test_snapshots_list_forbidden_without_registry_capabilities(areas, make_user, login_client):
    data_admin = login_client(make_user(role=Role.DATA_ADMIN, area=areas.county))

    assert data_admin.get(SNAPSHOTS_URL).status_code == 403


def test_the_endpoints_are_in_the_openapi_schema(areas, case_users, login_client):
    response = login_client(case_users.poverty_office).get("/api/schema/?format=json")

    paths = response.json()["paths"]
    assert set(paths["/api/v1/poverty/households/"]) >= {"get", "post"}
    assert "get" in paths["/api/v1/poverty/households/{id}/"]
    assert "get" in paths["/api/v1/poverty/snapshots/"]
    assert "422" in paths["/api/v1/poverty/households/"]["post"]["responses"]
