"""Validation of the ``verification`` and ``disability`` ledgers (ledgers.md §4, §5).

One validator per ledger, shared by the data-exchange API (``POST /api/v1/verification/reports/``,
``POST /api/v1/disability/records/``) and the Excel import: rows are mappings keyed by the ledger
headers (aliases accepted, spaces ignored; the API's English field names are accepted too), and
*every* problem is reported with its row number, column header, masked value, a contracts.md error
code and a Chinese message. Nothing here writes to the database.

Codes used: ``id_missing``, ``id_numeric_cell``, ``id_format``, ``id_birthdate``, ``id_checksum``
(from ``parse_id_number``), ``required_missing``, ``bad_enum``, ``bad_number``, ``bad_date``,
``negative_amount``, ``duplicate_in_file``, ``too_long``, and for the disability ledger
``disability_certificate_mismatch``: the 残疾证号 is not 20 characters, or is not the ID number
followed by the type digit and the grade digit of the row's 残疾类别 and 残疾等级. Warnings:
``unknown_column`` (once per column, ``row`` null), ``id_upgraded_from_15``, ``id_area_unknown``
and ``name_mismatch`` (the name differs from the one lowbao holds for that ID number).
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from cases.choices import DisabilityType
from lowbao.imports.cells import (
    CellError,
    is_given,
    normalise_header,
    normalise_text,
    parse_choice,
    parse_date,
    parse_grade,
    parse_money,
    required_text,
)
from lowbao.people.id_numbers import IdNumberError, normalise_id_text, parse_id_number
from lowbao.people.masking import mask_id_number
from lowbao.people.models import Person
from lowbao.people.protection import id_number_blind_index
from poverty.choices import VERIFICATION_ITEM_ALIASES, VerificationItem

NAME_MAX = 50
DETAIL_MAX = 300
CERTIFICATE_LENGTH = 20
DISABILITY_CERTIFICATE_MISMATCH = "disability_certificate_mismatch"

# Column headers (canonical Chinese header first) and their aliases.
ID = "身份证号"
NAME = "姓名"
ITEM = "核对项目"
RESULT = "核对结果"
AMOUNT = "金额"
DETAIL = "明细"
CHECKED_ON = "核对日期"
CERTIFICATE = "残疾证号"
TYPE = "残疾类别"
GRADE = "残疾等级"
ISSUED_ON = "发证日期"

_ID_ALIASES = ("身份证号码", "证件号码", "id_number")
VERIFICATION_HEADERS: dict[str, tuple[str, ...]] = {
    ID: _ID_ALIASES,
    NAME: ("name",),
    ITEM: ("item",),
    RESULT: ("found", "result"),
    AMOUNT: ("amount",),
    DETAIL: ("detail",),
    CHECKED_ON: ("checked_on",),
}
DISABILITY_HEADERS: dict[str, tuple[str, ...]] = {
    ID: _ID_ALIASES,
    NAME: ("name",),
    CERTIFICATE: ("certificate_number",),
    TYPE: ("disability_type",),
    GRADE: ("grade", "disability_grade"),
    ISSUED_ON: ("issued_on",),
}
VERIFICATION_REQUIRED = (ID, NAME, ITEM, RESULT, CHECKED_ON)
DISABILITY_REQUIRED = (ID, NAME, CERTIFICATE, TYPE, GRADE)

# 核对项目: the ledger's labels, the codes, and spellings seen in platform exports.
ITEM_ALIASES: dict[str, str] = {
    **VERIFICATION_ITEM_ALIASES,
    **{value: value for value in VerificationItem.values},
    "车船": VerificationItem.VEHICLE,
    "机动车": VerificationItem.VEHICLE,
    "车辆登记": VerificationItem.VEHICLE,
    "不动产": VerificationItem.REAL_ESTATE,
    "不动产登记": VerificationItem.REAL_ESTATE,
    "房屋": VerificationItem.REAL_ESTATE,
    "工商": VerificationItem.BUSINESS,
    "市场主体": VerificationItem.BUSINESS,
    "市场主体登记": VerificationItem.BUSINESS,
    "个体经营": VerificationItem.BUSINESS,
    "银行存款": VerificationItem.DEPOSITS,
    "公积金": VerificationItem.HOUSING_FUND,
    "税务": VerificationItem.TAX,
    "社会保险": VerificationItem.SOCIAL_INSURANCE,
}

_FOUND = {"有": True, "是": True, "1": True, "true": True, "无": False, "否": False, "0": False}
_FOUND |= {"false": False, "没有": False}

# 残疾类别 and the type digit of the 第二代残疾人证 number (视力 1 … 多重 7).
TYPE_DIGITS: dict[str, str] = {
    DisabilityType.VISUAL: "1",
    DisabilityType.HEARING: "2",
    DisabilityType.SPEECH: "3",
    DisabilityType.PHYSICAL: "4",
    DisabilityType.INTELLECTUAL: "5",
    DisabilityType.MENTAL: "6",
    DisabilityType.MULTIPLE: "7",
}
TYPE_ALIASES: dict[str, str] = {
    **{label: value for value, label in DisabilityType.choices},
    **{f"{label}残疾": value for value, label in DisabilityType.choices},
    **{value: value for value in DisabilityType.values},
    **{digit: value for value, digit in TYPE_DIGITS.items()},
}


@dataclass(frozen=True)
class VerificationRow:
    """A valid row of the verification ledger."""

    row: int
    id_number: str = field(repr=False)
    name: str
    item: str
    found: bool
    amount: Decimal | None
    detail: str
    checked_on: date


@dataclass(frozen=True)
class DisabilityRow:
    """A valid row of the disability ledger; ``disability_type`` is a ``DisabilityType`` code."""

    row: int
    id_number: str = field(repr=False)
    name: str
    certificate_number: str = field(repr=False)
    disability_type: str
    grade: int
    issued_on: date | None


@dataclass
class LedgerValidation:
    """Valid rows (only rows without any error) and every error and warning."""

    rows: list[Any] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    def as_fields(self) -> dict[str, list[dict[str, Any]]]:
        return {"errors": self.errors, "warnings": self.warnings}


def _problem(
    row: int | None, column: str, value: object, code: str, message: str
) -> dict[str, Any]:
    shown = mask_id_number(value) if column in (ID, CERTIFICATE) and is_given(value) else value
    if shown is not None and not isinstance(shown, str):
        shown = normalise_text(shown)
    return {"row": row, "column": column, "value": shown, "code": code, "message": message}


class _Header:
    """Maps the keys of the rows to canonical headers; unknown keys are warned about once."""

    def __init__(self, headers: Mapping[str, tuple[str, ...]]) -> None:
        self.lookup: dict[str, str] = {}
        for canonical, aliases in headers.items():
            for spelling in (canonical, *aliases):
                self.lookup[normalise_header(spelling)] = canonical
        self.unknown: list[str] = []

    def canonical_row(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for key, value in raw.items():
            canonical = self.lookup.get(normalise_header(key))
            if canonical is None:
                if key not in self.unknown:
                    self.unknown.append(str(key))
                continue
            if canonical not in row or not is_given(row[canonical]):
                row[canonical] = value
        return row

    def warnings(self) -> list[dict[str, Any]]:
        return [
            _problem(None, key, None, "unknown_column", "未识别的列，已忽略")
            for key in self.unknown
        ]


class _RowCheck:
    """Collects the problems of one row; each ``take`` parses one cell or records its error."""

    def __init__(self, number: int, cells: dict[str, Any], result: LedgerValidation) -> None:
        self.number = number
        self.cells = cells
        self.result = result
        self.failed = False

    def error(self, column: str, code: str, message: str) -> None:
        self.failed = True
        self.result.errors.append(
            _problem(self.number, column, self.cells.get(column), code, message)
        )

    def warn(self, column: str, code: str, message: str) -> None:
        self.result.warnings.append(
            _problem(self.number, column, self.cells.get(column), code, message)
        )

    def take(self, column: str, parse: Callable[[Any], Any]) -> Any:
        try:
            return parse(self.cells.get(column))
        except CellError as exc:
            self.error(column, exc.code, exc.message)
            return None

    def id_number(self) -> str | None:
        try:
            parsed = parse_id_number(self.cells.get(ID))
        except IdNumberError as exc:
            self.error(ID, exc.code, exc.message)
            return None
        for warning in parsed.warnings:
            self.warn(ID, warning.code, warning.message)
        return parsed.value

    def name(self) -> str | None:
        name = self.take(NAME, lambda value: required_text(value, label=NAME))
        if name is not None and len(name) > NAME_MAX:
            self.error(NAME, "too_long", f"姓名不能超过 {NAME_MAX} 个字")
            return None
        return name

    def not_future(self, column: str, day: date | None, today: date) -> date | None:
        if day is not None and day > today:
            self.error(column, "bad_date", f"{column}不能晚于今天")
            return None
        return day


def _row_numbers(rows: Sequence[Any], row_numbers: Sequence[int] | None) -> list[int]:
    if row_numbers is None:
        return list(range(1, len(rows) + 1))
    if len(row_numbers) != len(rows):
        raise ValueError("row_numbers must have one number per row")
    return list(row_numbers)


def _parse_item(value: object) -> str:
    try:
        return parse_choice(value, label=ITEM, aliases=ITEM_ALIASES, required=True)
    except CellError as exc:
        if exc.code != "bad_enum":
            raise
        labels = "、".join(VerificationItem.labels)
        raise CellError(
            "bad_enum", f"{ITEM}“{normalise_text(value)}”不是有效选项（可选：{labels}）"
        ) from None


def _parse_found(value: object) -> bool:
    if isinstance(value, bool):
        return value
    text = normalise_text(value).replace(" ", "").lower()
    if not text:
        raise CellError("required_missing", f"{RESULT}不能为空")
    if text not in _FOUND:
        raise CellError("bad_enum", f"{RESULT}“{text}”应为“有”或“无”")
    return _FOUND[text]


def _optional_text(value: object, *, label: str, limit: int) -> str:
    if not is_given(value):
        return ""
    text = normalise_text(value)
    if len(text) > limit:
        raise CellError("too_long", f"{label}不能超过 {limit} 个字")
    return text


def _check_names(result: LedgerValidation, named: list[tuple[int, str, str]]) -> None:
    """Warn where the name differs from the person's name on record (one query)."""
    hashed = [(row, id_number_blind_index(id_number), name) for row, id_number, name in named]
    if not hashed:
        return
    known = dict(
        Person.objects.filter(
            id_number_hash__in={id_hash for _row, id_hash, _name in hashed}
        ).values_list("id_number_hash", "name")
    )
    for row, id_hash, name in hashed:
        if id_hash in known and known[id_hash] != name:
            result.warnings.append(
                _problem(
                    row,
                    NAME,
                    name,
                    "name_mismatch",
                    f"姓名与系统中该身份证号的姓名“{known[id_hash]}”不一致，以身份证号为准",
                )
            )


