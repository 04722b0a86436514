"""The ``dibao`` ledger: the 低保/特困 roster of one county (ledgers.md §2).

Validation reads every row and reports every problem (row, column, contracts.md code, Chinese
message). The import pipeline streams it (``RosterRun``, quality.md P3): each row is checked on
its own against the county's townships and villages (loaded once) and staged, encrypted, in a
temporary table; areas named outside the county take one query for all rows; one query then reads
staging back ordered by household, joined with what the database knows (the same person earlier
in the file by blind index, the paid household the person is in, the county's household with that
number), and each household's rows are checked together. Memory stays flat in the rows and the
number of statements does not grow with them.

Apply is set-based, inside the pipeline's transaction: persons, households, members and benefit
periods are written with bulk statements, ``APPLY_HOUSEHOLDS`` households at a time. Households
are matched by (county, 户编号); imported households enter *in payment*, marked as migrated from
the file. Re-importing the same roster changes nothing (every household ``unchanged``). No
per-person audit row: the pipeline writes one audit row for the batch. The persons who joined a
household are handed to ``cases.hooks.AFTER_PERSONS_JOINED`` in one call.
"""

import json
import re
import sys
from array import array
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import connection
from django.utils import timezone

from cases.choices import (
    HEALTH_ALIASES,
    PAYING_STATUSES,
    RELATION_ALIASES,
    BenefitKind,
    HouseholdStatus,
    LabourCapacity,
    Programme,
    Relation,
)
from cases.hooks import AFTER_PERSONS_JOINED
from cases.models import BenefitPeriod, Household, HouseholdMember
from lowbao.areas.models import Area, AreaLevel
from lowbao.core.workdays import add_months
from lowbao.imports.area_names import (
    area_name_key,
    chunks,
    suggest_names,
    village_name_key,
)
from lowbao.imports.cells import (
    CellError,
    is_given,
    normalise_text,
    parse_choice,
    parse_grade,
    parse_money,
    parse_month,
    parse_yes_no,
)
from lowbao.imports.kinds import (
    KEYS_KEPT,
    SKIPPED_KEYS_KEPT,
    Counts,
    ImportOptions,
    LedgerKind,
    Row,
    RowOutcome,
    StreamSummary,
    Validation,
    problem,
)
from lowbao.imports.models import ImportRow, RowMatch
from lowbao.imports.staging import (
    BulkWriter,
    TempTable,
    create_tables,
    drop_tables,
    insert_rows,
    insert_select,
    is_postgresql,
    lookup_chunk,
    stage_in_memory_rows,
    stream,
    update_rows,
    value_in,
)
from lowbao.people.choices import Ethnicity
from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.masking import mask_bank_account, mask_id_number
from lowbao.people.models import Person
from lowbao.people.protection import (
    PURPOSE_BANK_ACCOUNT,
    blind_index,
    decrypt,
    encrypt,
    id_number_blind_index,
)

LOOKUP_CHUNK = 5000
PARSED_KEPT = 16_384  # cell parse results remembered per run (see _RosterValidator.parse)
# Households written per round of apply statements (about 14,000 persons, a few MB of objects).
APPLY_HOUSEHOLDS = 5000
VALUE_DISPLAY_LENGTH = 60

# --- columns -------------------------------------------------------------------------------

HOUSEHOLD_NUMBER = "户编号"
TOWNSHIP = "苏木乡镇"
VILLAGE = "嘎查村"
VILLAGE_CODE = "嘎查村代码"
NAME = "姓名"
ID_NUMBER = "身份证号"
RELATION = "与户主关系"
ETHNICITY = "民族"
COVERED = "是否保障对象"
LABOUR_CAPACITY = "劳动能力"
HEALTH = "健康状况"
DISABILITY_GRADE = "残疾等级"
PROGRAMME = "救助类型"
CLASSIFICATION = "保障类别"
INCOME = "月人均收入"
AMOUNT = "月保障金额"
START_MONTH = "保障起始年月"
BANK_NAME = "开户银行"
BANK_ACCOUNT = "银行账号"
PHONE = "联系电话"

# The column layout of ledgers.md §2 (the roster export writes these headers in this order).
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    HOUSEHOLD_NUMBER: ("低保证号",),
    TOWNSHIP: (),
    VILLAGE: ("嘎查村委会", "村"),
    VILLAGE_CODE: ("区划代码",),
    NAME: (),
    ID_NUMBER: ("身份证号码", "证件号码"),
    RELATION: (),
    ETHNICITY: (),
    COVERED: ("是否享受",),
    LABOUR_CAPACITY: (),
    HEALTH: (),
    DISABILITY_GRADE: (),
    PROGRAMME: (),
    CLASSIFICATION: (),
    INCOME: (),
    AMOUNT: ("月保障金",),
    START_MONTH: ("享受起始年月",),
    BANK_NAME: (),
    BANK_ACCOUNT: (),
    PHONE: (),
}
REQUIRED_HEADERS = (HOUSEHOLD_NUMBER, NAME, ID_NUMBER, RELATION, INCOME, AMOUNT, START_MONTH)
COLUMN_ORDER = {header: index for index, header in enumerate(COLUMN_ALIASES)}
HOUSEHOLD_COLUMNS = (
    PROGRAMME,
    CLASSIFICATION,
    INCOME,
    AMOUNT,
    START_MONTH,
    BANK_NAME,
    BANK_ACCOUNT,
    PHONE,
)
REQUIRED_HOUSEHOLD_COLUMNS = (INCOME, AMOUNT, START_MONTH)
TEXT_LIMITS = {HOUSEHOLD_NUMBER: 40, NAME: 50, CLASSIFICATION: 20, BANK_NAME: 60}

PROGRAMME_ALIASES = {
    "低保": Programme.DIBAO,
    "农村低保": Programme.DIBAO,
    "农村牧区低保": Programme.DIBAO,
    "最低生活保障": Programme.DIBAO,
    "特困供养": Programme.TEKUN,
    "特困": Programme.TEKUN,
    "特困人员": Programme.TEKUN,
    "五保": Programme.TEKUN,
    "五保供养": Programme.TEKUN,
}
ETHNICITY_ALIASES = {
    **{label: value for value, label in Ethnicity.choices},
    **{label[:-1]: value for value, label in Ethnicity.choices if label.endswith("族")},
}
LABOUR_ALIASES = {
    **{label: value for value, label in LabourCapacity.choices},
    "丧失劳动能力": LabourCapacity.LOST,
    "无劳动能力": LabourCapacity.NONE,
}
_AREA_CODE = re.compile(r"\d{12}")
_MOBILE = re.compile(r"1[3-9]\d{9}")
_LANDLINE = re.compile(r"0\d{2,3}-?\d{7,8}")
MIGRATED_REASON = "花名册导入"


# --- parsed data -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Sealed:
    """A protected value as validation hands it on: its blind index (what equality compares,
    so two rows of a household agree when their accounts do) and its ciphertext (what is
    stored). The plain value never leaves the cell parser."""

    digest: str
    token: str = field(compare=False, repr=False)

    def to_json(self) -> list[str]:
        return [self.digest, self.token]


@dataclass
class RosterMember:
    row: int
    id_masked: str
    id_number_hash: str = field(repr=False)
    id_token: str = field(repr=False)  # the ID number encrypted, as ``Person`` stores it
    name: str
    sex: str
    birth_date: date
    relation: str
    ethnicity: str = ""
    is_covered: bool = True
    labour_capacity: str = ""
    health: str = ""
    disability_grade: int | None = None

    def to_json(self) -> list[Any]:
        return [
            self.row,
            self.id_masked,
            self.id_number_hash,
            self.id_token,
            self.name,
            self.sex,
            self.birth_date.isoformat(),
            self.relation,
            self.ethnicity,
            self.is_covered,
            self.labour_capacity,
            self.health,
            self.disability_grade,
        ]

    @classmethod
    def from_json(cls, data: list[Any]) -> "RosterMember":
        return cls(
            row=data[0],
            id_masked=data[1],
            id_number_hash=data[2],
            id_token=data[3],
            name=data[4],
            sex=data[5],
            birth_date=date.fromisoformat(data[6]),
            relation=data[7],
            ethnicity=data[8],
            is_covered=data[9],
            labour_capacity=data[10],
            health=data[11],
            disability_grade=data[12],
        )


