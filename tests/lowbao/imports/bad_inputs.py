"""The bad-input corpus (quality.md R6): ledgers with bad cells, each with the exact problems
``import_ledger`` must report (row, column, code), and files that cannot be read at all.

A *cell case* starts from a small valid ledger of its kind (a CSV: title in row 1, header in row
2, data from row 3), changes some cells and names every error the import must report, in report
order. Some cases first put something into the database (``setup``): a paid household the
file's person is already in, a stopped household with the file's number, areas with clashing
names. ``test_bad_input_corpus`` runs every case through the command and checks, besides the
errors, that nothing was written.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from lowbao.areas.models import AreaLevel
from lowbao.areas.services import AreaRow, area_load_rows
from lowbao.people.id_numbers import CHECK_CHARS, compute_check_char
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    ROSTER_HEADERS,
    VILLAGE,
    roster_row,
)
from tests.lowbao.people.factories import make_id_number

Rows = list[dict[str, Any]]
Problem = tuple[int, str, str]  # (row, column, code)


@dataclass(frozen=True)
class CellCase:
    name: str
    kind: str
    change: Callable[[Rows], None]
    expected: list[Problem]
    setup: Callable[[Any, Any], None] | None = None  # (areas fixture, tmp_path)
    arguments: Sequence[str] = field(default_factory=tuple)


# --- valid base ledgers ---------------------------------------------------------------------------

ROSTER_BASE_ROWS = 6  # data rows 3–8


def roster_base() -> Rows:
    """Three households: DB001 (rows 3–5, household values on every row), DB002 (row 6, 特困),
    DB003 (rows 7–8, the village by name instead of code)."""
    names = {"嘎查村代码": "", "苏木乡镇": "毕克齐镇", "嘎查村": "毕克齐一村"}
    return [
        roster_row("DB001", make_id_number()),
        roster_row("DB001", make_id_number(), "配偶"),
        roster_row("DB001", make_id_number(birth_date=date(2010, 5, 1)), "之子"),
        roster_row("DB002", make_id_number(), 月保障金额="460.00", 救助类型="特困供养"),
        roster_row("DB003", make_id_number(), **names),
        roster_row("DB003", make_id_number(birth_date=date(2012, 3, 4)), "女", **names),
    ]


POVERTY_HEADERS = [
    "户编号",
    "人编号",
    "嘎查村代码",
    "苏木乡镇",
    "嘎查村",
    "姓名",
    "证件号码",
    "与户主关系",
    "民族",
    "在校生状况",
    "务工时间",
    "贫困户属性",
    "主要致贫原因",
    "脱贫状态",
    "脱贫年度",
    "家庭年人均纯收入",
]


def poverty_row(number: str, relation: str = "户主", **values: str) -> dict[str, Any]:
    id_number = make_id_number()
    row = {
        "户编号": number,
        "人编号": id_number[-8:],
        "嘎查村代码": VILLAGE,
        "姓名": f"成员{id_number[-4:]}",
        "证件号码": id_number,
        "与户主关系": relation,
        "民族": "汉族",
        "在校生状况": "非在校生",
        "务工时间": "3",
        "贫困户属性": "一般贫困户",
        "主要致贫原因": "因病",
        "脱贫状态": "已脱贫",
        "脱贫年度": "2019",
        "家庭年人均纯收入": "5200",
    }
    row.update(values)
    return row


def poverty_base() -> Rows:
    """Two registry households: 1501210001 (rows 3–4), 1501210002 (row 5)."""
    return [
        poverty_row("1501210001"),
        poverty_row("1501210001", "配偶"),
        poverty_row("1501210002", 脱贫状态="未脱贫", 脱贫年度=""),
    ]


DISABILITY_HEADERS = ["姓名", "身份证号", "残疾证号", "残疾类别", "残疾等级", "发证日期"]


def disability_base() -> Rows:
    rows = []
    for name in ("王五", "赵六"):
        id_number = make_id_number()
        rows.append(
            {
                "姓名": name,
                "身份证号": id_number,
                "残疾证号": f"{id_number}42",
                "残疾类别": "肢体",
                "残疾等级": "二级",
                "发证日期": "2020-05-01",
            }
        )
    return rows


VERIFICATION_HEADERS = ["身份证号", "姓名", "核对项目", "核对结果", "金额", "明细", "核对日期"]


def verification_base() -> Rows:
    return [
        {
            "身份证号": make_id_number(),
            "姓名": "李四",
            "核对项目": item,
            "核对结果": "有",
            "金额": "30000",
            "明细": "蒙A12345",
            "核对日期": "2026-06-01",
        }
        for item in ("车辆", "房产")
    ]


STANDARDS_HEADERS = ["区划代码", "生效日期", "农村低保标准", "特困基本生活标准"]


def standards_base() -> Rows:
    return [
        {
            "区划代码": COUNTY,
            "生效日期": "2027-01-01",
            "农村低保标准": "812",
            "特困基本生活标准": "1056",
        },
        {"区划代码": "150122000000", "生效日期": "2027-01-01", "农村低保标准": "800"},
    ]


BASES: dict[str, tuple[list[str], Callable[[], Rows], str]] = {
    # kind → (headers, base rows, title)
    "dibao": (ROSTER_HEADERS, roster_base, "土默特左旗2026年农村牧区低保对象花名册"),
    "poverty": (POVERTY_HEADERS, poverty_base, "建档立卡贫困人口"),
    "disability": (DISABILITY_HEADERS, disability_base, "残疾人信息"),
    "verification": (VERIFICATION_HEADERS, verification_base, "家庭经济状况核对结果"),
    "standards": (STANDARDS_HEADERS, standards_base, "保障标准"),
}


# --- changes ---------------------------------------------------------------------------


def cell(row: int, **values: Any) -> Callable[[Rows], None]:
    """Set cells of spreadsheet row ``row`` (data starts in row 3)."""

    def change(rows: Rows) -> None:
        rows[row - 3].update(values)

    return change


def cells(*changes: Callable[[Rows], None]) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        for one in changes:
            one(rows)

    return change


def id_of(row: int, column: str, make: Callable[[str], str]) -> Callable[[Rows], None]:
    """Replace the ID number of a row by ``make(its current value)``."""

    def change(rows: Rows) -> None:
        rows[row - 3][column] = make(rows[row - 3][column])

    return change


def copy_id(source: int, target: int, column: str = "身份证号") -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[target - 3][column] = rows[source - 3][column]

    return change


def with_check(body: str) -> str:
    return body + compute_check_char(body)


def wrong_check(id_number: str, replacement: str) -> str:
    return id_number[:17] + replacement


def other_check_chars(id_number: str) -> list[str]:
    return [char for char in CHECK_CHARS if char != id_number[17]]


# --- setups (what the database holds before the import) ------------------------------------


def paid_elsewhere(areas: Any, tmp_path: Any, *, county: str = COUNTY) -> dict[str, str]:
    """A paid household DB900 (in ``county``) holding a person; returns that person's ID."""
    from tests.lowbao.imports.test_import_ledger_command import roster, run_json

    id_number = make_id_number()
    village = VILLAGE if county == COUNTY else "150122100201"
    path = roster(tmp_path, [roster_row("DB900", id_number, 嘎查村代码=village)], "before.csv")
    code, report = run_json("dibao", str(path), "--county", county)
    assert (code, report["created"]) == (0, 1), report
    return {"id_number": id_number}


