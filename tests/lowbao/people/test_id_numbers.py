from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import assume, given
from hypothesis import strategies as st

from lowbao.people.id_numbers import (
    IdNumber,
    IdNumberError,
    IdNumberWarning,
    compute_check_char,
    parse_id_number,
)

TODAY = date(2026, 6, 1)
CHECK_ALPHABET = "0123456789X"


def _with_check_char(body: str) -> str:
    return body + compute_check_char(body)


@pytest.mark.parametrize(
    ("_case", "raw", "birth_date", "sex"),
    [
        ("check_char_x", "34052419800101001X", date(1980, 1, 1), "男"),
        ("check_digit_1", "360426199101010071", date(1991, 1, 1), "男"),
        ("female", "120103198806018241", date(1988, 6, 1), "女"),
        ("born_2023", "110101202311012176", date(2023, 11, 1), "男"),
    ],
)
def test_domain_test_vectors_are_valid(_case, raw, birth_date, sex):
    parsed = parse_id_number(raw, today=TODAY)

    assert parsed == IdNumber(
        value=raw,
        birth_date=birth_date,
        sex=sex,
        area_prefix=raw[:6],
        upgraded_from_15=False,
    )


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("last_digit_off_by_one", "360426199101010072"),
        ("x_replaced_by_digit", "340524198001010013"),
    ],
)
def test_domain_invalid_vectors_fail_the_checksum(_case, raw):
    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(raw, today=TODAY)

    assert excinfo.value.code == "id_checksum"
    assert excinfo.value.message == "身份证号校验位错误"


def test_check_char_of_the_domain_vectors():
    assert compute_check_char("34052419800101001") == "X"
    assert compute_check_char("36042619910101007") == "1"
    assert compute_check_char("12010319880601824") == "1"
    assert compute_check_char("11010120231101217") == "6"


@pytest.mark.parametrize(
    ("_case", "first17"),
    [("too_short", "1234567890123456"), ("letter", "1234567890123456X"), ("not_str", 1)],
)
def test_compute_check_char_refuses_anything_but_17_digits(_case, first17):
    with pytest.raises(ValueError, match="17 ASCII digits"):
        compute_check_char(first17)


def test_fifteen_digit_number_is_upgraded_to_eighteen():
    parsed = parse_id_number("340524800101001", today=TODAY)

    assert parsed == IdNumber(
        value="34052419800101001X",
        birth_date=date(1980, 1, 1),
        sex="男",
        area_prefix="340524",
        upgraded_from_15=True,
    )
    assert parsed.warnings == (
        IdNumberWarning("id_upgraded_from_15", "15位身份证号已自动升级为18位"),
    )


def test_fifteen_digit_number_with_impossible_date_is_rejected():
    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number("340524800230001", today=TODAY)

    assert excinfo.value.code == "id_birthdate"


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("full_width_digits_and_x", "３４０５２４１９８００１０１００１Ｘ"),
        ("full_width_lower_x", "３４０５２４１９８００１０１００１ｘ"),
        ("lower_x", "34052419800101001x"),
        ("spaces_and_newline", " 340524 19800101 001X\n"),
        ("full_width_spaces", "\u3000340524\u300019800101001X\u3000"),
        ("tab", "340524\t19800101001X"),
        ("zero_width_and_bom", "\ufeff34052419800101001X\u200b"),
    ],
)
def test_spellings_normalise_to_the_same_number(_case, raw):
    assert parse_id_number(raw, today=TODAY).value == "34052419800101001X"


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("int", 360426199101010071),
        ("float_as_excel_keeps_it", 3.60426199101010e17),
        ("decimal", Decimal("360426199101010071")),
    ],
)
def test_number_typed_cell_is_rejected_with_text_format_advice(_case, raw):
    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(raw, today=TODAY)

    assert excinfo.value.code == "id_numeric_cell"
    assert excinfo.value.message == (
        "身份证号被 Excel 存成了数字，末尾几位已经丢失：请把该列的单元格格式设置为“文本”，"
        "然后重新录入这些身份证号"
    )


@pytest.mark.parametrize(
    ("_case", "raw"),
    [("none", None), ("empty", ""), ("spaces", "   "), ("full_width_space_and_tab", "\u3000\t")],
)
def test_empty_value_is_missing(_case, raw):
    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(raw, today=TODAY)

    assert excinfo.value.code == "id_missing"
    assert excinfo.value.message == "身份证号不能为空"


@pytest.mark.parametrize(
    ("_case", "raw"),
    [
        ("17_chars", "36042619910101007"),
        ("19_chars", "3604261991010100711"),
        ("16_digits", "3604261991010100"),
        ("x_in_the_middle", "36042619910101X071"),
        ("letter_at_end", "36042619910101007A"),
        ("15_digits_with_x", "34052480010100X"),
        ("punctuation", "360426-1991-0101-0071"),
        ("bool", True),
        ("list", ["360426199101010071"]),
    ],
)
def test_malformed_value_is_a_format_error(_case, raw):
    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(raw, today=TODAY)

    assert excinfo.value.code == "id_format"
    assert excinfo.value.message == "身份证号格式错误：应为18位，前17位为数字，最后一位为数字或X"


