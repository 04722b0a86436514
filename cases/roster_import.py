"""The ``dibao`` ledger: the 低保/特困 roster of one county (ledgers.md §2).

Validation reads every row and reports every problem (row, column, contracts.md code, Chinese
message) with all lookups preloaded: the county's townships and villages, areas named outside the
county, persons already in a paid household and the county's households with the file's numbers
each take one query (chunked per ``LOOKUP_CHUNK``), whatever the number of rows.

Apply is set-based, inside the pipeline's transaction: persons, households, members and benefit
periods are written with bulk statements. Households are matched by (county, 户编号); imported
households enter *in payment*, marked as migrated from the file. Re-importing the same roster
changes nothing (every household ``unchanged``). No per-person audit row: the pipeline writes one
audit row for the batch.
"""

import re
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

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
from lowbao.imports.kinds import Counts, ImportOptions, LedgerKind, Row, Validation, problem
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
BATCH_SIZE = 2000
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


@dataclass
class RosterMember:
    row: int
    id_number: str = field(repr=False)
    id_number_hash: str = field(repr=False)
    name: str
    sex: str
    birth_date: date
    relation: str
    ethnicity: str = ""
    is_covered: bool = True
    labour_capacity: str = ""
    health: str = ""
    disability_grade: int | None = None


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
    bank_account: str = field(repr=False)
    phone: str = field(repr=False)
    members: list[RosterMember]
    rows: list[int]

    @property
    def covered_persons(self) -> int:
        return sum(member.is_covered for member in self.members)


@dataclass
class _RowState:
    number: int
    household_number: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    area: Area | None = None
    area_column: str = ""
    area_pending: bool = False
    member: RosterMember | None = None
    relation: str = ""
    has_error: bool = False


def _show(header: str, value: object) -> str:
    if header == ID_NUMBER:
        return mask_id_number(normalise_text(value))
    if header == BANK_ACCOUNT:
        return mask_bank_account(normalise_text(value))
    return normalise_text(value)[:VALUE_DISPLAY_LENGTH]


def _parse_bank_account(value: object) -> str:
    text = normalise_text(value).replace(" ", "").replace("-", "")
    if not (text.isdigit() and 12 <= len(text) <= 19):
        raise CellError("bad_bank_account", "银行账号应为 12–19 位数字")
    return text


def _parse_phone(value: object) -> str:
    text = normalise_text(value).replace(" ", "")
    if not (_MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text)):
        raise CellError("bad_phone", "联系电话应为 11 位手机号或带区号的固定电话")
    return text


def _parse_text(value: object, *, label: str) -> str:
    text = normalise_text(value)
    limit = TEXT_LIMITS.get(label)
    if limit is not None and len(text) > limit:
        raise CellError("too_long", f"{label}不能超过{limit}个字")
    return text


HOUSEHOLD_PARSERS: dict[str, Any] = {
    PROGRAMME: partial(parse_choice, label=PROGRAMME, aliases=PROGRAMME_ALIASES),
    CLASSIFICATION: partial(_parse_text, label=CLASSIFICATION),
    INCOME: partial(parse_money, label=INCOME),
    AMOUNT: partial(parse_money, label=AMOUNT),
    START_MONTH: partial(parse_month, label=START_MONTH),
    BANK_NAME: partial(_parse_text, label=BANK_NAME),
    BANK_ACCOUNT: _parse_bank_account,
    PHONE: _parse_phone,
}


# --- validation ------------------------------------------------------------------------------