def clashing_names(areas: Any, tmp_path: Any) -> None:
    """A second 察素齐镇 in the county and a village 新村 in two townships."""
    area_load_rows(
        actor=None,
        rows=[
            AreaRow("150121102000", "察素齐镇", AreaLevel.TOWNSHIP, COUNTY),
            AreaRow("150121100203", "新村", AreaLevel.VILLAGE, "150121100000"),
            AreaRow("150121101203", "新村", AreaLevel.VILLAGE, "150121101000"),
        ],
        source="tests",
    )


STATE: dict[str, str] = {}


def remember(setup: Callable[..., dict[str, str]]) -> Callable[[Any, Any], None]:
    def run(areas: Any, tmp_path: Any) -> None:
        STATE.clear()
        STATE.update(setup(areas, tmp_path))

    return run


def from_state(row: int, column: str, key: str) -> Callable[[Rows], None]:
    def change(rows: Rows) -> None:
        rows[row - 3][column] = STATE[key]

    return change


def stopped_household(areas: Any, tmp_path: Any) -> dict[str, str]:
    """DB001 imported, then stopped."""
    from cases.models import Household
    from tests.lowbao.imports.test_import_ledger_command import roster, run_json

    path = roster(tmp_path, [roster_row("DB001", make_id_number())], "before.csv")
    assert run_json("dibao", str(path), "--county", COUNTY)[0] == 0
    Household.objects.filter(number="DB001").update(status="stopped")
    return {}


