"""``/api/v1/review/…``: the annual review's campaigns, township lists and items, read-only —
scoped like the campaign pages (a township sees its own lists and its county's campaign through
them, a county its county, league and region officers their area; anything else is a 404),
filtered by area, status and year, keyset-paginated with a capped count, ID numbers masked, and
the same number of queries for a page of 1 row and a page of many."""

from datetime import date, timedelta
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from lowbao.areas.roles import Role
from lowbao.core.api.pagination import KeysetPagination
from lowbao.people.masking import mask_id_number
from review.models import (
    CampaignStatus,
    ListStatus,
    ReviewFiling,
    ReviewItem,
    ReviewList,
    ReviewListSnapshot,
    ReviewSignature,
    SignOffScope,
)
from review.services.campaign import campaign_open
from review.services.campaign_signoff import (
    campaign_file,
    campaign_joint_confirm,
    review_list_confirm,
    review_list_sign,
    review_reopen,
)
from tests.fixtures.accounts import PASSWORD
from tests.fixtures.campaign import WORK_DAY, YEAR, work_item
from tests.fixtures.dashboard import make_campaign, make_item, make_list
from tests.fixtures.review_items import dibao_household, pick_user, recon_person, registry_household

pytestmark = pytest.mark.django_db

CAMPAIGNS = "/api/v1/review/campaigns/"
LISTS = "/api/v1/review/lists/"
ITEMS = "/api/v1/review/items/"
LAST_YEAR = YEAR - 1


def _ids(response) -> set[int]:
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def _items_url(review_list) -> str:
    return f"{LISTS}{review_list.pk}/items/"


@pytest.fixture
def world(areas, campaign_users, make_user):
    """Campaigns built with the ORM (every figure known by hand):

    - this year's campaign of the county (open, due 31 December): the township's list (a dibao
      household whose head's ID number is known, decided; a registry household in the second
      village, visited) and the sibling township's list (one dibao household);
    - last year's campaign of the county (filed), the township's list signed (one household);
    - this year's campaign of the sibling county (another county of the league), one list.
    """
    by = campaign_users.civil_affairs
    campaign = make_campaign(
        areas.county,
        year=YEAR,
        opens_on=date(YEAR, 10, 1),
        due_on=date(YEAR + 1, 12, 31),
        status=CampaignStatus.OPEN,
        by=by,
    )
    own_list = make_list(campaign, areas.township)
    sibling_list = make_list(campaign, areas.sibling_township)
    head, head_id_number = recon_person("巴特尔")
    spouse, _ = recon_person("其其格")
    own_dibao = dibao_household(areas.village, [head, spouse], number="DB-API-1")
    own_item = make_item(own_list, dibao=own_dibao, visited=True, decided=True)
    registry_head, registry_id_number = recon_person("贫困户主")
    own_registry = registry_household(areas.sibling_village, [registry_head], number="1501219901")
    registry_item = make_item(own_list, registry=own_registry, visited=True)
    sibling_person, _ = recon_person("乌云")
    sibling_item = make_item(
        sibling_list, dibao=dibao_household(areas.other_township_village, [sibling_person])
    )

    last_year = make_campaign(
        areas.county,
        year=LAST_YEAR,
        opens_on=date(LAST_YEAR, 10, 1),
        due_on=date(LAST_YEAR, 12, 31),
        status=CampaignStatus.FILED,
        by=by,
    )
    last_list = make_list(last_year, areas.township, ListStatus.SIGNED)
    last_person, _ = recon_person("去年户")
    last_item = make_item(
        last_list, dibao=dibao_household(areas.village, [last_person]), decided=True
    )

    other_campaign = make_campaign(
        areas.sibling_county,
        year=YEAR,
        opens_on=date(YEAR, 10, 1),
        due_on=date(YEAR + 1, 12, 31),
        status=CampaignStatus.OPEN,
        by=campaign_users.other_county_civil_affairs,
    )
    other_list = make_list(other_campaign, areas.other_county_township)
    other_person, _ = recon_person("其他旗县")
    other_item = make_item(
        other_list, dibao=dibao_household(areas.other_county_village, [other_person])
    )
    return SimpleNamespace(
        campaign=campaign,
        own_list=own_list,
        sibling_list=sibling_list,
        own_item=own_item,
        registry_item=registry_item,
        sibling_item=sibling_item,
        last_year=last_year,
        last_list=last_list,
        last_item=last_item,
        other_campaign=other_campaign,
        other_list=other_list,
        other_item=other_item,
        head_id_number=head_id_number,
        registry_id_number=registry_id_number,
        no_role=make_user(username="nobody"),
        data_admin=make_user(role=Role.DATA_ADMIN, area=areas.county, username="da-api"),
    )


