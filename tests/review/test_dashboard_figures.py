"""Every figure of the supervision dashboard, exact, on the ``dashboard_world`` (see
``tests/fixtures/dashboard.py`` for the households, items, sheets and periods behind them)."""

from dataclasses import asdict
from datetime import timedelta
from decimal import Decimal

import pytest

from review.dashboard import dashboard
from review.selectors import TASK_CATEGORIES

pytestmark = pytest.mark.django_db


def _coverage(row) -> dict[str, int]:
    return asdict(row.coverage)


def _progress(row) -> tuple[int, ...]:
    p = row.progress
    return (p.items, p.visited, p.decided, p.overdue, p.lists, p.lists_confirmed, p.lists_signed)


def _by_code(board) -> dict[str, object]:
    return {row.code: row for row in board.rows}


COUNTY_A_COVERAGE = {
    "dibao_households": 4,
    "dibao_persons": 8,
    "tekun_households": 2,
    "tekun_persons": 2,
    "registry_households": 3,
    "registry_persons": 5,
    "dibao_overlap_households": 2,
    "dibao_overlap_persons": 2,
    "tekun_overlap_households": 1,
    "tekun_overlap_persons": 1,
    "registry_households_in_payment": 2,
}
COUNTY_B_COVERAGE = {
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
COUNTY_C_COVERAGE = {
    "dibao_households": 1,
    "dibao_persons": 1,
    "tekun_households": 1,
    "tekun_persons": 1,
    "registry_households": 1,
    "registry_persons": 1,
    "dibao_overlap_households": 1,
    "dibao_overlap_persons": 1,
    "tekun_overlap_households": 0,
    "tekun_overlap_persons": 0,
    "registry_households_in_payment": 1,
}


def _sum(*coverages: dict[str, int]) -> dict[str, int]:
    return {key: sum(coverage[key] for coverage in coverages) for key in coverages[0]}


def _open(**counts: int) -> list[int]:
    return [counts.get(category, 0) for category in TASK_CATEGORIES]


# --- the county: by township -------------------------------------------------------------------


def test_a_county_sees_coverage_by_township_with_the_overlap_by_person(
    dashboard_world, dashboard_users, areas
):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county)
    rows = _by_code(board)

    assert [row.name for row in board.rows] == ["察素齐镇", "毕克齐镇", "土默特左旗本级"]
    assert _coverage(rows[areas.township.code]) == {
        "dibao_households": 3,  # D1, D2 and D3 in gradual exit; D4 is stopped
        "dibao_persons": 6,
        "tekun_households": 1,
        "tekun_persons": 1,
        "registry_households": 3,  # R4 left the registry
        "registry_persons": 5,
        "dibao_overlap_households": 1,
        "dibao_overlap_persons": 1,
        "tekun_overlap_households": 1,
        "tekun_overlap_persons": 1,
        "registry_households_in_payment": 2,
    }
    assert _coverage(rows[areas.sibling_township.code]) == {
        "dibao_households": 1,
        "dibao_persons": 2,
        "tekun_households": 1,
        "tekun_persons": 1,
        "registry_households": 0,
        "registry_persons": 0,
        # p14 of D5 is in R5, a registry household of the sibling county
        "dibao_overlap_households": 1,
        "dibao_overlap_persons": 1,
        "tekun_overlap_households": 0,
        "tekun_overlap_persons": 0,
        "registry_households_in_payment": 0,
    }
    assert _coverage(board.total) == COUNTY_A_COVERAGE
    assert (board.total.coverage.overlap_persons, board.total.coverage.overlap_households) == (3, 3)


def test_a_county_sees_review_progress_by_township_with_overdue_items(
    dashboard_world, dashboard_users, areas
):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county)
    rows = _by_code(board)

    assert board.year == dashboard_world.year
    assert board.years == [dashboard_world.year, dashboard_world.year - 1]
    assert _progress(rows[areas.township.code]) == (5, 4, 3, 2, 1, 1, 0)
    assert _progress(rows[areas.sibling_township.code]) == (2, 1, 1, 1, 1, 0, 0)
    assert _progress(board.total) == (7, 5, 4, 3, 2, 1, 0)
    assert [rows[code].progress.percent for code in rows] == [
        Decimal("60.0"),
        Decimal("50.0"),
        None,
    ]
    assert board.total.progress.percent == Decimal("57.1")
    # the county's own campaign shows on the total, not on a township
    assert board.total.progress.campaigns == {"open": 1}
    assert rows[areas.township.code].progress.campaigns == {}