@dataclass
class RosterHousehold:
    number: str
    area_id: int
    programme: str
    classification: str
    per_capita_income_monthly: Decimal
    monthly_amount: Decimal
    start_month: date
    bank_name: str
    bank_account: Sealed | None
    phone: Sealed | None
    members: list[RosterMember]
    rows: list[int]

    @property
    def covered_persons(self) -> int:
        return sum(member.is_covered for member in self.members)

    def to_json(self) -> str:
        return _dumps(
            [
                self.number,
                self.area_id,
                self.programme,
                self.classification,
                str(self.per_capita_income_monthly),
                str(self.monthly_amount),
                self.start_month.isoformat(),
                self.bank_name,
                self.bank_account.to_json() if self.bank_account else None,
                self.phone.to_json() if self.phone else None,
                [member.to_json() for member in self.members],
                self.rows,
            ]
        )

    @classmethod
    def from_json(cls, text: str) -> "RosterHousehold":
        data = json.loads(text)
        return cls(
            number=data[0],
            area_id=data[1],
            programme=data[2],
            classification=data[3],
            per_capita_income_monthly=Decimal(data[4]),
            monthly_amount=Decimal(data[5]),
            start_month=date.fromisoformat(data[6]),
            bank_name=data[7],
            bank_account=Sealed(*data[8]) if data[8] else None,
            phone=Sealed(*data[9]) if data[9] else None,
            members=[RosterMember.from_json(member) for member in data[10]],
            rows=data[11],
        )


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _RowState:
    """One data row while it is validated. Between the row pass and the household pass it is
    staged (``_staged``/``_from_staged``); it holds no plain ID number, bank account or phone
    (those are ``Sealed`` or masked), so staging holds no plain sensitive value."""

    number: int
    household_number: str = ""
    values: dict[str, Any] = field(default_factory=dict)  # household cells parsed without error
    texts: dict[str, str] = field(default_factory=dict)  # the same cells as typed (normalised)
    area: Area | None = None
    area_column: str = ""
    pending: tuple[str, ...] | None = (
        None  # an area not in the county: ("code", c) / ("name", t, v)
    )
    member: RosterMember | None = None
    relation: str = ""
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def has_error(self) -> bool:
        return bool(self.errors)


MONEY_COLUMNS = (INCOME, AMOUNT)
PURPOSE_PHONE = "phone"


def _show(header: str, value: object) -> str:
    if header == ID_NUMBER:
        return mask_id_number(normalise_text(value))
    if header == BANK_ACCOUNT:
        return mask_bank_account(normalise_text(value))
    return normalise_text(value)[:VALUE_DISPLAY_LENGTH]


def _bank_account_text(value: object) -> str:
    text = normalise_text(value).replace(" ", "").replace("-", "")
    if not (text.isdigit() and 12 <= len(text) <= 19):
        raise CellError("bad_bank_account", "银行账号应为 12–19 位数字")
    return text


def _phone_text(value: object) -> str:
    text = normalise_text(value).replace(" ", "")
    if not (_MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text)):
        raise CellError("bad_phone", "联系电话应为 11 位手机号或带区号的固定电话")
    return text


def _sealer(parse: Any, purpose: str) -> Any:
    """A parser that seals what ``parse`` accepts. The last value is remembered: a household's
    member rows repeat the same account and phone, and sealing costs a cipher call."""
    last: list[Any] = [None, None]

    def sealed(value: object) -> Sealed:
        text = parse(value)
        if last[0] != text:
            last[0], last[1] = text, Sealed(blind_index(text, purpose=purpose), encrypt(text))
        return last[1]

    return sealed


def _parse_text(value: object, *, label: str) -> str:
    text = normalise_text(value)
    limit = TEXT_LIMITS.get(label)
    if limit is not None and len(text) > limit:
        raise CellError("too_long", f"{label}不能超过{limit}个字")
    return text


def _parsers() -> dict[str, Any]:
    """Each column's cell parser (pure: the same value always parses the same)."""

    def choice(header: str, aliases: dict[str, str], *, required: bool = False) -> Any:
        return partial(parse_choice, label=header, aliases=aliases, required=required)

    return {
        RELATION: choice(RELATION, RELATION_ALIASES, required=True),
        ETHNICITY: choice(ETHNICITY, ETHNICITY_ALIASES),
        COVERED: partial(parse_yes_no, label=COVERED, default=True),
        LABOUR_CAPACITY: choice(LABOUR_CAPACITY, LABOUR_ALIASES),
        HEALTH: choice(HEALTH, HEALTH_ALIASES),
        DISABILITY_GRADE: partial(parse_grade, label=DISABILITY_GRADE),
        PROGRAMME: partial(parse_choice, label=PROGRAMME, aliases=PROGRAMME_ALIASES),
        CLASSIFICATION: partial(_parse_text, label=CLASSIFICATION),
        INCOME: partial(parse_money, label=INCOME),
        AMOUNT: partial(parse_money, label=AMOUNT),
        START_MONTH: partial(parse_month, label=START_MONTH),
        BANK_NAME: partial(_parse_text, label=BANK_NAME),
        BANK_ACCOUNT: _sealer(_bank_account_text, PURPOSE_BANK_ACCOUNT),
        PHONE: _sealer(_phone_text, PURPOSE_PHONE),
    }


# --- validation ------------------------------------------------------------------------------