def _user(name: str, campaign_users, world):
    return pick_user(name, campaign_users, world)


def test_the_urls_are_under_api_v1_review(world):
    assert reverse("review-campaign-list") == CAMPAIGNS
    assert reverse("review-campaign-detail", kwargs={"campaign_id": 7}) == f"{CAMPAIGNS}7/"
    assert reverse("review-list-list") == LISTS
    assert reverse("review-list-detail", kwargs={"list_id": 7}) == f"{LISTS}7/"
    assert reverse("review-list-item-list", kwargs={"list_id": 7}) == f"{LISTS}7/items/"
    assert reverse("review-item-detail", kwargs={"item_id": 7}) == f"{ITEMS}7/"


def test_every_endpoint_is_in_the_schema(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]

    assert {
        "/api/v1/review/campaigns/",
        "/api/v1/review/campaigns/{campaign_id}/",
        "/api/v1/review/lists/",
        "/api/v1/review/lists/{list_id}/",
        "/api/v1/review/lists/{list_id}/items/",
        "/api/v1/review/items/{item_id}/",
    } <= set(paths)
    assert all(set(paths[p]) == {"get"} for p in paths if p.startswith("/api/v1/review/"))


# --- access -------------------------------------------------------------------------------------


def _endpoints(world) -> dict[str, str]:
    return {
        "campaigns": CAMPAIGNS,
        "campaign": f"{CAMPAIGNS}{world.campaign.pk}/",
        "lists": LISTS,
        "list": f"{LISTS}{world.own_list.pk}/",
        "items": _items_url(world.own_list),
        "item": f"{ITEMS}{world.own_item.pk}/",
    }