def validate_verification_rows(
    rows: Sequence[Mapping[str, Any]],
    row_numbers: Sequence[int] | None = None,
    *,
    today: date | None = None,
) -> LedgerValidation:
    """Validate 家庭经济状况核对结果 rows (ledgers.md §5). ``row_numbers`` are the spreadsheet
    row numbers (default: 1, 2, … — the position in a JSON list)."""
    today = today or timezone.localdate()
    result = LedgerValidation()
    header = _Header(VERIFICATION_HEADERS)
    seen: dict[tuple[str, str, date], int] = {}
    named: list[tuple[int, str, str]] = []
    for number, raw in zip(_row_numbers(rows, row_numbers), rows, strict=True):
        if not isinstance(raw, Mapping):
            result.errors.append(
                _problem(number, "", None, "bad_row", "每一行应为以列名为键的对象")
            )
            continue
        check = _RowCheck(number, header.canonical_row(raw), result)
        id_number = check.id_number()
        name = check.name()
        item = check.take(ITEM, _parse_item)
        found = check.take(RESULT, _parse_found)
        amount = check.take(AMOUNT, lambda value: parse_money(value, label=AMOUNT))
        detail = check.take(
            DETAIL, lambda value: _optional_text(value, label=DETAIL, limit=DETAIL_MAX)
        )
        checked_on = check.take(
            CHECKED_ON, lambda value: parse_date(value, label=CHECKED_ON, required=True)
        )
        checked_on = check.not_future(CHECKED_ON, checked_on, today)
        if id_number and item and checked_on:
            key = (id_number, item, checked_on)
            if key in seen:
                check.error(
                    ID,
                    "duplicate_in_file",
                    f"与第 {seen[key]} 行重复（同一人、同一核对项目、同一核对日期）",
                )
            else:
                seen[key] = number
        if check.failed:
            continue
        named.append((number, id_number, name))
        result.rows.append(
            VerificationRow(
                row=number,
                id_number=id_number,
                name=name,
                item=item,
                found=found,
                amount=amount,
                detail=detail or "",
                checked_on=checked_on,
            )
        )
    _check_names(result, named)
    result.warnings[:0] = header.warnings()
    return result