# --- the cases ------------------------------------------------------------------------------------

ID = "身份证号"
ROSTER_CASES: list[CellCase] = []


def roster(name: str, change: Callable[[Rows], None], expected: list[Problem], **kw: Any) -> None:
    ROSTER_CASES.append(CellCase(name, "dibao", change, expected, **kw))


# ID numbers: every wrong check character of one number, and every other way to be wrong.
for _position in range(10):
    roster(
        f"id_wrong_check_digit_{_position}",
        id_of(4, ID, lambda value, at=_position: wrong_check(value, other_check_chars(value)[at])),
        [(4, ID, "id_checksum")],
    )
roster(
    "id_wrong_check_digit_head",
    id_of(3, ID, lambda v: wrong_check(v, other_check_chars(v)[0])),
    [(3, ID, "id_checksum")],
)
roster("id_17_digits", id_of(4, ID, lambda v: v[:17]), [(4, ID, "id_format")])
roster("id_19_digits", id_of(4, ID, lambda v: v + "1"), [(4, ID, "id_format")])
roster("id_letter_inside", id_of(4, ID, lambda v: v[:10] + "A" + v[11:]), [(4, ID, "id_format")])
roster("id_x_inside", id_of(4, ID, lambda v: v[:16] + "X" + v[17]), [(4, ID, "id_format")])
roster("id_punctuation", id_of(4, ID, lambda v: v[:6] + "." + v[7:]), [(4, ID, "id_format")])
roster("id_month_13", cell(4, 身份证号=with_check("15012119801301123")), [(4, ID, "id_birthdate")])
roster("id_day_32", cell(4, 身份证号=with_check("15012119800132123")), [(4, ID, "id_birthdate")])
roster(
    "id_february_30", cell(4, 身份证号=with_check("15012119800230123")), [(4, ID, "id_birthdate")]
)
roster(
    "id_born_in_the_future",
    cell(4, 身份证号=with_check("15012120990101123")),
    [(4, ID, "id_birthdate")],
)
roster(
    "id_born_before_1890",
    cell(4, 身份证号=with_check("15012118800101123")),
    [(4, ID, "id_birthdate")],
)
roster("id_15_digits_bad_date", cell(4, 身份证号="150121801301123"), [(4, ID, "id_birthdate")])
roster("id_15_digits_letters", cell(4, 身份证号="15012180A301123"), [(4, ID, "id_format")])
roster("id_empty", cell(4, 身份证号=""), [(4, ID, "id_missing")])
roster("id_dash", cell(4, 身份证号="-"), [(4, ID, "id_missing")])
roster("id_none_word", cell(4, 身份证号="无"), [(4, ID, "id_missing")])
roster("id_spaces", cell(4, 身份证号="   "), [(4, ID, "id_missing")])
roster("id_scientific_notation", cell(4, 身份证号="1.50121E+17"), [(4, ID, "id_numeric_cell")])
roster("id_scientific_lowercase", cell(4, 身份证号="1.501211980E+17"), [(4, ID, "id_numeric_cell")])