ENDPOINTS = ["campaigns", "campaign", "lists", "list", "items", "item"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_anonymous_callers_get_401(endpoint, client, world):
    response = client.get(_endpoints(world)[endpoint])

    assert response.status_code == 401
    assert response.json() == {
        "code": "not_authenticated",
        "message": "未登录或登录已过期",
        "fields": {},
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("user", ["no_role", "data_admin"])
def test_callers_without_review_view_get_403(endpoint, user, world, login_client):
    response = login_client(getattr(world, user)).get(_endpoints(world)[endpoint])

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


@pytest.mark.parametrize(
    ("_case", "user", "expected"),
    [
        ("township: its county's campaigns", "caseworker", {"campaign", "last_year"}),
        ("sibling township: no list last year", "sibling_caseworker", {"campaign"}),
        ("county: own county", "civil_affairs", {"campaign", "last_year"}),
        ("other county", "other_county_civil_affairs", {"other_campaign"}),
        ("league reader", "league_officer", {"campaign", "last_year", "other_campaign"}),
        ("region reader", "region_officer", {"campaign", "last_year", "other_campaign"}),
        ("another league", "other_league_officer", set()),
    ],
)
def test_campaigns_are_scoped_like_the_pages(
    _case, user, expected, world, campaign_users, login_client
):
    response = login_client(_user(user, campaign_users, world)).get(CAMPAIGNS)

    assert _ids(response) == {getattr(world, name).pk for name in expected}
    assert response.json()["count"] == len(expected)


@pytest.mark.parametrize(
    ("_case", "user", "campaign", "status"),
    [
        ("township: own county", "caseworker", "campaign", 200),
        ("township: other county", "caseworker", "other_campaign", 404),
        ("sibling township: no list in it", "sibling_caseworker", "last_year", 404),
        ("county: own", "civil_affairs", "last_year", 200),
        ("county: other county", "civil_affairs", "other_campaign", 404),
        ("other county: own", "other_county_civil_affairs", "other_campaign", 200),
        ("league reader", "league_officer", "other_campaign", 200),
        ("region reader", "region_officer", "campaign", 200),
        ("another league", "other_league_officer", "campaign", 404),
    ],
)
def test_the_campaign_detail_per_role(
    _case, user, campaign, status, world, campaign_users, login_client
):
    response = login_client(_user(user, campaign_users, world)).get(
        f"{CAMPAIGNS}{getattr(world, campaign).pk}/"
    )

    assert response.status_code == status
    if status == 404:
        assert response.json()["code"] == "not_found"
    else:
        assert response.json()["id"] == getattr(world, campaign).pk


@pytest.mark.parametrize(
    ("_case", "user", "expected"),
    [
        ("township", "caseworker", {"own_list", "last_list"}),
        ("sibling township", "sibling_caseworker", {"sibling_list"}),
        ("county", "civil_affairs", {"own_list", "sibling_list", "last_list"}),
        ("other county", "other_county_civil_affairs", {"other_list"}),
        (
            "league reader",
            "league_officer",
            {"own_list", "sibling_list", "last_list", "other_list"},
        ),
        (
            "region reader",
            "region_officer",
            {"own_list", "sibling_list", "last_list", "other_list"},
        ),
        ("another league", "other_league_officer", set()),
    ],
)
def test_lists_are_scoped_to_the_callers_townships(
    _case, user, expected, world, campaign_users, login_client
):
    response = login_client(_user(user, campaign_users, world)).get(LISTS)

    assert _ids(response) == {getattr(world, name).pk for name in expected}


@pytest.mark.parametrize(
    ("_case", "user", "review_list", "status"),
    [
        ("township: own", "caseworker", "own_list", 200),
        ("township: sibling township", "caseworker", "sibling_list", 404),
        ("township: other county", "caseworker", "other_list", 404),
        ("county: sibling township", "civil_affairs", "sibling_list", 200),
        ("county: other county", "civil_affairs", "other_list", 404),
        ("other county: own county's list", "other_county_civil_affairs", "own_list", 404),
        ("league reader", "league_officer", "other_list", 200),
        ("region reader", "region_officer", "sibling_list", 200),
        ("another league", "other_league_officer", "own_list", 404),
    ],
)
@pytest.mark.parametrize("endpoint", ["detail", "items"])
def test_a_list_and_its_items_per_role(
    _case, user, review_list, status, endpoint, world, campaign_users, login_client
):
    target = getattr(world, review_list)
    url = f"{LISTS}{target.pk}/" if endpoint == "detail" else _items_url(target)

    response = login_client(_user(user, campaign_users, world)).get(url)

    assert response.status_code == status
    if status == 404:
        assert response.json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("_case", "user", "item", "status"),
    [
        ("township: own", "caseworker", "own_item", 200),
        ("township: sibling township", "caseworker", "sibling_item", 404),
        ("township: other county", "caseworker", "other_item", 404),
        ("sibling township: own", "sibling_caseworker", "sibling_item", 200),
        ("county: sibling township", "civil_affairs", "sibling_item", 200),
        ("county: other county", "civil_affairs", "other_item", 404),
        ("league reader", "league_officer", "other_item", 200),
        ("region reader", "region_officer", "last_item", 200),
        ("another league", "other_league_officer", "own_item", 404),
    ],
)
def test_the_item_detail_per_role(_case, user, item, status, world, campaign_users, login_client):
    response = login_client(_user(user, campaign_users, world)).get(
        f"{ITEMS}{getattr(world, item).pk}/"
    )

    assert response.status_code == status


def test_the_items_of_a_list_are_its_households(world, campaign_users, login_client):
    response = login_client(campaign_users.caseworker).get(_items_url(world.own_list))

    assert _ids(response) == {world.own_item.pk, world.registry_item.pk}


def test_an_unknown_id_is_a_404(world, campaign_users, login_client):
    client = login_client(campaign_users.region_officer)
    missing = 987654

    for url in (
        f"{CAMPAIGNS}{missing}/",
        f"{LISTS}{missing}/",
        f"{LISTS}{missing}/items/",
        f"{ITEMS}{missing}/",
    ):
        assert client.get(url).status_code == 404, url


# --- bodies -------------------------------------------------------------------------------------


def test_the_campaign_body_counts_the_lists_the_caller_sees(world, campaign_users, login_client):
    county = login_client(campaign_users.civil_affairs).get(f"{CAMPAIGNS}{world.campaign.pk}/")
    township = login_client(campaign_users.caseworker).get(f"{CAMPAIGNS}{world.campaign.pk}/")

    body = county.json()
    assert {key: body[key] for key in ("county", "county_name", "year", "status", "round")} == {
        "county": "150121000000",
        "county_name": "土默特左旗",
        "year": YEAR,
        "status": "open",
        "round": 1,
    }
    assert (body["opens_on"], body["due_on"], body["status_label"]) == (
        f"{YEAR}-10-01",
        f"{YEAR + 1}-12-31",
        "复核中",
    )
    assert body["progress"] == {
        "households": 3,
        "visited": 2,
        "decided": 1,
        "overdue": 0,
        "lists": 2,
        "lists_open": 2,
        "lists_confirmed": 0,
        "lists_signed": 0,
    }
    assert (body["county_signature"], body["filing"]) == (None, None)
    assert township.json()["progress"] == {
        "households": 2,
        "visited": 2,
        "decided": 1,
        "overdue": 0,
        "lists": 1,
        "lists_open": 1,
        "lists_confirmed": 0,
        "lists_signed": 0,
    }


def test_undecided_households_past_the_due_day_are_overdue(world, campaign_users, login_client):
    yesterday = timezone.localdate() - timedelta(days=1)
    type(world.campaign).objects.filter(pk=world.campaign.pk).update(due_on=yesterday)
    client = login_client(campaign_users.civil_affairs)

    campaign = client.get(f"{CAMPAIGNS}{world.campaign.pk}/").json()
    own_list = client.get(f"{LISTS}{world.own_list.pk}/").json()
    overdue = client.get(_items_url(world.own_list), {"status": "overdue"})

    assert campaign["progress"]["overdue"] == 2
    assert own_list["progress"] == {"households": 2, "visited": 2, "decided": 1, "overdue": 1}
    assert _ids(overdue) == {world.registry_item.pk}
    assert overdue.json()["results"][0]["overdue"] is True


def test_the_list_body(world, areas, campaign_users, login_client):
    body = login_client(campaign_users.caseworker).get(f"{LISTS}{world.own_list.pk}/").json()

    assert body == {
        "id": world.own_list.pk,
        "campaign": world.campaign.pk,
        "year": YEAR,
        "county": areas.county.code,
        "county_name": "土默特左旗",
        "township": areas.township.code,
        "township_name": "察素齐镇",
        "status": "open",
        "status_label": "复核中",
        "round": 1,
        "confirmed_by": None,
        "confirmed_at": None,
        "signature": None,
        "content_sha256": None,
        "filed": False,
        "filed_at": None,
        "progress": {"households": 2, "visited": 2, "decided": 1, "overdue": 0},
    }


def test_items_show_the_head_with_a_masked_id_number(world, areas, campaign_users, login_client):
    response = login_client(campaign_users.caseworker).get(_items_url(world.own_list))
    rows = {row["id"]: row for row in response.json()["results"]}

    text = response.content.decode()
    assert world.head_id_number not in text
    assert world.registry_id_number not in text
    dibao = rows[world.own_item.pk]
    assert (dibao["head_name"], dibao["head_id_number"], dibao["members"]) == (
        "巴特尔",
        mask_id_number(world.head_id_number),
        2,
    )
    assert (dibao["kind"], dibao["household_number"], dibao["dibao_household"]) == (
        "dibao",
        "DB-API-1",
        "DB-API-1",
    )
    assert (dibao["outcome"], dibao["outcome_label"], dibao["overdue"]) == (
        "continue",
        "继续保障（维持）",
        False,
    )
    registry = rows[world.registry_item.pk]
    assert (registry["head_name"], registry["head_id_number"]) == (
        "贫困户主",
        mask_id_number(world.registry_id_number),
    )
    assert (registry["kind"], registry["dibao_household"], registry["registry_household"]) == (
        "registry",
        None,
        "1501219901",
    )
    assert (registry["village"], registry["township"]) == (
        areas.sibling_village.code,
        areas.township.code,
    )


def test_the_item_detail_masks_id_numbers_in_officers_notes(world, campaign_users, login_client):
    ReviewItem.objects.filter(pk=world.own_item.pk).update(
        visit_findings=f"户主 {world.head_id_number} 在家",
        decision_note=f"核实 {world.head_id_number}",
    )

    response = login_client(campaign_users.caseworker).get(f"{ITEMS}{world.own_item.pk}/")
    body = response.json()

    assert world.head_id_number not in response.content.decode()
    assert body["visit_findings"] == f"户主 {mask_id_number(world.head_id_number)} 在家"
    assert body["decision_note"] == f"核实 {mask_id_number(world.head_id_number)}"
    assert body["head_id_number"] == mask_id_number(world.head_id_number)
    assert body["screening"] == []


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        ("a county code: its campaigns", {"area": "150121000000"}, {"campaign", "last_year"}),
        (
            "a township code: its county's campaigns",
            {"area": "150121101000"},
            {"campaign", "last_year"},
        ),
        ("the other county", {"area": "150122000000"}, {"other_campaign"}),
        (
            "the league: all of it",
            {"area": "150100000000"},
            {"campaign", "last_year", "other_campaign"},
        ),
        ("status", {"status": "filed"}, {"last_year"}),
        ("year", {"year": LAST_YEAR}, {"last_year"}),
        ("year and area", {"year": YEAR, "area": "150122000000"}, {"other_campaign"}),
        ("nothing matches", {"status": "signed"}, set()),
    ],
)
def test_campaigns_filter_by_area_status_and_year(
    _case, params, expected, world, campaign_users, login_client
):
    response = login_client(campaign_users.league_officer).get(CAMPAIGNS, params)

    assert _ids(response) == {getattr(world, name).pk for name in expected}


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        (
            "a county code: all its townships",
            {"area": "150121000000"},
            {"own_list", "sibling_list", "last_list"},
        ),
        ("a township code", {"area": "150121101000"}, {"sibling_list"}),
        ("a village code: its township", {"area": "150121100202"}, {"own_list", "last_list"}),
        ("status", {"status": "signed"}, {"last_list"}),
        ("year", {"year": LAST_YEAR}, {"last_list"}),
        ("campaign", {"campaign": "campaign"}, {"own_list", "sibling_list"}),
        ("campaign and area", {"campaign": "campaign", "area": "150121100000"}, {"own_list"}),
    ],
)
def test_lists_filter_by_area_status_year_and_campaign(
    _case, params, expected, world, campaign_users, login_client
):
    if "campaign" in params:
        params = {**params, "campaign": world.campaign.pk}

    response = login_client(campaign_users.civil_affairs).get(LISTS, params)

    assert _ids(response) == {getattr(world, name).pk for name in expected}


