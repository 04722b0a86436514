"""The verification and disability ledger validators: every problem, with row, column, masked
value, code and message (ledgers.md §4, §5; contracts.md error codes)."""

from datetime import date
from decimal import Decimal

import pytest

from lowbao.people.masking import mask_id_number
from poverty.verification_validation import (
    DisabilityRow,
    VerificationRow,
    validate_disability_rows,
    validate_verification_rows,
)
from tests.lowbao.people.factories import PersonFactory, make_id_number

pytestmark = pytest.mark.django_db  # the name check reads the persons on record

TODAY = date(2026, 11, 29)
ID = make_id_number(birth_date=date(1980, 1, 1))


def _report(**overrides):
    row = {
        "身份证号": ID,
        "姓名": "张三",
        "核对项目": "车辆",
        "核对结果": "有",
        "金额": "35,000.50",
        "明细": "蒙A12345",
        "核对日期": "2026年7月1日",
    }
    row.update(overrides)
    return {key: value for key, value in row.items() if value is not None}


def _codes(result):
    return [(problem["row"], problem["column"], problem["code"]) for problem in result.errors]


def test_a_valid_row_is_parsed():
    result = validate_verification_rows([_report()], today=TODAY)

    assert result.errors == []
    assert result.rows == [
        VerificationRow(
            row=1,
            id_number=ID,
            name="张三",
            item="vehicle",
            found=True,
            amount=Decimal("35000.50"),
            detail="蒙A12345",
            checked_on=date(2026, 7, 1),
        )
    ]


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        pytest.param(
            {"身份证号码": ID.lower(), "核对结果": "无", "金额": "无", "明细": "-"},
            {"found": False, "amount": None, "detail": ""},
            id="aliases_and_not_given",
        ),
        pytest.param({"核对项目": "不动产"}, {"item": "real_estate"}, id="item_alias"),
        pytest.param({"核对项目": "deposits"}, {"item": "deposits"}, id="item_code"),
        pytest.param({"核对结果": True}, {"found": True}, id="json_boolean"),
        pytest.param({"核对日期": "2026/07/01"}, {"checked_on": date(2026, 7, 1)}, id="date_slash"),
    ],
)
def test_spellings_accepted(row, expected):
    base = _report()
    base.pop("身份证号") if "身份证号码" in row else None
    base.update(row)

    result = validate_verification_rows([base], today=TODAY)

    assert result.errors == []
    for name, value in expected.items():
        assert getattr(result.rows[0], name) == value


def test_english_field_names_are_accepted():
    row = {
        "id_number": ID,
        "name": "张三",
        "item": "vehicle",
        "found": False,
        "checked_on": "2026-07-01",
    }

    result = validate_verification_rows([row], today=TODAY)

    assert result.errors == []
    assert result.rows[0].item == "vehicle"


def test_every_problem_is_reported_with_masked_id_numbers():
    bad_checksum = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    rows = [
        _report(),
        _report(**{"身份证号": bad_checksum, "姓名": ""}),
        _report(**{"身份证号": 150121198001010017, "核对项目": "飞机", "核对结果": "也许"}),
        _report(**{"金额": "-5", "核对日期": "2026-02-30"}),
        _report(**{"金额": "abc", "核对日期": "2027-01-01"}),
        _report(**{"核对日期": "2026-07-01"}),  # same person, item and day as row 1
        _report(**{"身份证号": None, "核对项目": None, "核对结果": None, "核对日期": None}),
    ]

    result = validate_verification_rows(rows, today=TODAY)

    assert _codes(result) == [
        (2, "身份证号", "id_checksum"),
        (2, "姓名", "required_missing"),
        (3, "身份证号", "id_numeric_cell"),
        (3, "核对项目", "bad_enum"),
        (3, "核对结果", "bad_enum"),
        (4, "金额", "negative_amount"),
        (4, "核对日期", "bad_date"),
        (5, "金额", "bad_number"),
        (5, "核对日期", "bad_date"),
        (6, "身份证号", "duplicate_in_file"),
        (7, "身份证号", "id_missing"),
        (7, "核对项目", "required_missing"),
        (7, "核对结果", "required_missing"),
        (7, "核对日期", "required_missing"),
    ]
    assert result.errors[0]["value"] == mask_id_number(bad_checksum)
    assert ID not in str(result.errors)
    assert bad_checksum not in str(result.errors)
    assert result.errors[9]["message"] == "与第 1 行重复（同一人、同一核对项目、同一核对日期）"
    assert [row.row for row in result.rows] == [1]
    assert all(problem["message"] for problem in result.errors)


