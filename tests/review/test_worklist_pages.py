"""The township worklist and the item page per role × area (own township, sibling township,
other county, county, league, region, anonymous), masked ID numbers, filters, links to both
sides' pages, and a fixed number of queries for 20 and for 200 rows."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lowbao.people.masking import mask_id_number
from lowbao.people.models import Person
from review.models import ItemState, ReconciliationCategory
from tests.fixtures.review_items import make_recon_item, pick_user, recon_person

pytestmark = pytest.mark.django_db

WORKLIST = reverse("review:reconciliation_worklist")


def _item_url(item) -> str:
    return reverse("review:reconciliation_item", kwargs={"item_id": item.pk})


def _listed(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'<tr id="item-(\d+)"', response.content.decode())}


def test_the_urls_live_under_review_reconciliation(recon):
    assert WORKLIST == "/review/reconciliation/worklist/"
    assert _item_url(recon.own_item) == f"/review/reconciliation/items/{recon.own_item.pk}/"
    assert reverse("review:reconciliation_home") == "/review/reconciliation/"


@pytest.mark.parametrize("page", ["worklist", "item", "home"])
def test_anonymous_users_are_sent_to_login(page, client, recon):
    url = {
        "worklist": WORKLIST,
        "item": _item_url(recon.own_item),
        "home": reverse("review:reconciliation_home"),
    }[page]

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("page", ["worklist", "item", "home"])
def test_a_role_without_the_capability_gets_403(page, recon, recon_users, login_client):
    url = {
        "worklist": WORKLIST,
        "item": _item_url(recon.own_item),
        "home": reverse("review:reconciliation_home"),
    }[page]

    response = login_client(recon_users.data_admin).get(url)

    assert response.status_code == 403
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    ("_case", "user", "expected"),
    [
        (
            "township caseworker: own township only",
            "caseworker",
            {"own_item", "protect_item", "register_item", "exit_item"},
        ),
        (
            "township head: own township only",
            "township_head",
            {"own_item", "protect_item", "register_item", "exit_item"},
        ),
        ("sibling township caseworker", "sibling_caseworker", {"sibling_item"}),
        ("village assistant: nothing (items belong to townships)", "village_assistant", set()),
        (
            "county civil affairs: the county incl. county-wide items",
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
        (
            "county leader: the county (read)",
            "county_leader",
            {
                "own_item",
                "protect_item",
                "register_item",
                "exit_item",
                "sibling_item",
                "county_item",
            },
        ),
        ("other county officer", "other_county_civil_affairs", {"other_county_item"}),
        (
            "league officer: both counties of the league",
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
        (
            "region officer: everything",
            "region_officer",
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
        ("another league's officer", "other_league_officer", set()),
    ],
)
def test_the_worklist_lists_exactly_the_items_in_the_users_areas(
    _case, user, expected, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(WORKLIST)

    assert response.status_code == 200
    assert _listed(response) == {getattr(recon, name).pk for name in expected}


@pytest.mark.parametrize(
    ("_case", "user", "item", "status"),
    [
        ("caseworker: own township", "caseworker", "own_item", 200),
        ("caseworker: sibling township", "caseworker", "sibling_item", 404),
        ("caseworker: county-wide item", "caseworker", "county_item", 404),
        ("caseworker: other county", "caseworker", "other_county_item", 404),
        (
            "sibling caseworker: own item of the other township",
            "sibling_caseworker",
            "own_item",
            404,
        ),
        ("county officer: township item", "civil_affairs", "own_item", 200),
        ("county officer: county-wide item", "civil_affairs", "county_item", 200),
        ("county officer: other county", "civil_affairs", "other_county_item", 404),
        ("other county officer", "other_county_civil_affairs", "own_item", 404),
        ("league officer", "league_officer", "county_item", 200),
        ("region officer", "region_officer", "other_county_item", 200),
        ("another league", "other_league_officer", "own_item", 404),
        ("village assistant", "village_assistant", "own_item", 404),
    ],
)
def test_the_item_page_per_role_and_area(
    _case, user, item, status, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(
        _item_url(getattr(recon, item))
    )

    assert response.status_code == status


def test_the_worklist_shows_masked_id_numbers_only(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(WORKLIST)
    content = response.content.decode()

    assert recon.own_id_number not in content
    assert mask_id_number(recon.own_id_number) in content
    assert "巴特尔" in content


def test_the_item_page_shows_masked_id_numbers_and_the_history(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(_item_url(recon.own_item))
    content = response.content.decode()

    assert recon.own_id_number not in content
    assert mask_id_number(recon.own_id_number) in content
    assert 'id="item-events"' in content
    assert "发现" in content
    assert "2026H1" in content  # first found
    assert "2026H2" in content  # last found


def test_a_row_links_to_both_sides_pages(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(WORKLIST)
    content = response.content.decode()

    dibao_url = reverse("cases:household_detail", kwargs={"household_id": recon.own_dibao.pk})
    registry_url = reverse(
        "poverty:registry_household_detail", kwargs={"household_id": recon.own_registry.pk}
    )
    assert f'href="{dibao_url}"' in content
    assert f'href="{registry_url}"' in content
    assert login_client(case_users.caseworker).get(dibao_url).status_code == 200
    assert login_client(case_users.caseworker).get(registry_url).status_code == 200


def test_the_worklist_shows_open_items_by_default_and_all_on_request(
    recon, case_users, login_client
):
    recon.own_item.state = ItemState.VERIFIED
    recon.own_item.save(update_fields=["state"])
    client = login_client(case_users.caseworker)

    default = _listed(client.get(WORKLIST))
    resolved = _listed(client.get(WORKLIST, {"state": ItemState.VERIFIED}))
    everything = _listed(client.get(WORKLIST, {"state": "all"}))

    assert recon.own_item.pk not in default
    assert resolved == {recon.own_item.pk}
    assert recon.own_item.pk in everything
    assert len(everything) == 4


def test_the_category_filter_and_its_tab_counts(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(
        WORKLIST, {"category": ReconciliationCategory.SHOULD_PROTECT}
    )
    content = response.content.decode()

    assert _listed(response) == {recon.protect_item.pk}
    tab = re.search(
        r'data-category="should_protect">[^<]*<span class="badge text-bg-light">(\d+)</span>',
        content,
    )
    assert tab is not None
    assert tab.group(1) == "1"
    assert (
        re.search(r'全部 <span class="badge text-bg-light">(\d+)</span>', content).group(1) == "4"
    )


def test_a_county_officer_filters_by_township(recon, case_users, login_client):
    client = login_client(case_users.civil_affairs)

    sibling = _listed(client.get(WORKLIST, {"township": recon.sibling_item.township.code}))

    assert sibling == {recon.sibling_item.pk}


def test_a_township_outside_the_users_areas_is_404(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(
        WORKLIST, {"township": recon.sibling_item.township.code}
    )

    assert response.status_code == 404


def test_the_period_filter_keeps_items_found_in_that_period(recon, case_users, login_client):
    client = login_client(case_users.caseworker)

    first_half = _listed(client.get(WORKLIST, {"period": "2026H1", "state": "all"}))
    second_half = _listed(client.get(WORKLIST, {"period": "2026H2", "state": "all"}))

    assert first_half == {recon.own_item.pk}  # carried over from 2026H1
    assert second_half == {
        recon.own_item.pk,
        recon.protect_item.pk,
        recon.register_item.pk,
        recon.exit_item.pk,
    }


def test_a_league_officer_filters_by_county(recon, recon_users, login_client):
    response = login_client(recon_users.league_officer).get(
        WORKLIST, {"county": recon.other_county_item.county.code}
    )

    assert _listed(response) == {recon.other_county_item.pk}


def test_a_county_outside_the_users_areas_is_404(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(
        WORKLIST, {"county": recon.other_county_item.county.code}
    )

    assert response.status_code == 404


def test_unknown_filter_values_are_ignored(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(
        WORKLIST, {"category": "nope", "state": "nope", "period": "x", "per_page": "7"}
    )

    assert response.status_code == 200
    assert len(_listed(response)) == 4


def test_the_details_show_persons_masked(recon, case_users, login_client):
    person = Person.objects.get(pk=recon.sibling_item.person_ids[0])
    response = login_client(case_users.civil_affairs).get(_item_url(recon.sibling_item))
    details = re.search(r'id="item-details">(.*?)</dd>', response.content.decode(), re.S).group(1)

    assert "仅在低保户中" in details
    assert f'乌云 <span class="id-masked">{person.id_number_masked}</span>' in details
    assert person.id_number not in response.content.decode()


# --- query counts -------------------------------------------------------------------------------


def _fill(recon, areas, total: int) -> None:
    persons = [recon_person()[0] for _ in range(5)]
    for index in range(total):
        make_recon_item(
            recon.run,
            township=areas.township,
            category=ReconciliationCategory.MEMBER_MISMATCH,
            dibao=recon.own_dibao,
            registry=recon.own_registry,
            persons=persons[index % 5 : index % 5 + 2],
            details={"only_in_registry": [persons[(index + 2) % 5].pk]},
        )


# Session, login and transaction bookkeeping of the middleware; the rest are the page's reads.
def _is_bookkeeping(sql: str) -> bool:
    return (
        sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT", 'SELECT "accounts_user"'))
        or '"django_session"' in sql
        or '"axes_' in sql
        or '"otp_' in sql
    )


def _page_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if not _is_bookkeeping(q["sql"])]


def _queries(client, per_page: int) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(
            WORKLIST, {"category": ReconciliationCategory.MEMBER_MISMATCH, "per_page": per_page}
        )
    assert response.status_code == 200
    return len(_page_queries(queries)), len(_listed(response))


def test_the_worklist_runs_the_same_queries_for_20_and_200_rows(
    recon, areas, case_users, login_client
):
    _fill(recon, areas, 200)
    client = login_client(case_users.caseworker)
    client.get(WORKLIST)  # warm the session

    small, small_rows = _queries(client, 20)
    large, large_rows = _queries(client, 200)

    assert (small_rows, large_rows) == (20, 200)
    # assignments, item scope (areas), tab counts, page count, page rows, persons, counties,
    # townships, periods
    assert small == large == 9


@pytest.mark.parametrize(
    ("_case", "user", "shown"),
    [
        ("township caseworker", "caseworker", False),
        ("county officer", "civil_affairs", True),
        ("league officer", "league_officer", True),
    ],
)
def test_the_summary_tab_is_offered_to_county_users_and_above(
    _case, user, shown, recon, case_users, recon_users, login_client
):
    content = login_client(pick_user(user, case_users, recon_users)).get(WORKLIST).content.decode()

    assert (reverse("review:reconciliation_summary") in content) is shown


def test_tab_counts_stop_at_the_cap_and_say_so(recon, case_users, login_client, monkeypatch):
    from review import selectors

    actor = case_users.caseworker
    exact = selectors.item_category_counts(actor=actor, filters=selectors.ItemFilters(state=""))
    capped = selectors.item_category_counts(
        actor=actor, filters=selectors.ItemFilters(state=""), cap=1
    )

    assert sum(c.count for c in exact.values()) == 4
    assert not any(c.capped for c in exact.values())
    assert {k: (c.count, c.capped) for k, c in capped.items()} == {
        k: (min(c.count, 1), c.count > 1) for k, c in exact.items()
    }
    monkeypatch.setattr(selectors, "TAB_COUNT_CAP", 0)
    content = login_client(actor).get(WORKLIST, {"state": "all"}).content.decode()
    badges = re.findall(
        r'data-category="[a-z_]+">[^<]*<span class="badge text-bg-light">([^<]+)<', content
    )
    assert sorted(badges) == sorted("0+" if c.count else "0" for c in exact.values())
    assert re.search(r'全部 <span class="badge text-bg-light">([^<]+)<', content).group(1) == "0+"