def test_a_township_naming_its_county_sees_only_its_own(world, campaign_users, login_client):
    client = login_client(campaign_users.caseworker)

    lists = client.get(LISTS, {"area": "150121000000"})
    campaigns = client.get(CAMPAIGNS, {"area": "150121000000"})

    assert _ids(lists) == {world.own_list.pk, world.last_list.pk}
    assert _ids(campaigns) == {world.campaign.pk, world.last_year.pk}


@pytest.mark.parametrize(
    ("_case", "params", "expected"),
    [
        ("decided", {"status": "decided"}, {"own_item"}),
        ("undecided", {"status": "undecided"}, {"registry_item"}),
        ("not overdue before the due day", {"status": "overdue"}, set()),
        ("kind", {"kind": "registry"}, {"registry_item"}),
        ("outcome", {"outcome": "continue"}, {"own_item"}),
        ("in the registry", {"in_registry": "true"}, {"registry_item"}),
        ("not in the registry", {"in_registry": "false"}, {"own_item"}),
        ("a village", {"area": "150121100202"}, {"registry_item"}),
        ("the township", {"area": "150121100000"}, {"own_item", "registry_item"}),
    ],
)
def test_items_filter_by_status_kind_outcome_registry_and_village(
    _case, params, expected, world, campaign_users, login_client
):
    response = login_client(campaign_users.caseworker).get(_items_url(world.own_list), params)

    assert _ids(response) == {getattr(world, name).pk for name in expected}