class _RosterValidator:
    """The rules of ledgers.md §1–§2, in three passes: ``read_row`` (everything one row says on
    its own, with the county's areas preloaded), ``finish_areas`` (areas named outside the
    county, one query for all) and ``check_household`` (one household's rows together, with what
    the database knows of its persons and its number)."""

    def __init__(self, *, county: Area, today: date) -> None:
        self.county = county
        self.today = today
        self.parsers = _parsers()
        # header → cell value → (given?, normalised text, parsed value or its CellError)
        self._parsed: dict[str, dict[object, tuple[bool, str, Any]]] = {
            header: {} for header in self.parsers
        }
        # Area names and codes not found in the county, and what they turned out to be.
        self.pending: dict[tuple[str, ...], tuple[str, str, str, str] | None] = {}
        areas = list(
            Area.objects.filter(
                path__startswith=county.path, level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE]
            ).order_by("code")
        )
        self.by_code = {area.code: area for area in areas}
        self.by_id = {area.pk: area for area in areas}
        self.townships: dict[str, list[Area]] = defaultdict(list)
        self.villages: dict[str, list[Area]] = defaultdict(list)
        self.villages_in: dict[int, dict[str, list[Area]]] = defaultdict(lambda: defaultdict(list))
        for area in areas:
            if area.level == AreaLevel.TOWNSHIP:
                self.townships[area_name_key(area.name)].append(area)
            else:
                self.villages[village_name_key(area.name)].append(area)
                self.villages_in[area.parent_id][village_name_key(area.name)].append(area)

    # -- reporting --

    def error(self, row: _RowState, header: str, value: object, code: str, msg: str) -> None:
        row.errors.append(problem(row.number, header, _show(header, value), code, msg))

    def warn(self, row: _RowState, header: str, value: object, code: str, msg: str) -> None:
        row.warnings.append(problem(row.number, header, _show(header, value), code, msg))

    def cell(self, header: str, value: object) -> tuple[bool, str, Any]:
        """(given?, normalised text, the header's parser on it or its ``CellError``) of a cell.
        Parsers are pure and a roster repeats most values on every row (relations, villages,
        amounts, months), so results are remembered (bounded, per header, type and value)."""
        known = self._parsed[header]
        key = value if type(value) is str else (type(value), value)
        entry = known.get(key)
        if entry is None:
            try:
                result = self.parsers[header](value)
            except CellError as exc:
                result = exc
            entry = (is_given(value), normalise_text(value), result)
            if len(known) >= PARSED_KEPT:
                known.clear()
            known[key] = entry
        return entry

    def parse(self, row: _RowState, cells: dict[str, Any], header: str) -> Any:
        """The header's parser on the row's cell; a ``CellError`` becomes an error of the row."""
        value = cells.get(header)
        known = self._parsed[header].get(value if type(value) is str else (type(value), value))
        result = (known or self.cell(header, value))[2]
        if isinstance(result, CellError):
            self.error(row, header, value, result.code, result.message)
            return _FAILED
        return result

    def choice(self, row: _RowState, cells: dict[str, Any], header: str) -> str:
        """``parse`` of a choice column: ``""`` when the cell has an error."""
        value = self.parse(row, cells, header)
        return "" if value is _FAILED else value

    # -- rows --

    def read_row(self, row: _RowState, source: Row) -> None:
        cells = source.values
        number = normalise_text(cells.get(HOUSEHOLD_NUMBER))
        if not is_given(number):
            self.error(row, HOUSEHOLD_NUMBER, "", "required_missing", "户编号不能为空")
        elif len(number) > TEXT_LIMITS[HOUSEHOLD_NUMBER]:
            self.error(row, HOUSEHOLD_NUMBER, number, "too_long", "户编号不能超过40个字")
        else:
            row.household_number = number
        self.resolve_area(row, cells)
        self.read_member(row, source)
        parsed = self._parsed
        for header in HOUSEHOLD_COLUMNS:
            value = cells.get(header)
            known = parsed[header].get(value if type(value) is str else (type(value), value))
            given, text, result = known or self.cell(header, value)
            if not given:
                continue
            row.texts[header] = text
            if isinstance(result, CellError):
                self.error(row, header, value, result.code, result.message)
            else:
                row.values[header] = result

    def read_member(self, row: _RowState, source: Row) -> None:
        cells = source.values
        name = " ".join(normalise_text(cells.get(NAME)).split())
        if not is_given(name):
            self.error(row, NAME, "", "required_missing", "姓名不能为空")
            name = ""
        elif len(name) > TEXT_LIMITS[NAME]:
            self.error(row, NAME, name, "too_long", "姓名不能超过50个字")
            name = ""
        raw_id = cells.get(ID_NUMBER)
        parsed = None
        try:
            if not (_is_plain(raw_id) or is_given(raw_id)):
                raise IdNumberError("id_missing", "身份证号不能为空")
            if ID_NUMBER in source.numeric_cells and not isinstance(raw_id, int | float):
                # The reader saw a number cell; its text may look complete, its digits are not.
                raw_id = float(normalise_text(raw_id)) if _looks_numeric(raw_id) else raw_id
            parsed = parse_id_number(raw_id, today=self.today)
        except IdNumberError as exc:
            self.error(row, ID_NUMBER, cells.get(ID_NUMBER), exc.code, exc.message)
        else:
            for warning in parsed.warnings:
                self.warn(row, ID_NUMBER, parsed.value, warning.code, warning.message)

        relation = self.choice(row, cells, RELATION)
        row.relation = relation
        ethnicity = self.choice(row, cells, ETHNICITY)
        covered = self.parse(row, cells, COVERED)
        labour = self.choice(row, cells, LABOUR_CAPACITY)
        health = self.choice(row, cells, HEALTH)
        grade = self.parse(row, cells, DISABILITY_GRADE)
        if parsed is not None and name and relation:
            value = parsed.value
            row.member = RosterMember(
                row=row.number,
                id_masked=mask_id_number(value),
                id_number_hash=id_number_blind_index(value),
                id_token=encrypt(value),
                name=name,
                sex=parsed.sex,
                birth_date=parsed.birth_date,
                relation=relation,
                ethnicity=ethnicity,
                is_covered=covered is not False,
                labour_capacity=labour,
                health=health,
                disability_grade=None if grade is _FAILED else grade,
            )

    # -- areas --

    def resolve_area(self, row: _RowState, cells: dict[str, Any]) -> None:
        if is_given(cells.get(VILLAGE_CODE)):
            row.area_column = VILLAGE_CODE
            code = normalise_text(cells[VILLAGE_CODE]).replace(" ", "")
            if not _AREA_CODE.fullmatch(code):
                self.error(row, VILLAGE_CODE, code, "area_unknown", "嘎查村代码应为12位数字")
                return
            area = self.by_code.get(code)
            if area is None:
                self.defer(row, ("code", code))
            elif area.level != AreaLevel.VILLAGE:
                message = f"{code}是苏木乡镇“{area.name}”的代码，请填写嘎查村代码"
                self.error(row, VILLAGE_CODE, code, "area_unknown", message)
            else:
                row.area = area
            return
        township = normalise_text(cells.get(TOWNSHIP)) if is_given(cells.get(TOWNSHIP)) else ""
        village = normalise_text(cells.get(VILLAGE)) if is_given(cells.get(VILLAGE)) else ""
        if not (township or village):
            return
        row.area_column = VILLAGE
        if not village:
            self.error(row, VILLAGE, "", "required_missing", "填写苏木乡镇时嘎查村不能为空")
            return
        if township:
            found = self.townships.get(area_name_key(township), [])
            if len(found) > 1:
                message = (
                    f"苏木乡镇“{township}”在{self.county.name}有{len(found)}个同名，"
                    "请填写嘎查村代码"
                )
                self.error(row, TOWNSHIP, township, "area_ambiguous", message)
                return
            if not found:
                self.defer(row, ("name", township, village))
                return
            by_name = self.villages_in[found[0].pk]
            villages = by_name.get(village_name_key(village), [])
            if not villages:
                names = (v.name for vs in by_name.values() for v in vs)
                message = f"嘎查村“{village}”不在{found[0].name}{suggest_names(village, names)}"
                self.error(row, VILLAGE, village, "area_unknown", message)
                return
        else:
            villages = self.villages.get(village_name_key(village), [])
            if not villages:
                self.defer(row, ("name", "", village))
                return
        if len(villages) > 1:
            places = "、".join(
                f"{self.by_id[v.parent_id].name if v.parent_id in self.by_id else ''}{v.name}"
                f"（{v.code}）"
                for v in villages
            )
            message = f"嘎查村“{village}”有多个：{places}，请填写苏木乡镇或嘎查村代码"
            self.error(row, VILLAGE, village, "area_ambiguous", message)
            return
        row.area = villages[0]

    def defer(self, row: _RowState, key: tuple[str, ...]) -> None:
        """An area not in the county: decided by ``finish_areas`` (one query for every row)."""
        row.pending = key
        self.pending[key] = None

    def finish_areas(self) -> None:
        """Codes and names not found in the county: elsewhere (out of scope) or nowhere. Each
        distinct code or name gets its (column, value, code, message) once."""
        codes = sorted(key[1] for key in self.pending if key[0] == "code")
        names = sorted(
            {name for key in self.pending if key[0] == "name" for name in key[1:]} - {""}
        )
        found = {
            area.code: area
            for chunk in chunks(codes, LOOKUP_CHUNK)
            for area in Area.objects.filter(code__in=chunk)
        }
        elsewhere: dict[str, list[Area]] = defaultdict(list)
        for chunk in chunks(names, LOOKUP_CHUNK):
            queryset = Area.objects.filter(
                level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE], name__in=chunk
            ).exclude(path__startswith=self.county.path)
            for area in queryset:
                elsewhere[area_name_key(area.name)].append(area)
        for key in self.pending:
            if key[0] == "code":
                code = key[1]
                area = found.get(code)
                if area is None:
                    self.pending[key] = (
                        VILLAGE_CODE,
                        code,
                        "area_unknown",
                        f"嘎查村代码{code}不存在",
                    )
                elif area.level != AreaLevel.VILLAGE:
                    label = AreaLevel(area.level).label
                    message = f"{code}是{label}“{area.name}”的代码，请填写嘎查村代码"
                    self.pending[key] = (VILLAGE_CODE, code, "area_unknown", message)
                else:
                    message = f"{code}（{area.name}）不在{self.county.name}，不能导入本旗县的台账"
                    self.pending[key] = (VILLAGE_CODE, code, "area_out_of_scope", message)
                continue
            _kind, township, village = key
            header, name = (TOWNSHIP, township) if township else (VILLAGE, village)
            level = AreaLevel.TOWNSHIP if township else AreaLevel.VILLAGE
            label = "苏木乡镇" if township else "嘎查村"
            if any(a.level == level for a in elsewhere.get(area_name_key(name), [])):
                message = f"{label}“{name}”不在{self.county.name}，不能导入本旗县的台账"
                self.pending[key] = (header, name, "area_out_of_scope", message)
            else:
                pool = self.townships if township else self.villages
                suggestion = suggest_names(name, (areas[0].name for areas in pool.values()))
                message = f"{label}“{name}”在{self.county.name}不存在{suggestion}"
                self.pending[key] = (header, name, "area_unknown", message)

    # -- households --

    def check_group(
        self, group: list[_RowState], facts: list["_RowFacts"], known_status: str | None
    ) -> None:
        """Every rule that needs more than one row or the database, for one household's rows
        (or one row without a 户编号), in file order. Adds the problems to the rows."""
        for row, fact in zip(group, facts, strict=True):
            if row.pending is not None:
                header, shown, code, message = self.pending[row.pending]  # type: ignore[misc]
                self.error(row, header, shown, code, message)
            if fact.first_row is not None and row.member is not None:
                where = (
                    ""
                    if fact.first_household == row.household_number
                    else f"（户编号{fact.first_household}），一人只能在一个保障户中"
                )
                message = f"与第{fact.first_row}行是同一人（身份证号重复）{where}"
                self.error(row, ID_NUMBER, row.member.id_masked, "duplicate_in_file", message)
            if fact.paid_county_id is not None and row.member is not None:
                same = (
                    fact.paid_county_id == self.county.pk
                    and fact.paid_number == row.household_number
                )
                if not same:  # the same household imported again is no duplicate
                    message = (
                        f"该人员已在{fact.paid_county_name}保障户{fact.paid_number}中享受保障，"
                        "一人只能在一个保障户中"
                    )
                    self.error(
                        row,
                        ID_NUMBER,
                        row.member.id_masked,
                        "duplicate_in_other_household",
                        message,
                    )
        number = group[0].household_number
        if not number:
            return
        if known_status is not None and known_status not in PAYING_STATUSES:
            label = HouseholdStatus(known_status).label
            message = (
                f"户编号{number}的保障户当前状态为“{label}”，不能通过花名册导入恢复保障，"
                "请按程序办理"
            )
            self.error(group[0], HOUSEHOLD_NUMBER, number, "household_conflict", message)
        self.check_household(number, group)

    def check_household(self, number: str, group: list[_RowState]) -> None:
        heads = [row for row in group if row.relation == Relation.HEAD]
        anchor = heads[0] if heads else group[0]
        if not heads and all(row.relation for row in group):
            message = f"户编号{number}没有户主（与户主关系为“户主”或“本人”的成员）"
            self.error(anchor, RELATION, "", "household_no_head", message)
        elif len(heads) > 1:
            lines = "、".join(str(row.number) for row in heads)
            message = f"户编号{number}有{len(heads)}名户主（第{lines}行），每户只能有一名户主"
            for row in heads[1:]:
                self.error(row, RELATION, "户主", "household_many_heads", message)
        for header in HOUSEHOLD_COLUMNS:
            given = [row for row in group if header in row.values]
            for row in given[1:]:
                if row.values[header] != given[0].values[header]:
                    message = f"{header}与第{given[0].number}行不一致，同一户的户级信息应相同"
                    self.error(row, header, row.texts[header], "household_conflict", message)
        located = [row for row in group if row.area is not None]
        for row in located[1:]:
            if row.area != located[0].area:
                message = (
                    f"嘎查村（{row.area.name}）与第{located[0].number}行（{located[0].area.name}）"
                    "不一致，同一户的户级信息应相同"
                )
                shown = row.area.code if row.area_column == VILLAGE_CODE else row.area.name
                self.error(row, row.area_column, shown, "household_conflict", message)
        if not any(row.area_column for row in group):
            message = f"户编号{number}缺少嘎查村：请填写嘎查村代码，或苏木乡镇和嘎查村名称"
            self.error(anchor, VILLAGE_CODE, "", "required_missing", message)
        for header in REQUIRED_HOUSEHOLD_COLUMNS:
            if not any(header in row.values or header in row.texts for row in group):
                message = f"户编号{number}的{header}不能为空"
                self.error(anchor, header, "", "required_missing", message)

    def household(self, number: str, group: list[_RowState]) -> RosterHousehold:
        def first(header: str, default: Any = None) -> Any:
            return next((row.values[header] for row in group if header in row.values), default)

        return RosterHousehold(
            number=number,
            area_id=next(row.area.pk for row in group if row.area is not None),
            programme=first(PROGRAMME) or Programme.DIBAO,
            classification=first(CLASSIFICATION, ""),
            per_capita_income_monthly=first(INCOME),
            monthly_amount=first(AMOUNT),
            start_month=first(START_MONTH),
            bank_name=first(BANK_NAME, ""),
            bank_account=first(BANK_ACCOUNT, ""),
            phone=first(PHONE, ""),
            members=[row.member for row in group if row.member is not None],
            rows=[row.number for row in group],
        )


