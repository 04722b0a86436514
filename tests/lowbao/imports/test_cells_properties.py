"""Property-based tests of the shared cell parsers (quality.md R6): for any input a parser gives
a value or a ``CellError`` with a contracts.md code and a Chinese message, never another
exception; valid values written in any accepted spelling come back as they were."""

import string
from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from cases import roster_import
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

CODES = {"required_missing", "bad_enum", "bad_number", "bad_date", "negative_amount"}
NOT_GIVEN = {"", "-", "/", "无", "—", "－"}
ALIASES = {"户主": "01", "本人": "01", "配偶": "02", "子": "03"}

# What a spreadsheet cell can hold, as the readers hand it over.
cell_values = st.one_of(
    st.none(),
    st.text(),
    st.text(alphabet=string.digits + ".,-+eE 元年月日/"),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.dates(),
    st.datetimes(),
)
amounts = st.decimals(min_value=0, max_value=Decimal("99999999.99"), places=2)
days = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))


def outcome(parser, value):
    """The parser's result, or its CellError (any other exception fails the test)."""
    try:
        result = parser(value)
    except CellError as error:
        result = error
    if isinstance(result, CellError):
        assert result.code in CODES
        assert result.message
    return result


# --- normalisation --------------------------------------------------------------------------------


@given(cell_values)
@example("\x00张\u3000\u3000三\x00")
@example("ＡＢＣ　１２３")
def test_normalised_text_is_trimmed_single_spaced_nul_free_and_stable(value):
    text = normalise_text(value)

    assert text == text.strip()
    assert "  " not in text
    assert "\x00" not in text
    assert normalise_text(text) == text


@given(st.text())
def test_normalised_text_is_the_same_whether_remembered_or_not(value):
    first = normalise_text(value)

    assert normalise_text(value) == first
    assert normalise_text(value + "") == first


@given(st.text())
def test_a_header_is_matched_without_any_space(value):
    header = normalise_header(value)

    assert not any(char.isspace() for char in header)
    assert normalise_header(header) == header


@given(cell_values)
def test_given_means_not_empty_and_not_a_placeholder(value):
    assert is_given(value) == (normalise_text(value) not in NOT_GIVEN)


@given(st.text())
def test_required_text_is_the_normalised_text_or_required_missing(value):
    result = outcome(lambda v: required_text(v, label="姓名"), value)

    if normalise_text(value) in NOT_GIVEN:
        assert result == CellError("required_missing", "姓名不能为空")
    else:
        assert result == normalise_text(value)


# --- money and numbers ----------------------------------------------------------------------------


@given(cell_values)
@example(1e26)
@example("1E+400")
def test_money_is_a_non_negative_amount_in_cents_or_an_error(value):
    result = outcome(lambda v: parse_money(v, label="月保障金额"), value)

    if isinstance(result, Decimal):
        assert result >= 0
        assert result == result.quantize(Decimal("0.01"))
        assert result.as_tuple().exponent == -2


@given(amounts)
def test_an_amount_reads_back_in_every_spelling(amount):
    for spelling in (str(amount), f"{amount:,}", f"{amount}元", f" {amount} ", float(amount)):
        if isinstance(spelling, float) and Decimal(str(spelling)) != amount:
            continue  # a float that cannot hold the cents exactly is not what Excel stores
        assert parse_money(spelling, label="金额") == amount


@given(amounts.filter(lambda amount: amount > 0))
def test_a_negative_amount_is_negative_amount(amount):
    assert outcome(lambda v: parse_money(v, label="金额"), f"-{amount}") == CellError(
        "negative_amount", "金额不能为负数"
    )


@given(amounts, st.integers(min_value=1, max_value=9))
def test_a_third_decimal_is_bad_number(amount, digit):
    result = outcome(lambda v: parse_money(v, label="金额"), f"{amount}{digit}")

    assert result == CellError("bad_number", "金额最多保留两位小数")


@given(st.sampled_from(sorted(NOT_GIVEN)))
def test_money_not_given_is_none_or_required_missing(value):
    assert parse_money(value, label="金额") is None
    assert outcome(lambda v: parse_money(v, label="金额", required=True), value) == CellError(
        "required_missing", "金额不能为空"
    )


@given(cell_values, st.integers(-5, 5), st.integers(5, 20))
@example("Infinity", 0, 12)
@example(float("nan"), 0, 12)
def test_an_integer_is_within_its_bounds_or_an_error(value, low, high):
    result = outcome(lambda v: parse_int(v, label="务工时间", minimum=low, maximum=high), value)

    if isinstance(result, int):
        assert low <= result <= high


@given(st.integers(0, 12))
def test_an_integer_reads_back(number):
    assert parse_int(str(number), label="务工时间", minimum=0, maximum=12) == number
    assert parse_int(float(number), label="务工时间", minimum=0, maximum=12) == number