@pytest.mark.parametrize(
    ("_case", "url", "params", "status", "fields"),
    [
        ("bad campaign status", CAMPAIGNS, {"status": "done"}, 400, {"status"}),
        ("year out of range", CAMPAIGNS, {"year": "1999"}, 400, {"year"}),
        ("year not a number", LISTS, {"year": "2026H2"}, 400, {"year"}),
        ("short area code", LISTS, {"area": "15012110"}, 400, {"area"}),
        ("bad list status", LISTS, {"status": "filed"}, 400, {"status"}),
        ("bad campaign id", LISTS, {"campaign": "0"}, 400, {"campaign"}),
        ("unknown area", CAMPAIGNS, {"area": "150121999000"}, 404, set()),
        ("sibling township", LISTS, {"area": "150121101000"}, 404, set()),
        ("another county", CAMPAIGNS, {"area": "150122000000"}, 404, set()),
        ("another league", LISTS, {"area": "150200000000"}, 404, set()),
    ],
)
def test_bad_filters_are_refused(
    _case, url, params, status, fields, world, campaign_users, login_client
):
    response = login_client(campaign_users.caseworker).get(url, params)

    assert response.status_code == status
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert body["code"] == ("invalid" if status == 400 else "not_found")
    assert set(body["fields"]) == fields


@pytest.mark.parametrize(
    ("_case", "params", "fields"),
    [
        ("bad item status", {"status": "registry"}, {"status"}),
        ("bad kind", {"kind": "other"}, {"kind"}),
        ("bad outcome", {"outcome": "later"}, {"outcome"}),
        ("bad boolean", {"in_registry": "maybe"}, {"in_registry"}),
    ],
)
def test_bad_item_filters_are_refused(_case, params, fields, world, campaign_users, login_client):
    response = login_client(campaign_users.caseworker).get(_items_url(world.own_list), params)

    assert response.status_code == 400
    assert set(response.json()["fields"]) == fields


