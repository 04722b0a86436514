"""Validation of 建档立卡 registry rows (ledgers.md §1 and §3), shared by the data-exchange API
and the Excel ledger import.

``validate_registry_rows`` takes person rows keyed by ledger headers (any spelling or alias of
ledgers.md §3), reads *all* of them and reports *every* problem with its row, column, masked
value, contracts.md code and a Chinese message. Rows with the same ``户编号`` form one household.

It never writes, and it knows nothing of HTTP. Lookups are preloaded: the county's townships and
villages in one query, plus at most one query each for codes or names found outside the county
and for persons already in another county's registry (chunked per ``LOOKUP_CHUNK`` persons), so
the number of queries does not grow with the number of rows.
"""

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from django.utils import timezone

from cases.choices import HEALTH_ALIASES, RELATION_ALIASES, LabourCapacity, Relation, SchoolStatus
from lowbao.areas.models import Area, AreaLevel
from lowbao.imports.area_names import (
    area_name_key,
    chunks,
    suggest_names,
    village_name_key,
)
from lowbao.imports.cells import (
    CellError,
    is_given,
    normalise_header,
    normalise_text,
    parse_choice,
    parse_int,
    parse_money,
)
from lowbao.people.choices import Ethnicity
from lowbao.people.id_numbers import IdNumberError, parse_id_number
from lowbao.people.masking import mask_id_number
from lowbao.people.protection import id_number_blind_index
from poverty.choices import (
    ATTRIBUTE_ALIASES,
    POVERTY_STATUS_ALIASES,
    PovertyCause,
    WorkStatus,
)
from poverty.models import RegistryMember

# Persons per ``IN (…)`` lookup: keeps SQLite and PostgreSQL under their parameter limits while a
# county's whole registry (tens of thousands of persons) still takes a handful of queries.
LOOKUP_CHUNK = 5000
VALUE_DISPLAY_LENGTH = 60


# --- columns -------------------------------------------------------------------------------

HOUSEHOLD_NUMBER = "户编号"
PERSON_NUMBER = "人编号"
TOWNSHIP = "苏木乡镇"
VILLAGE = "嘎查村"
VILLAGE_CODE = "嘎查村代码"
NAME = "姓名"
ID_NUMBER = "证件号码"
RELATION = "与户主关系"
ETHNICITY = "民族"
EDUCATION = "文化程度"
SCHOOL_STATUS = "在校生状况"
HEALTH = "健康状况"
WORK_STATUS = "务工状况"
LABOUR_CAPACITY = "劳动能力"
WORK_MONTHS = "务工时间"
DISABILITY_CERTIFICATE = "残疾证号"
ATTRIBUTE = "贫困户属性"
MAIN_CAUSE = "主要致贫原因"
OTHER_CAUSES = "其他致贫原因"
POVERTY_STATUS = "脱贫状态"
EXIT_YEAR = "脱贫年度"
IDENTIFIED_YEAR = "识别年度"
INCOME = "家庭年人均纯收入"
DIBAO_AMOUNT = "享受低保金额"
HELPER = "帮扶责任人"
HELPER_UNIT = "帮扶单位"