# 姓名, 与户主关系 and the member enumerations
roster("name_empty", cell(4, 姓名=""), [(4, "姓名", "required_missing")])
roster("name_too_long", cell(4, 姓名="长" * 51), [(4, "姓名", "too_long")])
roster("relation_unknown", cell(4, 与户主关系="邻居"), [(4, "与户主关系", "bad_enum")])
roster("relation_number", cell(4, 与户主关系="2"), [(4, "与户主关系", "bad_enum")])
roster("relation_empty", cell(4, 与户主关系=""), [(4, "与户主关系", "required_missing")])
roster("relation_empty_on_head", cell(3, 与户主关系=""), [(3, "与户主关系", "required_missing")])
roster("ethnicity_unknown", cell(4, 民族="火星族"), [(4, "民族", "bad_enum")])
roster("ethnicity_number", cell(4, 民族="99"), [(4, "民族", "bad_enum")])
roster("covered_maybe", cell(4, 是否保障对象="也许"), [(4, "是否保障对象", "bad_enum")])
roster("covered_two", cell(4, 是否保障对象="2"), [(4, "是否保障对象", "bad_enum")])
roster("labour_unknown", cell(4, 劳动能力="很强"), [(4, "劳动能力", "bad_enum")])
roster("health_unknown", cell(4, 健康状况="感冒"), [(4, "健康状况", "bad_enum")])
roster("grade_five", cell(4, 残疾等级="五级"), [(4, "残疾等级", "bad_enum")])
roster("grade_zero", cell(4, 残疾等级="0"), [(4, "残疾等级", "bad_enum")])
roster("grade_text", cell(4, 残疾等级="重度"), [(4, "残疾等级", "bad_enum")])
roster("programme_unknown", cell(6, 救助类型="临时救助"), [(6, "救助类型", "bad_enum")])
roster("classification_too_long", cell(6, 保障类别="类" * 21), [(6, "保障类别", "too_long")])

# money
for _column in ("月人均收入", "月保障金额"):
    for _label, _value, _code in (
        ("letters", "abc", "bad_number"),
        ("negative", "-1", "negative_amount"),
        ("negative_with_decimals", "-0.01", "negative_amount"),
        ("three_decimals", "1.234", "bad_number"),
        ("misplaced_separator", "1,23", "bad_number"),
        ("infinity", "Infinity", "bad_number"),
        ("not_a_number", "NaN", "bad_number"),
        ("two_points", "1.2.3", "bad_number"),
        ("currency_sign", "$120", "bad_number"),
        ("too_large", "1e26", "bad_number"),
    ):
        roster(f"{_column}_{_label}", cell(6, **{_column: _value}), [(6, _column, _code)])
roster(
    "income_thousands_then_conflict",
    cell(3, 月人均收入="1,200.00"),
    [(4, "月人均收入", "household_conflict"), (5, "月人均收入", "household_conflict")],
)

# months
for _label, _value in (
    ("month_13", "2026-13"),
    ("month_0", "2026-00"),
    ("letters", "abc"),
    ("year_only", "2026"),
    ("february_30", "2026-02-30"),
    ("chinese_month_13", "2026年13月"),
    ("slash_month_13", "2026/13"),
):
    roster(f"start_month_{_label}", cell(6, 保障起始年月=_value), [(6, "保障起始年月", "bad_date")])

# texts, accounts, phones, numbers
roster("bank_name_too_long", cell(6, 开户银行="行" * 61), [(6, "开户银行", "too_long")])
for _label, _value in (("short", "123"), ("letters", "6228abc0012345678"), ("twenty", "6" * 20)):
    roster(
        f"bank_account_{_label}", cell(6, 银行账号=_value), [(6, "银行账号", "bad_bank_account")]
    )