def test_items_of_a_village_outside_the_callers_areas_are_a_404(
    world, campaign_users, login_client
):
    response = login_client(campaign_users.caseworker).get(
        _items_url(world.own_list), {"area": "150121101201"}
    )

    assert response.status_code == 404


# --- pagination ---------------------------------------------------------------------------------


def test_lists_page_by_key_with_next_and_previous_links(world, campaign_users, login_client):
    client = login_client(campaign_users.region_officer)

    first = client.get(LISTS, {"page_size": 3}).json()
    second = client.get(first["next"]).json()
    back = client.get(second["previous"]).json()

    assert set(first) == {"count", "count_capped", "next", "previous", "results"}
    assert (first["count"], first["count_capped"], first["previous"]) == (4, False, None)
    assert first["next"].startswith("http://testserver/api/v1/review/lists/?")
    assert "page_size=3" in first["next"]
    assert "after=" in first["next"]
    # this year first (township codes in order), then last year's
    assert [row["id"] for row in first["results"]] == [
        world.own_list.pk,
        world.sibling_list.pk,
        world.other_list.pk,
    ]
    assert [row["id"] for row in second["results"]] == [world.last_list.pk]
    assert (second["count"], second["next"]) == (4, None)
    assert "before=" in second["previous"]
    assert [row["id"] for row in back["results"]] == [row["id"] for row in first["results"]]


def test_campaigns_page_in_year_then_county_order(world, campaign_users, login_client):
    client = login_client(campaign_users.league_officer)

    first = client.get(CAMPAIGNS, {"page_size": 2}).json()
    second = client.get(first["next"]).json()

    assert [row["id"] for row in first["results"]] == [world.campaign.pk, world.other_campaign.pk]
    assert [row["id"] for row in second["results"]] == [world.last_year.pk]
    assert first["count"] == 3


def test_items_page_in_village_order(world, campaign_users, login_client):
    client = login_client(campaign_users.caseworker)

    first = client.get(_items_url(world.own_list), {"page_size": 1}).json()
    following = client.get(first["next"]).json()

    assert [row["id"] for row in first["results"]] == [world.own_item.pk]
    assert [row["id"] for row in following["results"]] == [world.registry_item.pk]
    assert (following["count"], following["next"]) == (2, None)


def test_the_next_links_keep_the_filters(world, areas, campaign_users, login_client):
    client = login_client(campaign_users.civil_affairs)
    url, params, seen = LISTS, {"page_size": 1, "area": areas.county.code}, []

    while url:
        body = client.get(url, params).json()
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], {}

    assert seen == [world.own_list.pk, world.sibling_list.pk, world.last_list.pk]


@pytest.mark.parametrize(
    ("_case", "page_size", "expected"),
    [
        ("default", None, 50),
        ("as asked", "20", 20),
        ("zero is one", "0", 1),
        ("negative is one", "-3", 1),
        ("above the maximum is the maximum", "5000", 200),
        ("nonsense is the default", "many", 50),
    ],
)
def test_the_page_size_is_clamped(_case, page_size, expected):
    params = {} if page_size is None else {"page_size": page_size}
    request = Request(APIRequestFactory().get(LISTS, params))

    assert KeysetPagination()._page_size(request) == expected


@pytest.mark.parametrize("cursor", ["not json", "[1,2]", '[2026,"x"]', "[{},1,2]", "[null,1,2]"])
def test_a_bad_cursor_gives_the_first_page(cursor, world, campaign_users, login_client):
    response = login_client(campaign_users.region_officer).get(
        LISTS, {"after": cursor, "page_size": 1}
    )

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [world.own_list.pk]


@pytest.mark.parametrize("position", ["after", "before"])
def test_an_out_of_range_cursor_is_not_an_error(position, world, campaign_users, login_client):
    cursor = '[2026,"150121100000",99999999999999999999999]'

    response = login_client(campaign_users.region_officer).get(LISTS, {position: cursor})

    assert response.status_code == 200


# --- signed and filed (through the services) ------------------------------------------------------