# Canonical header → accepted aliases (ledgers.md §3). 其他致贫原因, 帮扶单位 and 残疾证号 are not
# in the ledger table, but the registry export has them and lowbao stores them, so they are read.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    HOUSEHOLD_NUMBER: (),
    PERSON_NUMBER: (),
    TOWNSHIP: (),
    VILLAGE: ("嘎查村委会", "村"),
    VILLAGE_CODE: ("区划代码",),
    NAME: (),
    ID_NUMBER: ("身份证号", "身份证号码"),
    RELATION: (),
    ETHNICITY: (),
    EDUCATION: (),
    SCHOOL_STATUS: (),
    HEALTH: (),
    WORK_STATUS: (),
    LABOUR_CAPACITY: ("劳动技能",),
    WORK_MONTHS: (),
    DISABILITY_CERTIFICATE: (),
    ATTRIBUTE: (),
    MAIN_CAUSE: (),
    OTHER_CAUSES: (),
    POVERTY_STATUS: ("脱贫属性",),
    EXIT_YEAR: (),
    IDENTIFIED_YEAR: (),
    INCOME: ("人均纯收入",),
    DIBAO_AMOUNT: (),
    HELPER: (),
    HELPER_UNIT: (),
}
COLUMN_ORDER = {header: index for index, header in enumerate(COLUMN_ALIASES)}
HOUSEHOLD_COLUMNS = (
    ATTRIBUTE,
    MAIN_CAUSE,
    OTHER_CAUSES,
    POVERTY_STATUS,
    EXIT_YEAR,
    IDENTIFIED_YEAR,
    INCOME,
    DIBAO_AMOUNT,
    HELPER,
    HELPER_UNIT,
)
REQUIRED_HOUSEHOLD_COLUMNS = (ATTRIBUTE, MAIN_CAUSE, POVERTY_STATUS, INCOME)
TEXT_LIMITS = {
    HOUSEHOLD_NUMBER: 40,
    PERSON_NUMBER: 40,
    NAME: 50,
    EDUCATION: 20,
    DISABILITY_CERTIFICATE: 24,
    HELPER: 50,
    HELPER_UNIT: 100,
}
_HEADER_INDEX: dict[str, str] = {
    normalise_header(spelling): header
    for header, aliases in COLUMN_ALIASES.items()
    for spelling in (header, *aliases)
}
_UNIT_SUFFIX = re.compile(r"\((?:元|元/人|元/月|元/人·年|月|个月|年)\)$")
_TOTALS = ("合计", "总计", "小计")
_CAUSE_SEPARATORS = re.compile(r"[、,，;；/\s]+")
_YEAR_WITH_SUFFIX = re.compile(r"(\d{4})\s*年度?")
_AREA_CODE = re.compile(r"\d{12}")

# --- enumerations ----------------------------------------------------------------------------


def _labels(choices: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {label: value for value, label in choices}


ETHNICITY_ALIASES = {
    **_labels(Ethnicity.choices),
    **{label[:-1]: value for value, label in Ethnicity.choices if label.endswith("族")},
}
SCHOOL_STATUS_ALIASES = {
    **_labels(SchoolStatus.choices),
    "非在校": SchoolStatus.NOT_IN_SCHOOL,
    "学前": SchoolStatus.PRESCHOOL,
    "学龄前": SchoolStatus.PRESCHOOL,
    "幼儿园": SchoolStatus.PRESCHOOL,
    "7~9年级": SchoolStatus.JUNIOR,
    "7–9年级": SchoolStatus.JUNIOR,
    "7—9年级": SchoolStatus.JUNIOR,
    "初中": SchoolStatus.JUNIOR,
    "高中": SchoolStatus.SENIOR,
    "中职": SchoolStatus.VOCATIONAL,
    "高职": SchoolStatus.HIGHER_VOCATIONAL,
    "大专": SchoolStatus.COLLEGE,
    "本科": SchoolStatus.COLLEGE,
    "本科及以上": SchoolStatus.COLLEGE,
}
LABOUR_ALIASES = {
    **_labels(LabourCapacity.choices),
    "丧失劳动能力": LabourCapacity.LOST,
    "无劳动能力": LabourCapacity.NONE,
}
WORK_STATUS_ALIASES = _labels(WorkStatus.choices)
CAUSE_ALIASES = {
    **_labels(PovertyCause.choices),
    **{f"{label}致贫": value for value, label in PovertyCause.choices},
}


# --- results ---------------------------------------------------------------------------------


@dataclass
class ParsedMember:
    """One person row, parsed. ``id_number`` is the normalised 18 characters (kept out of repr)."""

    row: int
    id_number: str = field(repr=False)
    id_number_hash: str = field(repr=False)
    name: str
    relation: str
    birth_date: date
    sex: str
    person_number: str = ""
    ethnicity: str = ""
    education: str = ""
    school_status: str = ""
    health: str = ""
    labour_capacity: str = ""
    work_status: str = ""
    work_months: int | None = None
    disability_certificate: str = ""


@dataclass
class ParsedHousehold:
    """One registry household: its household-level values and its members, in file order."""

    number: str
    area: Area
    attribute: str
    main_cause: str
    poverty_status: str
    annual_income_per_capita: Decimal
    members: list[ParsedMember]
    rows: list[int]
    other_causes: list[str] = field(default_factory=list)
    exit_year: int | None = None
    identified_year: int | None = None
    dibao_amount_recorded: Decimal | None = None
    helper_name: str = ""
    helper_unit: str = ""

    @property
    def head(self) -> ParsedMember:
        return next(member for member in self.members if member.relation == Relation.HEAD)


@dataclass
class RegistryValidation:
    """What validation found. ``households`` holds the households without any error (all of them
    when ``is_valid``); ``invalid_households`` the numbers of those left out, for "skip invalid"
    imports. ``errors``/``warnings`` are dicts ``{"row", "column", "value", "code", "message"}``.
    """

    households: list[ParsedHousehold]
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    rows: int
    invalid_households: list[str] = field(default_factory=list)

    @property
    def is_valid(self) -> bool:
        return not self.errors

    @property
    def persons(self) -> int:
        return sum(len(household.members) for household in self.households)


# --- the validator ---------------------------------------------------------------------------


@dataclass
class _Row:
    number: int
    household_number: str = ""
    # household-level values given on this row and parsed without error: header → value
    values: dict[str, object] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)  # the same cells as typed (normalised)
    given: set[str] = field(default_factory=set)
    area: Area | None = None
    area_column: str = ""
    area_pending: bool = False
    member: ParsedMember | None = None
    relation: str = ""
    has_error: bool = False


