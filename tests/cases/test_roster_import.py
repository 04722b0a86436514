"""The ``dibao`` roster (ledgers.md §2): every rule reported with its exact row, column and code."""

from pathlib import Path

import openpyxl
import pytest

from cases.models import Household
from lowbao.people.id_numbers import compute_check_char
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    ROSTER_HEADERS,
    roster,
    roster_row,
    run_json,
    two_households,
)
from tests.lowbao.people.factories import make_id_number


def _wrong_checksum(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def _future_birth() -> str:
    body = "15012120990101123"
    return body + compute_check_char(body)


def _set(row: int, **values: str):
    def change(rows: list[dict]) -> None:
        rows[row - 3].update(values)

    return change


def _same_person(rows: list[dict]) -> None:
    rows[2]["身份证号"] = rows[0]["身份证号"]


def _bad_checksum(rows: list[dict]) -> None:
    rows[0]["身份证号"] = _wrong_checksum(rows[0]["身份证号"])


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(_bad_checksum, [(3, "身份证号", "id_checksum")], id="id_checksum_case"),
        pytest.param(
            _set(3, 身份证号=_future_birth()),
            [(3, "身份证号", "id_birthdate")],
            id="id_birthdate_case",
        ),
        pytest.param(_set(4, 身份证号=""), [(4, "身份证号", "id_missing")], id="id_missing_case"),
        pytest.param(
            _set(4, 身份证号="12345"), [(4, "身份证号", "id_format")], id="id_format_case"
        ),
        pytest.param(
            _same_person, [(5, "身份证号", "duplicate_in_file")], id="duplicate_in_file_case"
        ),
        pytest.param(
            _set(5, 嘎查村代码="150121100299"),
            [(5, "嘎查村代码", "area_unknown")],
            id="area_code_unknown_case",
        ),
        pytest.param(
            _set(5, 嘎查村代码="150122100201"),
            [(5, "嘎查村代码", "area_out_of_scope")],
            id="area_code_other_county_case",
        ),
        pytest.param(
            _set(5, 嘎查村代码="", 苏木乡镇="察素齐镇", 嘎查村="不存在村"),
            [(5, "嘎查村", "area_unknown")],
            id="area_name_unknown_case",
        ),
        pytest.param(
            _set(5, 嘎查村代码="", 苏木乡镇="双河镇", 嘎查村="双河一村"),
            [(5, "苏木乡镇", "area_out_of_scope")],
            id="area_name_other_county_case",
        ),
        pytest.param(
            _set(5, 嘎查村代码="", 嘎查村="毕克齐一村委会"), [], id="area_name_resolved_case"
        ),
        pytest.param(
            _set(3, 与户主关系="配偶"),
            [(3, "与户主关系", "household_no_head")],
            id="household_no_head_case",
        ),
        pytest.param(
            _set(4, 与户主关系="本人"),
            [(4, "与户主关系", "household_many_heads")],
            id="household_many_heads_case",
        ),
        pytest.param(
            _set(4, 月保障金额="700"),
            [(4, "月保障金额", "household_conflict")],
            id="household_conflict_case",
        ),
        pytest.param(_set(4, 月保障金额="680"), [], id="household_values_repeated_agree_case"),
        pytest.param(
            _set(4, 嘎查村代码="150121100202"),
            [(4, "嘎查村代码", "household_conflict")],
            id="household_area_conflict_case",
        ),
        pytest.param(
            _set(5, 救助类型="临时救助"), [(5, "救助类型", "bad_enum")], id="programme_case"
        ),
        pytest.param(
            _set(3, 与户主关系="邻居"), [(3, "与户主关系", "bad_enum")], id="relation_case"
        ),
        pytest.param(_set(4, 劳动能力="很强"), [(4, "劳动能力", "bad_enum")], id="labour_case"),
        pytest.param(
            _set(4, 是否保障对象="也许"), [(4, "是否保障对象", "bad_enum")], id="covered_case"
        ),
        pytest.param(
            _set(3, 月人均收入="abc"), [(3, "月人均收入", "bad_number")], id="bad_number_case"
        ),
        pytest.param(
            _set(5, 月保障金额="-1"), [(5, "月保障金额", "negative_amount")], id="negative_case"
        ),
        pytest.param(
            _set(5, 保障起始年月="2026-13"), [(5, "保障起始年月", "bad_date")], id="month_case"
        ),
        pytest.param(
            _set(5, 月保障金额=""), [(5, "月保障金额", "required_missing")], id="required_case"
        ),
        pytest.param(_set(4, 姓名=""), [(4, "姓名", "required_missing")], id="name_missing_case"),
        pytest.param(
            _set(3, 银行账号="12345"), [(3, "银行账号", "bad_bank_account")], id="bank_account_case"
        ),
        pytest.param(_set(3, 联系电话="123"), [(3, "联系电话", "bad_phone")], id="phone_case"),
        pytest.param(_set(4, 户编号=""), [(4, "户编号", "required_missing")], id="number_case"),
    ],
)
def test_roster_problem_is_reported_at_its_row_and_column(areas, tmp_path, change, expected):
    rows = two_households()
    change(rows)

    code, report = run_json("dibao", str(roster(tmp_path, rows)), "--county", COUNTY, "--dry-run")

    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == expected
    assert code == (1 if expected else 0)
    assert all(e["message"] for e in report["errors"])


