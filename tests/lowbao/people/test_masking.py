import logging
import unicodedata
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lowbao.people.id_numbers import compute_check_char
from lowbao.people.masking import (
    IdNumberMaskingFilter,
    mask_bank_account,
    mask_id_number,
    mask_phone,
    mask_value_in_text,
)


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("eighteen", "15012119800101123X", "150121********123X"),
        ("lower_x", "34052419800101001x", "340524********001X"),
        ("full_width", "３４０５２４１９８００１０１００１Ｘ", "340524********001X"),
        ("with_spaces", " 340524 19800101 001X ", "340524********001X"),
        ("int", 360426199101010071, "360426********0071"),
        ("fifteen_hides_yymmdd", "340524800101001", "340524******001"),
        ("none", None, ""),
        ("empty", "", ""),
        ("one_char", "1", "*"),
        ("eight_chars", "12345678", "********"),
        ("twelve_chars", "123456789012", "********9012"),
        ("seventeen_chars", "36042619910101007", "36042********1007"),
        ("twenty_chars", "36042619910101007100", "360426**********7100"),
    ],
)
def test_mask_id_number(_case, value, expected):
    assert mask_id_number(value) == expected


@given(st.text(alphabet=st.characters(blacklist_characters="*＊﹡")))
def test_mask_never_shows_more_than_first_six_and_last_four(text):
    masked = mask_id_number(text)

    assert all(char == "*" for char in masked[6:-4])
    assert sum(char != "*" for char in masked) <= 10
    if len(masked) <= 8:
        assert set(masked) <= {"*"}


@given(
    st.from_regex(r"[1-9][0-9]{5}", fullmatch=True),
    st.dates(min_value=date(1890, 1, 1), max_value=date(2026, 1, 1)),
    st.integers(min_value=0, max_value=999),
)
def test_mask_of_a_valid_number_never_reveals_chars_7_to_14(area_prefix, born, seq):
    body = f"{area_prefix}{born:%Y%m%d}{seq:03d}"
    value = body + compute_check_char(body)

    masked = mask_id_number(value)

    assert masked == value[:6] + "********" + value[14:]


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("nineteen_digits", "6222021234567890123", "622202*********0123"),
        ("grouped_sixteen", "6222 0212 3456 7890", "622202******7890"),
        ("short_shows_last_four", "12345678", "****5678"),
        ("four_chars_hidden", "1234", "****"),
        ("none", None, ""),
    ],
)
def test_mask_bank_account(_case, value, expected):
    assert mask_bank_account(value) == expected


@pytest.mark.parametrize(
    ("_case", "value", "expected"),
    [
        ("mobile", "13800138000", "138****8000"),
        ("landline", "0471-1234567", "047*****4567"),
        ("short", "12345", "****5"),
        ("empty", "", ""),
    ],
)
def test_mask_phone(_case, value, expected):
    assert mask_phone(value) == expected


@pytest.mark.parametrize(
    ("_case", "text", "expected"),
    [
        ("one", "申请人 34052419800101001X 已提交", "申请人 340524********001X 已提交"),
        (
            "two_adjacent_to_chinese",
            "户主360426199101010071，配偶120103198806018241。",
            "户主360426********0071，配偶120103********8241。",
        ),
        ("lower_x_in_key_value", "id=34052419800101001x&x=1", "id=340524********001X&x=1"),
        ("fifteen_digits", "旧号码 340524800101001", "旧号码 340524******001"),
        ("full_width", "号码３４０５２４１９８００１０１００１Ｘ", "号码340524********001X"),
        ("grouped", "340524 19800101 001X", "340524********001X"),
        ("invalid_checksum_still_masked", "360426199101010072", "360426********0072"),
        ("nineteen_digits_untouched", "卡号 6222021234567890123", "卡号 6222021234567890123"),
        ("phone_untouched", "电话 13800138000", "电话 13800138000"),
        ("no_number", "没有身份证号", "没有身份证号"),
        ("empty", "", ""),
    ],
)
def test_mask_value_in_text(_case, text, expected):
    assert mask_value_in_text(text) == expected


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.addFilter(IdNumberMaskingFilter())
        self.setFormatter(logging.Formatter("%(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def masked_logger():
    handler = _ListHandler()
    logger = logging.getLogger("tests.lowbao.people.masking")
    logger.addHandler(handler)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)
    logger.propagate = True


def test_log_filter_masks_id_numbers_in_message_and_args(masked_logger):
    logger, handler = masked_logger

    logger.warning("imported %s for %s", "34052419800101001X", "张三")
    logger.warning("id=%(id)s", {"id": "360426199101010071"})
    logger.warning("inline 120103198806018241")
    logger.warning("count=%d", 3)

    assert handler.lines == [
        "imported 340524********001X for 张三",
        "id=360426********0071",
        "inline 120103********8241",
        "count=3",
    ]


def test_log_filter_masks_id_numbers_in_tracebacks(masked_logger):
    logger, handler = masked_logger

    try:
        raise ValueError("bad row 34052419800101001X")
    except ValueError:
        logger.exception("import failed")

    assert "34052419800101001X" not in handler.lines[0]
    assert "ValueError: bad row 340524********001X" in handler.lines[0]


def test_log_filter_keeps_records_with_broken_format_strings(masked_logger):
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "%s %s 34052419800101001X", ("360426199101010071",), None
    )

    kept = IdNumberMaskingFilter().filter(record)

    assert kept is True
    assert record.msg == "%s %s 340524********001X"
    assert record.args == ("360426********0071",)


def test_masked_output_is_nfkc_stable():
    masked = mask_id_number("３４０５２４１９８００１０１００１ｘ")

    assert unicodedata.normalize("NFKC", masked) == masked
