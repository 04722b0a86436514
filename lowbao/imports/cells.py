"""Cell normalisation and parsing shared by every ledger import and every data-exchange API
(ledgers.md §1). Each parser takes the raw value and returns the parsed value or raises
``CellError(code, message)`` with a contracts.md error code and a Chinese message."""

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

# Empty cells, cells holding only spaces, "-", "/" and "无" mean "not given" in optional columns.
_NOT_GIVEN = {"", "-", "/", "无", "—", "－"}
_SPACES = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
# The largest amount the money columns hold (12 digits, 2 of them decimals).
MAX_AMOUNT = Decimal("9999999999.99")
_THOUSANDS = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")
_CENT = Decimal("0.01")


class CellError(Exception):
    """A cell that cannot be parsed: a contracts.md error ``code`` and a Chinese ``message``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CellError):
            return NotImplemented
        return (self.code, self.message) == (other.code, other.message)

    def __hash__(self) -> int:
        return hash((self.code, self.message))


def normalise_text(value: object) -> str:
    """NFKC (full-width → ASCII), spaces collapsed and trimmed, NUL characters dropped; numbers
    as plain text."""
    if value is None:
        return ""
    if type(value) is str:
        known = _NORMALISED.get(value)
        if known is not None:
            return known
        text = value
    else:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value)
    if "\x00" in text:
        text = text.replace("\x00", "")
    if text.isascii():
        # ASCII is its own NFKC form, and str.split() splits on exactly what \s matches.
        result = " ".join(text.split())
    else:
        result = _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()
    if type(value) is str:
        if len(_NORMALISED) >= NORMALISED_KEPT:
            _NORMALISED.clear()
        _NORMALISED[value] = result
    return result


# A cell is normalised several times on its way (given? which parser? the parser itself), and
# enumerations, villages and amounts repeat on every row: the last texts seen are kept. Bounded:
# emptied whenever full, so memory stays flat whatever the number of rows.
NORMALISED_KEPT = 16_384
_NORMALISED: dict[str, str] = {}


def normalise_header(value: object) -> str:
    """Headers match after removing every space (full-width too) and line break."""
    # NFKC again once the spaces are gone: a compatibility decomposition can leave a combining
    # mark after a space (U+00A8 is " " + U+0308) that composes with the letter before it.
    return unicodedata.normalize(
        "NFKC", _SPACES.sub("", unicodedata.normalize("NFKC", str(value or "")))
    )


def is_given(value: object) -> bool:
    return normalise_text(value) not in _NOT_GIVEN


def required_text(value: object, *, label: str) -> str:
    text = normalise_text(value)
    if text in _NOT_GIVEN:
        raise CellError("required_missing", f"{label}不能为空")
    return text


def parse_money(value: object, *, label: str, required: bool = False) -> Decimal | None:
    """Yuan, at most 2 decimals, never negative; thousands separators accepted."""
    if isinstance(value, bool):
        raise CellError("bad_number", f"{label}应为金额")
    if not is_given(value):
        if required:
            raise CellError("required_missing", f"{label}不能为空")
        return None
    if isinstance(value, int | float | Decimal):
        amount = Decimal(str(value))
    else:
        text = normalise_text(value).replace("元", "").strip()
        if "," in text:
            if not _THOUSANDS.match(text):
                raise CellError("bad_number", f"{label}“{text}”的千位分隔符位置不对")
            text = text.replace(",", "")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise CellError("bad_number", f"{label}“{text}”不是有效金额") from exc
    if not amount.is_finite():
        raise CellError("bad_number", f"{label}不是有效金额")
    if amount < 0:
        raise CellError("negative_amount", f"{label}不能为负数")
    if amount > MAX_AMOUNT:
        raise CellError("bad_number", f"{label}过大（最多 {MAX_AMOUNT:,} 元）")
    cents = amount.quantize(_CENT)
    if amount != cents:
        raise CellError("bad_number", f"{label}最多保留两位小数")
    return cents


def parse_int(
    value: object,
    *,
    label: str,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = False,
) -> int | None:
    if not is_given(value):
        if required:
            raise CellError("required_missing", f"{label}不能为空")
        return None
    text = normalise_text(value)
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise CellError("bad_number", f"{label}“{text}”不是有效数字") from exc
    if not number.is_finite():
        raise CellError("bad_number", f"{label}“{text}”不是有效数字")
    if number != number.to_integral_value():
        raise CellError("bad_number", f"{label}应为整数")
    result = int(number)
    if minimum is not None and result < minimum:
        bound = f"应在 {minimum}–{maximum} 之间" if maximum is not None else f"不能小于 {minimum}"
        raise CellError("bad_number", f"{label}{bound}")
    if maximum is not None and result > maximum:
        bound = f"应在 {minimum}–{maximum} 之间" if minimum is not None else f"不能大于 {maximum}"
        raise CellError("bad_number", f"{label}{bound}")
    return result


_DATE_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
]
_MONTH_PATTERNS = [
    re.compile(r"^(\d{4})-(\d{1,2})$"),
    re.compile(r"^(\d{4})/(\d{1,2})$"),
    re.compile(r"^(\d{4})\.(\d{1,2})$"),
    re.compile(r"^(\d{4})(\d{2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月$"),
]


def parse_date(value: object, *, label: str, required: bool = False) -> date | None:
    """Excel date cells, or YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD, YYYY年M月D日 text."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if not is_given(value):
        if required:
            raise CellError("required_missing", f"{label}不能为空")
        return None
    text = normalise_text(value).split(" ")[0]
    for pattern in _DATE_PATTERNS:
        match = pattern.match(text)
        if match:
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError as exc:
                raise CellError("bad_date", f"{label}“{text}”不是有效日期") from exc
    raise CellError("bad_date", f"{label}“{text}”不是可识别的日期（如 2026-07-01）")