_FAILED = object()  # a cell whose parser reported an error


def _is_plain(value: object) -> bool:
    """ASCII letters and digits only (the usual ID number cell): given, and its own normalised
    text (``is_given`` would remember a value seen once)."""
    return type(value) is str and value.isascii() and value.isalnum()


def _looks_numeric(value: object) -> bool:
    text = normalise_text(value).upper().replace("E+", "").replace(".", "")
    return text.isdigit()


def _column_order(item: dict[str, Any]) -> int:
    return COLUMN_ORDER.get(item["column"] or "", 99)


# --- streaming: staging, the household pass -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RowFacts:
    """What the database says about one staged row: the first row of the file with the same
    person (when this one repeats it) and the paid household the person is already in."""

    first_row: int | None
    first_household: str
    paid_county_id: int | None
    paid_number: str
    paid_county_name: str


# The staged row: plain columns for the set-based checks and writes and for checking the row
# again in Python, ``problems`` for its errors (JSON, or NULL). Nothing sensitive in plain text:
# blind indexes, ciphertexts and masked values only.
STAGED_COLUMNS: list[tuple[str, str]] = [
    ("row_number", "integer"),
    ("household", "text"),
    ("id_hash", "text"),
    ("raw", "text"),
    ("warnings", "text"),
    ("has_error", "boolean"),
    ("problems", "text"),
    ("relation", "text"),
    ("area_id", "integer"),
    ("area_column", "text"),
    ("programme", "text"),
    ("classification", "text"),
    ("income", "numeric"),
    ("amount", "numeric"),
    ("start_month", "date"),
    ("bank_name", "text"),
    ("bank_hash", "text"),
    ("bank_token", "text"),
    ("phone_hash", "text"),
    ("phone_token", "text"),
    ("name", "text"),
    ("sex", "text"),
    ("birth_date", "date"),
    ("ethnicity", "text"),
    ("covered", "boolean"),
    ("labour", "text"),
    ("health", "text"),
    ("grade", "integer"),
    ("id_token", "text"),
    ("id_masked", "text"),
]
# The staged columns the checks and writes join and group on: the planner's statistics for
# them (the wide text of the others costs most of a full ANALYZE and decides no plan), from
# ``ANALYZE_ROWS`` rows on (fewer: the planner's estimate from the table's size is enough).
ANALYZED_COLUMNS = ("row_number", "household", "id_hash")
ANALYZE_ROWS = 50_000
_AT = {name: index for index, (name, _kind) in enumerate(STAGED_COLUMNS)}
_NUMBER, _HOUSEHOLD, _ID_HASH, _RAW, _WARNINGS = 0, 1, 2, 3, 4
STAGED_VALUES = (
    (PROGRAMME, "programme"),
    (CLASSIFICATION, "classification"),
    (INCOME, "income"),
    (AMOUNT, "amount"),
    (START_MONTH, "start_month"),
    (BANK_NAME, "bank_name"),
)
# Columns whose values must agree within a household (household_conflict when they do not).
AGREEING_COLUMNS = (
    "programme",
    "classification",
    "income",
    "amount",
    "start_month",
    "bank_name",
    "bank_hash",
    "phone_hash",
    "area_id",
)
CENT = Decimal("0.01")


def _staged(state: _RowState, raw: str) -> tuple[Any, ...]:
    values, member = state.values, state.member
    bank, phone = values.get(BANK_ACCOUNT), values.get(PHONE)
    state.warnings.sort(key=_column_order)
    problems = (
        _dumps({"e": state.errors, "p": state.pending}) if state.errors or state.pending else None
    )
    return (
        state.number,
        state.household_number,
        member.id_number_hash if member else None,
        raw,
        _dumps(state.warnings) if state.warnings else "[]",
        problems is not None,
        problems,
        state.relation,
        state.area.pk if state.area is not None else None,
        state.area_column,
        values.get(PROGRAMME),
        values.get(CLASSIFICATION),
        values.get(INCOME),
        values.get(AMOUNT),
        values.get(START_MONTH),
        values.get(BANK_NAME),
        bank.digest if bank else None,
        bank.token if bank else None,
        phone.digest if phone else None,
        phone.token if phone else None,
        member.name if member else None,
        member.sex if member else None,
        member.birth_date if member else None,
        member.ethnicity if member else None,
        member.is_covered if member else None,
        member.labour_capacity if member else None,
        member.health if member else None,
        member.disability_grade if member else None,
        member.id_token if member else None,
        member.id_masked if member else None,
    )


def _day(value: Any) -> date:
    """A staged date as read back (PostgreSQL: a date; SQLite: its text)."""
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _money(value: Any) -> Decimal:
    """A staged amount as read back (SQLite keeps it as a number, not a Decimal)."""
    return Decimal(str(value)).quantize(CENT)


def _from_staged(staged: Sequence[Any], areas: dict[int, Area]) -> _RowState:
    """The row as ``read_row`` left it, from its staged columns (the typed household cells
    shown in messages come back from ``raw``, where they are normalised and masked)."""
    values: dict[str, Any] = {}
    for header, column in STAGED_VALUES:
        value = staged[_AT[column]]
        if value is None:
            continue
        if header in MONEY_COLUMNS:
            value = _money(value)
        elif header == START_MONTH:
            value = _day(value)
        values[header] = value
    for header, digest, token in (
        (BANK_ACCOUNT, "bank_hash", "bank_token"),
        (PHONE, "phone_hash", "phone_token"),
    ):
        if staged[_AT[digest]] is not None:
            values[header] = Sealed(staged[_AT[digest]], staged[_AT[token]])
    raw = json.loads(staged[_RAW])
    problems = json.loads(staged[_AT["problems"]]) if staged[_AT["problems"]] else {}
    number = staged[_NUMBER]
    member = None
    if staged[_ID_HASH] is not None:
        member = RosterMember(
            row=number,
            id_masked=staged[_AT["id_masked"]],
            id_number_hash=staged[_ID_HASH],
            id_token=staged[_AT["id_token"]],
            name=staged[_AT["name"]],
            sex=staged[_AT["sex"]],
            birth_date=_day(staged[_AT["birth_date"]]),
            relation=staged[_AT["relation"]],
            ethnicity=staged[_AT["ethnicity"]],
            is_covered=bool(staged[_AT["covered"]]),
            labour_capacity=staged[_AT["labour"]],
            health=staged[_AT["health"]],
            disability_grade=staged[_AT["grade"]],
        )
    area_id = staged[_AT["area_id"]]
    return _RowState(
        number=number,
        household_number=staged[_HOUSEHOLD],
        values=values,
        texts={
            header: str(raw[header])
            for header in HOUSEHOLD_COLUMNS
            if header in raw and is_given(raw[header])
        },
        area=areas[area_id] if area_id is not None else None,
        area_column=staged[_AT["area_column"]],
        pending=tuple(problems["p"]) if problems.get("p") else None,
        member=member,
        relation=staged[_AT["relation"]],
        errors=problems.get("e", []),
        warnings=json.loads(staged[_WARNINGS]),
    )