def test_row_numbers_unknown_columns_and_name_mismatch_are_reported():
    PersonFactory(id_number=ID, name="张三丰")

    result = validate_verification_rows(
        [_report(备注="x"), _report(**{"核对项目": "房产", "备注": "y", "来源": "z"})],
        row_numbers=[4, 5],
        today=TODAY,
    )

    assert result.errors == []
    assert [(w["row"], w["column"], w["code"]) for w in result.warnings] == [
        (None, "备注", "unknown_column"),
        (None, "来源", "unknown_column"),
        (4, "姓名", "name_mismatch"),
        (5, "姓名", "name_mismatch"),
    ]
    assert [row.row for row in result.rows] == [4, 5]


def test_a_15_digit_number_is_upgraded_with_a_warning():
    result = validate_verification_rows([_report(**{"身份证号": "150121800101001"})], today=TODAY)

    assert result.errors == []
    assert [w["code"] for w in result.warnings] == ["id_upgraded_from_15"]
    assert len(result.rows[0].id_number) == 18


# --- disability -----------------------------------------------------------------------------


def _record(**overrides):
    row = {
        "姓名": "张三",
        "身份证号": ID,
        "残疾证号": f"{ID}42",
        "残疾类别": "肢体",
        "残疾等级": "二级",
        "发证日期": "2015-03-01",
    }
    row.update(overrides)
    return {key: value for key, value in row.items() if value is not None}


def test_a_valid_disability_row_is_parsed():
    result = validate_disability_rows([_record(**{"残疾类别": "肢体残疾"})], today=TODAY)

    assert result.errors == []
    assert result.rows == [
        DisabilityRow(
            row=1,
            id_number=ID,
            name="张三",
            certificate_number=f"{ID}42",
            disability_type="physical",
            grade=2,
            issued_on=date(2015, 3, 1),
        )
    ]


def test_disability_certificate_must_be_the_id_number_type_and_grade():
    other, fresh = make_id_number(), make_id_number()
    rows = [
        _record(**{"残疾证号": f"{ID}4"}),  # 19 characters
        _record(**{"身份证号": other, "残疾证号": f"{ID}42"}),  # another person's number
        _record(**{"身份证号": make_id_number(), "残疾类别": "视力"}),  # wrong type + id
        _record(**{"身份证号": fresh, "残疾证号": f"{fresh}42", "残疾等级": "三级"}),
        _record(**{"身份证号": None, "残疾类别": "X", "残疾等级": "五级", "残疾证号": None}),
        _record(),
        _record(**{"发证日期": "2030-01-01"}),
    ]

    result = validate_disability_rows(rows, today=TODAY)

    assert _codes(result) == [
        (1, "残疾证号", "disability_certificate_mismatch"),
        (2, "残疾证号", "disability_certificate_mismatch"),
        (3, "残疾证号", "disability_certificate_mismatch"),
        (3, "残疾证号", "disability_certificate_mismatch"),
        (4, "残疾证号", "disability_certificate_mismatch"),
        (5, "身份证号", "id_missing"),
        (5, "残疾证号", "required_missing"),
        (5, "残疾类别", "bad_enum"),
        (5, "残疾等级", "bad_enum"),
        (6, "身份证号", "duplicate_in_file"),
        (7, "发证日期", "bad_date"),
        (7, "身份证号", "duplicate_in_file"),
    ]
    messages = [problem["message"] for problem in result.errors]
    assert messages[0] == "残疾证号应为 20 位（身份证号 + 残疾类别代码 + 残疾等级代码），现为 19 位"
    assert messages[1] == "残疾证号的前 18 位与身份证号不一致"
    assert messages[3] == "残疾证号第 19 位（残疾类别代码）应为 1（视力），与残疾类别不一致"
    assert messages[4] == "残疾证号第 20 位（残疾等级代码）应为 3，与残疾等级不一致"
    assert result.errors[0]["value"] == mask_id_number(f"{ID}4")
    assert ID not in str(result.errors)
    assert result.rows == []