# --- dates and months -----------------------------------------------------------------------------


@given(cell_values)
def test_a_date_is_a_date_or_bad_date(value):
    result = outcome(lambda v: parse_date(v, label="核对日期"), value)

    assert result is None or isinstance(result, date | CellError)
    if isinstance(result, CellError):
        assert result.code == "bad_date"


@given(days)
def test_a_date_reads_back_in_every_listed_spelling(day):
    spellings = [
        f"{day:%Y-%m-%d}",
        f"{day:%Y/%m/%d}",
        f"{day:%Y.%m.%d}",
        f"{day.year}年{day.month}月{day.day}日",
        f"{day.year}-{day.month}-{day.day}",
        f"{day:%Y%m%d}",
        day,
        datetime(day.year, day.month, day.day, 12, 30, tzinfo=UTC),
    ]
    for spelling in spellings:
        assert parse_date(spelling, label="日期") == day


@given(cell_values)
def test_a_month_is_the_first_of_a_month_or_bad_date(value):
    result = outcome(lambda v: parse_month(v, label="保障起始年月"), value)

    if isinstance(result, date):
        assert result.day == 1
    elif isinstance(result, CellError):
        assert result.code == "bad_date"


@given(days)
def test_a_month_reads_back_in_every_listed_spelling(day):
    first = day.replace(day=1)
    for spelling in (
        f"{day:%Y-%m}",
        f"{day:%Y/%m}",
        f"{day:%Y%m}",
        f"{day.year}年{day.month}月",
        f"{day.year}.{day.month}",
        day,
        f"{day:%Y-%m-%d}",
    ):
        assert parse_month(spelling, label="月份") == first


@given(st.integers(1900, 2100), st.integers(13, 99))
def test_a_month_past_12_is_bad_date(year, month):
    result = outcome(lambda v: parse_month(v, label="月份"), f"{year}-{month}")

    assert result == CellError("bad_date", f"月份“{year}-{month}”月份无效")


# --- enumerations ---------------------------------------------------------------------------------


@given(cell_values)
def test_a_choice_is_one_of_its_codes_or_an_error(value):
    result = outcome(lambda v: parse_choice(v, label="与户主关系", aliases=ALIASES), value)

    assert result in {"", *ALIASES.values()} or isinstance(result, CellError)
    if isinstance(result, CellError):
        assert result.code == "bad_enum"


@given(st.sampled_from(sorted(ALIASES)), st.sampled_from(["", " ", "\u3000", "\n"]))
def test_a_choice_is_found_whatever_the_spaces(label, space):
    spaced = space + space.join(label) + space

    assert parse_choice(spaced, label="与户主关系", aliases=ALIASES) == ALIASES[label]


@given(
    st.text(min_size=1).filter(lambda text: normalise_text(text).replace(" ", "") not in ALIASES)
)
def test_anything_else_is_bad_enum_or_not_given(value):
    assume(is_given(value))

    result = outcome(lambda v: parse_choice(v, label="与户主关系", aliases=ALIASES), value)

    assert isinstance(result, CellError)
    assert result.code == "bad_enum"


@given(cell_values, st.booleans())
def test_yes_no_is_a_boolean_or_bad_enum(value, default):
    result = outcome(lambda v: parse_yes_no(v, label="是否保障对象", default=default), value)

    assert isinstance(result, bool | CellError)
    if not is_given(value):
        assert result is default


@given(cell_values)
def test_a_grade_is_1_to_4_or_an_error(value):
    result = outcome(lambda v: parse_grade(v), value)

    assert result is None or result in {1, 2, 3, 4} or isinstance(result, CellError)


@given(st.sampled_from(sorted(GRADE_ALIASES)))
def test_every_grade_spelling_reads(spelling):
    assert parse_grade(spelling) == int(GRADE_ALIASES[spelling])


# --- the roster's own cells ----------------------------------------------------------------------


@given(cell_values)
@settings(max_examples=200)
def test_a_bank_account_is_12_to_19_digits_or_bad_bank_account(value):
    try:
        result = roster_import._bank_account_text(value)
    except CellError as error:
        result = error

    if isinstance(result, CellError):
        assert result.code == "bad_bank_account"
    else:
        assert result.isdigit()
        assert 12 <= len(result) <= 19


@given(st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True))
def test_every_mobile_number_is_a_phone(number):
    assert roster_import._phone_text(number) == number


@given(cell_values)
def test_a_phone_is_a_mobile_or_landline_or_bad_phone(value):
    try:
        result = roster_import._phone_text(value)
    except CellError as error:
        result = error

    if isinstance(result, CellError):
        assert result.code == "bad_phone"
    else:
        assert result.replace("-", "").isdigit()