@pytest.mark.parametrize(
    ("_case", "born", "message"),
    [
        ("feb_30", "19910230", "身份证号中的出生日期不是有效日期"),
        ("feb_29_not_leap_1900", "19000229", "身份证号中的出生日期不是有效日期"),
        ("month_13", "19911301", "身份证号中的出生日期不是有效日期"),
        ("day_00", "19910100", "身份证号中的出生日期不是有效日期"),
        ("tomorrow", "20260602", "身份证号中的出生日期晚于今天"),
        ("next_century", "21010101", "身份证号中的出生日期晚于今天"),
        ("before_1890", "18891231", "身份证号中的出生日期早于1890年"),
    ],
)
def test_impossible_birth_date_is_rejected_even_with_a_correct_check_char(_case, born, message):
    raw = _with_check_char(f"150121{born}001")

    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(raw, today=TODAY)

    assert excinfo.value.code == "id_birthdate"
    assert excinfo.value.message == message


@pytest.mark.parametrize(
    ("_case", "born", "expected"),
    [
        ("born_today", "20260601", date(2026, 6, 1)),
        ("first_day_accepted", "18900101", date(1890, 1, 1)),
        ("feb_29_leap_2000", "20000229", date(2000, 2, 29)),
    ],
)
def test_boundary_birth_dates_are_accepted(_case, born, expected):
    parsed = parse_id_number(_with_check_char(f"150121{born}002"), today=TODAY)

    assert parsed.birth_date == expected
    assert parsed.sex == "女"


def test_today_defaults_to_the_local_date():
    tomorrow = timezone.localdate() + timedelta(days=1)

    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(_with_check_char(f"150121{tomorrow:%Y%m%d}001"))

    assert excinfo.value.code == "id_birthdate"


def test_unknown_province_prefix_is_a_warning_not_an_error():
    parsed = parse_id_number(_with_check_char("99012119800101001"), today=TODAY)

    assert parsed.warnings == (
        IdNumberWarning("id_area_unknown", "身份证号前两位不是已知的省级行政区划代码"),
    )


def test_str_and_repr_of_a_parsed_number_are_masked():
    parsed = parse_id_number("34052419800101001X", today=TODAY)

    assert str(parsed) == "340524********001X"
    assert repr(parsed) == "IdNumber(340524********001X)"


def test_error_message_never_contains_the_number():
    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number("360426199101010072", today=TODAY)

    assert str(excinfo.value) == "id_checksum: 身份证号校验位错误"


@st.composite
def valid_numbers(draw):
    area_prefix = draw(st.from_regex(r"[1-9][0-9]{5}", fullmatch=True))
    born = draw(st.dates(min_value=date(1890, 1, 1), max_value=TODAY))
    seq = draw(st.integers(min_value=0, max_value=999))
    body = f"{area_prefix}{born:%Y%m%d}{seq:03d}"
    return body + compute_check_char(body), area_prefix, born, seq


@given(valid_numbers())
def test_every_generated_valid_number_parses_and_round_trips(generated):
    value, area_prefix, born, seq = generated

    parsed = parse_id_number(value, today=TODAY)

    assert parsed == IdNumber(
        value=value,
        birth_date=born,
        sex="男" if seq % 2 == 1 else "女",
        area_prefix=area_prefix,
        upgraded_from_15=False,
    )
    assert parse_id_number(parsed.value.lower(), today=TODAY) == parsed


@given(valid_numbers(), st.integers(min_value=0, max_value=17), st.sampled_from(CHECK_ALPHABET))
def test_any_single_character_change_is_rejected(generated, position, replacement):
    value = generated[0]
    if value[position] == replacement:
        replacement = CHECK_ALPHABET[(CHECK_ALPHABET.index(replacement) + 1) % 11]
    changed = value[:position] + replacement + value[position + 1 :]

    with pytest.raises(IdNumberError) as excinfo:
        parse_id_number(changed, today=TODAY)

    assert excinfo.value.code == _expected_code(changed)


def _expected_code(changed: str) -> str:
    if "X" in changed[:17]:
        return "id_format"
    try:
        born = date(int(changed[6:10]), int(changed[10:12]), int(changed[12:14]))
    except ValueError:
        return "id_birthdate"
    if not date(1890, 1, 1) <= born <= TODAY:
        return "id_birthdate"
    return "id_checksum"


@given(valid_numbers())
def test_fifteen_digit_form_upgrades_to_the_same_person(generated):
    value, _area_prefix, born, _seq = generated
    assume(1900 <= born.year <= 1999)
    first_generation = value[:6] + value[8:17]

    parsed = parse_id_number(first_generation, today=TODAY)

    assert parsed.value == value
    assert parsed.upgraded_from_15 is True