def parse_month(value: object, *, label: str, required: bool = False) -> date | None:
    """A month as its first day: YYYY-MM, YYYY/MM, YYYYMM, YYYY年M月, or a date cell."""
    if isinstance(value, datetime | date):
        day = value.date() if isinstance(value, datetime) else value
        return day.replace(day=1)
    if not is_given(value):
        if required:
            raise CellError("required_missing", f"{label}不能为空")
        return None
    text = normalise_text(value)
    for pattern in _MONTH_PATTERNS:
        match = pattern.match(text)
        if match:
            year, month = (int(part) for part in match.groups())
            if 1 <= month <= 12:
                return date(year, month, 1)
            raise CellError("bad_date", f"{label}“{text}”月份无效")
    try:
        day = parse_date(text, label=label)
    except CellError as exc:
        raise CellError("bad_date", f"{label}“{text}”不是可识别的年月（如 2026-07）") from exc
    return day.replace(day=1) if day else None


def parse_choice(
    value: object, *, label: str, aliases: dict[str, str], required: bool = False
) -> str:
    """A label (or alias) from a fixed list → its code; '' when optional and not given."""
    if not is_given(value):
        if required:
            raise CellError("required_missing", f"{label}不能为空")
        return ""
    text = normalise_text(value).replace(" ", "")
    if text in aliases:
        return aliases[text]
    known = "、".join(sorted({key for key in aliases if not key.isascii()})[:12])
    raise CellError("bad_enum", f"{label}“{text}”不是有效选项（可选：{known}）")


def parse_yes_no(value: object, *, label: str, default: bool) -> bool:
    if not is_given(value):
        return default
    text = normalise_text(value)
    if text in {"是", "Y", "y", "1", "true", "True"}:
        return True
    if text in {"否", "N", "n", "0", "false", "False"}:
        return False
    raise CellError("bad_enum", f"{label}“{text}”应为“是”或“否”")


GRADE_ALIASES = {
    "一级": "1",
    "二级": "2",
    "三级": "3",
    "四级": "4",
    "1": "1",
    "2": "2",
    "3": "3",
    "4": "4",
    "1级": "1",
    "2级": "2",
    "3级": "3",
    "4级": "4",
}


def parse_grade(value: object, *, label: str = "残疾等级", required: bool = False) -> int | None:
    code = parse_choice(value, label=label, aliases=GRADE_ALIASES, required=required)
    return int(code) if code else None