@pytest.fixture
def filed(areas, campaign_users, review_household, verify_household):
    """A campaign walked through the services: every item decided, both township lists confirmed
    and signed, jointly confirmed, signed by the county leader and filed with the league."""
    review_household(names=("巴特尔",))
    review_household(village=areas.other_township_village, names=("那日苏",))
    campaign = campaign_open(
        actor=campaign_users.civil_affairs, county=areas.county, year=YEAR, today=WORK_DAY
    )
    for item in ReviewItem.objects.filter(campaign=campaign).select_related("review_list"):
        work_item(item, campaign_users, verify=verify_household)
    lists = {row.township_id: row for row in ReviewList.objects.filter(campaign=campaign)}
    heads = {
        areas.township.pk: campaign_users.township_head,
        areas.sibling_township.pk: campaign_users.sibling_head,
    }
    for township_id, review_list in lists.items():
        review_list_confirm(
            actor=heads[township_id], campaign_id=campaign.pk, list_id=review_list.pk
        )
    campaign_joint_confirm(actor=campaign_users.civil_affairs_head, campaign_id=campaign.pk)
    campaign_joint_confirm(actor=campaign_users.poverty_office, campaign_id=campaign.pk)
    for township_id, review_list in lists.items():
        review_list_sign(
            actor=heads[township_id],
            campaign_id=campaign.pk,
            list_id=review_list.pk,
            password=PASSWORD,
        )
    review_list_sign(
        actor=campaign_users.county_leader, campaign_id=campaign.pk, list_id=None, password=PASSWORD
    )
    filing = campaign_file(actor=campaign_users.civil_affairs, campaign_id=campaign.pk)
    return SimpleNamespace(campaign=campaign, own_list=lists[areas.township.pk], filing=filing)


def test_a_signed_list_shows_the_hash_of_its_frozen_snapshot(
    filed, areas, campaign_users, login_client
):
    signature = ReviewSignature.objects.get(review_list=filed.own_list)

    body = login_client(campaign_users.caseworker).get(f"{LISTS}{filed.own_list.pk}/").json()

    assert (body["status"], body["round"], body["confirmed_by"]) == ("signed", 1, "th")
    assert body["confirmed_at"] is not None
    assert body["content_sha256"] == signature.content_sha256
    assert body["content_sha256"] == signature.snapshot.content_sha256
    assert len(body["content_sha256"]) == 64
    assert body["signature"]["snapshot"] == signature.snapshot_id
    assert (body["signature"]["role"], body["signature"]["signer_name"]) == (
        Role.TOWNSHIP_HEAD,
        signature.signer_name,
    )
    assert body["filed"] is True
    assert body["filed_at"] is not None
    assert body["progress"] == {"households": 1, "visited": 1, "decided": 1, "overdue": 0}


def test_the_county_signature_shows_to_the_county_not_to_a_township(
    filed, areas, campaign_users, login_client
):
    url = f"{CAMPAIGNS}{filed.campaign.pk}/"
    county_signature = ReviewSignature.objects.get(
        campaign=filed.campaign, review_list__isnull=True
    )

    county = login_client(campaign_users.civil_affairs).get(url).json()
    league = login_client(campaign_users.league_officer).get(url).json()
    township = login_client(campaign_users.caseworker).get(url).json()

    assert county["status"] == "filed"
    assert county["county_signature"]["content_sha256"] == filed.filing.county_sha256
    assert county["county_signature"]["snapshot"] == county_signature.snapshot_id
    assert county["filing"]["league"] == areas.league.code
    assert league["county_signature"] == county["county_signature"]
    assert township["county_signature"] is None
    assert township["filing"]["league"] == areas.league.code
    assert county["progress"]["lists_signed"] == 2
    assert township["progress"]["lists_signed"] == 1


def test_a_reopened_list_drops_its_signature_and_filing(filed, campaign_users, login_client):
    review_reopen(
        actor=campaign_users.civil_affairs,
        campaign_id=filed.campaign.pk,
        list_id=filed.own_list.pk,
        reason="核实有误",
    )
    client = login_client(campaign_users.civil_affairs)

    own_list = client.get(f"{LISTS}{filed.own_list.pk}/").json()
    campaign = client.get(f"{CAMPAIGNS}{filed.campaign.pk}/").json()

    assert (own_list["status"], own_list["round"]) == ("open", 2)
    assert (own_list["signature"], own_list["content_sha256"], own_list["filed"]) == (
        None,
        None,
        False,
    )
    assert (campaign["status"], campaign["round"]) == ("open", 2)
    assert (campaign["county_signature"], campaign["filing"]) == (None, None)


# --- queries ------------------------------------------------------------------------------------