def _parse_type(value: object) -> str:
    try:
        return parse_choice(value, label=TYPE, aliases=TYPE_ALIASES, required=True)
    except CellError as exc:
        if exc.code != "bad_enum":
            raise
        labels = "、".join(DisabilityType.labels)
        raise CellError(
            "bad_enum", f"{TYPE}“{normalise_text(value)}”不是有效选项（可选：{labels}）"
        ) from None


def _parse_certificate(value: object) -> str:
    if not is_given(value):
        raise CellError("required_missing", f"{CERTIFICATE}不能为空")
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        raise CellError(
            DISABILITY_CERTIFICATE_MISMATCH,
            "残疾证号被 Excel 存成了数字，末尾几位已经丢失：请把该列设置为“文本”后重新录入",
        )
    return normalise_id_text(str(value))


def _check_certificate(
    check: _RowCheck, certificate: str, id_number: str | None, kind: str | None, grade: int | None
) -> None:
    """残疾证号 = the 18-character ID number + type digit + grade digit (20 characters)."""
    if len(certificate) != CERTIFICATE_LENGTH:
        check.error(
            CERTIFICATE,
            DISABILITY_CERTIFICATE_MISMATCH,
            f"残疾证号应为 {CERTIFICATE_LENGTH} 位（身份证号 + 残疾类别代码 + 残疾等级代码），"
            f"现为 {len(certificate)} 位",
        )
        return
    if id_number and certificate[:18] != id_number:
        check.error(
            CERTIFICATE, DISABILITY_CERTIFICATE_MISMATCH, "残疾证号的前 18 位与身份证号不一致"
        )
    if kind and certificate[18] != TYPE_DIGITS[kind]:
        check.error(
            CERTIFICATE,
            DISABILITY_CERTIFICATE_MISMATCH,
            f"残疾证号第 19 位（残疾类别代码）应为 {TYPE_DIGITS[kind]}"
            f"（{DisabilityType(kind).label}），与残疾类别不一致",
        )
    if grade and certificate[19] != str(grade):
        check.error(
            CERTIFICATE,
            DISABILITY_CERTIFICATE_MISMATCH,
            f"残疾证号第 20 位（残疾等级代码）应为 {grade}，与残疾等级不一致",
        )