for _label, _value in (
    ("short", "123"),
    ("starts_12", "12800001111"),
    ("ten_digits", "1380000111"),
    ("letters", "1380000abcd"),
):
    roster(f"phone_{_label}", cell(6, 联系电话=_value), [(6, "联系电话", "bad_phone")])
roster("household_number_empty", cell(6, 户编号=""), [(6, "户编号", "required_missing")])
roster("household_number_too_long", cell(6, 户编号="H" * 41), [(6, "户编号", "too_long")])

# households: heads, values that must agree, required values
roster("no_head", cell(3, 与户主关系="配偶"), [(3, "与户主关系", "household_no_head")])
roster("no_head_single", cell(6, 与户主关系="之子"), [(6, "与户主关系", "household_no_head")])
roster("two_heads", cell(4, 与户主关系="户主"), [(4, "与户主关系", "household_many_heads")])
roster("two_heads_benren", cell(5, 与户主关系="本人"), [(5, "与户主关系", "household_many_heads")])
roster(
    "three_heads",
    cells(cell(4, 与户主关系="户主"), cell(5, 与户主关系="本人")),
    [(4, "与户主关系", "household_many_heads"), (5, "与户主关系", "household_many_heads")],
)
for _column, _value in (
    ("救助类型", "特困供养"),
    ("月人均收入", "130"),
    ("月保障金额", "700"),
    ("保障起始年月", "2026-08"),
    ("开户银行", "中国农业银行"),
    ("银行账号", "6228480012345678999"),
    ("联系电话", "13900002222"),
    ("嘎查村代码", "150121100202"),
):
    roster(
        f"conflict_{_column}", cell(4, **{_column: _value}), [(4, _column, "household_conflict")]
    )
roster(
    "conflict_classification",
    cells(cell(3, 保障类别="一类"), cell(4, 保障类别="二类")),
    [(4, "保障类别", "household_conflict")],
)
roster(
    "conflict_village_by_name",
    cell(8, 苏木乡镇="察素齐镇", 嘎查村="察素齐一村"),
    [(8, "嘎查村", "household_conflict")],
)
roster(
    "conflict_on_two_rows",
    cells(cell(4, 月保障金额="700"), cell(5, 月保障金额="710")),
    [(4, "月保障金额", "household_conflict"), (5, "月保障金额", "household_conflict")],
)
for _column in ("月人均收入", "月保障金额", "保障起始年月"):
    roster(
        f"required_{_column}_on_no_row",
        cells(*(cell(row, **{_column: ""}) for row in (3, 4, 5))),
        [(3, _column, "required_missing")],
    )
roster(
    "no_village_at_all",
    cells(*(cell(row, 嘎查村代码="", 苏木乡镇="", 嘎查村="") for row in (3, 4, 5))),
    [(3, "嘎查村代码", "required_missing")],
)

