"""Every dashboard figure is scoped to the viewer's areas: a county officer never sees another
county's numbers, a league officer only their league's — even when handed a wider area."""

from dataclasses import asdict
from decimal import Decimal

import pytest
from django.http import Http404

from review.dashboard import (
    access_dashboard_area,
    dashboard,
    dashboard_roots,
    dashboard_trail,
)
from review.selectors import TASK_CATEGORIES

pytestmark = pytest.mark.django_db


def _figures(board) -> dict[str, object]:
    """Every figure of a dashboard's total and trends (what a viewer can read off it)."""
    total = board.total
    return {
        "coverage": asdict(total.coverage),
        "progress": asdict(total.progress),
        "open_items": total.open_item_cells,
        "payment_latest": total.payment_latest_month,
        "payment_total": total.payment_months_total,
        "payment_months": [asdict(point) for point in board.payment_months],
        "coverage_months": [asdict(point) for point in board.coverage_months],
        "reconciliation": [asdict(period) for period in board.reconciliation_periods],
        "years": board.years,
    }


def _zero(row) -> bool:
    return (
        not any(asdict(row.coverage).values())
        and row.progress.items == row.progress.lists == 0
        and not row.progress.campaigns
        and row.open_items_total == 0
        and row.payment_months_total == 0
    )


def test_the_sibling_county_sees_only_its_own_figures(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.sibling_civil_affairs, root=areas.sibling_county)
    figures = _figures(board)
    year = dashboard_world.year

    assert [row.name for row in board.rows] == ["双河镇"]
    assert figures["coverage"] == {
        "dibao_households": 1,
        "dibao_persons": 4,
        "tekun_households": 0,
        "tekun_persons": 0,
        "registry_households": 2,
        "registry_persons": 5,
        "dibao_overlap_households": 1,
        "dibao_overlap_persons": 2,
        "tekun_overlap_households": 0,
        "tekun_overlap_persons": 0,
        "registry_households_in_payment": 2,
    }
    assert figures["progress"] == {
        "items": 2,
        "visited": 2,
        "decided": 2,
        "overdue": 0,
        "lists": 1,
        "lists_confirmed": 1,
        "lists_signed": 1,
        "campaigns": {"filed": 1},
    }
    assert figures["open_items"] == [
        2 if category == "member_mismatch" else 0 for category in TASK_CATEGORIES
    ]
    assert [(p["sheets"], p["amount"], p["paid"]) for p in figures["payment_months"][-3:]] == [
        (1, Decimal("1200.00"), Decimal("1200.00")),
        (1, Decimal("1200.00"), Decimal("0.00")),
        (0, Decimal("0"), Decimal("0")),
    ]
    assert figures["payment_total"] == Decimal("2400.00")
    assert {(p["dibao_households"], p["dibao_persons"]) for p in figures["coverage_months"]} == {
        (1, 4)
    }
    assert [(p["period"], p["counties"], p["linked"]) for p in figures["reconciliation"]] == [
        (f"{year}H2", 1, 5)
    ]
    assert figures["years"] == [year]


@pytest.mark.parametrize(
    ("_case", "user", "wider_root", "own_root"),
    [
        ("county officer handed the league", "civil_affairs", "league", "county"),
        ("county officer handed the region", "civil_affairs", "region", "county"),
        ("county leader handed the league", "county_leader", "league", "county"),
        (
            "sibling county officer handed the league",
            "sibling_civil_affairs",
            "league",
            "sibling_county",
        ),
        ("league officer handed the region", "league_officer", "region", "league"),
        (
            "other league officer handed the region",
            "other_league_officer",
            "region",
            "other_league",
        ),
    ],
)
def test_a_wider_area_never_widens_the_figures(
    _case, user, wider_root, own_root, dashboard_world, dashboard_users, areas
):
    """Defence in depth: every query is scoped to the viewer, not only the area in the URL."""
    viewer = getattr(dashboard_users, user)

    wider = dashboard(actor=viewer, root=getattr(areas, wider_root))
    own = dashboard(actor=viewer, root=getattr(areas, own_root))

    assert _figures(wider) == _figures(own)
    own_area = getattr(areas, own_root)
    outside = [row for row in wider.rows if not own_area.path.startswith(row.area.path)]
    assert len(outside) == len(wider.rows) - 1
    assert all(_zero(row) for row in outside)