class _RosterValidator:
    def __init__(self, *, county: Area, today: date) -> None:
        self.county = county
        self.today = today
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.pending_codes: list[tuple[_RowState, str]] = []
        self.pending_names: list[tuple[_RowState, str, str]] = []
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

    def error(self, row: _RowState | None, header: str, value: object, code: str, msg: str) -> None:
        if row is not None:
            row.has_error = True
        self.errors.append(
            problem(row.number if row else None, header, _show(header, value), code, msg)
        )

    def warn(self, row: _RowState, header: str, value: object, code: str, msg: str) -> None:
        self.warnings.append(problem(row.number, header, _show(header, value), code, msg))

    def parse(self, row: _RowState, cells: dict[str, Any], header: str, parser: Any) -> Any:
        try:
            return parser(cells.get(header))
        except CellError as exc:
            self.error(row, header, cells.get(header), exc.code, exc.message)
            return None

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
        for header in HOUSEHOLD_COLUMNS:
            if not is_given(cells.get(header)):
                continue
            row.texts[header] = normalise_text(cells.get(header))
            before = len(self.errors)
            value = self.parse(row, cells, header, HOUSEHOLD_PARSERS[header])
            if len(self.errors) == before:
                row.values[header] = value

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
            if not is_given(raw_id):
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

        def choice(header: str, aliases: dict[str, str], *, required: bool = False) -> str:
            parser = partial(parse_choice, label=header, aliases=aliases, required=required)
            return self.parse(row, cells, header, parser) or ""

        relation = choice(RELATION, RELATION_ALIASES, required=True)
        row.relation = relation
        ethnicity = choice(ETHNICITY, ETHNICITY_ALIASES)
        covered = self.parse(
            row, cells, COVERED, partial(parse_yes_no, label=COVERED, default=True)
        )
        labour = choice(LABOUR_CAPACITY, LABOUR_ALIASES)
        health = choice(HEALTH, HEALTH_ALIASES)
        grade = self.parse(
            row, cells, DISABILITY_GRADE, partial(parse_grade, label=DISABILITY_GRADE)
        )
        if parsed is not None and name and relation:
            row.member = RosterMember(
                row=row.number,
                id_number=parsed.value,
                id_number_hash=id_number_blind_index(parsed.value),
                name=name,
                sex=parsed.sex,
                birth_date=parsed.birth_date,
                relation=relation,
                ethnicity=ethnicity,
                is_covered=covered is not False,
                labour_capacity=labour,
                health=health,
                disability_grade=grade,
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
                row.area_pending = True
                self.pending_codes.append((row, code))
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
                row.area_pending = True
                self.pending_names.append((row, township, village))
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
                row.area_pending = True
                self.pending_names.append((row, "", village))
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

    def finish_areas(self) -> None:
        """Codes and names not found in the county: elsewhere (out of scope) or nowhere."""
        if self.pending_codes:
            codes = sorted({code for _row, code in self.pending_codes})
            found = {
                area.code: area
                for chunk in chunks(codes, LOOKUP_CHUNK)
                for area in Area.objects.filter(code__in=chunk)
            }
            for row, code in self.pending_codes:
                area = found.get(code)
                if area is None:
                    self.error(row, VILLAGE_CODE, code, "area_unknown", f"嘎查村代码{code}不存在")
                else:
                    message = f"{code}（{area.name}）不在{self.county.name}，不能导入本旗县的台账"
                    self.error(row, VILLAGE_CODE, code, "area_out_of_scope", message)
        if self.pending_names:
            names = sorted({n for _r, t, v in self.pending_names for n in (t, v)} - {""})
            elsewhere: dict[str, list[Area]] = defaultdict(list)
            for chunk in chunks(names, LOOKUP_CHUNK):
                queryset = Area.objects.filter(
                    level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE], name__in=chunk
                ).exclude(path__startswith=self.county.path)
                for area in queryset:
                    elsewhere[area_name_key(area.name)].append(area)
            for row, township, village in self.pending_names:
                header, name = (TOWNSHIP, township) if township else (VILLAGE, village)
                level = AreaLevel.TOWNSHIP if township else AreaLevel.VILLAGE
                if any(a.level == level for a in elsewhere.get(area_name_key(name), [])):
                    label = "苏木乡镇" if township else "嘎查村"
                    message = f"{label}“{name}”不在{self.county.name}，不能导入本旗县的台账"
                    self.error(row, header, name, "area_out_of_scope", message)
                else:
                    pool = self.townships if township else self.villages
                    suggestion = suggest_names(name, (areas[0].name for areas in pool.values()))
                    label = "苏木乡镇" if township else "嘎查村"
                    message = f"{label}“{name}”在{self.county.name}不存在{suggestion}"
                    self.error(row, header, name, "area_unknown", message)

    # -- persons --

    def check_duplicates(self, rows: list[_RowState]) -> None:
        first: dict[str, _RowState] = {}
        for row in rows:
            if row.member is None:
                continue
            seen = first.setdefault(row.member.id_number_hash, row)
            if seen is not row:
                where = (
                    ""
                    if seen.household_number == row.household_number
                    else f"（户编号{seen.household_number}），一人只能在一个保障户中"
                )
                message = f"与第{seen.number}行是同一人（身份证号重复）{where}"
                self.error(row, ID_NUMBER, row.member.id_number, "duplicate_in_file", message)

    def check_other_households(self, rows: list[_RowState]) -> None:
        """A person is in at most one paid dibao/特困 household (any county)."""
        by_hash: dict[str, list[_RowState]] = defaultdict(list)
        for row in rows:
            if row.member is not None:
                by_hash[row.member.id_number_hash].append(row)
        for chunk in chunks(sorted(by_hash), LOOKUP_CHUNK):
            paid = HouseholdMember.objects.filter(
                in_payment=True, person__id_number_hash__in=chunk
            ).values_list(
                "person__id_number_hash",
                "household__county_id",
                "household__number",
                "household__county__name",
            )
            for person_hash, county_id, number, county_name in paid:
                for row in by_hash[person_hash]:
                    if county_id == self.county.pk and number == row.household_number:
                        continue  # the same household imported again
                    message = (
                        f"该人员已在{county_name}保障户{number}中享受保障，一人只能在一个保障户中"
                    )
                    self.error(
                        row,
                        ID_NUMBER,
                        row.member.id_number if row.member else "",
                        "duplicate_in_other_household",
                        message,
                    )

    # -- households --

    def check_existing(self, groups: dict[str, list[_RowState]]) -> set[str]:
        """The county's households with these numbers; one that is not paid cannot be revived."""
        known: set[str] = set()
        for chunk in chunks(sorted(groups), LOOKUP_CHUNK):
            for number, status in Household.objects.filter(
                county=self.county, number__in=chunk
            ).values_list("number", "status"):
                known.add(number)
                if status not in PAYING_STATUSES:
                    label = HouseholdStatus(status).label
                    message = (
                        f"户编号{number}的保障户当前状态为“{label}”，不能通过花名册导入恢复保障，"
                        "请按程序办理"
                    )
                    self.error(
                        groups[number][0], HOUSEHOLD_NUMBER, number, "household_conflict", message
                    )
        return known

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