# areas
roster(
    "area_code_11_digits", cell(6, 嘎查村代码="15012110020"), [(6, "嘎查村代码", "area_unknown")]
)
roster("area_code_letters", cell(6, 嘎查村代码="15012110020A"), [(6, "嘎查村代码", "area_unknown")])
roster("area_code_unknown", cell(6, 嘎查村代码="150121100299"), [(6, "嘎查村代码", "area_unknown")])
roster(
    "area_code_of_a_township",
    cell(6, 嘎查村代码="150121100000"),
    [(6, "嘎查村代码", "area_unknown")],
)
roster("area_code_of_the_county", cell(6, 嘎查村代码=COUNTY), [(6, "嘎查村代码", "area_unknown")])
roster(
    "area_code_other_county",
    cell(6, 嘎查村代码="150122100201"),
    [(6, "嘎查村代码", "area_out_of_scope")],
)
roster(
    "area_code_other_league",
    cell(6, 嘎查村代码="150202100201"),
    [(6, "嘎查村代码", "area_unknown")],
)
roster("township_unknown", cell(7, 苏木乡镇="不存在镇"), [(7, "苏木乡镇", "area_unknown")])
roster("village_not_in_township", cell(7, 嘎查村="察素齐一村"), [(7, "嘎查村", "area_unknown")])
roster(
    "village_unknown_without_township",
    cell(7, 苏木乡镇="", 嘎查村="不存在村"),
    [(7, "嘎查村", "area_unknown")],
)
roster(
    "township_other_county",
    cell(7, 苏木乡镇="双河镇", 嘎查村="双河一村"),
    [(7, "苏木乡镇", "area_out_of_scope")],
)
roster(
    "village_other_county",
    cell(7, 苏木乡镇="", 嘎查村="双河一村"),
    [(7, "嘎查村", "area_out_of_scope")],
)
roster("township_without_village", cell(7, 嘎查村=""), [(7, "嘎查村", "required_missing")])
roster(
    "village_ambiguous",
    cell(7, 苏木乡镇="", 嘎查村="新村"),
    [(7, "嘎查村", "area_ambiguous")],
    setup=clashing_names,
)
roster(
    "township_ambiguous",
    cell(7, 苏木乡镇="察素齐镇", 嘎查村="察素齐一村"),
    [(7, "苏木乡镇", "area_ambiguous")],
    setup=clashing_names,
)

# the same person twice
roster("duplicate_in_household", copy_id(3, 5), [(5, ID, "duplicate_in_file")])
roster("duplicate_in_another_household", copy_id(3, 6), [(6, ID, "duplicate_in_file")])
roster(
    "duplicate_three_times",
    cells(copy_id(3, 6), copy_id(3, 7)),
    [(6, ID, "duplicate_in_file"), (7, ID, "duplicate_in_file")],
)
roster(
    "duplicate_paid_in_the_county",
    from_state(6, ID, "id_number"),
    [(6, ID, "duplicate_in_other_household")],
    setup=remember(paid_elsewhere),
)
roster(
    "duplicate_paid_in_another_county",
    from_state(4, ID, "id_number"),
    [(4, ID, "duplicate_in_other_household")],
    setup=remember(lambda areas, tmp_path: paid_elsewhere(areas, tmp_path, county="150122000000")),
)
roster(
    "household_number_of_a_stopped_household",
    lambda rows: None,
    [(3, "户编号", "household_conflict")],
    setup=remember(stopped_household),
)

# several problems in one file, each where it is
roster(
    "several_problems",
    cells(
        id_of(3, ID, lambda v: wrong_check(v, other_check_chars(v)[1])),
        cell(3, 月人均收入="abc"),
        cell(6, 联系电话="1", 银行账号="12"),
        cell(8, 与户主关系="户主"),
    ),
    [
        (3, ID, "id_checksum"),
        (3, "月人均收入", "bad_number"),
        (6, "银行账号", "bad_bank_account"),
        (6, "联系电话", "bad_phone"),
        (8, "与户主关系", "household_many_heads"),
    ],
)


POVERTY_ID = "证件号码"
OTHER_CASES: list[CellCase] = []


def other(
    kind: str, name: str, change: Callable[[Rows], None], expected: list[Problem], **kw: Any
) -> None:
    OTHER_CASES.append(CellCase(name, kind, change, expected, **kw))


for _position in range(3):
    other(
        "poverty",
        f"id_wrong_check_digit_{_position}",
        id_of(4, POVERTY_ID, lambda v, at=_position: wrong_check(v, other_check_chars(v)[at])),
        [(4, POVERTY_ID, "id_checksum")],
    )
