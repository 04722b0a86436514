from datetime import date
from decimal import Decimal

import pytest
from django.http import Http404

from cases.models import PaymentSheet
from cases.payment_selectors import (
    PaymentTotalsRow,
    access_payment_sheet_by_id,
    payment_generate_townships,
    payment_line_row,
    payment_sheet_lines,
    payment_sheet_list,
    payment_totals,
)
from cases.services.payments import payment_sheet_generate, payment_sheet_transition
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Role
from lowbao.areas.services import AreaRow, area_load_rows

pytestmark = pytest.mark.django_db

JUNE, JULY = date(2026, 6, 1), date(2026, 7, 1)
OTHER_LEAGUE_TOWNSHIP = "150202100000"
OTHER_LEAGUE_VILLAGE = "150202100201"


@pytest.fixture
def other_league_village(world) -> Area:
    area_load_rows(
        actor=None,
        rows=[
            AreaRow(OTHER_LEAGUE_TOWNSHIP, "东河测试镇", AreaLevel.TOWNSHIP, "150202000000"),
            AreaRow(OTHER_LEAGUE_VILLAGE, "东河测试村", AreaLevel.VILLAGE, OTHER_LEAGUE_TOWNSHIP),
        ],
        source="tests",
    )
    return Area.objects.get(code=OTHER_LEAGUE_VILLAGE)


@pytest.fixture
def june_sheets(
    world, users, make_household, make_user, other_league_village
) -> dict[str, PaymentSheet]:
    """June sheets of four townships in three counties and two leagues; the first one is paid."""
    plan = [
        (world.village, ["300.00", "200.00"], 2),
        (world.other_township_village, ["460.00"], 3),
        (world.other_county_village, ["100.00", "100.00", "100.00"], 1),
        (other_league_village, ["50.00"], 1),
    ]
    sheets = {}
    for village, amounts, persons in plan:
        for amount in amounts:
            make_household(village=village, amount=amount, persons=persons)
        township = village.parent
        caseworker = make_user(role=Role.TOWNSHIP_CASEWORKER, area=township)
        sheets[township.code] = payment_sheet_generate(
            actor=caseworker, township=township, month=JUNE
        )
    own = sheets[world.township.code]
    for user, action in [
        (users.head, "check"),
        (users.county_officer, "send_to_bank"),
        (users.county_officer, "mark_paid"),
    ]:
        payment_sheet_transition(actor=user, sheet_id=own.pk, action=action)
    return sheets


@pytest.fixture
def region_officer(world, make_user):
    return make_user(role=Role.REGION_OFFICER, area=world.region)


def _row(code, name, sheets, households, persons, total, paid="0.00") -> PaymentTotalsRow:
    return PaymentTotalsRow(code, name, sheets, households, persons, Decimal(total), Decimal(paid))


def test_totals_per_township(june_sheets, region_officer):
    rows = payment_totals(actor=region_officer, month=JUNE, level="township")

    assert rows == [
        _row("150121100000", "察素齐镇", 1, 2, 4, "500.00", "500.00"),
        _row("150121101000", "毕克齐镇", 1, 1, 3, "460.00"),
        _row("150122100000", "双河镇", 1, 3, 3, "300.00"),
        _row(OTHER_LEAGUE_TOWNSHIP, "东河测试镇", 1, 1, 1, "50.00"),
    ]


def test_totals_per_county(june_sheets, region_officer):
    rows = payment_totals(actor=region_officer, month=JUNE, level="county")

    assert rows == [
        _row("150121000000", "土默特左旗", 2, 3, 7, "960.00", "500.00"),
        _row("150122000000", "托克托县", 1, 3, 3, "300.00"),
        _row("150202000000", "东河区", 1, 1, 1, "50.00"),
    ]


def test_totals_per_league(june_sheets, region_officer):
    rows = payment_totals(actor=region_officer, month=JUNE, level="league")

    assert rows == [
        _row("150100000000", "呼和浩特市", 3, 6, 10, "1260.00", "500.00"),
        _row("150200000000", "包头市", 1, 1, 1, "50.00"),
    ]


@pytest.mark.parametrize("level", ["township", "county", "league"])
def test_township_user_sees_only_their_townships_figures(june_sheets, users, level):
    rows = payment_totals(actor=users.caseworker, month=JUNE, level=level)

    code = {"township": "150121100000", "county": "150121000000", "league": "150100000000"}[level]
    assert [(row.code, row.household_count, row.total_amount) for row in rows] == [
        (code, 2, Decimal("500.00"))
    ]


def test_county_officer_totals_stay_in_their_county(june_sheets, users):
    rows = payment_totals(actor=users.county_officer, month=JUNE, level="league")

    assert [(row.code, row.sheet_count, row.total_amount) for row in rows] == [
        ("150100000000", 2, Decimal("960.00"))
    ]


def test_totals_of_a_month_without_sheets_are_empty(june_sheets, region_officer):
    assert payment_totals(actor=region_officer, month=JULY, level="county") == []


def test_sheet_list_is_scoped_and_filtered(june_sheets, users, world):
    assert [s.township.code for s in payment_sheet_list(actor=users.county_officer)] == [
        "150121100000",
        "150121101000",
    ]
    assert [s.township.code for s in payment_sheet_list(actor=users.sibling_head)] == [
        "150121101000"
    ]
    assert list(payment_sheet_list(actor=users.county_officer, month=JULY)) == []
    assert [
        s.township.code
        for s in payment_sheet_list(actor=users.county_officer, township_code="150121101000")
    ] == ["150121101000"]


def test_sheet_outside_scope_is_404(june_sheets, users):
    other = june_sheets["150122100000"]

    with pytest.raises(Http404):
        access_payment_sheet_by_id(users.county_officer, other.pk)


def test_generate_townships_are_the_actors(world, users):
    assert list(payment_generate_townships(actor=users.caseworker)) == [world.township]
    assert list(payment_generate_townships(actor=users.county_officer)) == []


def test_sheet_lines_read_in_one_query(world, users, make_household, django_assert_num_queries):
    for index in range(5):
        make_household(number=f"DB-{index}", head_name=f"户主{index}")
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    with django_assert_num_queries(1):
        rows = [payment_line_row(line) for line in payment_sheet_lines(sheet=sheet)]

    assert [(row.household_number, row.head_name) for row in rows] == [
        (f"DB-{index}", f"户主{index}") for index in range(5)
    ]
    assert rows[0].head_id_number_masked[6:14] == "********"
    assert rows[0].bank_account_masked == "622848*********8901"
    assert rows[0].township_name == "察素齐镇"