class RosterRun:
    """A streamed validation of one roster file (``lowbao.imports.kinds.StreamingRun``).

    Memory stays flat in the number of rows (quality.md P3), and so does the number of
    statements (P4):

    1. ``add`` validates each row on its own and stages it: what the set-based checks and
       writes need in plain columns (blind indexes and ciphertexts for the ID number, bank
       account and phone: no plain sensitive value), and the row for the checks in Python. The
       first ``stage_in_memory_rows()`` rows are held in memory; past that they all go into a
       temporary table.
    2. ``outcomes`` decides the areas named outside the county (one query for all), then checks
       the rows household by household. Held in memory: every rule in Python, with two lookups
       (the paid households of the file's persons, the county's households with its numbers).
       Staged in a table: one ``INSERT … SELECT`` marks the *suspect* households (a row with an
       error, not exactly one head, household values or villages that differ, a required value
       missing, a person twice in the file or already paid, a number the county already has);
       one query then reads every row back ordered by household, and only the suspects' rows
       are checked in Python (all their problems, exactly as above). The others are valid as
       they stand.
    3. ``apply`` writes the households checked in Python in rounds of ``APPLY_HOUSEHOLDS``
       (held in memory, or past that in a second table), and the valid households that were
       never suspect set-based: four ``INSERT … SELECT`` from staging (persons, with
       ``ON CONFLICT`` for the known ones; households; members; benefit periods).
    """

    def __init__(
        self, county: Area | None, options: ImportOptions, *, in_memory: bool = False
    ) -> None:
        if county is None:
            raise ValueError("the dibao roster is imported for one county")
        self.county = county
        self.summary = StreamSummary()
        self.validator = _RosterValidator(county=county, today=timezone.localdate())
        self.rows_table = TempTable("roster_rows", STAGED_COLUMNS, primary_key="row_number")
        self.suspects_table = TempTable(
            "roster_suspects", [("household", "text")], primary_key="household"
        )
        self.households_table = TempTable(
            "roster_households", [("seq", "integer"), ("data", "text")], primary_key="seq"
        )
        self._limit = sys.maxsize if in_memory else stage_in_memory_rows()
        self._held: list[tuple[Any, ...]] | None = []
        self._rows: BulkWriter | None = None
        self._count = 0
        self._households: list[RosterHousehold] | None = []
        self._clean = 0  # valid households never suspect: written set-based

    @property
    def uses_tables(self) -> bool:
        return self._held is None

    # -- pass 1 --

    def add(self, row: Row, raw: str) -> None:
        state = _RowState(row.number)
        self.validator.read_row(state, row)
        staged = _staged(state, raw)
        self._count += 1
        if self._held is not None:
            self._held.append(staged)
            if len(self._held) <= self._limit:
                return
            create_tables([self.rows_table, self.suspects_table, self.households_table])
            # spooled, not streamed through an open COPY: an area looked up once the file is read
            # hung on the connection the COPY held (see the test of areas looked up after the read)
            self._rows = self.rows_table.writer()
            for held in self._held:
                self._rows.add(held)
            self._held = None
            return
        assert self._rows is not None  # noqa: S101 - set when the rows stopped being held
        self._rows.add(staged)

    def pause(self) -> None:
        if self._rows is not None:
            self._rows.pause()

    # -- pass 2 --

    def outcomes(self) -> Iterator[RowOutcome]:
        self.pause()  # end a COPY still open: the area lookups below need the connection
        self.validator.finish_areas()
        summary = StreamSummary()
        spill = self.households_table.writer() if self._held is None else None
        group: list[tuple[_RowState, _RowFacts, str]] = []
        known_status: str | None = None
        for staged, facts, status in self._checked_rows():
            household = staged[_HOUSEHOLD]
            if group and (not household or household != group[0][0].household_number):
                yield from self._finish_group(group, known_status, summary, spill)
                group = []
            group.append((_from_staged(staged, self.validator.by_id), facts, staged[_RAW]))
            known_status = status
        if group:
            yield from self._finish_group(group, known_status, summary, spill)
        if spill is not None:
            spill.flush()
            spill.close()
            yield from self._vouched_for(summary)
        self.summary = summary

    def _vouched_for(self, summary: StreamSummary) -> Iterator[RowOutcome]:
        """The rows of the households that were never suspect, counted set-based; those with a
        warning (a 15-digit ID number, say) come out so that it is reported. They are all new
        and valid, and ``stage_rows`` writes their ``ImportRow`` in one statement."""
        t = self._tables()
        clean = f"NOT EXISTS (SELECT 1 FROM {t['suspects']} x WHERE x.household = s.household)"  # noqa: S608  # nosec B608 - staging table names built here, values as parameters
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT COUNT(*), COUNT(DISTINCT s.household) FROM {t['rows']} s WHERE {clean}"  # noqa: S608  # nosec B608 - staging table names built here, values as parameters
            )
            rows, households = cursor.fetchone()
        summary.rows += rows
        summary.persons += rows
        summary.households += households
        summary.units += households
        self._clean = households
        if not rows:
            return
        sql = (
            f"SELECT s.row_number, s.household, s.raw, s.warnings FROM {t['rows']} s "  # noqa: S608  # nosec B608 - staging table names built here, values as parameters
            f"WHERE s.warnings <> '[]' AND {clean} ORDER BY s.row_number"
        )
        for number, household, raw, warnings in stream(sql):
            yield RowOutcome(
                number, household, raw, RowMatch.NEW, [], json.loads(warnings), staged=True
            )

    def stage_rows(self, batch_id: int) -> int:
        """Write the ``ImportRow`` of every row ``outcomes`` vouched for (``staged=True`` or not
        given at all): one ``INSERT … SELECT`` from staging. Returns how many."""
        if not self._clean:
            return 0
        t = self._tables()
        as_json = "CAST({} AS jsonb)" if is_postgresql() else "{}"
        raw, errors, warnings = (as_json.format(v) for v in ("s.raw", "'[]'", "s.warnings"))
        table = ImportRow._meta.db_table
        columns = "batch_id, row_number, household, raw, match, errors, warnings"
        sql = (
            f"INSERT INTO {table} ({columns}) SELECT %s, s.row_number, "  # noqa: S608  # nosec B608 - staging table names built here, values as parameters
            f"SUBSTR(s.household, 1, 40), {raw}, %s, {errors}, {warnings} FROM {t['rows']} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {t['suspects']} x WHERE x.household = s.household)"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [batch_id, RowMatch.NEW])
            return cursor.rowcount

    def _checked_rows(self) -> Iterator[tuple[Sequence[Any], _RowFacts, str | None]]:
        """(staged row, facts, status of the county's household with its number) for every row
        to check in Python, ordered by household (bytewise) and row number: all of them when
        they are held in memory, the suspect households' when they are in a table."""
        if self._held is None:
            yield from self._suspect_rows()
            return
        held, self._held = self._held, []
        first: dict[str, tuple[int, str]] = {}
        for staged in held:
            member_hash = staged[_ID_HASH]
            if member_hash is not None and member_hash not in first:
                first[member_hash] = (staged[_NUMBER], staged[_HOUSEHOLD])
        paid = self._paid_households(list(first))
        numbers = sorted({staged[_HOUSEHOLD] for staged in held} - {""})
        statuses: dict[str, str] = {}
        for chunk in chunks(numbers, LOOKUP_CHUNK):
            statuses.update(
                Household.objects.filter(county=self.county, number__in=chunk).values_list(
                    "number", "status"
                )
            )
        held.sort(key=lambda staged: (staged[_HOUSEHOLD], staged[_NUMBER]))
        for staged in held:
            number, member_hash = staged[_NUMBER], staged[_ID_HASH]
            first_row, first_household = (
                first.get(member_hash, (None, "")) if member_hash else (None, "")
            )
            county_id, paid_number, county_name = paid.get(member_hash, (None, "", ""))
            facts = _RowFacts(
                first_row if first_row != number else None,
                first_household if first_row != number else "",
                county_id,
                paid_number,
                county_name,
            )
            yield staged, facts, statuses.get(staged[_HOUSEHOLD])

    def _paid_households(self, hashes: list[str]) -> dict[str, tuple[int, str, str]]:
        """Blind index → (county id, number, county name) of the paid household each is in."""
        paid: dict[str, tuple[int, str, str]] = {}
        for chunk in chunks(sorted(hashes), LOOKUP_CHUNK):
            rows = HouseholdMember.objects.filter(
                in_payment=True, person__id_number_hash__in=chunk
            ).values_list(
                "person__id_number_hash",
                "household__county_id",
                "household__number",
                "household__county__name",
            )
            for person_hash, county_id, number, county_name in rows:
                paid[person_hash] = (county_id, number, county_name)
        return paid

    def _suspect_rows(self) -> Iterator[tuple[Sequence[Any], _RowFacts, str | None]]:
        assert self._rows is not None  # noqa: S101 - the rows were spilled to the table
        self._rows.flush()
        self._rows.close()
        if self._count >= ANALYZE_ROWS:  # smaller: the table's size is estimate enough
            self.rows_table.analyze(ANALYZED_COLUMNS)
        with connection.cursor() as cursor:
            cursor.execute(*self._suspects_query())
        sql, params = self._household_pass_query()
        width = len(STAGED_COLUMNS)
        for record in stream(sql, params):
            staged = record[:width]
            first_row, first_household, paid_county_id, paid_number, county_name, status = record[
                width:
            ]
            number = staged[_NUMBER]
            facts = _RowFacts(
                first_row if first_row != number else None,
                first_household or "",
                paid_county_id,
                paid_number or "",
                county_name or "",
            )
            yield staged, facts, status

    def _tables(self) -> dict[str, str]:
        return {
            "rows": self.rows_table.sql_name,
            "suspects": self.suspects_table.sql_name,
            "person": Person._meta.db_table,
            "member": HouseholdMember._meta.db_table,
            "household": Household._meta.db_table,
            "area": Area._meta.db_table,
        }

    def _suspects_query(self) -> tuple[str, list[Any]]:
        """The households that need the checks in Python (a superset of those with a problem,
        plus the county's known households, which apply updates in Python)."""
        t = self._tables()
        disagree = " OR ".join(f"MIN({column}) <> MAX({column})" for column in AGREEING_COLUMNS)
        required = " OR ".join(f"COUNT({column}) = 0" for column in ("income", "amount"))
        sql = f"""
            INSERT INTO {t["suspects"]} (household)
            SELECT household FROM {t["rows"]} GROUP BY household
            HAVING household = '' OR MAX(CASE WHEN has_error THEN 1 ELSE 0 END) = 1
                OR SUM(CASE WHEN relation = %s THEN 1 ELSE 0 END) <> 1
                OR COUNT(id_hash) <> COUNT(*) OR COUNT(area_id) = 0 OR COUNT(start_month) = 0
                OR {required} OR {disagree}
            UNION
            SELECT s.household FROM {t["rows"]} s JOIN (
                SELECT id_hash FROM {t["rows"]} WHERE id_hash IS NOT NULL
                GROUP BY id_hash HAVING COUNT(*) > 1
            ) d ON d.id_hash = s.id_hash
            UNION
            SELECT s.household FROM {t["rows"]} s
            JOIN {t["person"]} p ON p.id_number_hash = s.id_hash
            JOIN {t["member"]} m ON m.person_id = p.id AND m.in_payment = %s
            UNION
            SELECT s.household FROM {t["rows"]} s
            JOIN {t["household"]} h ON h.county_id = %s AND h.number = s.household
        """  # noqa: S608  # nosec B608 - table and column names are ours, values are parameters
        return sql, [Relation.HEAD, True, self.county.pk]

    def _household_pass_query(self) -> tuple[str, list[Any]]:
        """The suspect households' rows, ordered by household, with their facts."""
        t = self._tables()
        order = 'COLLATE "C"' if is_postgresql() else ""
        columns = ", ".join(f"s.{name}" for name, _kind in STAGED_COLUMNS)
        sql = f"""
            SELECT {columns}, d.first_row, f.household, ph.county_id, ph.number, pa.name, hh.status
            FROM {t["rows"]} s
            JOIN {t["suspects"]} x ON x.household = s.household
            LEFT JOIN (
                SELECT id_hash, MIN(row_number) AS first_row FROM {t["rows"]}
                WHERE id_hash IS NOT NULL GROUP BY id_hash HAVING COUNT(*) > 1
            ) d ON d.id_hash = s.id_hash
            LEFT JOIN {t["rows"]} f ON f.row_number = d.first_row
            LEFT JOIN {t["person"]} p ON p.id_number_hash = s.id_hash
            LEFT JOIN {t["member"]} m ON m.person_id = p.id AND m.in_payment = %s
            LEFT JOIN {t["household"]} ph ON ph.id = m.household_id
            LEFT JOIN {t["area"]} pa ON pa.id = ph.county_id
            LEFT JOIN {t["household"]} hh ON hh.county_id = %s AND hh.number = s.household
            ORDER BY s.household {order}, s.row_number
        """  # noqa: S608  # nosec B608 - table and column names are ours, values are parameters
        return sql, [True, self.county.pk]

    def _finish_group(
        self,
        group: list[tuple[_RowState, _RowFacts, str]],
        known_status: str | None,
        summary: StreamSummary,
        spill: BulkWriter | None,
    ) -> Iterator[RowOutcome]:
        states = [state for state, _facts, _raw in group]
        self.validator.check_group(states, [facts for _s, facts, _r in group], known_status)
        number = states[0].household_number
        invalid = any(state.has_error for state in states)
        summary.rows += len(states)
        summary.persons += len(states)
        summary.households += 1
        if invalid:
            summary.skipped += 1
            if number and len(summary.skipped_keys) < SKIPPED_KEYS_KEPT:
                summary.skipped_keys.append(number)
        else:
            summary.units += 1
            self._keep(self.validator.household(number, states), spill)
        known = known_status is not None
        for state, _facts, raw in group:
            state.errors.sort(key=_column_order)
            state.warnings.sort(key=_column_order)
            summary.error_count += len(state.errors)
            match = RowMatch.INVALID if invalid else RowMatch.MATCHED if known else RowMatch.NEW
            yield RowOutcome(state.number, number, raw, match, state.errors, state.warnings)

    def _keep(self, household: RosterHousehold, spill: BulkWriter | None) -> None:
        """Hold a household checked in Python, or (past ``APPLY_HOUSEHOLDS``, when the rows were
        staged in a table) stage it in the households table, keyed by its first row."""
        if self._households is not None:
            self._households.append(household)
            if spill is None or len(self._households) <= APPLY_HOUSEHOLDS:
                return
            for held in self._households:
                spill.add((held.rows[0], held.to_json()))
            self._households = None
            return
        assert spill is not None  # noqa: S101 - households leave memory only with a table
        spill.add((household.rows[0], household.to_json()))

    # -- pass 3 --

    def staged_households(self) -> Iterator[list[RosterHousehold]]:
        """The households checked in Python, ``APPLY_HOUSEHOLDS`` at a time."""
        if self._households is not None:
            self._households.sort(key=lambda household: household.rows[0])  # file order
            for chunk in chunks(self._households, APPLY_HOUSEHOLDS):
                yield list(chunk)
            return
        table = self.households_table.sql_name
        last = 0
        while True:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT seq, data FROM {table} WHERE seq > %s ORDER BY seq LIMIT %s",  # noqa: S608  # nosec B608 - table names are ours, values are parameters
                    [last, APPLY_HOUSEHOLDS],
                )
                records = cursor.fetchall()
            if not records:
                return
            last = records[-1][0]
            yield [RosterHousehold.from_json(data) for _seq, data in records]
            if len(records) < APPLY_HOUSEHOLDS:
                return

    def apply(self, *, actor: Any, options: ImportOptions, source_name: str) -> Counts:
        tally = _Tally()
        for payload in self.staged_households():
            tally.add(
                _apply_chunk(
                    actor=actor, payload=payload, county=self.county, source_name=source_name
                )
            )
        if self._clean:
            clean, clean_keys = _apply_clean(
                self._tables(),
                county=self.county,
                actor=actor,
                source_name=source_name,
                joined=tally.joined,
            )
            tally.created += clean
            tally.keys["created"] = sorted([*tally.keys["created"], *clean_keys])[:KEYS_KEPT]
        return tally.finish(options)

    def is_alive(self) -> bool:
        if self._held is not None:
            return True  # everything is in memory
        return self.rows_table.is_alive() and (
            self._households is not None or self.households_table.is_alive()
        )

    def close(self) -> None:
        if self._rows is not None:
            self._rows.close()
        self._held, self._households = [], []
        drop_tables([self.rows_table.name, self.suspects_table.name, self.households_table.name])