other("poverty", "id_missing", cell(4, 证件号码=""), [(4, POVERTY_ID, "id_missing")])
other("poverty", "id_format", cell(4, 证件号码="12345"), [(4, POVERTY_ID, "id_format")])
other(
    "poverty",
    "id_birthdate",
    cell(4, 证件号码=with_check("15012120990101123")),
    [(4, POVERTY_ID, "id_birthdate")],
)
other(
    "poverty",
    "id_numeric_cell",
    cell(4, 证件号码="1.50121E+17"),
    [(4, POVERTY_ID, "id_numeric_cell")],
)
other(
    "poverty",
    "duplicate_in_file",
    copy_id(3, 5, POVERTY_ID),
    [(5, POVERTY_ID, "duplicate_in_file")],
)
other("poverty", "attribute_unknown", cell(5, 贫困户属性="富裕户"), [(5, "贫困户属性", "bad_enum")])
other("poverty", "cause_unknown", cell(5, 主要致贫原因="因懒"), [(5, "主要致贫原因", "bad_enum")])
other("poverty", "status_unknown", cell(5, 脱贫状态="半脱贫"), [(5, "脱贫状态", "bad_enum")])
other(
    "poverty", "school_status_unknown", cell(4, 在校生状况="博士"), [(4, "在校生状况", "bad_enum")]
)
other("poverty", "exit_year_too_early", cell(5, 脱贫年度="1980"), [(5, "脱贫年度", "bad_number")])
other("poverty", "exit_year_letters", cell(5, 脱贫年度="去年"), [(5, "脱贫年度", "bad_number")])
other("poverty", "work_months_13", cell(4, 务工时间="13"), [(4, "务工时间", "bad_number")])
other("poverty", "work_months_negative", cell(4, 务工时间="-1"), [(4, "务工时间", "bad_number")])
other(
    "poverty", "work_months_infinite", cell(4, 务工时间="Infinity"), [(4, "务工时间", "bad_number")]
)
other("poverty", "exit_year_infinite", cell(5, 脱贫年度="inf"), [(5, "脱贫年度", "bad_number")])
other(
    "poverty",
    "income_letters",
    cell(5, 家庭年人均纯收入="很少"),
    [(5, "家庭年人均纯收入", "bad_number")],
)
other(
    "poverty",
    "income_negative",
    cell(5, 家庭年人均纯收入="-100"),
    [(5, "家庭年人均纯收入", "negative_amount")],
)
other(
    "poverty",
    "income_missing",
    cell(5, 家庭年人均纯收入=""),
    [(5, "家庭年人均纯收入", "required_missing")],
)
other("poverty", "name_missing", cell(4, 姓名=""), [(4, "姓名", "required_missing")])
other("poverty", "relation_unknown", cell(4, 与户主关系="朋友"), [(4, "与户主关系", "bad_enum")])
other("poverty", "no_head", cell(5, 与户主关系="配偶"), [(5, "与户主关系", "household_no_head")])
other(
    "poverty", "two_heads", cell(4, 与户主关系="户主"), [(4, "与户主关系", "household_many_heads")]
)
other(
    "poverty",
    "conflict_attribute",
    cell(4, 贫困户属性="低保贫困户"),
    [(4, "贫困户属性", "household_conflict")],
)
other(
    "poverty",
    "conflict_village",
    cell(4, 嘎查村代码="150121100202"),
    [(4, "嘎查村代码", "household_conflict")],
)
other(
    "poverty",
    "area_code_unknown",
    cell(5, 嘎查村代码="150121100299"),
    [(5, "嘎查村代码", "area_unknown")],
)
other(
    "poverty",
    "area_code_of_a_league",
    cell(5, 嘎查村代码="150100000000"),
    [(5, "嘎查村代码", "area_unknown")],
)
other(
    "poverty",
    "area_code_other_county",
    cell(5, 嘎查村代码="150122100201"),
    [(5, "嘎查村代码", "area_out_of_scope")],
)
other(
    "poverty",
    "village_ambiguous",
    cell(5, 嘎查村代码="", 嘎查村="新村"),
    [(5, "嘎查村", "area_ambiguous")],
    setup=clashing_names,
)
other(
    "poverty",
    "village_other_county",
    cell(5, 嘎查村代码="", 嘎查村="双河一村"),
    [(5, "嘎查村", "area_out_of_scope")],
)
other(
    "poverty",
    "township_unknown",
    cell(5, 嘎查村代码="", 苏木乡镇="不存在镇", 嘎查村="一村"),
    [(5, "苏木乡镇", "area_unknown")],
)