def _looks_numeric(value: object) -> bool:
    text = normalise_text(value).upper().replace("E+", "").replace(".", "")
    return text.isdigit()


def _sort_key(item: dict[str, Any]) -> tuple[int, int, int]:
    row = item["row"]
    return (0 if row is None else 1, row or 0, COLUMN_ORDER.get(item["column"] or "", 99))


def validate_roster(rows: Sequence[Row], county: Area | None, options: ImportOptions) -> Validation:
    """Validate the roster rows of ``county`` (ledgers.md §1–§2); never writes."""
    if county is None:
        raise ValueError("the dibao roster is imported for one county")
    validator = _RosterValidator(county=county, today=timezone.localdate())
    states: list[_RowState] = []
    for source in rows:
        state = _RowState(source.number)
        validator.read_row(state, source)
        states.append(state)
    validator.finish_areas()
    validator.check_duplicates(states)
    validator.check_other_households(states)
    groups: dict[str, list[_RowState]] = defaultdict(list)
    for state in states:
        if state.household_number:
            groups[state.household_number].append(state)
    known = validator.check_existing(groups)
    for number, group in groups.items():
        validator.check_household(number, group)
    households, skipped = [], 0
    for number, group in groups.items():
        if any(state.has_error for state in group):
            skipped += 1
        else:
            households.append(validator.household(number, group))
    # Rows without a 户编号 cannot be placed in a household; they count as their own.
    skipped += sum(1 for state in states if not state.household_number)
    return Validation(
        rows=len(states),
        households=len(groups) + sum(1 for state in states if not state.household_number),
        persons=len(states),
        errors=sorted(validator.errors, key=_sort_key),
        warnings=sorted(validator.warnings, key=_sort_key),
        payload=households,
        units=len(households),
        skipped=skipped,
        row_keys={state.number: state.household_number for state in states},
        matched_rows={s.number for n in known for s in groups.get(n, [])},
    )