def test_nothing_is_overdue_the_day_the_campaign_ends(dashboard_world, dashboard_users, areas):
    due = dashboard_world.campaign.due_on

    on_the_day = dashboard(actor=dashboard_users.civil_affairs, root=areas.county, today=due)
    the_day_after = dashboard(
        actor=dashboard_users.civil_affairs, root=areas.county, today=due + timedelta(days=1)
    )

    assert on_the_day.total.progress.overdue == 0
    assert the_day_after.total.progress.overdue == 3


def test_an_earlier_year_shows_that_years_campaign(dashboard_world, dashboard_users, areas):
    board = dashboard(
        actor=dashboard_users.civil_affairs, root=areas.county, year=dashboard_world.year - 1
    )

    assert board.year == dashboard_world.year - 1
    assert _progress(_by_code(board)[areas.township.code]) == (1, 1, 1, 0, 1, 1, 1)
    assert _progress(board.total) == (1, 1, 1, 0, 1, 1, 1)
    assert board.total.progress.campaigns == {"filed": 1}


def test_a_year_without_a_campaign_has_no_progress_and_no_rate(
    dashboard_world, dashboard_users, areas
):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county, year=2017)

    assert _progress(board.total) == (0, 0, 0, 0, 0, 0, 0)
    assert board.total.progress.percent is None
    assert board.total.campaign_status_label == "未发起"


def test_open_reconciliation_items_by_township_and_county_wide(
    dashboard_world, dashboard_users, areas
):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county)
    rows = _by_code(board)

    assert rows[areas.township.code].open_item_cells == _open(attr_mismatch=1, should_protect=1)
    assert rows[areas.sibling_township.code].open_item_cells == _open(member_mismatch=1)
    # an item without a township belongs to the county itself
    own = rows[areas.county.code]
    assert (own.name, own.area, own.open_item_cells) == (
        "土默特左旗本级",
        None,
        _open(duplicate_person=1),
    )
    assert board.total.open_items_total == 4
    assert [count for _c, _label, count in board.open_item_totals] == _open(
        attr_mismatch=1, should_protect=1, member_mismatch=1, duplicate_person=1
    )


def test_monthly_payment_totals_of_the_last_twelve_months(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county)
    months = {
        point.month: (point.sheets, point.households, point.persons, point.amount, point.paid)
        for point in board.payment_months
    }
    rows = _by_code(board)

    assert list(months) == dashboard_world.months
    last, this = dashboard_world.months[-2], dashboard_world.months[-1]
    assert months[last] == (2, 4, 8, Decimal("3800.00"), Decimal("3800.00"))
    assert months[this] == (1, 3, 6, Decimal("3100.50"), Decimal("0.00"))
    assert all(value[0] == 0 for month, value in months.items() if month not in (last, this))
    assert board.latest_payment_month == this
    assert (
        rows[areas.township.code].payment_latest_month,
        rows[areas.township.code].payment_months_total,
    ) == (Decimal("3100.50"), Decimal("6100.50"))  # the sheet of 12 months ago is left out
    assert (
        rows[areas.sibling_township.code].payment_latest_month,
        rows[areas.sibling_township.code].payment_months_total,
    ) == (Decimal("0"), Decimal("800.00"))
    assert board.total.payment_months_total == Decimal("6900.50")


def test_coverage_per_month_follows_the_benefit_periods(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county)

    # D4 (2 persons) until 4 months ago, then D1 (3), D3 (1), D2 (2), D5 (2) one by one; K1 all
    # year; K2's only period is suspended
    assert [
        (point.dibao_households, point.dibao_persons, point.tekun_households, point.tekun_persons)
        for point in board.coverage_months
    ] == [(1, 2, 1, 1)] * 8 + [(1, 3, 1, 1), (2, 4, 1, 1), (3, 6, 1, 1), (4, 8, 1, 1)]
    assert [point.month for point in board.coverage_months] == dashboard_world.months