other(
    "disability",
    "id_checksum",
    id_of(3, ID, lambda v: wrong_check(v, other_check_chars(v)[0])),
    [(3, ID, "id_checksum")],
)
other("disability", "id_missing", cell(4, 身份证号=""), [(4, ID, "id_missing")])
other("disability", "type_unknown", cell(4, 残疾类别="心理"), [(4, "残疾类别", "bad_enum")])
other("disability", "grade_unknown", cell(4, 残疾等级="五级"), [(4, "残疾等级", "bad_enum")])
other("disability", "grade_missing", cell(4, 残疾等级=""), [(4, "残疾等级", "required_missing")])
other("disability", "issued_on_bad", cell(4, 发证日期="2020-13-01"), [(4, "发证日期", "bad_date")])
other(
    "disability",
    "certificate_short",
    cell(4, 残疾证号="1501211"),
    [(4, "残疾证号", "disability_certificate_mismatch")],
)
other(
    "disability",
    "certificate_wrong_grade",
    id_of(4, "残疾证号", lambda v: v[:19] + "3"),
    [(4, "残疾证号", "disability_certificate_mismatch")],
)
other(
    "disability",
    "duplicate_in_file",
    cells(copy_id(3, 4), copy_id(3, 4, "残疾证号")),
    [(4, ID, "duplicate_in_file")],
)

other(
    "verification",
    "id_checksum",
    id_of(3, ID, lambda v: wrong_check(v, other_check_chars(v)[0])),
    [(3, ID, "id_checksum")],
)
other("verification", "item_unknown", cell(4, 核对项目="彩票"), [(4, "核对项目", "bad_enum")])
other("verification", "result_unknown", cell(4, 核对结果="可能有"), [(4, "核对结果", "bad_enum")])
other("verification", "amount_negative", cell(4, 金额="-1"), [(4, "金额", "negative_amount")])
other("verification", "amount_letters", cell(4, 金额="三万"), [(4, "金额", "bad_number")])
other(
    "verification", "checked_on_bad", cell(4, 核对日期="2026-02-30"), [(4, "核对日期", "bad_date")]
)
other(
    "verification",
    "checked_on_missing",
    cell(4, 核对日期=""),
    [(4, "核对日期", "required_missing")],
)

other(
    "standards", "area_unknown", cell(3, 区划代码="159999000000"), [(3, "区划代码", "area_unknown")]
)
other(
    "standards",
    "area_is_a_village",
    cell(3, 区划代码=VILLAGE),
    [(3, "区划代码", "area_out_of_scope")],
)
other("standards", "area_missing", cell(3, 区划代码=""), [(3, "区划代码", "required_missing")])
other("standards", "date_bad", cell(3, 生效日期="2027-13-01"), [(3, "生效日期", "bad_date")])
other(
    "standards",
    "standard_letters",
    cell(3, 农村低保标准="八百"),
    [(3, "农村低保标准", "bad_number")],
)
other(
    "standards",
    "standard_negative",
    cell(3, 农村低保标准="-812"),
    [(3, "农村低保标准", "negative_amount")],
)
other("standards", "standard_zero", cell(3, 农村低保标准="0"), [(3, "农村低保标准", "bad_number")])
other(
    "standards",
    "duplicate_in_file",
    cell(4, 区划代码=COUNTY),
    [(4, "区划代码", "duplicate_in_file")],
)


CELL_CASES = ROSTER_CASES + OTHER_CASES
