"""The shared cell parsers (ledgers.md §1): every accepted spelling, and the exact error code and
message of every refusal."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from lowbao.imports.cells import (
    GRADE_ALIASES,
    CellError,
    is_given,
    normalise_header,
    normalise_text,
    parse_choice,
    parse_date,
    parse_grade,
    parse_int,
    parse_money,
    parse_month,
    parse_yes_no,
    required_text,
)

RELATIONS = {"户主": "01", "本人": "01", "配偶": "02"}


# --- normalisation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("none", None, ""),
        ("integral float from a numeric cell", 15.0, "15"),
        ("non-integral float", 2.5, "2.5"),
        ("int", 1501210001, "1501210001"),
        ("spaces trimmed and collapsed", "  巴特尔\u3000 其其格  ", "巴特尔 其其格"),
        ("full-width letters and digits", "ＡＢＣ１２３", "ABC123"),
        ("line break inside a cell", "察素齐\n一村", "察素齐 一村"),
        ("no-break and zero-width spaces", "\u00a0张三\u200b", "张三"),
    ],
)
def test_normalise_text(_case, value, expected):
    assert normalise_text(value) == expected


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("plain", "身份证号", "身份证号"),
        ("spaces inside", " 身份 证号 ", "身份证号"),
        ("full-width space", "证件\u3000号码", "证件号码"),
        ("line break", "家庭年人均\n纯收入", "家庭年人均纯收入"),
        ("full-width brackets become ASCII", "务工时间（月）", "务工时间(月)"),
        ("none", None, ""),
    ],
)
def test_normalise_header(_case, value, expected):
    assert normalise_header(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, False),
        ("", False),
        ("   ", False),
        ("\u3000", False),
        ("-", False),
        ("/", False),
        ("无", False),
        ("—", False),
        ("0", True),
        (0, True),
        ("否", True),
        ("张三", True),
    ],
)
def test_is_given(value, expected):
    assert is_given(value) is expected


def test_required_text_trims_and_refuses_not_given_values():
    assert required_text(" 巴特尔 ", label="姓名") == "巴特尔"
    with pytest.raises(CellError) as refused:
        required_text("无", label="姓名")
    assert refused.value == CellError("required_missing", "姓名不能为空")


# --- money -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("integer text", "460", Decimal("460.00")),
        ("two decimals", "186.50", Decimal("186.50")),
        ("one decimal", "186.5", Decimal("186.50")),
        ("thousands separators", "1,234,567.89", Decimal("1234567.89")),
        ("full-width digits and comma", "１，２３４．５", Decimal("1234.50")),
        ("yuan sign", "300元", Decimal("300.00")),
        ("spaces around", "  42 ", Decimal("42.00")),
        ("zero", "0", Decimal("0.00")),
        ("numeric int cell", 3200, Decimal("3200.00")),
        ("numeric float cell", 3200.5, Decimal("3200.50")),
        ("decimal", Decimal("12.3"), Decimal("12.30")),
    ],
)
def test_parse_money_accepts(_case, value, expected):
    assert parse_money(value, label="金额") == expected


@pytest.mark.parametrize(
    ("_case", "value", "code", "message"),
    [
        ("negative text", "-5", "negative_amount", "月保障金额不能为负数"),
        ("negative cell", -0.01, "negative_amount", "月保障金额不能为负数"),
        ("three decimals", "1.234", "bad_number", "月保障金额最多保留两位小数"),
        ("text", "三百", "bad_number", "月保障金额“三百”不是有效金额"),
        ("two points", "1.2.3", "bad_number", "月保障金额“1.2.3”不是有效金额"),
        ("not a number", "NaN", "bad_number", "月保障金额不是有效金额"),
        ("infinity", "Infinity", "bad_number", "月保障金额不是有效金额"),
        ("boolean cell", True, "bad_number", "月保障金额应为金额"),
    ],
)
def test_parse_money_refuses(_case, value, code, message):
    with pytest.raises(CellError) as refused:
        parse_money(value, label="月保障金额")
    assert (refused.value.code, refused.value.message) == (code, message)


@pytest.mark.parametrize("value", [None, "", " ", "-", "/", "无"])
def test_parse_money_not_given(value):
    assert parse_money(value, label="享受低保金额") is None
    with pytest.raises(CellError) as refused:
        parse_money(value, label="月保障金额", required=True)
    assert refused.value == CellError("required_missing", "月保障金额不能为空")


# --- integers --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("6", 6), (6, 6), (6.0, 6), ("０", 0), (" 12 ", 12), ("6.00", 6)]
)
def test_parse_int_accepts(value, expected):
    assert parse_int(value, label="务工时间", minimum=0, maximum=12) == expected


@pytest.mark.parametrize(
    ("_case", "value", "message"),
    [
        ("decimal", "6.5", "务工时间应为整数"),
        ("above the range", "13", "务工时间应在 0–12 之间"),
        ("below the range", "-1", "务工时间应在 0–12 之间"),
        ("text", "半年", "务工时间“半年”不是有效数字"),
    ],
)
def test_parse_int_refuses(_case, value, message):
    with pytest.raises(CellError) as refused:
        parse_int(value, label="务工时间", minimum=0, maximum=12)
    assert refused.value == CellError("bad_number", message)


def test_parse_int_not_given():
    assert parse_int("", label="务工时间") is None
    with pytest.raises(CellError) as refused:
        parse_int("-", label="脱贫年度", required=True)
    assert refused.value == CellError("required_missing", "脱贫年度不能为空")


# --- dates and months ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "value"),
    [
        ("ISO", "2026-07-01"),
        ("ISO without zero padding", "2026-7-1"),
        ("slashes", "2026/07/01"),
        ("slashes without padding", "2026/7/1"),
        ("dots", "2026.07.01"),
        ("Chinese", "2026年7月1日"),
        ("Chinese padded", "2026年07月01日"),
        ("eight digits", "20260701"),
        ("with a time", "2026-07-01 00:00:00"),
        ("full-width", "２０２６－０７－０１"),
        ("date cell", date(2026, 7, 1)),
        ("datetime cell", datetime(2026, 7, 1, 9, 30)),  # noqa: DTZ001 (Excel cells are naive)
    ],
)
def test_parse_date_accepts_every_listed_format(_case, value):
    assert parse_date(value, label="核对日期") == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("_case", "value", "message"),
    [
        ("30 February", "2026-02-30", "核对日期“2026-02-30”不是有效日期"),
        ("month 13", "2026/13/01", "核对日期“2026/13/01”不是有效日期"),
        ("Chinese day 32", "2026年1月32日", "核对日期“2026年1月32日”不是有效日期"),
        ("English", "July 1 2026", "核对日期“July”不是可识别的日期（如 2026-07-01）"),
        ("day first", "01-07-2026", "核对日期“01-07-2026”不是可识别的日期（如 2026-07-01）"),
        ("Excel serial number", 46204, "核对日期“46204”不是可识别的日期（如 2026-07-01）"),
    ],
)
def test_parse_date_refuses(_case, value, message):
    with pytest.raises(CellError) as refused:
        parse_date(value, label="核对日期")
    assert refused.value == CellError("bad_date", message)


def test_parse_date_not_given():
    assert parse_date("/", label="发证日期") is None
    with pytest.raises(CellError) as refused:
        parse_date("", label="核对日期", required=True)
    assert refused.value == CellError("required_missing", "核对日期不能为空")


@pytest.mark.parametrize(
    ("_case", "value"),
    [
        ("ISO month", "2026-07"),
        ("ISO month unpadded", "2026-7"),
        ("slashes", "2026/07"),
        ("six digits", "202607"),
        ("Chinese", "2026年7月"),
        ("Chinese padded", "2026年07月"),
        ("a full date", "2026-07-15"),
        ("a full Chinese date", "2026年7月15日"),
        ("date cell", date(2026, 7, 15)),
        ("datetime cell", datetime(2026, 7, 15, 8, 0)),  # noqa: DTZ001
    ],
)
def test_parse_month_accepts_every_listed_format(_case, value):
    assert parse_month(value, label="保障起始年月") == date(2026, 7, 1)


@pytest.mark.parametrize(
    ("_case", "value", "message"),
    [
        ("month 13", "2026-13", "保障起始年月“2026-13”月份无效"),
        ("month 0", "202600", "保障起始年月“202600”月份无效"),
        ("text", "七月", "保障起始年月“七月”不是可识别的年月（如 2026-07）"),
        ("bad full date", "2026-02-30", "保障起始年月“2026-02-30”不是可识别的年月（如 2026-07）"),
    ],
)
def test_parse_month_refuses(_case, value, message):
    with pytest.raises(CellError) as refused:
        parse_month(value, label="保障起始年月")
    assert refused.value == CellError("bad_date", message)


def test_parse_month_not_given():
    assert parse_month(None, label="保障起始年月") is None
    with pytest.raises(CellError) as refused:
        parse_month("无", label="保障起始年月", required=True)
    assert refused.value == CellError("required_missing", "保障起始年月不能为空")


# --- choices, yes/no, grades -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("label", "户主", "01"),
        ("alias", "本人", "01"),
        ("spaces inside", " 配 偶 ", "02"),
        ("full-width space", "户\u3000主", "01"),
    ],
)
def test_parse_choice_accepts_labels_and_aliases(_case, value, expected):
    assert parse_choice(value, label="与户主关系", aliases=RELATIONS) == expected


def test_parse_choice_refuses_unknown_values_listing_the_options():
    with pytest.raises(CellError) as refused:
        parse_choice("老板", label="与户主关系", aliases=RELATIONS)
    assert refused.value == CellError(
        "bad_enum", "与户主关系“老板”不是有效选项（可选：户主、本人、配偶）"
    )


def test_parse_choice_not_given():
    assert parse_choice("-", label="民族", aliases=RELATIONS) == ""
    with pytest.raises(CellError) as refused:
        parse_choice("", label="与户主关系", aliases=RELATIONS, required=True)
    assert refused.value == CellError("required_missing", "与户主关系不能为空")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("是", True),
        ("Y", True),
        ("y", True),
        ("1", True),
        (1, True),
        ("true", True),
        ("否", False),
        ("N", False),
        ("0", False),
        (0, False),
        ("False", False),
    ],
)
def test_parse_yes_no(value, expected):
    assert parse_yes_no(value, label="是否保障对象", default=not expected) is expected


@pytest.mark.parametrize(("value", "default"), [(None, True), ("", False), ("-", True)])
def test_parse_yes_no_default_when_not_given(value, default):
    assert parse_yes_no(value, label="是否保障对象", default=default) is default


def test_parse_yes_no_refuses_other_values():
    with pytest.raises(CellError) as refused:
        parse_yes_no("也许", label="是否保障对象", default=True)
    assert refused.value == CellError("bad_enum", "是否保障对象“也许”应为“是”或“否”")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("一级", 1), ("二级", 2), ("三级", 3), ("四级", 4), ("1", 1), ("2级", 2), (3, 3), (4.0, 4)],
)
def test_parse_grade(value, expected):
    assert parse_grade(value) == expected


def test_parse_grade_refuses_and_not_given():
    assert parse_grade("") is None
    with pytest.raises(CellError) as refused:
        parse_grade("五级")
    assert refused.value.code == "bad_enum"
    assert refused.value.message.startswith("残疾等级“五级”不是有效选项（可选：")
    with pytest.raises(CellError) as missing:
        parse_grade(None, required=True)
    assert missing.value == CellError("required_missing", "残疾等级不能为空")
    assert set(GRADE_ALIASES.values()) == {"1", "2", "3", "4"}


@pytest.mark.parametrize(
    ("_case", "kwargs", "raw", "message"),
    [
        ("below_minimum_only", {"minimum": 0}, "-1", "务工时间不能小于 0"),
        ("above_maximum_only", {"maximum": 12}, "13", "务工时间不能大于 12"),
        ("outside_both", {"minimum": 0, "maximum": 12}, "13", "务工时间应在 0–12 之间"),
    ],
)
def test_parse_int_bounds_messages(_case, kwargs, raw, message):
    from lowbao.imports.cells import CellError, parse_int

    with pytest.raises(CellError) as error:
        parse_int(raw, label="务工时间", **kwargs)

    assert error.value.message == message


@pytest.mark.parametrize(
    ("raw", "expected"), [("1,234.50", "1234.50"), ("12,345,678", "12345678.00")]
)
def test_parse_money_accepts_real_thousands_separators(raw, expected):
    from decimal import Decimal

    from lowbao.imports.cells import parse_money

    assert parse_money(raw, label="金额") == Decimal(expected)


@pytest.mark.parametrize("raw", ["1,2,3", "12,34", "1234,567"])
def test_parse_money_refuses_misplaced_separators(raw):
    from lowbao.imports.cells import CellError, parse_money

    with pytest.raises(CellError) as error:
        parse_money(raw, label="金额")

    assert error.value.code == "bad_number"