def validate_roster(rows: Sequence[Row], county: Area | None, options: ImportOptions) -> Validation:
    """Validate the roster rows of ``county`` (ledgers.md §1–§2) all in memory; never writes.
    The import pipeline streams the same rules through ``RosterRun``; this is the same run with
    its outcomes collected, for callers that hold the rows already."""
    run = RosterRun(county, options, in_memory=True)
    try:
        for row in rows:
            run.add(row, ROSTER_KIND.raw(row))
        errors: list[dict[str, Any]] = []
        warnings: list[dict[str, Any]] = []
        row_keys: dict[int, str] = {}
        matched: set[int] = set()
        for outcome in run.outcomes():
            errors.extend(outcome.errors)
            warnings.extend(outcome.warnings)
            row_keys[outcome.row] = outcome.household
            if outcome.match == RowMatch.MATCHED:
                matched.add(outcome.row)
        payload = [household for chunk in run.staged_households() for household in chunk]
    finally:
        run.close()
    summary = run.summary
    order = {row.number: index for index, row in enumerate(rows)}
    return Validation(
        rows=summary.rows,
        households=summary.households,
        persons=summary.persons,
        errors=sorted(errors, key=lambda p: (order[p["row"]], _column_order(p))),
        warnings=sorted(warnings, key=lambda p: (order[p["row"]], _column_order(p))),
        payload=payload,
        units=summary.units,
        skipped=summary.skipped,
        row_keys=row_keys,
        matched_rows=matched,
    )


# --- apply -----------------------------------------------------------------------------------

MEMBER_FIELDS = ("relation", "is_covered", "labour_capacity", "health", "disability_grade")


