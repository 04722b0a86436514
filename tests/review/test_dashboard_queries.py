"""The dashboard is read set-based: a fixed number of queries, whatever the number of townships,
counties or leagues (and the page and the bulletins with it)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from lowbao.accounts.models import User
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.scoping import actor_has_perm
from lowbao.areas.services import AreaRow, area_load_rows
from review.dashboard import DASHBOARD_PERM, DASHBOARD_QUERIES, dashboard
from review.models import ReconciliationCategory, ReconciliationRun
from tests.fixtures.dashboard import make_item, make_list, make_sheet, paid_household, registry_of
from tests.fixtures.review_items import make_recon_item, recon_person

pytestmark = pytest.mark.django_db

MORE_TOWNSHIPS = 4


def _grow(world, areas, users) -> list[Area]:
    """Four more townships in county A, each with households, registry, review items, a sheet
    and an open reconciliation item."""
    rows = []
    for index in range(MORE_TOWNSHIPS):
        township = f"150121{110 + index:03d}000"
        rows += [
            AreaRow(township, f"新增镇{index}", AreaLevel.TOWNSHIP, areas.county.code),
            AreaRow(f"{township[:9]}201", f"新增村{index}", AreaLevel.VILLAGE, township),
        ]
    area_load_rows(actor=None, rows=rows, source="tests")
    run = ReconciliationRun.objects.filter(county=areas.county).order_by("-as_of").first()
    townships = list(
        Area.objects.filter(code__in=[row.code for row in rows if row.level == "township"])
    )
    for township in townships:
        village = township.children.get()
        person = recon_person()[0]
        household = paid_household(village, [person, recon_person()[0]])
        registry = registry_of(village, [person])
        review_list = make_list(world.campaign, township)
        make_item(review_list, dibao=household, registry=registry, visited=True, decided=True)
        make_sheet(
            township,
            world.months[-1],
            "600.00",
            households=1,
            persons=2,
            status="generated",
            by=users.civil_affairs,
        )
        make_recon_item(run, township=township, category=ReconciliationCategory.SHOULD_REGISTER)
    return townships


@pytest.mark.parametrize(
    ("_case", "user", "root"),
    [
        ("county by township", "civil_affairs", "county"),
        ("league by county", "league_officer", "league"),
        ("region by league", "region_officer", "region"),
    ],
)
def test_the_dashboard_runs_a_fixed_number_of_queries(
    _case, user, root, dashboard_world, dashboard_users, areas, django_assert_num_queries
):
    def request_user():
        """The viewer as a new request sees them: assignments loaded, nothing else cached."""
        viewer = User.objects.get(pk=getattr(dashboard_users, user).pk)
        actor_has_perm(viewer, DASHBOARD_PERM)
        return viewer

    viewer = request_user()
    with django_assert_num_queries(DASHBOARD_QUERIES):
        small = dashboard(actor=viewer, root=getattr(areas, root))
    townships = _grow(dashboard_world, areas, dashboard_users)
    viewer = request_user()
    with django_assert_num_queries(DASHBOARD_QUERIES):
        grown = dashboard(actor=viewer, root=getattr(areas, root))

    assert grown.total.progress.items == small.total.progress.items + MORE_TOWNSHIPS
    assert grown.total.coverage.dibao_overlap_persons == (
        small.total.coverage.dibao_overlap_persons + MORE_TOWNSHIPS
    )
    assert grown.total.open_items_total == small.total.open_items_total + MORE_TOWNSHIPS
    if root == "county":
        assert len(grown.rows) == len(small.rows) + MORE_TOWNSHIPS
        assert {row.code for row in grown.rows} >= {township.code for township in townships}


@pytest.mark.parametrize(
    ("_case", "user", "url"),
    [
        ("county page", "civil_affairs", "dashboard:home"),
        ("league page", "league_officer", "dashboard:home"),
        ("county bulletin xlsx", "civil_affairs", "dashboard:bulletin_xlsx"),
        ("league bulletin pdf", "league_officer", "dashboard:bulletin_pdf"),
    ],
)
def test_the_page_and_the_bulletins_do_not_grow_with_the_townships(
    _case, user, url, dashboard_world, dashboard_users, areas, login_client
):
    client = login_client(getattr(dashboard_users, user))
    client.get(reverse(url))  # warm up (session, caches)

    with CaptureQueriesContext(connection) as small:
        assert client.get(reverse(url)).status_code == 200
    _grow(dashboard_world, areas, dashboard_users)
    with CaptureQueriesContext(connection) as grown:
        assert client.get(reverse(url)).status_code == 200

    assert len(grown) == len(small)
