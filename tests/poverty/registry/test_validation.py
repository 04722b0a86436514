"""validate_registry_rows: every contracts.md code with its exact row, column, value and message;
households, aliases, areas by code and by names, and a fixed number of queries."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import Health, LabourCapacity, Relation, SchoolStatus
from lowbao.areas.models import AreaLevel
from lowbao.areas.services import AreaRow, area_load_rows
from poverty.choices import PovertyAttribute, PovertyCause, PovertyStatus, WorkStatus
from poverty.validation import validate_registry_rows
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import (
    OTHER_COUNTY_VILLAGE_CODE,
    SIBLING_VILLAGE_CODE,
    household_rows,
    person_row,
)

pytestmark = pytest.mark.django_db


def masked(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[14:]


def problem(row, column, value, code, message):
    return {"row": row, "column": column, "value": value, "code": code, "message": message}


def validate(areas, rows, **kwargs):
    return validate_registry_rows(rows, county=areas.county, **kwargs)


# --- a valid file ----------------------------------------------------------------------------


def test_valid_file_gives_households_with_parsed_members(areas):
    head_id, child_id = make_id_number(birth_date=date(1975, 3, 1)), make_id_number()
    rows = [
        person_row(household="H1", id_number=head_id, name="巴特尔"),
        person_row(household="H2"),
        person_row(
            household="H1",
            relation="长子",
            id_number=child_id,
            name="巴图",
            cells={
                "在校生状况": "高中1-3",
                "健康状况": "大病",
                "劳动能力": "弱劳动力",
                "务工状况": "县外省内",
                "务工时间": "6个月",
                "民族": "蒙古",
            },
        ),
    ]
    rows[0].update(
        {
            "贫困户属性": "五保贫困户",
            "主要致贫原因": "因病致贫",
            "其他致贫原因": "缺技术、缺资金",
            "脱贫状态": "已脱贫",
            "脱贫年度": "2019年",
            "家庭年人均纯收入": "4,567.8",
            "享受低保金额": "０",
            "帮扶单位": "旗扶贫办",
        }
    )
    rows[2].update({"贫困户属性": "", "主要致贫原因": "", "脱贫状态": "", "家庭年人均纯收入": ""})

    result = validate(areas, rows)

    assert result.errors == []
    assert result.warnings == []
    assert result.is_valid
    assert (result.rows, result.persons) == (3, 3)
    assert [h.number for h in result.households] == ["H1", "H2"]
    first = result.households[0]
    assert first.area == areas.village
    assert first.rows == [1, 3]
    assert (first.attribute, first.main_cause, first.other_causes) == (
        PovertyAttribute.TEKUN,
        PovertyCause.ILLNESS,
        [PovertyCause.SKILLS, PovertyCause.CAPITAL],
    )
    assert (first.poverty_status, first.exit_year, first.identified_year) == (
        PovertyStatus.OUT,
        2019,
        2014,
    )
    assert first.annual_income_per_capita == Decimal("4567.80")
    assert first.dibao_amount_recorded == Decimal("0.00")
    assert (first.helper_name, first.helper_unit) == ("王帮扶", "旗扶贫办")
    assert first.head.name == "巴特尔"
    child = first.members[1]
    assert child.id_number == child_id
    assert child_id not in repr(child)
    assert (child.relation, child.name, child.ethnicity) == (Relation.SON, "巴图", "02")
    assert (child.school_status, child.health, child.labour_capacity) == (
        SchoolStatus.SENIOR,
        Health.SERIOUS_ILLNESS,
        LabourCapacity.WEAK,
    )
    assert (child.work_status, child.work_months) == (WorkStatus.IN_PROVINCE, 6)
    assert first.members[0].birth_date == date(1975, 3, 1)


def test_header_aliases_spaces_and_units_are_accepted(areas):
    id_number = make_id_number()
    row = {
        "户 编号": "H1",
        "区划代码": SIBLING_VILLAGE_CODE,
        "姓\n名": "其其格",
        "身份证号码": id_number,
        "与户主关系": "本人",
        "劳动技能": "技能劳动力",
        "务工时间（月）": "12",
        "务工状况": "省外",
        "贫困户属性": "低保贫困户",
        "主要致贫原因": "缺劳动力",
        "脱贫属性": "返贫",
        "人均纯收入（元）": 2800,
        "帮扶责任人": "李四",
    }

    result = validate(areas, [row])

    assert result.errors == []
    household = result.households[0]
    assert household.area == areas.sibling_village
    assert household.poverty_status == PovertyStatus.RETURNED
    assert household.annual_income_per_capita == Decimal("2800.00")
    assert household.members[0].labour_capacity == LabourCapacity.SKILLED
    assert household.members[0].work_months == 12


def test_unknown_columns_are_listed_once_as_a_warning(areas):
    rows = [
        {**person_row(household="H1"), "备注": "x", "联系电话": "1"},
        {**person_row(household="H1", relation="配偶"), "备注": "y"},
    ]

    result = validate(areas, rows)

    assert result.errors == []
    assert result.warnings == [
        problem(None, "备注", "", "unknown_column", "未识别的列，已忽略"),
        problem(None, "联系电话", "", "unknown_column", "未识别的列，已忽略"),
    ]


def test_empty_rows_are_skipped_and_totals_rows_warned(areas):
    rows = [
        person_row(household="H1"),
        {"户编号": "", "姓名": " ", "证件号码": None},
        {"户编号": "合计", "姓名": "3户", "证件号码": ""},
        {"户编号": "", "姓名": "小计：2人"},
    ]

    result = validate(areas, rows, row_numbers=[4, 5, 6, 7])

    assert result.errors == []
    assert result.rows == 1
    assert result.warnings == [
        problem(6, None, "", "totals_row", "合计行，已跳过"),
        problem(7, None, "", "totals_row", "合计行，已跳过"),
    ]
    assert result.households[0].rows == [4]


def test_row_numbers_must_match_the_rows(areas):
    with pytest.raises(ValueError, match="one number per row"):
        validate(areas, [person_row()], row_numbers=[3, 4])


# --- ID numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "value", "shown", "code", "message"),
    [
        (
            "check digit",
            "360426199101010072",
            "360426********0072",
            "id_checksum",
            "身份证号校验位错误",
        ),
        (
            "30 February",
            "15012119900230123X",
            "150121********123X",
            "id_birthdate",
            "身份证号中的出生日期不是有效日期",
        ),
        (
            "born in the future",
            "150121209901011230",
            "150121********1230",
            "id_birthdate",
            "身份证号中的出生日期晚于今天",
        ),
        (
            "numeric cell",
            150121198001011234,
            "150121********1234",
            "id_numeric_cell",
            "身份证号被 Excel 存成了数字，末尾几位已经丢失：请把该列的单元格格式设置为“文本”，"
            "然后重新录入这些身份证号",
        ),
        ("empty", "", "", "id_missing", "身份证号不能为空"),
        ("none", None, "", "id_missing", "身份证号不能为空"),
        ("dash", "-", "*", "id_missing", "身份证号不能为空"),
        (
            "too short",
            "15012119800101",
            "15********0101",
            "id_format",
            "身份证号格式错误：应为18位，前17位为数字，最后一位为数字或X",
        ),
    ],
)
def test_id_number_errors(areas, _case, value, shown, code, message):
    result = validate(areas, [person_row(household="H1", cells={"证件号码": value})])

    assert result.errors == [problem(1, "证件号码", shown, code, message)]
    assert result.households == []
    assert result.invalid_households == ["H1"]


def test_fifteen_digit_number_is_upgraded_with_a_warning(areas):
    result = validate(areas, [person_row(household="H1", cells={"证件号码": "150121800101123"})])

    assert result.errors == []
    assert result.warnings == [
        problem(
            1, "证件号码", "150121******123", "id_upgraded_from_15", "15位身份证号已自动升级为18位"
        )
    ]
    member = result.households[0].members[0]
    assert member.id_number == "15012119800101123" + member.id_number[-1]
    assert member.birth_date == date(1980, 1, 1)


def test_lower_case_x_and_full_width_digits_are_normalised(areas):
    id_number = "34052419800101001X"
    spelled = "３４０５２４１９８００１０１００１x"

    result = validate(areas, [person_row(household="H1", cells={"证件号码": spelled})])

    assert result.errors == []
    assert result.households[0].members[0].id_number == id_number


def test_same_person_twice_in_the_file_is_duplicate_in_file(areas):
    id_number = make_id_number(birth_date=date(1980, 1, 1), seq=123)
    old_spelling = id_number[:6] + id_number[8:17]  # the 15-digit form of the same number
    rows = [
        person_row(household="H1", id_number=id_number),
        person_row(household="H2"),
        person_row(household="H2", relation="配偶", cells={"证件号码": old_spelling}),
        person_row(household="H1", relation="子", id_number=id_number),
    ]

    result = validate(areas, rows)

    message = "与第1行是同一人（身份证号重复）"
    assert result.errors == [
        problem(3, "证件号码", masked(id_number), "duplicate_in_file", message),
        problem(4, "证件号码", masked(id_number), "duplicate_in_file", message),
    ]
    assert result.invalid_households == ["H1", "H2"]


def test_person_in_another_countys_registry_is_accepted_with_a_warning(
    areas, apply_rows, django_assert_num_queries
):
    shared, own = make_id_number(), make_id_number()
    elsewhere = [
        person_row(household="1501220007", id_number=shared),
        person_row(household="1501220007", relation="配偶"),
    ]
    for row in elsewhere:
        row["嘎查村代码"] = OTHER_COUNTY_VILLAGE_CODE
    apply_rows(elsewhere, county=areas.sibling_county, on=date(2026, 1, 1))
    apply_rows([person_row(household="H9", id_number=own)])  # our county's own: no warning

    with django_assert_num_queries(2):
        result = validate(
            areas,
            [
                person_row(household="H1", id_number=shared),
                person_row(household="H9", id_number=own),
            ],
        )

    assert result.errors == []
    assert result.warnings == [
        problem(
            1,
            "证件号码",
            masked(shared),
            "duplicate_in_registry",
            "该人员已在托克托县建档立卡户1501220007中，台账比对时将列为重复享受",
        )
    ]


def test_no_warning_once_the_other_countys_household_left_the_registry(areas, apply_rows):
    shared = make_id_number()
    first = [person_row(household="1501220007", id_number=shared)]
    other = [person_row(household="1501220008")]
    for row in first + other:
        row["嘎查村代码"] = OTHER_COUNTY_VILLAGE_CODE
    apply_rows(first, county=areas.sibling_county, on=date(2026, 1, 1))
    apply_rows(other, county=areas.sibling_county, on=date(2026, 2, 1))  # 1501220007 left

    result = validate(areas, [person_row(household="H1", id_number=shared)])

    assert result.warnings == []


# --- households ------------------------------------------------------------------------------


def test_household_without_head(areas):
    rows = [
        person_row(household="H1", relation="配偶"),
        person_row(household="H1", relation="子"),
    ]

    result = validate(areas, rows)

    assert result.errors == [
        problem(
            1,
            "与户主关系",
            "",
            "household_no_head",
            "户编号H1没有户主（与户主关系为“户主”或“本人”的成员）",
        )
    ]


def test_household_with_two_heads(areas):
    rows = [
        person_row(household="H1", relation="户主"),
        person_row(household="H1", relation="配偶"),
        person_row(household="H1", relation="本人"),
    ]

    result = validate(areas, rows)

    assert result.errors == [
        problem(
            3,
            "与户主关系",
            "户主",
            "household_many_heads",
            "户编号H1有2名户主（第1、3行），每户只能有一名户主",
        )
    ]


def test_household_values_on_the_head_row_only_or_repeated_in_any_spelling(areas):
    head = person_row(household="H1", cells={"家庭年人均纯收入": "3,200.00"})
    repeated = person_row(
        household="H1",
        relation="配偶",
        cells={"家庭年人均纯收入": "3200", "贫困户属性": "一般贫困户", "其他致贫原因": ""},
    )
    blank = person_row(
        household="H1",
        relation="子",
        cells={"贫困户属性": "", "主要致贫原因": "", "脱贫状态": "-", "家庭年人均纯收入": "/"},
    )
    head["贫困户属性"], repeated["贫困户属性"] = "五保贫困户", "特困供养贫困户"

    result = validate(areas, [blank, head, repeated])

    assert result.errors == []
    household = result.households[0]
    assert household.attribute == PovertyAttribute.TEKUN
    assert household.annual_income_per_capita == Decimal("3200.00")
    assert household.head.row == 2
    assert household.rows == [1, 2, 3]


def test_household_values_that_disagree_are_household_conflict(areas):
    rows = [
        person_row(household="H1"),
        person_row(
            household="H1",
            relation="配偶",
            cells={"贫困户属性": "低保贫困户", "家庭年人均纯收入": "3201"},
        ),
        person_row(household="H1", relation="子", cells={"嘎查村代码": SIBLING_VILLAGE_CODE}),
    ]

    result = validate(areas, rows)

    assert result.errors == [
        problem(
            2,
            "贫困户属性",
            "低保贫困户",
            "household_conflict",
            "贫困户属性与第1行不一致，同一户的户级信息应相同",
        ),
        problem(
            2,
            "家庭年人均纯收入",
            "3201",
            "household_conflict",
            "家庭年人均纯收入与第1行不一致，同一户的户级信息应相同",
        ),
        problem(
            3,
            "嘎查村代码",
            SIBLING_VILLAGE_CODE,
            "household_conflict",
            "嘎查村（察素齐二村）与第1行（察素齐一村）不一致，同一户的户级信息应相同",
        ),
    ]


def test_required_household_values_missing_on_every_row(areas):
    cells = {"贫困户属性": "", "家庭年人均纯收入": "-"}
    rows = [
        person_row(household="H1", relation="配偶", cells=cells),
        person_row(household="H1", cells=cells),
    ]

    result = validate(areas, rows)

    assert result.errors == [
        problem(2, "贫困户属性", "", "required_missing", "户编号H1的贫困户属性不能为空"),
        problem(
            2, "家庭年人均纯收入", "", "required_missing", "户编号H1的家庭年人均纯收入不能为空"
        ),
    ]


# --- every other error code ------------------------------------------------------------------


def test_every_problem_of_every_row_is_reported(areas):
    rows = [
        person_row(household="H1", cells={"姓名": "", "与户主关系": "老板"}),
        person_row(
            household="H2",
            cells={"务工时间": "13", "家庭年人均纯收入": "-100", "民族": "火星族"},
        ),
        person_row(
            household="H3",
            cells={
                "户编号": "H3",
                "在校生状况": "研究生",
                "健康状况": "还行",
                "脱贫年度": "去年",
                "享受低保金额": "12.345",
                "主要致贫原因": "因穷",
            },
        ),
        person_row(household="", cells={"劳动能力": "强", "脱贫状态": "脱贫中"}),
        person_row(household="H5", cells={"姓名": "很" * 51, "文化程度": "文" * 21}),
        "不是对象",
    ]

    result = validate(areas, rows)

    codes = [(e["row"], e["column"], e["code"]) for e in result.errors]
    assert codes == [
        (1, "姓名", "required_missing"),
        (1, "与户主关系", "bad_enum"),
        (2, "民族", "bad_enum"),
        (2, "务工时间", "bad_number"),
        (2, "家庭年人均纯收入", "negative_amount"),
        (3, "在校生状况", "bad_enum"),
        (3, "健康状况", "bad_enum"),
        (3, "主要致贫原因", "bad_enum"),
        (3, "脱贫年度", "bad_number"),
        (3, "享受低保金额", "bad_number"),
        (4, "户编号", "required_missing"),
        (4, "劳动能力", "bad_enum"),
        (4, "脱贫状态", "bad_enum"),
        (5, "姓名", "too_long"),
        (5, "文化程度", "too_long"),
        (6, None, "bad_row"),
    ]
    by_place = {(e["row"], e["column"]): e for e in result.errors}
    assert by_place[(1, "姓名")]["message"] == "姓名不能为空"
    assert by_place[(1, "与户主关系")]["message"].startswith("与户主关系“老板”不是有效选项（可选：")
    assert by_place[(2, "务工时间")] == problem(
        2, "务工时间", "13", "bad_number", "务工时间应在 0–12 之间"
    )
    assert by_place[(2, "家庭年人均纯收入")] == problem(
        2, "家庭年人均纯收入", "-100", "negative_amount", "家庭年人均纯收入不能为负数"
    )
    assert by_place[(3, "脱贫年度")]["message"] == "脱贫年度“去年”不是有效数字"
    assert by_place[(3, "享受低保金额")]["message"] == "享受低保金额最多保留两位小数"
    assert by_place[(5, "姓名")]["message"] == "姓名不能超过50个字"
    assert by_place[(6, None)]["message"] == "每一行应为“列名: 值”的对象"
    assert result.households == []
    assert result.invalid_households == ["H1", "H2", "H3", "H5"]


def test_invalid_households_are_left_out_whole_and_valid_ones_kept(areas):
    rows = [
        *household_rows("H1"),
        person_row(household="H2"),
        person_row(household="H2", relation="配偶", cells={"健康状况": "还行"}),
    ]

    result = validate(areas, rows)

    assert [e["code"] for e in result.errors] == ["bad_enum"]
    assert [h.number for h in result.households] == ["H1"]
    assert result.invalid_households == ["H2"]


# --- areas -----------------------------------------------------------------------------------


@pytest.fixture
def twin_villages(areas):
    """A village name used in both townships of the county (新村)."""
    area_load_rows(
        actor=None,
        rows=[
            AreaRow("150121100203", "新村", AreaLevel.VILLAGE, "150121100000"),
            AreaRow("150121101202", "新村", AreaLevel.VILLAGE, "150121101000"),
        ],
        source="tests",
    )


def _by_names(township: str | None, village: str | None) -> dict[str, object]:
    cells: dict[str, object] = {"嘎查村代码": ""}
    if township is not None:
        cells["苏木乡镇"] = township
    if village is not None:
        cells["嘎查村"] = village
    return person_row(household="H1", cells=cells)


@pytest.mark.parametrize(
    ("_case", "township", "village", "expected_code"),
    [
        ("township and village", "察素齐镇", "察素齐二村", "150121100202"),
        ("village alone when unique", None, "毕克齐一村", "150121101201"),
        ("village committee spelling", "察素齐镇", "察素齐一村委会", "150121100201"),
        ("spaces and full-width", " 察素齐镇 ", "察素齐\u3000二村", "150121100202"),
        ("twin resolved by township", "毕克齐镇", "新村", "150121101202"),
    ],
)
def test_area_by_names_within_the_county(
    areas, twin_villages, _case, township, village, expected_code
):
    result = validate(areas, [_by_names(township, village)])

    assert result.errors == []
    assert result.households[0].area.code == expected_code


def test_area_by_names_ambiguous(areas, twin_villages):
    result = validate(areas, [_by_names(None, "新村")])

    assert result.errors == [
        problem(
            1,
            "嘎查村",
            "新村",
            "area_ambiguous",
            "嘎查村“新村”有多个：察素齐镇新村（150121100203）、毕克齐镇新村（150121101202），"
            "请填写苏木乡镇或嘎查村代码",
        )
    ]


@pytest.mark.parametrize(
    ("_case", "township", "village", "expected"),
    [
        (
            "unknown township with a suggestion",
            "察素齐",
            "察素齐一村",
            problem(
                1,
                "苏木乡镇",
                "察素齐",
                "area_unknown",
                "苏木乡镇“察素齐”在土默特左旗不存在，是否为：察素齐镇？",
            ),
        ),
        (
            "unknown village in the township",
            "察素齐镇",
            "察素齐三村",
            problem(
                1,
                "嘎查村",
                "察素齐三村",
                "area_unknown",
                "嘎查村“察素齐三村”不在察素齐镇，是否为：察素齐二村、察素齐一村？",
            ),
        ),
        (
            "unknown village, nothing close",
            None,
            "乌兰",
            problem(1, "嘎查村", "乌兰", "area_unknown", "嘎查村“乌兰”在土默特左旗不存在"),
        ),
        (
            "township of another county",
            "双河镇",
            "双河一村",
            problem(
                1,
                "苏木乡镇",
                "双河镇",
                "area_out_of_scope",
                "苏木乡镇“双河镇”属于托克托县，不在土默特左旗",
            ),
        ),
        (
            "village of another county",
            None,
            "双河一村",
            problem(
                1,
                "嘎查村",
                "双河一村",
                "area_out_of_scope",
                "嘎查村“双河一村”属于托克托县，不在土默特左旗",
            ),
        ),
        (
            "township without village",
            "察素齐镇",
            "",
            problem(1, "嘎查村", "", "required_missing", "填写苏木乡镇时嘎查村不能为空"),
        ),
        (
            "no area at all",
            None,
            None,
            problem(
                1,
                "嘎查村代码",
                "",
                "required_missing",
                "户编号H1缺少嘎查村：请填写嘎查村代码，或苏木乡镇和嘎查村名称",
            ),
        ),
    ],
)
def test_area_by_names_refused(areas, _case, township, village, expected):
    result = validate(areas, [_by_names(township, village)])

    assert result.errors == [expected]


@pytest.mark.parametrize(
    ("_case", "code", "expected_code", "message"),
    [
        ("unknown", "150121100299", "area_unknown", "嘎查村代码150121100299不存在"),
        ("malformed", "15012110020", "area_unknown", "嘎查村代码应为12位数字"),
        (
            "a township code",
            "150121100000",
            "area_unknown",
            "150121100000是苏木乡镇“察素齐镇”的代码，请填写嘎查村代码",
        ),
        (
            "another county",
            OTHER_COUNTY_VILLAGE_CODE,
            "area_out_of_scope",
            "150122100201（双河一村）不在土默特左旗，不能导入本旗县的台账",
        ),
    ],
)
def test_area_by_code_refused(areas, _case, code, expected_code, message):
    result = validate(areas, [person_row(household="H1", cells={"嘎查村代码": code})])

    assert result.errors == [problem(1, "嘎查村代码", code, expected_code, message)]


def test_code_wins_over_names(areas):
    row = person_row(household="H1", cells={"苏木乡镇": "毕克齐镇", "嘎查村": "毕克齐一村"})

    result = validate(areas, [row])

    assert result.households[0].area == areas.village


# --- queries ---------------------------------------------------------------------------------


def _file(households: int) -> list[dict[str, object]]:
    rows = []
    for index in range(households):
        rows += household_rows(f"H{index}", size=3)
    rows[0]["嘎查村代码"] = OTHER_COUNTY_VILLAGE_CODE  # an out-of-county code
    rows[3].update({"嘎查村代码": "", "苏木乡镇": "双河镇", "嘎查村": "双河一村"})
    return rows


@pytest.mark.parametrize("households", [2, 40])
def test_queries_do_not_grow_with_the_rows(areas, django_assert_num_queries, households):
    rows = _file(households)

    with django_assert_num_queries(4):  # county areas, codes, names, registry duplicates
        result = validate(areas, rows)

    assert len(result.errors) == 2