def validate_disability_rows(
    rows: Sequence[Mapping[str, Any]],
    row_numbers: Sequence[int] | None = None,
    *,
    today: date | None = None,
) -> LedgerValidation:
    """Validate 残疾人信息 rows (ledgers.md §4); one row per person."""
    today = today or timezone.localdate()
    result = LedgerValidation()
    header = _Header(DISABILITY_HEADERS)
    seen: dict[str, int] = {}
    named: list[tuple[int, str, str]] = []
    for number, raw in zip(_row_numbers(rows, row_numbers), rows, strict=True):
        if not isinstance(raw, Mapping):
            result.errors.append(
                _problem(number, "", None, "bad_row", "每一行应为以列名为键的对象")
            )
            continue
        check = _RowCheck(number, header.canonical_row(raw), result)
        id_number = check.id_number()
        name = check.name()
        certificate = check.take(CERTIFICATE, _parse_certificate)
        kind = check.take(TYPE, _parse_type)
        grade = check.take(GRADE, lambda value: parse_grade(value, label=GRADE, required=True))
        issued_on = check.take(ISSUED_ON, lambda value: parse_date(value, label=ISSUED_ON))
        issued_on = check.not_future(ISSUED_ON, issued_on, today)
        if certificate:
            _check_certificate(check, certificate, id_number, kind, grade)
        if id_number:
            if id_number in seen:
                check.error(ID, "duplicate_in_file", f"与第 {seen[id_number]} 行是同一人")
            else:
                seen[id_number] = number
        if check.failed:
            continue
        named.append((number, id_number, name))
        result.rows.append(
            DisabilityRow(
                row=number,
                id_number=id_number,
                name=name,
                certificate_number=certificate,
                disability_type=kind,
                grade=grade,
                issued_on=issued_on,
            )
        )
    _check_names(result, named)
    result.warnings[:0] = header.warnings()
    return result
