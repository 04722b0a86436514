"""The one validator for 居民身份证号码 (GB 11643-1999, domain.md §12, ledgers.md §1).

Forms, the API and every ledger import call ``parse_id_number``; nothing else decides whether an ID
number is valid. The normalised value (18 characters, upper-case ``X``) is the only form that is
stored, hashed or compared.

Order of checks: missing → numeric cell → format → birth date → check character. A number that is
wrong in several ways reports the first, most specific problem.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import mul
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from lowbao.people.choices import Sex
from lowbao.people.errors import PeopleErrorCode
from lowbao.people.masking import mask_id_number

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_DATE = date(1890, 1, 1)

_BODY_17 = re.compile(r"\d{17}", re.ASCII)
_ID_18 = re.compile(r"\d{17}[\dX]", re.ASCII)
_ID_15 = re.compile(r"\d{15}", re.ASCII)
_ODD_DIGITS = frozenset("13579")
_MALE, _FEMALE = Sex.MALE.value, Sex.FEMALE.value
_CODE_OFFSET = ord("0") * sum(WEIGHTS)

# First two digits of GB/T 2260 province-level codes (81–83: HK/Macao/Taiwan residence permits).
KNOWN_PROVINCE_CODES = frozenset(
    {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37"}
    | {"41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64"}
    | {"65", "71", "81", "82", "83"}
)

MESSAGES = {
    PeopleErrorCode.ID_MISSING: "身份证号不能为空",
    PeopleErrorCode.ID_NUMERIC_CELL: (
        "身份证号被 Excel 存成了数字，末尾几位已经丢失：请把该列的单元格格式设置为“文本”，"
        "然后重新录入这些身份证号"
    ),
    PeopleErrorCode.ID_FORMAT: "身份证号格式错误：应为18位，前17位为数字，最后一位为数字或X",
    PeopleErrorCode.ID_CHECKSUM: "身份证号校验位错误",
}
BIRTHDATE_MESSAGES = {
    "invalid": "身份证号中的出生日期不是有效日期",
    "future": "身份证号中的出生日期晚于今天",
    "too_early": "身份证号中的出生日期早于1890年",
}


class IdNumberError(ValueError):
    """An invalid ID number: a stable ``code`` (a ``PeopleErrorCode`` value) and a Chinese message.

    The message never contains the number itself, so it can go into logs and import reports.
    """

    def __init__(self, code: str, message: str) -> None:
        self.code = code.value if isinstance(code, PeopleErrorCode) else str(code)
        self.message = message
        super().__init__(f"{self.code}: {message}")


@dataclass(frozen=True, slots=True)
class IdNumberWarning:
    code: str
    message: str


@dataclass(frozen=True, slots=True, repr=False)
class IdNumber:
    """A valid ID number. ``value`` is always the normalised 18-character form."""

    value: str
    birth_date: date
    sex: str
    area_prefix: str
    upgraded_from_15: bool

    @property
    def warnings(self) -> tuple[IdNumberWarning, ...]:
        """Problems that are reported but never reject the number (domain.md §12)."""
        found = []
        if self.upgraded_from_15:
            found.append(IdNumberWarning("id_upgraded_from_15", "15位身份证号已自动升级为18位"))
        if self.area_prefix[:2] not in KNOWN_PROVINCE_CODES:
            found.append(
                IdNumberWarning("id_area_unknown", "身份证号前两位不是已知的省级行政区划代码")
            )
        return tuple(found)

    def __str__(self) -> str:
        # An accidental str()/repr() in a log line or a test report must not leak the number.
        return mask_id_number(self.value)

    def __repr__(self) -> str:
        return f"IdNumber({self!s})"


def compute_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    if not isinstance(first17, str) or not _BODY_17.fullmatch(first17):
        raise ValueError("compute_check_char needs exactly 17 ASCII digits")
    return _check_char(first17)


def _check_char(digits: str) -> str:
    """``compute_check_char`` of the first 17 characters of ``digits``, already known to be
    ASCII digits: weighted by their character codes, which are the digits plus 48."""
    total = sum(map(mul, digits[:17].encode("ascii"), WEIGHTS)) - _CODE_OFFSET
    return CHECK_CHARS[total % 11]


def normalise_id_text(text: str) -> str:
    """NFKC (full-width → ASCII), drop whitespace and invisible format characters, upper-case."""
    if text.isascii() and text.isalnum():
        return text.upper()  # its own NFKC form, nothing to drop: the usual cell
    text = unicodedata.normalize("NFKC", text)
    kept = (
        char
        for char in text
        if not char.isspace() and unicodedata.category(char) not in {"Cf", "Cc"}
    )
    return "".join(kept).upper()


def _is_numeric_cell(raw: object) -> bool:
    return isinstance(raw, int | float | Decimal) and not isinstance(raw, bool)


def _error(code: PeopleErrorCode) -> IdNumberError:
    return IdNumberError(code.value, MESSAGES[code])


def _birthdate_error(kind: str) -> IdNumberError:
    return IdNumberError(PeopleErrorCode.ID_BIRTHDATE.value, BIRTHDATE_MESSAGES[kind])


def _parse_birth_date(digits: str, *, today: date) -> date:
    try:
        born = date(int(digits[0:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        raise _birthdate_error("invalid") from None
    if born < EARLIEST_BIRTH_DATE:
        raise _birthdate_error("too_early")
    if born > today:
        raise _birthdate_error("future")
    return born


def parse_id_number(raw: object, *, today: date | None = None) -> IdNumber:
    """Validate and normalise an ID number; raise ``IdNumberError`` when it is not valid.

    ``raw`` may be anything a spreadsheet cell or request can hold: an ``int``/``float`` means Excel
    stored the cell as a number (its last digits are already lost), which is its own error.
    15-digit numbers are upgraded to 18 digits and accepted; ``upgraded_from_15`` tells the caller
    to report a warning. ``today`` defaults to the local date (Asia/Shanghai).
    """
    if type(raw) is not str:  # text, the usual cell, needs none of these checks
        if raw is None:
            raise _error(PeopleErrorCode.ID_MISSING)
        if _is_numeric_cell(raw):
            raise _error(PeopleErrorCode.ID_NUMERIC_CELL)
        if not isinstance(raw, str):
            raise _error(PeopleErrorCode.ID_FORMAT)
    text = normalise_id_text(raw)
    if not text:
        raise _error(PeopleErrorCode.ID_MISSING)
    today = today or timezone.localdate()

    if len(text) == 15 and _ID_15.fullmatch(text):
        body = text[:6] + "19" + text[6:]
        birth_date = _parse_birth_date(body[6:14], today=today)
        value = body + _check_char(body)
        upgraded = True
    elif len(text) == 18 and _ID_18.fullmatch(text):
        birth_date = _parse_birth_date(text[6:14], today=today)
        if _check_char(text) != text[17]:
            raise _error(PeopleErrorCode.ID_CHECKSUM)
        value = text
        upgraded = False
    else:
        raise _error(PeopleErrorCode.ID_FORMAT)

    return IdNumber(
        value=value,
        birth_date=birth_date,
        sex=_MALE if value[16] in _ODD_DIGITS else _FEMALE,
        area_prefix=value[:6],
        upgraded_from_15=upgraded,
    )


def validate_id_number(value: Any) -> None:
    """Django validator (model or form ``validators=[...]``)."""
    try:
        parse_id_number(value)
    except IdNumberError as exc:
        raise ValidationError(exc.message, code=exc.code) from None


class IdNumberFormField(forms.CharField):
    """A form field that cleans to the normalised 18-character ID number."""

    default_error_messages = {"required": MESSAGES[PeopleErrorCode.ID_MISSING]}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("label", "身份证号")
        kwargs.setdefault("max_length", 40)  # room for spaces; the value itself is 18 characters
        super().__init__(**kwargs)

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        attrs = super().widget_attrs(widget)
        attrs.update({"autocomplete": "off", "spellcheck": "false", "inputmode": "text"})
        return attrs

    def to_python(self, value: Any) -> str:
        text = super().to_python(value)
        if text in self.empty_values:
            return self.empty_value
        try:
            return parse_id_number(text).value
        except IdNumberError as exc:
            raise ValidationError(exc.message, code=exc.code) from None


def age_on(birth_date: date, on: date) -> int:
    """Full years of age on ``on`` (the one age rule for uplifts, 特困 and data-quality checks)."""
    return on.year - birth_date.year - int((on.month, on.day) < (birth_date.month, birth_date.day))