def test_the_county_never_sees_the_sibling_countys_numbers(dashboard_world, dashboard_users, areas):
    county = _figures(dashboard(actor=dashboard_users.civil_affairs, root=areas.county))
    league = dashboard(actor=dashboard_users.league_officer, root=areas.league)
    county_row = next(row for row in league.rows if row.code == areas.county.code)

    # the county's own dashboard adds up to its row on the league's dashboard, nothing more
    assert county["coverage"] == asdict(county_row.coverage)
    assert county["open_items"] == county_row.open_item_cells
    assert county["payment_total"] == county_row.payment_months_total
    assert county["progress"]["items"] == county_row.progress.items
    assert county["payment_months"][-2]["amount"] == Decimal("3800.00")  # not 5,000 with B


def test_another_league_sees_nothing_of_this_league(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.other_league_officer, root=areas.other_league)
    figures = _figures(board)

    assert figures["coverage"]["dibao_persons"] == 1
    assert figures["progress"]["items"] == 2
    assert figures["payment_total"] == Decimal("500.00")
    assert [(p["counties"], p["linked"]) for p in figures["reconciliation"]] == [(1, 1)]
    assert sum(figures["open_items"]) == 1


@pytest.mark.parametrize(
    ("_case", "user", "area", "allowed"),
    [
        ("county officer: own county", "civil_affairs", "county", True),
        ("county officer: own township", "civil_affairs", "township", False),
        ("county officer: sibling county", "civil_affairs", "sibling_county", False),
        ("county officer: the league above", "civil_affairs", "league", False),
        ("county officer: the region", "civil_affairs", "region", False),
        ("poverty office: own county", "poverty_office", "county", True),
        ("county leader: own county", "county_leader", "county", True),
        ("sibling county officer: our county", "sibling_civil_affairs", "county", False),
        ("league officer: own league", "league_officer", "league", True),
        ("league officer: a county of the league", "league_officer", "sibling_county", True),
        ("league officer: another league", "league_officer", "other_league", False),
        ("league officer: another league's county", "league_officer", "other_league_county", False),
        ("league officer: the region", "league_officer", "region", False),
        ("region officer: the region", "region_officer", "region", True),
        ("region officer: any league", "region_officer", "other_league", True),
        ("region officer: a township", "region_officer", "township", False),
        ("township caseworker: own township", "caseworker", "township", False),
        ("township caseworker: the county above", "caseworker", "county", False),
        ("data admin: own county", "data_admin", "county", False),
    ],
)
def test_the_dashboard_area_is_reached_only_within_scope(
    _case, user, area, allowed, dashboard_users, areas
):
    code = getattr(areas, area).code
    viewer = getattr(dashboard_users, user)

    if allowed:
        assert access_dashboard_area(viewer, code).code == code
    else:
        with pytest.raises(Http404):
            access_dashboard_area(viewer, code)


@pytest.mark.parametrize(
    ("_case", "user", "roots"),
    [
        ("county officer", "civil_affairs", ["county"]),
        ("league officer", "league_officer", ["league"]),
        ("region officer", "region_officer", ["region"]),
        ("township caseworker", "caseworker", []),
        ("no role", "no_role", []),
    ],
)
def test_each_viewer_starts_at_their_own_area(_case, user, roots, dashboard_users, areas):
    assert dashboard_roots(actor=getattr(dashboard_users, user)) == [
        getattr(areas, root) for root in roots
    ]


@pytest.mark.parametrize(
    ("_case", "user", "root", "trail"),
    [
        ("region officer on a county", "region_officer", "county", ["region", "league"]),
        ("league officer on a county", "league_officer", "county", ["league"]),
        ("county officer on the county", "civil_affairs", "county", []),
        ("league officer on the league", "league_officer", "league", []),
    ],
)
def test_the_way_back_up_shows_only_areas_in_scope(
    _case, user, root, trail, dashboard_users, areas
):
    assert dashboard_trail(actor=getattr(dashboard_users, user), root=getattr(areas, root)) == [
        getattr(areas, name) for name in trail
    ]