def test_reconciliation_counts_per_period(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.civil_affairs, root=areas.county)
    year = dashboard_world.year

    assert [
        (period.period, period.counties, period.linked, period.counts, period.total)
        for period in board.reconciliation_periods
    ] == [
        (f"{year}H1", 1, 10, _open(attr_mismatch=2), 2),
        (f"{year}H2", 1, 12, _open(attr_mismatch=1, should_protect=2), 3),
    ]


# --- the league: by county ---------------------------------------------------------------------


def test_a_league_sees_its_counties(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.league_officer, root=areas.league)
    rows = _by_code(board)

    assert board.child_level == "county"
    assert [row.area.parent_id for row in board.rows] == [areas.league.pk] * 9
    assert _coverage(rows[areas.county.code]) == COUNTY_A_COVERAGE
    assert _coverage(rows[areas.sibling_county.code]) == COUNTY_B_COVERAGE
    assert _coverage(board.total) == _sum(COUNTY_A_COVERAGE, COUNTY_B_COVERAGE)
    assert _progress(rows[areas.county.code]) == (7, 5, 4, 3, 2, 1, 0)
    assert _progress(rows[areas.sibling_county.code]) == (2, 2, 2, 0, 1, 1, 1)
    assert rows[areas.county.code].campaign_status_label == "复核中"
    assert rows[areas.sibling_county.code].campaign_status_label == "已报备案"
    assert rows["150102000000"].campaign_status_label == "未发起"
    assert (board.total.progress.campaigns_opened, board.total.progress.campaigns_filed) == (2, 1)
    assert rows[areas.county.code].open_items_total == 4
    assert rows[areas.sibling_county.code].open_item_cells == _open(member_mismatch=2)
    assert rows[areas.sibling_county.code].payment_months_total == Decimal("2400.00")
    assert rows[areas.sibling_county.code].payment_latest_month == Decimal("0")
    assert [(p.sheets, p.amount, p.paid) for p in board.payment_months[-3:]] == [
        (1, Decimal("1200.00"), Decimal("1200.00")),
        (3, Decimal("5000.00"), Decimal("3800.00")),
        (1, Decimal("3100.50"), Decimal("0.00")),
    ]
    assert [(p.counties, p.linked, p.total) for p in board.reconciliation_periods] == [
        (1, 10, 2),
        (2, 17, 6),
    ]
    assert board.coverage_months[0].dibao_households == 2  # D4 and D6
    assert board.coverage_months[-1].dibao_persons == 12


# --- the region: by league ---------------------------------------------------------------------


def test_the_region_sees_every_league(dashboard_world, dashboard_users, areas):
    board = dashboard(actor=dashboard_users.region_officer, root=areas.region)
    rows = _by_code(board)

    assert board.child_level == "league"
    assert len(board.rows) == 12
    assert _coverage(rows[areas.league.code]) == _sum(COUNTY_A_COVERAGE, COUNTY_B_COVERAGE)
    assert _coverage(rows[areas.other_league.code]) == COUNTY_C_COVERAGE
    assert _progress(rows[areas.league.code]) == (9, 7, 6, 3, 3, 2, 1)
    assert _progress(rows[areas.other_league.code]) == (2, 1, 1, 1, 1, 0, 0)
    assert rows[areas.league.code].progress.campaigns == {"open": 1, "filed": 1}
    assert rows[areas.other_league.code].open_item_cells == _open(duplicate_person=1)
    assert rows[areas.other_league.code].payment_months_total == Decimal("500.00")
    assert board.total.payment_months_total == Decimal("9800.50")
    assert _progress(board.total) == (11, 8, 7, 4, 4, 2, 1)
    assert [(p.counties, p.linked, p.total) for p in board.reconciliation_periods] == [
        (1, 10, 2),
        (3, 18, 7),
    ]