class _Validator:
    def __init__(self, *, county: Area, today: date) -> None:
        self.county = county
        self.today = today
        self.errors: list[dict[str, Any]] = []
        self.warnings: list[dict[str, Any]] = []
        self.headers: dict[str, str] = {}  # canonical → as spelled in the input
        self.unknown_columns: dict[str, None] = {}
        self._load_areas()

    # -- reporting --

    def column(self, header: str) -> str:
        return self.headers.get(header, header)

    def error(self, row: _Row | None, header: str, value: object, code: str, message: str) -> None:
        if row is not None:
            row.has_error = True
        self.errors.append(self._problem(row, header, value, code, message))

    def warn(self, row: _Row | None, header: str, value: object, code: str, message: str) -> None:
        self.warnings.append(self._problem(row, header, value, code, message))

    def _problem(
        self, row: _Row | None, header: str, value: object, code: str, message: str
    ) -> dict[str, Any]:
        if header == ID_NUMBER:
            shown = mask_id_number(normalise_text(value))
        else:
            shown = normalise_text(value)[:VALUE_DISPLAY_LENGTH]
        return {
            "row": row.number if row is not None else None,
            "column": self.column(header) if header else None,
            "value": shown,
            "code": code,
            "message": message,
        }

    # -- areas --

    def _load_areas(self) -> None:
        """The county's townships and villages, once (one query)."""
        areas = list(
            Area.objects.filter(
                path__startswith=self.county.path,
                level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE],
            ).order_by("code")
        )
        self.areas_by_code = {area.code: area for area in areas}
        self.areas_by_id = {area.pk: area for area in areas}
        self.townships_by_name: dict[str, list[Area]] = defaultdict(list)
        self.villages_by_name: dict[str, list[Area]] = defaultdict(list)
        self.villages_by_township: dict[int, dict[str, list[Area]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for area in areas:
            if area.level == AreaLevel.TOWNSHIP:
                self.townships_by_name[area_name_key(area.name)].append(area)
        for area in areas:
            if area.level == AreaLevel.VILLAGE:
                key = village_name_key(area.name)
                self.villages_by_name[key].append(area)
                self.villages_by_township[area.parent_id][key].append(area)
        self.pending_codes: list[tuple[_Row, str]] = []
        self.pending_names: list[tuple[_Row, str, str]] = []

    def township_name(self, village: Area) -> str:
        township = self.areas_by_id.get(village.parent_id)
        return township.name if township else ""

    def resolve_area(self, row: _Row, cells: dict[str, object]) -> None:
        code_given = is_given(cells.get(VILLAGE_CODE))
        township_given = is_given(cells.get(TOWNSHIP))
        village_given = is_given(cells.get(VILLAGE))
        if not (code_given or township_given or village_given):
            return
        if code_given:
            # The statistical code is authoritative; names given alongside it are not checked.
            row.area_column = VILLAGE_CODE
            self._resolve_code(row, normalise_text(cells[VILLAGE_CODE]).replace(" ", ""))
            return
        row.area_column = VILLAGE
        if not village_given:
            row.area_column = TOWNSHIP
            self.error(row, VILLAGE, "", "required_missing", "填写苏木乡镇时嘎查村不能为空")
            return
        township = normalise_text(cells.get(TOWNSHIP)) if township_given else ""
        self._resolve_names(row, township, normalise_text(cells[VILLAGE]))

    def _resolve_code(self, row: _Row, code: str) -> None:
        if not _AREA_CODE.fullmatch(code):
            self.error(row, VILLAGE_CODE, code, "area_unknown", "嘎查村代码应为12位数字")
            return
        area = self.areas_by_code.get(code)
        if area is None:
            row.area_pending = True
            self.pending_codes.append((row, code))
        elif area.level != AreaLevel.VILLAGE:
            message = f"{code}是苏木乡镇“{area.name}”的代码，请填写嘎查村代码"
            self.error(row, VILLAGE_CODE, code, "area_unknown", message)
        else:
            row.area = area

    def _resolve_names(self, row: _Row, township: str, village: str) -> None:
        village_key = village_name_key(village)
        if township:
            townships = self.townships_by_name.get(area_name_key(township), [])
            if len(townships) > 1:
                message = (
                    f"苏木乡镇“{township}”在{self.county.name}有{len(townships)}个同名，"
                    "请填写嘎查村代码"
                )
                self.error(row, TOWNSHIP, township, "area_ambiguous", message)
                return
            if not townships:
                row.area_pending = True
                self.pending_names.append((row, township, village))
                return
            by_name = self.villages_by_township[townships[0].pk]
            villages = by_name.get(village_key, [])
            if not villages:
                message = (
                    f"嘎查村“{village}”不在{townships[0].name}"
                    f"{suggest_names(village, (v.name for vs in by_name.values() for v in vs))}"
                )
                self.error(row, VILLAGE, village, "area_unknown", message)
                return
        else:
            villages = self.villages_by_name.get(village_key, [])
            if not villages:
                row.area_pending = True
                self.pending_names.append((row, "", village))
                return
        if len(villages) > 1:
            places = "、".join(f"{self.township_name(v)}{v.name}（{v.code}）" for v in villages)
            message = f"嘎查村“{village}”有多个：{places}，请填写苏木乡镇或嘎查村代码"
            self.error(row, VILLAGE, village, "area_ambiguous", message)
            return
        row.area = villages[0]

    def finish_areas(self) -> None:
        """Codes and names not found in the county: elsewhere (out of scope) or nowhere."""
        if self.pending_codes:
            codes = sorted({code for _row, code in self.pending_codes})
            found: dict[str, Area] = {}
            for chunk in chunks(codes, LOOKUP_CHUNK):
                for area in Area.objects.filter(code__in=chunk).select_related("parent"):
                    found[area.code] = area
            for row, code in self.pending_codes:
                area = found.get(code)
                if area is None:
                    self.error(row, VILLAGE_CODE, code, "area_unknown", f"嘎查村代码{code}不存在")
                elif area.level != AreaLevel.VILLAGE:
                    label = AreaLevel(area.level).label
                    message = f"{code}是{label}“{area.name}”的代码，请填写嘎查村代码"
                    self.error(row, VILLAGE_CODE, code, "area_unknown", message)
                else:
                    message = f"{code}（{area.name}）不在{self.county.name}，不能导入本旗县的台账"
                    self.error(row, VILLAGE_CODE, code, "area_out_of_scope", message)
        if self.pending_names:
            names = sorted(
                {
                    name
                    for _row, township, village in self.pending_names
                    for name in (township, village)
                }
                - {""}
            )
            elsewhere: dict[str, list[Area]] = defaultdict(list)
            for chunk in chunks(names, LOOKUP_CHUNK):
                queryset = (
                    Area.objects.filter(
                        level__in=[AreaLevel.TOWNSHIP, AreaLevel.VILLAGE], name__in=chunk
                    )
                    .exclude(path__startswith=self.county.path)
                    .select_related("parent", "parent__parent")
                )
                for area in queryset:
                    elsewhere[area_name_key(area.name)].append(area)
            for row, township, village in self.pending_names:
                self._report_unresolved_names(row, township, village, elsewhere)

    def _report_unresolved_names(
        self, row: _Row, township: str, village: str, elsewhere: dict[str, list[Area]]
    ) -> None:
        if township:
            outside = [
                area
                for area in elsewhere.get(area_name_key(township), [])
                if area.level == AreaLevel.TOWNSHIP
            ]
            if outside:
                counties = "、".join(sorted({area.parent.name for area in outside if area.parent}))
                message = f"苏木乡镇“{township}”属于{counties}，不在{self.county.name}"
                self.error(row, TOWNSHIP, township, "area_out_of_scope", message)
                return
            suggestion = suggest_names(
                township, (t[0].name for t in self.townships_by_name.values())
            )
            message = f"苏木乡镇“{township}”在{self.county.name}不存在{suggestion}"
            self.error(row, TOWNSHIP, township, "area_unknown", message)
            return
        outside = [
            area
            for area in elsewhere.get(area_name_key(village), [])
            if area.level == AreaLevel.VILLAGE
        ]
        if outside:
            counties = "、".join(
                sorted(
                    {
                        area.parent.parent.name
                        for area in outside
                        if area.parent and area.parent.parent
                    }
                )
            )
            message = f"嘎查村“{village}”属于{counties}，不在{self.county.name}"
            self.error(row, VILLAGE, village, "area_out_of_scope", message)
            return
        suggestion = suggest_names(village, (v[0].name for v in self.villages_by_name.values()))
        message = f"嘎查村“{village}”在{self.county.name}不存在{suggestion}"
        self.error(row, VILLAGE, village, "area_unknown", message)

    # -- rows --

    def map_headers(self, raw: dict[str, object]) -> dict[str, object]:
        cells: dict[str, object] = {}
        for key, value in raw.items():
            header = _canonical_header(key)
            if header is None:
                if normalise_header(key):
                    self.unknown_columns.setdefault(str(key), None)
                continue
            self.headers.setdefault(header, str(key))
            if header not in cells or not is_given(cells[header]):
                cells[header] = value
        return cells

    def text(self, row: _Row, cells: dict[str, object], header: str, *, required: bool) -> str:
        value = cells.get(header)
        if not is_given(value):
            if required:
                self.error(row, header, value, "required_missing", f"{header}不能为空")
            return ""
        text = normalise_text(value)
        limit = TEXT_LIMITS.get(header)
        if limit is not None and len(text) > limit:
            self.error(row, header, text, "too_long", f"{header}不能超过{limit}个字")
            return ""
        return text

    def parse(self, row: _Row, cells: dict[str, object], header: str, parser: Any) -> Any:
        """Run a cells.py parser; a ``CellError`` becomes an error on this row and column."""
        try:
            return parser(cells.get(header))
        except CellError as problem:
            self.error(row, header, cells.get(header), problem.code, problem.message)
            return None

    def read_row(self, row: _Row, cells: dict[str, object]) -> None:
        row.household_number = self.text(row, cells, HOUSEHOLD_NUMBER, required=True)
        self.resolve_area(row, cells)
        self.read_member(row, cells)
        self.read_household_values(row, cells)

    def read_member(self, row: _Row, cells: dict[str, object]) -> None:
        name = " ".join(self.text(row, cells, NAME, required=True).split())
        parsed_id = None
        raw_id = cells.get(ID_NUMBER)
        try:
            if not is_given(raw_id):
                raise IdNumberError("id_missing", "身份证号不能为空")
            parsed_id = parse_id_number(raw_id, today=self.today)
        except IdNumberError as problem:
            self.error(row, ID_NUMBER, raw_id, problem.code, problem.message)
        else:
            for warning in parsed_id.warnings:
                self.warn(row, ID_NUMBER, raw_id, warning.code, warning.message)

        def choice(header: str, aliases: dict[str, str], *, required: bool = False) -> str:
            parser = partial(parse_choice, label=header, aliases=aliases, required=required)
            return self.parse(row, cells, header, parser) or ""

        relation = choice(RELATION, RELATION_ALIASES, required=True)
        row.relation = relation
        member_values = {
            "person_number": self.text(row, cells, PERSON_NUMBER, required=False),
            "ethnicity": choice(ETHNICITY, ETHNICITY_ALIASES),
            "education": self.text(row, cells, EDUCATION, required=False),
            "school_status": choice(SCHOOL_STATUS, SCHOOL_STATUS_ALIASES),
            "health": choice(HEALTH, HEALTH_ALIASES),
            "labour_capacity": choice(LABOUR_CAPACITY, LABOUR_ALIASES),
            "work_status": choice(WORK_STATUS, WORK_STATUS_ALIASES),
            "work_months": self.parse(row, cells, WORK_MONTHS, _parse_work_months),
            "disability_certificate": self.text(row, cells, DISABILITY_CERTIFICATE, required=False),
        }
        if parsed_id is not None and name and relation:
            row.member = ParsedMember(
                row=row.number,
                id_number=parsed_id.value,
                id_number_hash=id_number_blind_index(parsed_id.value),
                name=name,
                relation=relation,
                birth_date=parsed_id.birth_date,
                sex=parsed_id.sex,
                **member_values,
            )

    def read_household_values(self, row: _Row, cells: dict[str, object]) -> None:
        parsers: dict[str, Any] = {
            ATTRIBUTE: lambda v: parse_choice(v, label=ATTRIBUTE, aliases=ATTRIBUTE_ALIASES),
            MAIN_CAUSE: lambda v: parse_choice(v, label=MAIN_CAUSE, aliases=CAUSE_ALIASES),
            OTHER_CAUSES: _parse_causes,
            POVERTY_STATUS: lambda v: parse_choice(
                v, label=POVERTY_STATUS, aliases=POVERTY_STATUS_ALIASES
            ),
            EXIT_YEAR: lambda v: _parse_year(v, label=EXIT_YEAR),
            IDENTIFIED_YEAR: lambda v: _parse_year(v, label=IDENTIFIED_YEAR),
            INCOME: lambda v: parse_money(v, label=INCOME),
            DIBAO_AMOUNT: lambda v: parse_money(v, label=DIBAO_AMOUNT),
        }
        for header in HOUSEHOLD_COLUMNS:
            if not is_given(cells.get(header)):
                continue
            row.given.add(header)
            row.texts[header] = normalise_text(cells.get(header))
            if header in parsers:
                failed_before = len(self.errors)
                value = self.parse(row, cells, header, parsers[header])
                if len(self.errors) == failed_before:
                    row.values[header] = value
            else:
                failed_before = len(self.errors)
                text = self.text(row, cells, header, required=False)
                if len(self.errors) == failed_before:
                    row.values[header] = text

    # -- households --

    def check_duplicates(self, rows: list[_Row]) -> None:
        first_row: dict[str, int] = {}
        for row in rows:
            if row.member is None:
                continue
            seen = first_row.setdefault(row.member.id_number, row.number)
            if seen != row.number:
                message = f"与第{seen}行是同一人（身份证号重复）"
                self.error(row, ID_NUMBER, row.member.id_number, "duplicate_in_file", message)

    def check_registry_duplicates(self, rows: list[_Row]) -> None:
        """Warn about persons already in an in-registry household of another county."""
        by_hash: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            if row.member is not None:
                by_hash[row.member.id_number_hash].append(row)
        if not by_hash:
            return
        found: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for chunk in chunks(sorted(by_hash), LOOKUP_CHUNK):
            queryset = (
                RegistryMember.objects.filter(
                    person__id_number_hash__in=chunk, household__in_registry=True
                )
                .exclude(household__county=self.county)
                .values_list(
                    "person__id_number_hash", "household__number", "household__county__name"
                )
                .order_by("household__county__code", "household__number")
            )
            for person_hash, number, county_name in queryset:
                found[person_hash].append((county_name, number))
        for person_hash, places in found.items():
            where = "、".join(f"{county_name}建档立卡户{number}" for county_name, number in places)
            message = f"该人员已在{where}中，台账比对时将列为重复享受"
            for row in by_hash[person_hash]:
                shown = row.member.id_number if row.member else ""
                self.warn(row, ID_NUMBER, shown, "duplicate_in_registry", message)

    def build_households(self, rows: list[_Row]) -> tuple[list[ParsedHousehold], list[str]]:
        groups: dict[str, list[_Row]] = defaultdict(list)
        for row in rows:
            if row.household_number:
                groups[row.household_number].append(row)
        for number, group in groups.items():
            self._check_household(number, group)
        households, invalid = [], []
        for number, group in groups.items():
            if any(row.has_error for row in group):
                invalid.append(number)
                continue
            households.append(self._household(number, group))
        return households, invalid

    def _check_household(self, number: str, group: list[_Row]) -> None:
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
        # Household-level values: on the head's row only, repeated, or merged; they must agree.
        for header in HOUSEHOLD_COLUMNS:
            self._check_agreement(group, header)
        area_rows = [row for row in group if row.area is not None]
        if area_rows:
            first = area_rows[0]
            for row in area_rows[1:]:
                if row.area != first.area:
                    message = (
                        f"嘎查村（{row.area.name}）与第{first.number}行（{first.area.name}）不一致，"
                        "同一户的户级信息应相同"
                    )
                    shown = row.area.code if row.area_column == VILLAGE_CODE else row.area.name
                    self.error(row, row.area_column, shown, "household_conflict", message)
        elif not any(row.area_column or row.area_pending for row in group):
            message = f"户编号{number}缺少嘎查村：请填写嘎查村代码，或苏木乡镇和嘎查村名称"
            self.error(anchor, VILLAGE_CODE, "", "required_missing", message)
        for header in REQUIRED_HOUSEHOLD_COLUMNS:
            if not any(header in row.given for row in group):
                self.error(
                    anchor, header, "", "required_missing", f"户编号{number}的{header}不能为空"
                )

    def _check_agreement(self, group: list[_Row], header: str) -> None:
        """Values given on several rows must be equal once parsed ("3,200" equals "3200")."""
        given = [row for row in group if header in row.values]
        for row in given[1:]:
            if row.values[header] != given[0].values[header]:
                message = f"{header}与第{given[0].number}行不一致，同一户的户级信息应相同"
                self.error(row, header, row.texts[header], "household_conflict", message)

    def _household(self, number: str, group: list[_Row]) -> ParsedHousehold:
        def first(header: str, default: object = None) -> Any:
            return next((row.values[header] for row in group if header in row.values), default)

        area = next(row.area for row in group if row.area is not None)
        return ParsedHousehold(
            number=number,
            area=area,
            attribute=first(ATTRIBUTE),
            main_cause=first(MAIN_CAUSE),
            poverty_status=first(POVERTY_STATUS),
            annual_income_per_capita=first(INCOME),
            members=[row.member for row in group if row.member is not None],
            rows=[row.number for row in group],
            other_causes=first(OTHER_CAUSES, []),
            exit_year=first(EXIT_YEAR),
            identified_year=first(IDENTIFIED_YEAR),
            dibao_amount_recorded=first(DIBAO_AMOUNT),
            helper_name=first(HELPER, ""),
            helper_unit=first(HELPER_UNIT, ""),
        )


def _without_unit(value: object, *units: str) -> object:
    if isinstance(value, str):
        text = normalise_text(value)
        for unit in units:
            if text.endswith(unit):
                return text[: -len(unit)].strip()
        return text
    return value


def _parse_work_months(value: object) -> int | None:
    return parse_int(_without_unit(value, "个月", "月"), label=WORK_MONTHS, minimum=0, maximum=12)


def _parse_year(value: object, *, label: str) -> int | None:
    if isinstance(value, str):
        match = _YEAR_WITH_SUFFIX.fullmatch(normalise_text(value))
        value = match.group(1) if match else value
    return parse_int(value, label=label, minimum=1990, maximum=2100)


def _parse_causes(value: object) -> list[str]:
    codes: list[str] = []
    for part in _CAUSE_SEPARATORS.split(normalise_text(value)):
        if part:
            code = parse_choice(part, label=OTHER_CAUSES, aliases=CAUSE_ALIASES)
            if code not in codes:
                codes.append(code)
    return sorted(codes)


def _is_empty_row(raw: dict[str, object]) -> bool:
    return all(normalise_text(value) == "" for value in raw.values())


def _is_totals_row(raw: dict[str, object]) -> bool:
    first = next((normalise_text(v) for v in raw.values() if normalise_text(v)), "")
    return first.replace(" ", "").startswith(_TOTALS)


def validate_registry_rows(
    rows: list[dict[str, object]],
    *,
    county: Area,
    row_numbers: list[int] | None = None,
    today: date | None = None,
) -> RegistryValidation:
    """Validate the person rows of one county's registry export (or API push).

    ``row_numbers`` are the spreadsheet row numbers of ``rows`` (default 1, 2, 3, … — the
    position in an API request). Fully empty rows are skipped; a totals row (合计/总计/小计) is
    skipped with the warning ``totals_row``; unknown columns are listed once as ``unknown_column``.
    """
    if row_numbers is not None and len(row_numbers) != len(rows):
        raise ValueError("row_numbers must have one number per row")
    numbers = row_numbers if row_numbers is not None else list(range(1, len(rows) + 1))
    validator = _Validator(county=county, today=today or timezone.localdate())
    parsed_rows: list[_Row] = []
    for number, raw in zip(numbers, rows, strict=True):
        if not isinstance(raw, dict):
            validator.error(_Row(number), "", "", "bad_row", "每一行应为“列名: 值”的对象")
            continue
        if _is_empty_row(raw):
            continue
        row = _Row(number)
        if _is_totals_row(raw):
            validator.warn(row, "", "", "totals_row", "合计行，已跳过")
            continue
        validator.read_row(row, validator.map_headers(raw))
        parsed_rows.append(row)
    validator.finish_areas()
    validator.check_duplicates(parsed_rows)
    validator.check_registry_duplicates(parsed_rows)
    households, invalid = validator.build_households(parsed_rows)
    unknown = [
        {
            "row": None,
            "column": header,
            "value": "",
            "code": "unknown_column",
            "message": "未识别的列，已忽略",
        }
        for header in validator.unknown_columns
    ]
    return RegistryValidation(
        households=households,
        errors=_sorted(validator.errors),
        warnings=unknown + _sorted(validator.warnings),
        rows=len(parsed_rows),
        invalid_households=invalid,
    )


def _canonical_header(header: object) -> str | None:
    normalised = normalise_header(header)
    return _HEADER_INDEX.get(normalised) or _HEADER_INDEX.get(_UNIT_SUFFIX.sub("", normalised))


def _sorted(problems: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """By row (problems of the whole file first), then by column in ledger order; stable."""

    def key(problem: dict[str, Any]) -> tuple[int, int, int]:
        row = problem["row"]
        header = _canonical_header(problem["column"] or "")
        order = COLUMN_ORDER.get(header or "", len(COLUMN_ORDER))
        return (0 if row is None else 1, row or 0, order)

    return sorted(problems, key=key)