# --- apply -----------------------------------------------------------------------------------

MEMBER_FIELDS = ("relation", "is_covered", "labour_capacity", "health", "disability_grade")


def _persons_upsert(members: list[RosterMember], *, now: Any) -> dict[str, int]:
    """Create missing persons, update names and ethnicity of known ones (bulk, no audit row)."""
    by_hash = {member.id_number_hash: member for member in members}
    hashes = sorted(by_hash)
    existing: dict[str, Person] = {}
    for chunk in chunks(hashes, LOOKUP_CHUNK):
        for person in Person.objects.filter(id_number_hash__in=chunk).only(
            "id", "id_number_hash", "name", "ethnicity"
        ):
            existing[person.id_number_hash] = person
    missing = [person_hash for person_hash in hashes if person_hash not in existing]
    created = Person.objects.bulk_create(
        [
            Person(
                id_number_hash=person_hash,
                id_number_ciphertext=encrypt(by_hash[person_hash].id_number),
                name=by_hash[person_hash].name,
                sex=by_hash[person_hash].sex,
                birth_date=by_hash[person_hash].birth_date,
                ethnicity=by_hash[person_hash].ethnicity,
            )
            for person_hash in missing
        ],
        batch_size=BATCH_SIZE,
    )
    ids = {person_hash: person.pk for person_hash, person in existing.items()}
    ids.update({person.id_number_hash: person.pk for person in created})
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
    Person.objects.bulk_update(changed, ["name", "ethnicity", "updated_at"], batch_size=500)
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
    account_hash = (
        blind_index(parsed.bank_account, purpose=PURPOSE_BANK_ACCOUNT)
        if parsed.bank_account
        else ""
    )
    if household.bank_account_hash != account_hash:
        changes["bank_account_hash"] = account_hash
        changes["bank_account_ciphertext"] = (
            encrypt(parsed.bank_account) if parsed.bank_account else ""
        )
    old_phone = decrypt(household.phone_ciphertext) if household.phone_ciphertext else ""
    if old_phone != parsed.phone:
        changes["phone_ciphertext"] = encrypt(parsed.phone) if parsed.phone else ""
    return changes


def _new_household(county: Area, parsed: RosterHousehold, source_name: str) -> Household:
    household = Household(
        county=county,
        number=parsed.number,
        status=HouseholdStatus.IN_PAYMENT,
        migrated_from=source_name[:200],
        **_household_values(parsed),
    )
    if parsed.bank_account:
        household.bank_account_ciphertext = encrypt(parsed.bank_account)
        household.bank_account_hash = blind_index(parsed.bank_account, purpose=PURPOSE_BANK_ACCOUNT)
    if parsed.phone:
        household.phone_ciphertext = encrypt(parsed.phone)
    return household


def _member(household_id: int, person_id: int, member: RosterMember) -> HouseholdMember:
    return HouseholdMember(
        household_id=household_id,
        person_id=person_id,
        relation=member.relation,
        is_covered=member.is_covered,
        labour_capacity=member.labour_capacity,
        health=member.health,
        disability_grade=member.disability_grade,
        in_payment=True,
    )


def _period(household_id: int, parsed: RosterHousehold, actor: Any) -> BenefitPeriod:
    """What ``benefit_start`` stores for a household entering payment."""
    return BenefitPeriod(
        household_id=household_id,
        start_month=parsed.start_month,
        monthly_amount=parsed.monthly_amount,
        covered_persons=parsed.covered_persons,
        kind=BenefitKind.NORMAL,
        reason=MIGRATED_REASON,
        created_by=actor if getattr(actor, "pk", None) else None,
    )