def _page_queries(client, url: str, params: dict) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params)
    assert response.status_code == 200
    counted = [
        q
        for q in queries.captured_queries
        if '"django_session"' not in q["sql"]
        and not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", 'SELECT "accounts_user"'))
    ]
    return len(response.json()["results"]), len(counted)


def _signed_and_filed(review_list: ReviewList, signer) -> None:
    """Sign the list and file its campaign with plain rows (the query tests need many)."""
    campaign = review_list.campaign
    now = timezone.now()
    snapshots = {}
    for scope, target in ((SignOffScope.TOWNSHIP, review_list), (SignOffScope.COUNTY, None)):
        snapshots[scope] = ReviewListSnapshot.objects.create(
            campaign=campaign,
            review_list=target,
            scope=scope,
            round=1,
            title="名单",
            rows=[],
            row_count=0,
            content_sha256=f"{campaign.pk:064d}",
            created_at=now,
        )
        ReviewSignature.objects.create(
            campaign=campaign,
            review_list=target,
            scope=scope,
            round=1,
            role=Role.TOWNSHIP_HEAD if target else Role.COUNTY_LEADER,
            signer=signer,
            signer_name="签字人",
            signed_at=now,
            content_sha256=f"{campaign.pk:064d}",
            snapshot=snapshots[scope],
            reauth_method="password",
        )
    ReviewFiling.objects.create(
        campaign=campaign,
        round=1,
        league=campaign.county.parent,
        filed_by=signer,
        filed_at=now,
        county_snapshot=snapshots[SignOffScope.COUNTY],
        county_sha256=f"{campaign.pk:064d}",
    )


@pytest.fixture
def many_campaigns(world, areas, campaign_users):
    """24 more filed campaigns of the county (years 2000–2023), each with the township's list
    signed, one item decided and one not."""
    for year in range(2000, 2024):
        campaign = make_campaign(
            areas.county,
            year=year,
            opens_on=date(year, 10, 1),
            due_on=date(year, 12, 31),
            status=CampaignStatus.FILED,
            by=campaign_users.civil_affairs,
        )
        review_list = make_list(campaign, areas.township, ListStatus.SIGNED)
        person, _ = recon_person()
        household = dibao_household(areas.village, [person])
        make_item(review_list, dibao=household, decided=True)
        registry_person, _ = recon_person()
        make_item(review_list, registry=registry_household(areas.village, [registry_person]))
        _signed_and_filed(review_list, campaign_users.township_head)


@pytest.mark.parametrize("user", ["civil_affairs", "caseworker", "region_officer"])
def test_a_campaign_page_runs_the_same_queries_for_1_and_20_rows(
    user, many_campaigns, campaign_users, login_client
):
    client = login_client(getattr(campaign_users, user))
    client.get(CAMPAIGNS)

    small = _page_queries(client, CAMPAIGNS, {"page_size": 1, "status": "filed"})
    large = _page_queries(client, CAMPAIGNS, {"page_size": 20, "status": "filed"})

    assert (small[0], large[0]) == (1, 20)
    assert small[1] == large[1]


@pytest.mark.parametrize("user", ["civil_affairs", "caseworker"])
def test_a_list_page_runs_the_same_queries_for_1_and_20_rows(
    user, many_campaigns, campaign_users, login_client
):
    client = login_client(getattr(campaign_users, user))
    client.get(LISTS)

    small = _page_queries(client, LISTS, {"page_size": 1, "status": "signed"})
    large = _page_queries(client, LISTS, {"page_size": 20, "status": "signed"})

    assert (small[0], large[0]) == (1, 20)
    # assignments, count, rows, progress, signatures, filings
    assert small[1] == large[1] == 6


@pytest.mark.parametrize("kind", ["dibao", "registry"])
def test_an_item_page_runs_the_same_queries_for_1_and_20_rows(
    kind, world, areas, campaign_users, login_client
):
    for _ in range(20):
        head, _ = recon_person()
        spouse, _ = recon_person()
        if kind == "dibao":
            make_item(world.own_list, dibao=dibao_household(areas.village, [head, spouse]))
        else:
            make_item(world.own_list, registry=registry_household(areas.village, [head, spouse]))
    client = login_client(campaign_users.caseworker)
    client.get(_items_url(world.own_list))

    small = _page_queries(client, _items_url(world.own_list), {"page_size": 1, "kind": kind})
    large = _page_queries(client, _items_url(world.own_list), {"page_size": 20, "kind": kind})

    assert (small[0], large[0]) == (1, 20)
    # assignments, the list, count, rows, household ids of the page, the heads
    assert small[1] == large[1] == 6
