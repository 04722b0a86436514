"""Keyset pagination with a capped count (quality.md P6): ``lowbao.core.paging``."""

import re
from urllib.parse import parse_qs

import pytest
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from cases.choices import Relation
from lowbao.areas.models import Area
from lowbao.core.paging import capped_count, keyset_page
from tests.fixtures.cases import member

pytestmark = pytest.mark.django_db

ID_NUMBER_PATTERN = re.compile(r"\d{17}[\dX]")


def _walk(queryset, ordering, per_page, *, backward_from=None):
    """Follow next links from the first page (or previous links from ``backward_from``)."""
    pages, params = [], QueryDict(mutable=True)
    if backward_from is not None:
        params = QueryDict(backward_from)
    for _ in range(1000):
        page = keyset_page(params, queryset, ordering=ordering, per_page=per_page)
        pages.append(page)
        link = page.previous_query if backward_from is not None else page.next_query
        if not link:
            return pages
        params = QueryDict(link)
    raise AssertionError("pagination did not end")


@pytest.mark.parametrize(
    "ordering", [("level", "id"), ("-level", "-id"), ("level", "-code", "id")], ids=str
)
def test_next_links_visit_every_row_once_in_order_despite_ties(areas, ordering):
    queryset = Area.objects.all()
    expected = list(queryset.order_by(*ordering).values_list("pk", flat=True))
    assert len(set(queryset.values_list("level", flat=True))) < len(expected)  # ties exist

    pages = _walk(queryset, ordering, per_page=3)

    seen = [row.pk for page in pages for row in page]
    assert seen == expected
    assert [page.has_previous for page in pages] == [False] + [True] * (len(pages) - 1)
    assert pages[-1].has_next is False
    assert all(len(page) == 3 for page in pages[:-1])


def test_previous_links_walk_back_the_same_pages(areas):
    queryset, ordering = Area.objects.all(), ("level", "id")
    forward = _walk(queryset, ordering, per_page=4)
    last = forward[-1]

    backward = _walk(queryset, ordering, per_page=4, backward_from=forward[-2].next_query)

    assert [row.pk for row in backward[0]] == [row.pk for row in last]
    assert [[row.pk for row in page] for page in backward[1:]] == [
        [row.pk for row in page] for page in reversed(forward[:-1])
    ]
    assert backward[-1].has_previous is False


@pytest.mark.parametrize(
    "cursor", ["not-json", "[1]", '{"a": 1}', '["x", "y"]', "[null, 1]", "[[1], 2]", "9" * 600]
)
def test_a_bad_cursor_gives_the_first_page(areas, cursor):
    queryset, ordering = Area.objects.all(), ("level", "id")
    first = keyset_page(QueryDict(), queryset, ordering=ordering, per_page=5)

    params = QueryDict(mutable=True)
    params["after"] = cursor
    page = keyset_page(params, queryset, ordering=ordering, per_page=5)

    assert [row.pk for row in page] == [row.pk for row in first]
    assert page.has_previous is False


def test_count_is_capped_with_a_plus_sign(areas):
    total = Area.objects.count()
    assert total > 5

    capped = keyset_page(QueryDict(), Area.objects.all(), ordering=("id",), per_page=2, cap=5)
    exact = keyset_page(QueryDict(), Area.objects.all(), ordering=("id",), per_page=2, cap=total)

    assert (capped.count, capped.count_capped, capped.count_text) == (5, True, "共 5+ 条")
    assert capped.count_display == "5+"
    assert (exact.count, exact.count_capped, exact.count_text) == (total, False, f"共 {total:,} 条")


def test_capped_count_reads_at_most_cap_plus_one_rows(areas):
    with CaptureQueriesContext(connection) as queries:
        assert capped_count(Area.objects.all(), cap=5) == (5, True)

    assert len(queries.captured_queries) == 1
    assert "LIMIT 6" in queries.captured_queries[0]["sql"]


def test_links_keep_filters_and_replace_the_cursor(areas):
    params = QueryDict("level=county&per_page=20&after=%5B1%5D")
    queryset = Area.objects.filter(level="county")

    page = keyset_page(params, queryset, ordering=("code", "id"), per_page=2)

    query = parse_qs(page.next_query)
    assert query["level"] == ["county"]
    assert query["per_page"] == ["20"]
    assert "before" not in query
    assert len(query["after"]) == 1
    assert parse_qs(page.first_query) == {"level": ["county"], "per_page": ["20"]}


# --- the household list -------------------------------------------------------------------------


def _households(new_application, count: int) -> list[str]:
    heads = []
    for _ in range(count):
        head = member(income="100")
        new_application(members=[head, member(relation=Relation.SPOUSE, income="1")])
        heads.append(head.id_number)
    return heads


def test_household_list_pages_by_key_with_no_id_numbers_in_links(
    new_application, case_users, login_client
):
    id_numbers = _households(new_application, 23)
    client = login_client(case_users.caseworker)

    first = client.get("/cases/households/", {"per_page": 20}).content.decode()
    links = re.findall(r'href="\?([^"]*)"', first)
    next_link = next(link for link in links if "after=" in link).replace("&amp;", "&")
    second = client.get(f"/cases/households/?{next_link}").content.decode()

    assert "共 23 户" in first
    assert first.count('class="id-masked"') == 20
    assert second.count('class="id-masked"') == 3
    assert "page" not in parse_qs(next_link)
    assert not any(ID_NUMBER_PATTERN.search(link) for link in links)
    assert not any(number in first + second for number in id_numbers)
    assert "上一页" in second
    assert "下一页" not in second


def test_household_list_same_queries_for_20_and_200_rows(new_application, case_users, login_client):
    _households(new_application, 25)
    client = login_client(case_users.caseworker)
    client.get("/cases/households/")

    with CaptureQueriesContext(connection) as twenty:
        client.get("/cases/households/", {"per_page": 20})
    with CaptureQueriesContext(connection) as two_hundred:
        client.get("/cases/households/", {"per_page": 200})

    assert len(twenty.captured_queries) == len(two_hundred.captured_queries)
