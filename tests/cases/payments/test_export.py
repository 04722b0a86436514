import io
from datetime import date
from decimal import Decimal

import pytest
from django.http import Http404
from openpyxl import load_workbook

from cases.exports import (
    PAYMENT_SHEET_HEADERS,
    export_payment_sheet_xlsx,
    neutralise_formula,
)
from cases.services.payments import payment_sheet_generate
from lowbao.audit.models import AuditEvent
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

JANUARY, JUNE = date(2026, 1, 1), date(2026, 6, 1)


def _export(sheet, actor):
    stream = io.BytesIO()
    count = export_payment_sheet_xlsx(sheet=sheet, actor=actor, stream=stream)
    stream.seek(0)
    return count, load_workbook(stream).active


def test_export_reads_back_with_header_masked_values_and_totals(make_household, world, users):
    id_number = make_id_number()
    make_household(
        number="DB-0001", head_name="巴特尔", head_id_number=id_number, amount="300.00", persons=2
    )
    make_household(
        number="DB-0002",
        head_name="其其格",
        village=world.sibling_village,
        amount="460.00",
        persons=3,
    )
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    count, worksheet = _export(sheet, users.county_officer)

    rows = [[cell.value for cell in row] for row in worksheet.iter_rows()]
    assert count == 2
    assert rows[0][0] == "察素齐镇2026年6月农村牧区低保发放花名册"
    assert tuple(rows[1]) == PAYMENT_SHEET_HEADERS
    assert rows[1] == [
        "户编号",
        "户主姓名",
        "身份证号",
        "苏木乡镇",
        "嘎查村",
        "保障人数",
        "月保障金额",
        "开户银行",
        "银行账号",
        "发放月份",
    ]
    assert rows[2] == [
        "DB-0001",
        "巴特尔",
        id_number[:6] + "********" + id_number[14:],
        "察素齐镇",
        "察素齐一村",
        2,
        300,
        "农村信用社",
        "622848*********8901",
        "2026-06",
    ]
    assert rows[3][:6] == ["DB-0002", "其其格", rows[3][2], "察素齐镇", "察素齐二村", 3]
    assert rows[4] == ["合计", "2户", None, None, None, 5, 760, None, None, None]
    for row in worksheet.iter_rows(min_row=3, max_row=4):
        assert row[2].data_type == "s"  # ID number as text
        assert row[8].data_type == "s"  # bank account as text
    assert id_number not in str(rows)


def test_export_writes_formula_like_text_as_text(make_household, world, users):
    make_household(number="=1+1", head_name="@SUM(A1)")
    make_household(number="+86", head_name="-巴图")
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    _count, worksheet = _export(sheet, users.caseworker)

    cells = [cell for row in worksheet.iter_rows() for cell in row if cell.value is not None]
    assert [cell for cell in cells if cell.data_type == "f"] == []
    by_value = {cell.value: cell for cell in cells}
    for value in (" =1+1", " @SUM(A1)", " +86", " -巴图"):
        assert by_value[value].data_type == "s"


def test_export_of_a_quarterly_sheet_adds_the_quarter_amount(
    make_household, world, users, quarterly_county
):
    make_household(number="DB-0001", amount="300.00", persons=2, start=JANUARY)
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JANUARY)

    _count, worksheet = _export(sheet, users.caseworker)

    rows = [[cell.value for cell in row] for row in worksheet.iter_rows()]
    assert rows[0][0] == "察素齐镇2026年1-3月农村牧区低保发放花名册"
    assert rows[1] == [*PAYMENT_SHEET_HEADERS, "本季发放金额"]
    assert rows[2][5:7] == [2, 300]
    assert rows[2][10] == 900
    assert rows[3] == ["合计", "1户", None, None, None, 2, None, None, None, None, 900]


def test_export_is_audited(make_household, world, users):
    make_household()
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    _export(sheet, users.head)

    event = AuditEvent.objects.get(action="export.payment_sheet")
    assert (event.actor_id, event.object_id, event.area_code) == (
        users.head.pk,
        str(sheet.pk),
        world.township.code,
    )
    assert event.changes == {
        "format": "xlsx",
        "month": "2026-06",
        "rows": 1,
        "total_amount": "300.00",
        "masked": True,
    }


def test_export_outside_scope_is_404(make_household, world, users):
    make_household()
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    with pytest.raises(Http404):
        export_payment_sheet_xlsx(sheet=sheet, actor=users.sibling_head, stream=io.BytesIO())

    assert not AuditEvent.objects.filter(action="export.payment_sheet").exists()


@pytest.mark.parametrize(
    ("_case", "text", "expected"),
    [
        ("equals", "=1+1", " =1+1"),
        ("plus", "+1", " +1"),
        ("minus", "-1", " -1"),
        ("at", "@cmd", " @cmd"),
        ("tab", "\t=1", " \t=1"),
        ("carriage_return", "\r=1", " \r=1"),
        ("plain", "DB-0001", "DB-0001"),
        ("inner_equals", "a=b", "a=b"),
        ("empty", "", ""),
    ],
)
def test_neutralise_formula(_case, text, expected):
    assert neutralise_formula(text) == expected


def test_export_amounts_are_numbers(make_household, world, users):
    make_household(amount="123.45")
    sheet = payment_sheet_generate(actor=users.caseworker, township=world.township, month=JUNE)

    _count, worksheet = _export(sheet, users.caseworker)

    amount = worksheet.cell(row=3, column=7)
    assert (amount.data_type, Decimal(str(amount.value))) == ("n", Decimal("123.45"))