def test_every_problem_of_the_file_is_reported_in_row_order(areas, tmp_path):
    rows = two_households()
    rows[0]["月人均收入"] = "abc"
    rows[2]["银行账号"] = "12"
    rows[2]["联系电话"] = "1"

    _code, report = run_json("dibao", str(roster(tmp_path, rows)), "--county", COUNTY)

    assert [(e["row"], e["column"]) for e in report["errors"]] == [
        (3, "月人均收入"),
        (5, "银行账号"),
        (5, "联系电话"),
    ]
    assert report["errors"][1]["value"] == "**"  # a bank account is never shown whole


def test_person_in_a_paid_household_elsewhere_is_duplicate_in_other_household(areas, tmp_path):
    rows = two_households()
    assert run_json("dibao", str(roster(tmp_path, rows, "a.csv")), "--county", COUNTY)[0] == 0
    moved = [roster_row("DB009", rows[1]["身份证号"])]

    code, report = run_json("dibao", str(roster(tmp_path, moved, "b.csv")), "--county", COUNTY)

    assert code == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (3, "身份证号", "duplicate_in_other_household")
    ]
    assert "DB001" in report["errors"][0]["message"]


def test_stopped_household_cannot_be_revived_by_the_roster(areas, tmp_path):
    rows = two_households()
    run_json("dibao", str(roster(tmp_path, rows, "a.csv")), "--county", COUNTY)
    Household.objects.filter(number="DB002").update(status="stopped")
    rows[2]["月保障金额"] = "470"

    code, report = run_json("dibao", str(roster(tmp_path, rows, "b.csv")), "--county", COUNTY)

    assert code == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (5, "户编号", "household_conflict")
    ]


def test_id_number_stored_as_an_excel_number_is_id_numeric_cell(areas, tmp_path):
    rows = two_households()
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["土默特左旗低保花名册"])
    sheet.append(ROSTER_HEADERS)
    for index, row in enumerate(rows):
        values = [row.get(header, "") or None for header in ROSTER_HEADERS]
        if index == 1:
            values[ROSTER_HEADERS.index("身份证号")] = int(row["身份证号"][:15] + "000")
        sheet.append(values)
    path = Path(tmp_path / "roster.xlsx")
    workbook.save(path)

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 1
    assert [(e["row"], e["column"], e["code"]) for e in report["errors"]] == [
        (4, "身份证号", "id_numeric_cell")
    ]
    assert "文本" in report["errors"][0]["message"]


def test_merged_and_head_only_household_cells_apply_to_the_whole_household(areas, tmp_path):
    head, child = make_id_number(), make_id_number()
    rows = [
        roster_row("DB001", head),
        {"户编号": "DB001", "姓名": "孩子", "身份证号": child, "与户主关系": "之子"},
    ]

    code, report = run_json("dibao", str(roster(tmp_path, rows)), "--county", COUNTY)

    assert (code, report["errors"], report["created"]) == (0, [], 1)
    assert Household.objects.get().members.count() == 2