def _persons_upsert(members: list[RosterMember], *, now: Any) -> dict[str, int]:
    """Create missing persons, update names and ethnicity of known ones (bulk, no audit row)."""
    by_hash = {member.id_number_hash: member for member in members}
    hashes = sorted(by_hash)
    existing: dict[str, Person] = {}
    for chunk in chunks(hashes, lookup_chunk()):
        for person in Person.objects.filter(value_in(Person, "id_number_hash", chunk)).only(
            "id", "id_number_hash", "name", "ethnicity"
        ):
            existing[person.id_number_hash] = person
    missing = [person_hash for person_hash in hashes if person_hash not in existing]
    created = insert_rows(
        Person,
        [
            {
                "id_number_hash": person_hash,
                "id_number_ciphertext": by_hash[person_hash].id_token,
                "name": by_hash[person_hash].name,
                "sex": by_hash[person_hash].sex,
                "birth_date": by_hash[person_hash].birth_date,
                "ethnicity": by_hash[person_hash].ethnicity,
            }
            for person_hash in missing
        ],
        with_ids=True,
    )
    ids = {person_hash: person.pk for person_hash, person in existing.items()}
    ids.update(zip(missing, created, strict=True))
    changed = []
    for person_hash, person in existing.items():
        member = by_hash[person_hash]
        if person.name != member.name or (
            member.ethnicity and person.ethnicity != member.ethnicity
        ):
            person.name = member.name
            person.ethnicity = member.ethnicity or person.ethnicity
            person.updated_at = now
            changed.append(person)
    update_rows(Person, changed, ["name", "ethnicity", "updated_at"])
    return ids


def _household_values(parsed: RosterHousehold) -> dict[str, Any]:
    return {
        "area_id": parsed.area_id,
        "programme": parsed.programme,
        "classification": parsed.classification,
        "per_capita_income_monthly": parsed.per_capita_income_monthly,
        "monthly_amount": parsed.monthly_amount,
        "payment_start_month": parsed.start_month,
        "bank_name": parsed.bank_name,
    }


HOUSEHOLD_FIELDS = (
    "area_id",
    "programme",
    "classification",
    "per_capita_income_monthly",
    "monthly_amount",
    "payment_start_month",
    "bank_name",
)


def _protected_differs(household: Household, parsed: RosterHousehold) -> dict[str, str]:
    """New ciphertexts for the bank account and phone where they changed (else nothing)."""
    changes: dict[str, str] = {}
    account = parsed.bank_account
    account_hash = account.digest if account else ""
    if household.bank_account_hash != account_hash:
        changes["bank_account_hash"] = account_hash
        changes["bank_account_ciphertext"] = account.token if account else ""
    old_phone = decrypt(household.phone_ciphertext) if household.phone_ciphertext else ""
    new_phone = decrypt(parsed.phone.token) if parsed.phone else ""
    if old_phone != new_phone:
        changes["phone_ciphertext"] = parsed.phone.token if parsed.phone else ""
    return changes


def _new_household(county: Area, parsed: RosterHousehold, source_name: str) -> dict[str, Any]:
    """A new household's row (field attnames; ``staging.insert_rows`` fills the defaults)."""
    account, phone = parsed.bank_account, parsed.phone
    return {
        "county_id": county.pk,
        "number": parsed.number,
        "status": HouseholdStatus.IN_PAYMENT,
        "migrated_from": source_name[:200],
        **_household_values(parsed),
        "bank_account_ciphertext": account.token if account else "",
        "bank_account_hash": account.digest if account else "",
        "phone_ciphertext": phone.token if phone else "",
    }


def _member(household_id: int, person_id: int, member: RosterMember) -> dict[str, Any]:
    return {
        "household_id": household_id,
        "person_id": person_id,
        "relation": member.relation,
        "is_covered": member.is_covered,
        "labour_capacity": member.labour_capacity,
        "health": member.health,
        "disability_grade": member.disability_grade,
        "in_payment": True,
    }


def _period(household_id: int, parsed: RosterHousehold, actor: Any) -> dict[str, Any]:
    """What ``benefit_start`` stores for a household entering payment."""
    return {
        "household_id": household_id,
        "start_month": parsed.start_month,
        "monthly_amount": parsed.monthly_amount,
        "covered_persons": parsed.covered_persons,
        "kind": BenefitKind.NORMAL,
        "reason": MIGRATED_REASON,
        "created_by_id": actor.pk if getattr(actor, "pk", None) else None,
    }


@dataclass(frozen=True)
class _ChunkCounts:
    created: int
    updated: int
    unchanged: int
    joined: list[int]  # persons who became members of a household
    # (first row, 户编号) of the first ``KEYS_KEPT`` households of each outcome, in file order
    created_keys: list[tuple[int, str]]
    updated_keys: list[tuple[int, str]]
    unchanged_keys: list[tuple[int, str]]


class _Tally:
    """The counts of an apply's chunks added up: households created, updated and unchanged, the
    persons who joined a household, and (first row, 户编号) of the first ``KEYS_KEPT`` households
    of each outcome, in file order."""

    def __init__(self) -> None:
        self.created = self.updated = self.unchanged = 0
        self.joined = array("q")
        self.keys: dict[str, list[tuple[int, str]]] = {
            "created": [],
            "updated": [],
            "unchanged": [],
        }

    def add(self, counts: _ChunkCounts) -> None:
        self.created += counts.created
        self.updated += counts.updated
        self.unchanged += counts.unchanged
        self.joined.extend(counts.joined)
        for name, first in self.keys.items():
            first.extend(getattr(counts, f"{name}_keys")[: KEYS_KEPT - len(first)])

    def finish(self, options: ImportOptions) -> Counts:
        """Tell the hooks who joined (not on a dry run) and give the totals."""
        if self.joined and not options.dry_run:
            _persons_joined(self.joined)
        return Counts(
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            created_keys=tuple(number for _row, number in self.keys["created"]),
            updated_keys=tuple(number for _row, number in self.keys["updated"]),
            unchanged_keys=tuple(number for _row, number in self.keys["unchanged"]),
        )