def apply_roster(
    *,
    actor: Any,
    payload: list[RosterHousehold],
    county: Area | None,
    options: ImportOptions,
    source_name: str,
) -> Counts:
    """Write the valid households (the pipeline holds the transaction and writes the audit row).

    Each household is created, updated or left unchanged as a whole: a household whose values,
    members and open benefit period all match the file is ``unchanged`` and not written.
    """
    assert county is not None  # noqa: S101 - validate_roster refuses a missing county
    now = timezone.now()
    today = timezone.localdate()
    person_ids = _persons_upsert([m for h in payload for m in h.members], now=now)
    numbers = [parsed.number for parsed in payload]
    stored: dict[str, Household] = {}
    for chunk in chunks(numbers, LOOKUP_CHUNK):
        for household in Household.objects.select_for_update(no_key=True).filter(
            county=county, number__in=chunk
        ):
            stored[household.number] = household
    stored_ids = [household.pk for household in stored.values()]
    members: dict[int, dict[int, HouseholdMember]] = defaultdict(dict)
    periods: dict[int, BenefitPeriod] = {}
    for chunk in chunks(stored_ids, LOOKUP_CHUNK):
        for member in HouseholdMember.objects.filter(household_id__in=chunk):
            members[member.household_id][member.person_id] = member
        for period in BenefitPeriod.objects.filter(household_id__in=chunk, end_month__isnull=True):
            periods[period.household_id] = period

    new_households = [
        _new_household(county, parsed, source_name)
        for parsed in payload
        if parsed.number not in stored
    ]
    Household.objects.bulk_create(new_households, batch_size=BATCH_SIZE)
    new_ids = {household.number: household.pk for household in new_households}

    member_inserts: list[HouseholdMember] = []
    member_updates: list[HouseholdMember] = []
    period_inserts: list[BenefitPeriod] = []
    period_updates: list[BenefitPeriod] = []
    household_updates: list[Household] = []
    protected_updates: list[Household] = []
    updated = unchanged = 0
    for parsed in payload:
        if parsed.number in new_ids:
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
            differs = any(getattr(member, f) != getattr(target, f) for f in MEMBER_FIELDS)
            if differs or not member.in_payment or member.left_at is not None:
                for name in MEMBER_FIELDS:
                    setattr(member, name, getattr(target, name))
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
        if changed:
            updated += 1
            if household not in household_updates:
                household.updated_at = now
                household_updates.append(household)
        else:
            unchanged += 1

    # Members leaving first: the partial unique index allows one paid household per person.
    HouseholdMember.objects.bulk_update(
        [m for m in member_updates if not m.in_payment],
        ["in_payment", "left_at", "left_reason", "updated_at"],
        batch_size=500,
    )
    HouseholdMember.objects.bulk_update(
        [m for m in member_updates if m.in_payment],
        [*MEMBER_FIELDS, "in_payment", "left_at", "left_reason", "updated_at"],
        batch_size=500,
    )
    HouseholdMember.objects.bulk_create(member_inserts, batch_size=BATCH_SIZE)
    Household.objects.bulk_update(
        household_updates, [*HOUSEHOLD_FIELDS, "status", "updated_at"], batch_size=500
    )
    Household.objects.bulk_update(
        protected_updates,
        ["bank_account_hash", "bank_account_ciphertext", "phone_ciphertext"],
        batch_size=500,
    )
    BenefitPeriod.objects.bulk_update(
        period_updates,
        ["start_month", "end_month", "monthly_amount", "covered_persons", "updated_at"],
        batch_size=500,
    )
    BenefitPeriod.objects.bulk_create(period_inserts, batch_size=BATCH_SIZE)
    return Counts(created=len(new_households), updated=updated, unchanged=unchanged)


ROSTER_KIND = LedgerKind(
    code="dibao",
    label="低保/特困花名册",
    required_headers=REQUIRED_HEADERS,
    aliases=COLUMN_ALIASES,
    validate=validate_roster,
    apply=apply_roster,
    id_columns=frozenset({ID_NUMBER}),
    account_columns=frozenset({BANK_ACCOUNT}),
)

__all__ = ["ROSTER_KIND", "RosterHousehold", "RosterMember", "apply_roster", "validate_roster"]
