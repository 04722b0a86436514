"""``/api/v1/reconciliation/…``: runs and items scoped to the caller, filters, pagination, masked
ID numbers, resolve/reopen with the shared services, errors as ``{"code", "message", "fields"}``,
and every endpoint in the OpenAPI schema."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lowbao.people.masking import mask_id_number
from review.models import ItemEvent, ItemState, ReconciliationCategory, ReconciliationItem
from tests.fixtures.review_items import make_recon_item, pick_user, recon_person

pytestmark = pytest.mark.django_db

RUNS = "/api/v1/reconciliation/runs/"
ITEMS = "/api/v1/reconciliation/items/"


def _ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def _state(item) -> tuple:
    item = ReconciliationItem.objects.get(pk=item.pk)
    return (item.state, item.resolved_by_id, item.resolution_note, item.events.count())


def test_the_urls_are_under_api_v1(recon):
    assert reverse("reconciliation-run-list") == RUNS
    assert reverse("reconciliation-item-list") == ITEMS
    assert (
        reverse("reconciliation-item-resolve", kwargs={"pk": 7})
        == "/api/v1/reconciliation/items/7/resolve/"
    )


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ["runs", "items", "run", "item"])
def test_anonymous_callers_get_401(endpoint, client, recon):
    url = {
        "runs": RUNS,
        "items": ITEMS,
        "run": f"{RUNS}{recon.run.pk}/",
        "item": f"{ITEMS}{recon.own_item.pk}/",
    }[endpoint]

    response = client.get(url)

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "未登录或登录已过期",
        "fields": {},
    }


@pytest.mark.parametrize("url", [RUNS, ITEMS], ids=["runs", "items"])
def test_a_role_without_the_capability_gets_403(url, recon, recon_users, login_client):
    response = login_client(recon_users.data_admin).get(url)

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("_case", "user", "expected"),
    [
        ("township caseworker: no runs (county-level)", "caseworker", set()),
        ("county officer: own county", "civil_affairs", {"run_h1", "run"}),
        ("other county officer", "other_county_civil_affairs", {"other_county_run"}),
        ("league officer", "league_officer", {"run_h1", "run", "other_county_run"}),
        ("region officer", "region_officer", {"run_h1", "run", "other_county_run"}),
        ("another league", "other_league_officer", set()),
    ],
)
def test_runs_are_scoped_to_the_callers_counties(
    _case, user, expected, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(RUNS)

    assert response.status_code == 200
    assert _ids(response) == {getattr(recon, name).pk for name in expected}


@pytest.mark.parametrize(
    ("_case", "user", "run", "status"),
    [
        ("county officer", "civil_affairs", "run", 200),
        ("county officer: other county", "civil_affairs", "other_county_run", 404),
        ("township caseworker", "caseworker", "run", 404),
        ("league officer", "league_officer", "other_county_run", 200),
    ],
)
def test_the_run_detail_per_role(
    _case, user, run, status, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(
        f"{RUNS}{getattr(recon, run).pk}/"
    )

    assert response.status_code == status
    if status == 404:
        assert response.json()["code"] == "not_found"


def test_the_run_detail_body(recon, case_users, login_client):
    body = login_client(case_users.civil_affairs).get(f"{RUNS}{recon.run.pk}/").json()

    assert body["county"] == "150121000000"
    assert body["period"] == "2026H2"
    assert body["as_of"] == "2026-07-01"
    assert body["status"] == "finished"
    assert body["progress"] == 100
    assert body["counts"]["linked"] == 30
    assert body["dibao_households"] == 40


def test_runs_filter_by_period_status_and_county(recon, areas, recon_users, login_client):
    client = login_client(recon_users.league_officer)

    h1 = _ids(client.get(RUNS, {"period": "2026H1"}))
    county = _ids(client.get(RUNS, {"county": areas.sibling_county.code}))
    running = _ids(client.get(RUNS, {"status": "running"}))
    bad = client.get(RUNS, {"period": "2026-H1", "status": "x"})

    assert h1 == {recon.run_h1.pk}
    assert county == {recon.other_county_run.pk}
    assert running == set()
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"
    assert set(bad.json()["fields"]) == {"period", "status"}


@pytest.mark.parametrize(
    ("_case", "user", "expected"),
    [
        (
            "township caseworker",
            "caseworker",
            {"own_item", "protect_item", "register_item", "exit_item"},
        ),
        ("sibling township", "sibling_caseworker", {"sibling_item"}),
        (
            "county officer",
            "civil_affairs",
            {
                "own_item",
                "protect_item",
                "register_item",
                "exit_item",
                "sibling_item",
                "county_item",
            },
        ),
        ("other county", "other_county_civil_affairs", {"other_county_item"}),
        (
            "league officer",
            "league_officer",
            {
                "own_item",
                "protect_item",
                "register_item",
                "exit_item",
                "sibling_item",
                "county_item",
                "other_county_item",
            },
        ),
        ("another league", "other_league_officer", set()),
        ("village assistant", "village_assistant", set()),
    ],
)
def test_items_are_scoped_to_the_callers_areas(
    _case, user, expected, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(ITEMS)

    assert response.status_code == 200
    assert _ids(response) == {getattr(recon, name).pk for name in expected}
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("_case", "user", "item", "status"),
    [
        ("own township", "caseworker", "own_item", 200),
        ("sibling township", "caseworker", "sibling_item", 404),
        ("county-wide item for a township user", "caseworker", "county_item", 404),
        ("county-wide item for the county", "civil_affairs", "county_item", 200),
        ("other county", "civil_affairs", "other_county_item", 404),
        ("league", "league_officer", "other_county_item", 200),
    ],
)
def test_the_item_detail_per_role(
    _case, user, item, status, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(
        f"{ITEMS}{getattr(recon, item).pk}/"
    )

    assert response.status_code == status


def test_an_item_shows_masked_id_numbers_and_its_history(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(f"{ITEMS}{recon.own_item.pk}/")
    body = response.json()

    assert recon.own_id_number not in response.content.decode()
    assert body["persons"] == [
        {
            "id": recon.own_person.pk,
            "name": "巴特尔",
            "id_number": mask_id_number(recon.own_id_number),
        }
    ]
    assert body["category"] == "attr_mismatch"
    assert body["township"] == "150121100000"
    assert body["dibao_household"] == "DB-OWN-1"
    assert body["registry_household"] == "1501210101"
    assert body["first_found"]["period"] == "2026H1"
    assert body["last_found"]["period"] == "2026H2"
    assert body["details"] == [
        {"key": "registry_attribute", "label": "贫困户属性", "text": "一般贫困户", "persons": []}
    ]
    assert [event["action"] for event in body["events"]] == ["found"]


def test_the_item_list_masks_id_numbers(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(ITEMS)

    assert recon.own_id_number not in response.content.decode()
    assert mask_id_number(recon.own_id_number) in response.content.decode()


def test_items_filter_by_category_state_township_county_and_period(
    recon, areas, case_users, recon_users, login_client
):
    county = login_client(case_users.civil_affairs)
    league = login_client(recon_users.league_officer)
    ReconciliationItem.objects.filter(pk=recon.exit_item.pk).update(state=ItemState.VERIFIED)

    assert _ids(county.get(ITEMS, {"category": "should_protect"})) == {recon.protect_item.pk}
    assert _ids(county.get(ITEMS, {"state": "verified"})) == {recon.exit_item.pk}
    assert _ids(county.get(ITEMS, {"township": areas.sibling_township.code})) == {
        recon.sibling_item.pk
    }
    assert _ids(county.get(ITEMS, {"period": "2026H1"})) == {recon.own_item.pk}
    assert _ids(league.get(ITEMS, {"county": areas.sibling_county.code})) == {
        recon.other_county_item.pk
    }


@pytest.mark.parametrize(
    ("_case", "params", "status", "code"),
    [
        ("unknown category", {"category": "linked"}, 400, "invalid"),
        ("bad state", {"state": "done"}, 400, "invalid"),
        ("bad area code", {"township": "15012110"}, 400, "invalid"),
        ("township outside the caller's areas", {"township": "150121101000"}, 404, "not_found"),
        ("county outside the caller's areas", {"county": "150122000000"}, 404, "not_found"),
    ],
)
def test_bad_item_filters(_case, params, status, code, recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(ITEMS, params)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "fields"}


def test_the_item_list_is_paginated_like_the_other_apis(recon, case_users, login_client):
    body = login_client(case_users.civil_affairs).get(ITEMS, {"page_size": 2}).json()

    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 6
    assert len(body["results"]) == 2
    assert "page=2" in body["next"]


def test_the_item_list_runs_the_same_queries_for_20_and_200_rows(
    recon, areas, case_users, login_client
):
    persons = [recon_person()[0] for _ in range(4)]
    for index in range(200):
        make_recon_item(
            recon.run,
            township=areas.township,
            category=ReconciliationCategory.MEMBER_MISMATCH,
            dibao=recon.own_dibao,
            registry=recon.own_registry,
            persons=persons[index % 4 : index % 4 + 1],
            details={"only_in_dibao": [persons[(index + 1) % 4].pk]},
        )
    client = login_client(case_users.caseworker)
    client.get(ITEMS)

    counts = []
    for size in (20, 200):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(ITEMS, {"category": "member_mismatch", "page_size": size})
        assert len(response.json()["results"]) == size
        counts.append(
            len(
                [
                    q
                    for q in queries.captured_queries
                    if '"django_session"' not in q["sql"]
                    and not q["sql"].startswith(
                        ("SAVEPOINT", "RELEASE SAVEPOINT", 'SELECT "accounts_user"')
                    )
                ]
            )
        )

    # assignments, item scope (areas), count, page rows, persons
    assert counts == [5, 5]


# --- resolve / reopen ---------------------------------------------------------------------------


def _resolve(client, item, **body):
    return client.post(
        f"{ITEMS}{item.pk}/resolve/",
        {"state": "verified", "note": "核实无误", **body},
        content_type="application/json",
    )


def test_resolving_through_the_api(recon, case_users, login_client):
    response = _resolve(login_client(case_users.caseworker), recon.own_item, state="corrected")

    assert response.status_code == 200
    body = response.json()
    assert (body["state"], body["state_label"], body["resolution_note"]) == (
        "corrected",
        "已更正",
        "核实无误",
    )
    assert body["resolved_by"] == case_users.caseworker.get_username()
    assert [event["action"] for event in body["events"]] == ["found", "resolved"]


@pytest.mark.parametrize(
    ("_case", "user", "item", "body", "status", "code"),
    [
        ("note missing", "caseworker", "own_item", {"note": ""}, 400, "invalid"),
        ("blank note", "caseworker", "own_item", {"note": "   "}, 400, "invalid"),
        ("state not a resolution", "caseworker", "own_item", {"state": "open"}, 400, "invalid"),
        ("sibling township", "sibling_caseworker", "own_item", {}, 404, "not_found"),
        ("county-wide item", "caseworker", "county_item", {}, 404, "not_found"),
        ("other county", "other_county_civil_affairs", "own_item", {}, 404, "not_found"),
        ("county leader", "county_leader", "own_item", {}, 403, "permission_denied"),
        ("league officer", "league_officer", "own_item", {}, 403, "permission_denied"),
        ("region officer", "region_officer", "own_item", {}, 403, "permission_denied"),
        ("no capability", "data_admin", "own_item", {}, 403, "permission_denied"),
    ],
)
def test_refused_resolutions_change_nothing(
    _case, user, item, body, status, code, recon, case_users, recon_users, login_client
):
    target = getattr(recon, item)
    before = _state(target)

    response = _resolve(login_client(pick_user(user, case_users, recon_users)), target, **body)

    assert response.status_code == status
    assert response.json()["code"] == code
    assert set(response.json()) == {"code", "message", "fields"}
    assert _state(target) == before


def test_resolving_twice_is_a_409(recon, case_users, login_client):
    _resolve(login_client(case_users.caseworker), recon.own_item)
    before = _state(recon.own_item)

    response = _resolve(login_client(case_users.township_head), recon.own_item, state="corrected")

    assert response.status_code == 409
    assert response.json()["code"] == "item_already_resolved"
    assert _state(recon.own_item) == before


def test_anonymous_resolutions_get_401(recon, client):
    before = _state(recon.own_item)

    response = _resolve(client, recon.own_item)

    assert response.status_code == 401
    assert _state(recon.own_item) == before


def test_reopening_through_the_api(recon, case_users, login_client):
    client = login_client(case_users.caseworker)
    _resolve(client, recon.own_item)

    response = client.post(
        f"{ITEMS}{recon.own_item.pk}/reopen/",
        {"note": "复查仍不一致"},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert response.json()["state"] == "open"
    assert list(
        ItemEvent.objects.filter(item=recon.own_item).order_by("at", "id").values_list("action")
    ) == [("found",), ("resolved",), ("reopened",)]


def test_reopening_an_open_item_is_a_409(recon, case_users, login_client):
    response = login_client(case_users.caseworker).post(
        f"{ITEMS}{recon.own_item.pk}/reopen/", {"note": "x"}, content_type="application/json"
    )

    assert response.status_code == 409
    assert response.json()["code"] == "item_not_resolved"


# --- schema -------------------------------------------------------------------------------------


def test_every_endpoint_is_in_the_openapi_schema(recon, case_users, login_client):
    response = login_client(case_users.civil_affairs).get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert {
        "/api/v1/reconciliation/runs/": {"get"},
        "/api/v1/reconciliation/runs/{id}/": {"get"},
        "/api/v1/reconciliation/items/": {"get"},
        "/api/v1/reconciliation/items/{id}/": {"get"},
        "/api/v1/reconciliation/items/{id}/resolve/": {"post"},
        "/api/v1/reconciliation/items/{id}/reopen/": {"post"},
    } == {
        path: set(methods) - {"parameters"}
        for path, methods in paths.items()
        if path.startswith("/api/v1/reconciliation/")
    }
    item_parameters = {
        p["name"] for p in paths["/api/v1/reconciliation/items/"]["get"]["parameters"]
    }
    assert {"county", "township", "category", "state", "period", "page", "page_size"} <= (
        item_parameters
    )