def _apply_chunk(
    *, actor: Any, payload: list[RosterHousehold], county: Area, source_name: str
) -> _ChunkCounts:
    """Write some valid households, set-based (the caller holds the transaction and writes the
    audit row). Each household is created, updated or left unchanged as a whole: a household
    whose values, members and open benefit period all match the file is ``unchanged`` and not
    written. Statements per call: a fixed number, whatever the number of households."""
    now = timezone.now()
    today = timezone.localdate()
    person_ids = _persons_upsert([m for h in payload for m in h.members], now=now)
    numbers = [parsed.number for parsed in payload]
    stored: dict[str, Household] = {}
    for chunk in chunks(numbers, lookup_chunk()):
        for household in Household.objects.select_for_update(no_key=True).filter(
            value_in(Household, "number", chunk), county=county
        ):
            stored[household.number] = household
    stored_ids = [household.pk for household in stored.values()]
    members: dict[int, dict[int, HouseholdMember]] = defaultdict(dict)
    periods: dict[int, BenefitPeriod] = {}
    for chunk in chunks(stored_ids, lookup_chunk()):
        for member in HouseholdMember.objects.filter(value_in(HouseholdMember, "household", chunk)):
            members[member.household_id][member.person_id] = member
        for period in BenefitPeriod.objects.filter(
            value_in(BenefitPeriod, "household", chunk), end_month__isnull=True
        ):
            periods[period.household_id] = period

    new_households = [
        _new_household(county, parsed, source_name)
        for parsed in payload
        if parsed.number not in stored
    ]
    new_ids = dict(
        zip(
            (household["number"] for household in new_households),
            insert_rows(Household, new_households, with_ids=True),
            strict=True,
        )
    )

    member_inserts: list[dict[str, Any]] = []
    member_updates: list[HouseholdMember] = []
    period_inserts: list[dict[str, Any]] = []
    period_updates: list[BenefitPeriod] = []
    household_updates: list[Household] = []
    protected_updates: list[Household] = []
    updated = unchanged = 0
    keys: dict[str, list[tuple[int, str]]] = {"created": [], "updated": [], "unchanged": []}
    for parsed in payload:
        if parsed.number in new_ids:
            if len(keys["created"]) < KEYS_KEPT:
                keys["created"].append((parsed.rows[0], parsed.number))
            household_id = new_ids[parsed.number]
            member_inserts.extend(
                _member(household_id, person_ids[m.id_number_hash], m) for m in parsed.members
            )
            period_inserts.append(_period(household_id, parsed, actor))
            continue
        household = stored[parsed.number]
        changed = False
        values = _household_values(parsed)
        if any(getattr(household, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(household, name, value)
            changed = True
        protected = _protected_differs(household, parsed)
        if protected:
            for name, value in protected.items():
                setattr(household, name, value)
            changed = True
        if household.status not in PAYING_STATUSES:
            household.status = HouseholdStatus.IN_PAYMENT
            changed = True
        if changed:
            household.updated_at = now
            household_updates.append(household)
            if protected:
                protected_updates.append(household)
        current = members[household.pk]
        wanted = {person_ids[m.id_number_hash]: m for m in parsed.members}
        for person_id, wanted_member in wanted.items():
            member = current.get(person_id)
            if member is None:
                member_inserts.append(_member(household.pk, person_id, wanted_member))
                changed = True
                continue
            target = _member(household.pk, person_id, wanted_member)
            differs = any(getattr(member, f) != target[f] for f in MEMBER_FIELDS)
            if differs or not member.in_payment or member.left_at is not None:
                for name in MEMBER_FIELDS:
                    setattr(member, name, target[name])
                member.in_payment, member.left_at, member.left_reason = True, None, ""
                member.updated_at = now
                member_updates.append(member)
                changed = True
        for person_id, member in current.items():
            if person_id not in wanted and (member.in_payment or member.left_at is None):
                member.in_payment = False
                member.left_at = member.left_at or today
                member.left_reason = member.left_reason or f"{MIGRATED_REASON}时不在册"
                member.updated_at = now
                member_updates.append(member)
                changed = True
        period = periods.get(household.pk)
        target_period = _period(household.pk, parsed, actor)
        if period is None:
            period_inserts.append(target_period)
            changed = True
        elif (period.start_month, period.monthly_amount, period.covered_persons) != (
            parsed.start_month,
            parsed.monthly_amount,
            parsed.covered_persons,
        ):
            changed = True
            if period.start_month >= parsed.start_month:
                # Corrected in place, like a second decision for the same month.
                period.start_month = parsed.start_month
                period.monthly_amount = parsed.monthly_amount
                period.covered_persons = parsed.covered_persons
                period.updated_at = now
                period_updates.append(period)
            else:
                period.end_month = add_months(parsed.start_month, -1)
                period.updated_at = now
                period_updates.append(period)
                period_inserts.append(target_period)
        outcome = "updated" if changed else "unchanged"
        if len(keys[outcome]) < KEYS_KEPT:
            keys[outcome].append((parsed.rows[0], parsed.number))
        if changed:
            updated += 1
            if household not in household_updates:
                household.updated_at = now
                household_updates.append(household)
        else:
            unchanged += 1

    # Members leaving first: the partial unique index allows one paid household per person.
    update_rows(
        HouseholdMember,
        [m for m in member_updates if not m.in_payment],
        ["in_payment", "left_at", "left_reason", "updated_at"],
    )
    update_rows(
        HouseholdMember,
        [m for m in member_updates if m.in_payment],
        [*MEMBER_FIELDS, "in_payment", "left_at", "left_reason", "updated_at"],
    )
    insert_rows(HouseholdMember, member_inserts)
    update_rows(Household, household_updates, [*HOUSEHOLD_FIELDS, "status", "updated_at"])
    update_rows(
        Household,
        protected_updates,
        ["bank_account_hash", "bank_account_ciphertext", "phone_ciphertext"],
    )
    update_rows(
        BenefitPeriod,
        period_updates,
        ["start_month", "end_month", "monthly_amount", "covered_persons", "updated_at"],
    )
    insert_rows(BenefitPeriod, period_inserts)
    return _ChunkCounts(
        created=len(new_households),
        updated=updated,
        unchanged=unchanged,
        joined=[member["person_id"] for member in member_inserts],
        created_keys=sorted(keys["created"]),
        updated_keys=sorted(keys["updated"]),
        unchanged_keys=sorted(keys["unchanged"]),
    )


def _apply_clean(
    tables: dict[str, str],
    *,
    county: Area,
    actor: Any,
    source_name: str,
    joined: "array[int]",
) -> tuple[int, list[tuple[int, str]]]:
    """Write, set-based, the staged households that were never suspect (new to the county,
    valid as they stand): persons (the known ones' name and ethnicity updated), households,
    members and benefit periods, one ``INSERT … SELECT`` each. Returns the households created
    and (first row, 户编号) of the first ``KEYS_KEPT`` of them in file order; adds to ``joined``
    the persons who became members (only when a hook wants them)."""
    rows, suspects = tables["rows"], tables["suspects"]
    person, household = tables["person"], tables["household"]
    # Table names come from the models and the run; every value is a parameter.
    clean = f"NOT EXISTS (SELECT 1 FROM {suspects} x WHERE x.household = s.household)"  # noqa: S608  # nosec B608 - table names are ours, values are parameters
    insert_select(
        Person,
        {
            "id_number_hash": ("s.id_hash", []),
            "id_number_ciphertext": ("s.id_token", []),
            "name": ("s.name", []),
            "sex": ("s.sex", []),
            "birth_date": ("s.birth_date", []),
            "ethnicity": ("s.ethnicity", []),
        },
        f"FROM {rows} s WHERE {clean}",
        suffix=(
            "ON CONFLICT (id_number_hash) DO UPDATE SET name = excluded.name, "  # nosec B608 - table names are ours, values are parameters
            f"ethnicity = CASE WHEN excluded.ethnicity <> '' THEN excluded.ethnicity "
            f"ELSE {person}.ethnicity END, updated_at = excluded.updated_at "
            f"WHERE {person}.name <> excluded.name "
            f"OR (excluded.ethnicity <> '' AND {person}.ethnicity <> excluded.ethnicity)"
        ),
    )
    created, _ids = insert_select(
        Household,
        {
            "area_id": ("MAX(s.area_id)", []),
            "county_id": ("%s", [county.pk]),
            "programme": ("COALESCE(MAX(s.programme), %s)", [Programme.DIBAO]),
            "number": ("s.household", []),
            "status": ("%s", [HouseholdStatus.IN_PAYMENT]),
            "classification": ("COALESCE(MAX(s.classification), '')", []),
            "monthly_amount": ("MAX(s.amount)", []),
            "per_capita_income_monthly": ("MAX(s.income)", []),
            "payment_start_month": ("MAX(s.start_month)", []),
            "bank_name": ("COALESCE(MAX(s.bank_name), '')", []),
            "bank_account_ciphertext": ("COALESCE(MAX(s.bank_token), '')", []),
            "bank_account_hash": ("COALESCE(MAX(s.bank_hash), '')", []),
            "phone_ciphertext": ("COALESCE(MAX(s.phone_token), '')", []),
            "migrated_from": ("%s", [source_name[:200]]),
        },
        f"FROM {rows} s WHERE {clean} GROUP BY s.household",
    )
    _count, person_ids = insert_select(
        HouseholdMember,
        {
            "household_id": ("h.id", []),
            "person_id": ("p.id", []),
            "relation": ("s.relation", []),
            "is_covered": ("s.covered", []),
            "labour_capacity": ("s.labour", []),
            "health": ("s.health", []),
            "disability_grade": ("s.grade", []),
            "in_payment": ("%s", [True]),
        },
        f"FROM {rows} s JOIN {household} h ON h.county_id = %s AND h.number = s.household "
        f"JOIN {person} p ON p.id_number_hash = s.id_hash WHERE {clean}",
        [county.pk],
        returning="person_id" if AFTER_PERSONS_JOINED else "",
    )
    joined.extend(person_id for (person_id,) in person_ids)
    insert_select(
        BenefitPeriod,
        {
            "household_id": ("h.id", []),
            "start_month": ("g.start_month", []),
            "monthly_amount": ("g.amount", []),
            "covered_persons": ("g.covered", []),
            "kind": ("%s", [BenefitKind.NORMAL]),
            "reason": ("%s", [MIGRATED_REASON]),
            "created_by_id": ("%s", [actor.pk if getattr(actor, "pk", None) else None]),
        },
        (
            "FROM (SELECT s.household, MAX(s.start_month) AS start_month, "  # noqa: S608  # nosec B608 - table names are ours, values are parameters
            "MAX(s.amount) AS amount, SUM(CASE WHEN s.covered THEN 1 ELSE 0 END) AS covered "
            f"FROM {rows} s WHERE {clean} GROUP BY s.household) g "
            f"JOIN {household} h ON h.county_id = %s AND h.number = g.household"
        ),
        [county.pk],
    )
    first: dict[str, int] = {}  # the first households, read row by row from the first row
    last, page = 0, KEYS_KEPT * 8
    while created and len(first) < KEYS_KEPT:
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT s.row_number, s.household FROM {rows} s "  # noqa: S608  # nosec B608 - table names are ours, values are parameters
                f"WHERE {clean} AND s.row_number > %s ORDER BY s.row_number LIMIT %s",
                [last, page],
            )
            records = cursor.fetchall()
        for row_number, number in records:
            if len(first) < KEYS_KEPT:
                first.setdefault(number, row_number)
        if len(records) < page:
            break
        last = records[-1][0]
    return created, [(row_number, number) for number, row_number in first.items()]


def _persons_joined(person_ids: Sequence[int]) -> None:
    """Tell the apps that link data kept for persons before lowbao knew them (disability
    records, verification reports): one call per import with every person who joined a
    household (``cases.hooks.AFTER_PERSONS_JOINED``), never one per person."""
    for hook in AFTER_PERSONS_JOINED:
        hook(person_ids)


def apply_roster(
    *,
    actor: Any,
    payload: list[RosterHousehold],
    county: Area | None,
    options: ImportOptions,
    source_name: str,
) -> Counts:
    """Write the valid households of an in-memory validation (``validate_roster``), in chunks of
    ``APPLY_HOUSEHOLDS``; the import pipeline streams them through ``RosterRun.apply``."""
    if county is None:
        raise ValueError("the dibao roster is imported for one county")
    tally = _Tally()
    for chunk in chunks(payload, APPLY_HOUSEHOLDS):
        tally.add(
            _apply_chunk(actor=actor, payload=list(chunk), county=county, source_name=source_name)
        )
    return tally.finish(options)


ROSTER_KIND = LedgerKind(
    code="dibao",
    label="低保/特困花名册",
    required_headers=REQUIRED_HEADERS,
    aliases=COLUMN_ALIASES,
    validate=validate_roster,
    apply=apply_roster,
    id_columns=frozenset({ID_NUMBER}),
    account_columns=frozenset({BANK_ACCOUNT}),
    stream=RosterRun,
)

__all__ = [
    "ROSTER_KIND",
    "RosterHousehold",
    "RosterMember",
    "RosterRun",
    "apply_roster",
    "validate_roster",
]
