"""The registry's data-quality rules (domain.md §9), one case per rule, and the township report."""

from dataclasses import replace
from datetime import date

import pytest

from cases.choices import Programme, Relation
from lowbao.people.id_numbers import age_on
from poverty.choices import SnapshotSource
from poverty.models import DataQualityIssue
from poverty.quality import QualityRule, quality_check_snapshot
from poverty.selectors import quality_report
from poverty.services.registry import registry_snapshot_apply
from poverty.validation import validate_registry_rows
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import (
    FIRST_SNAPSHOT,
    OTHER_COUNTY_VILLAGE_CODE,
    OTHER_TOWNSHIP_VILLAGE_CODE,
    SECOND_SNAPSHOT,
    person_row,
)

pytestmark = pytest.mark.django_db

HEAD_ID = make_id_number(birth_date=date(1980, 5, 1), sex="男")
SPOUSE_ID = make_id_number(birth_date=date(1982, 6, 1), sex="女")


def couple(
    *,
    household: str = "H1",
    both: dict | None = None,
    head: dict | None = None,
    spouse: dict | None = None,
    spouse_id: str = SPOUSE_ID,
) -> list[dict[str, object]]:
    """巴特尔 (45 on the snapshot date, male) and 其其格 (43, female): no issue by default."""
    return [
        person_row(
            household=household,
            id_number=HEAD_ID,
            name="巴特尔",
            cells={**(both or {}), **(head or {})},
        ),
        person_row(
            household=household,
            relation="配偶",
            id_number=spouse_id,
            name="其其格",
            cells={**(both or {}), **(spouse or {})},
        ),
    ]


def child(age: int, cells: dict, household: str = "H1") -> dict[str, object]:
    born = date(FIRST_SNAPSHOT.year - age, 1, 1)
    return person_row(household=household, relation="子", name="巴图", birth_date=born, cells=cells)


def issues(snapshot) -> list[tuple[str, str]]:
    return sorted(DataQualityIssue.objects.filter(snapshot=snapshot).values_list("rule", "message"))


def test_a_clean_household_has_no_issue(apply_rows):
    snapshot = apply_rows(couple())

    assert issues(snapshot) == []


@pytest.mark.parametrize(
    ("_case", "rows", "expected"),
    [
        (
            "labour capacity empty at 45",
            couple(head={"劳动能力": ""}),
            [("labour_capacity_missing", "户编号H1：巴特尔（45岁）劳动能力为空")],
        ),
        (
            "labour capacity empty at 16",
            [*couple(), child(16, {"劳动能力": "", "在校生状况": "高中1-3"})],
            [("labour_capacity_missing", "户编号H1：巴图（16岁）劳动能力为空")],
        ),
        (
            "labour capacity may be empty at 15 and at 66",
            [
                *couple(),
                child(15, {"劳动能力": "", "在校生状况": "7-9年级"}),
                person_row(
                    household="H1",
                    relation="父亲",
                    birth_date=date(1959, 1, 1),
                    cells={"劳动能力": ""},
                ),
            ],
            [],
        ),
        (
            "school status empty at 6",
            [*couple(), child(6, {"劳动能力": "", "在校生状况": ""})],
            [("school_status_missing", "户编号H1：巴图（6岁）在校生状况为空")],
        ),
        (
            "school status empty at 23",
            [*couple(), child(23, {"在校生状况": ""})],
            [("school_status_missing", "户编号H1：巴图（23岁）在校生状况为空")],
        ),
        (
            "school status may be empty at 5 and 24",
            [
                *couple(),
                child(5, {"劳动能力": "", "在校生状况": ""}),
                child(24, {"在校生状况": ""}),
            ],
            [],
        ),
        (
            "因病 but everyone healthy",
            couple(both={"主要致贫原因": "因病"}),
            [
                (
                    "cause_illness_all_healthy",
                    "户编号H1：主要致贫原因为因病，但没有患长期慢性病或大病的成员",
                )
            ],
        ),
        (
            "因病 with a chronic illness",
            couple(both={"主要致贫原因": "因病"}, spouse={"健康状况": "长期慢性病"}),
            [],
        ),
        (
            "因学 but no student",
            couple(both={"主要致贫原因": "因学"}),
            [("cause_schooling_no_student", "户编号H1：主要致贫原因为因学，但没有在校生")],
        ),
        (
            "因学 with a student",
            [
                *couple(both={"主要致贫原因": "因学"}),
                child(19, {"主要致贫原因": "因学", "在校生状况": "大专及以上"}),
            ],
            [],
        ),
        (
            "因残 but nobody disabled",
            couple(both={"主要致贫原因": "因残"}),
            [("cause_disability_nobody_disabled", "户编号H1：主要致贫原因为因残，但没有残疾成员")],
        ),
        (
            "因残 with a disabled member",
            couple(both={"主要致贫原因": "因残"}, head={"健康状况": "残疾"}),
            [],
        ),
        (
            "特困 household with a member who can work",
            couple(both={"贫困户属性": "五保贫困户"}, spouse={"劳动能力": "丧失劳动力"}),
            [
                (
                    "tekun_member_can_work",
                    "户编号H1：特困供养贫困户，但巴特尔（45岁）为普通劳动力",
                )
            ],
        ),
        (
            "特困 household with a skilled member",
            couple(
                both={"贫困户属性": "特困供养贫困户"},
                head={"劳动能力": "丧失劳动力"},
                spouse={"劳动能力": "技能劳动力"},
            ),
            [("tekun_member_can_work", "户编号H1：特困供养贫困户，但其其格（43岁）为技能劳动力")],
        ),
        (
            "no helper",
            couple(both={"帮扶责任人": ""}),
            [("no_helper", "户编号H1：没有帮扶责任人")],
        ),
        (
            "income zero",
            couple(both={"家庭年人均纯收入": "0"}),
            [("income_out_of_range", "户编号H1：家庭年人均纯收入0.00元，应大于0且不超过100000元")],
        ),
        (
            "income above 100,000",
            couple(both={"家庭年人均纯收入": "100000.01"}),
            [
                (
                    "income_out_of_range",
                    "户编号H1：家庭年人均纯收入100000.01元，应大于0且不超过100000元",
                )
            ],
        ),
        ("income 100,000 exactly", couple(both={"家庭年人均纯收入": "100,000"}), []),
        (
            "work months without a work location",
            couple(head={"务工时间": "6", "务工状况": ""}),
            [
                (
                    "work_months_without_location",
                    "户编号H1：巴特尔务工6个月，但没有填写务工状况（务工地点）",
                )
            ],
        ),
        ("work months with a location", couple(head={"务工时间": "6", "务工状况": "省外"}), []),
        (
            "head and spouse of the same sex",
            couple(spouse_id=make_id_number(birth_date=date(1982, 6, 1), sex="男")),
            [("head_spouse_same_sex", "户编号H1：户主巴特尔与配偶其其格性别相同")],
        ),
    ],
)
def test_each_rule(apply_rows, _case, rows, expected):
    snapshot = apply_rows(rows)

    assert issues(snapshot) == expected


@pytest.mark.parametrize(
    ("_case", "attribute", "programme", "expected"),
    [
        (
            "低保贫困户 with nobody on dibao",
            "低保贫困户",
            None,
            [
                (
                    "dibao_attribute_not_paid",
                    "户编号H1：贫困户属性为低保贫困户，但没有成员在享受低保",
                )
            ],
        ),
        ("低保贫困户 with a member on dibao", "低保贫困户", Programme.DIBAO, []),
        (
            "低保贫困户 with a member on 特困 only",
            "低保贫困户",
            Programme.TEKUN,
            [
                (
                    "dibao_attribute_not_paid",
                    "户编号H1：贫困户属性为低保贫困户，但没有成员在享受低保",
                )
            ],
        ),
        (
            "一般贫困户 with a member on dibao",
            "一般贫困户",
            Programme.DIBAO,
            [("general_attribute_paid", "户编号H1：一般贫困户，但其其格在享受低保或特困供养")],
        ),
        (
            "一般贫困户 with a member on 特困",
            "一般贫困户",
            Programme.TEKUN,
            [("general_attribute_paid", "户编号H1：一般贫困户，但其其格在享受低保或特困供养")],
        ),
        ("一般贫困户 with nobody paid", "一般贫困户", None, []),
    ],
)
def test_attribute_against_the_dibao_roster(
    apply_rows, paid_household, _case, attribute, programme, expected
):
    if programme is not None:
        paid_household(id_numbers=[SPOUSE_ID], programme=programme)

    snapshot = apply_rows(couple(both={"贫困户属性": attribute}))

    assert issues(snapshot) == expected


def test_a_stopped_dibao_household_does_not_count_as_paid(apply_rows, paid_household):
    paid_household(id_numbers=[SPOUSE_ID], status="stopped")

    snapshot = apply_rows(couple(both={"贫困户属性": "一般贫困户"}))

    assert issues(snapshot) == []


def test_household_without_head_when_written_without_validation(areas):
    result = validate_registry_rows(couple(), county=areas.county)
    household = result.households[0]
    household.members = [replace(m, relation=Relation.SPOUSE) for m in household.members]

    snapshot = registry_snapshot_apply(
        actor=None,
        county=areas.county,
        households=[household],
        snapshot_date=FIRST_SNAPSHOT,
        source=SnapshotSource.API,
    )

    assert issues(snapshot) == [("no_head", "户编号H1：没有户主")]


def test_a_person_in_two_registry_households(apply_rows, areas):
    elsewhere = couple(household="1501220001", both={"嘎查村代码": OTHER_COUNTY_VILLAGE_CODE})
    apply_rows(elsewhere, county=areas.sibling_county)
    first = apply_rows(couple(household="H1"))
    # A partial push later puts the spouse in a second household of the same county.
    moved = person_row(household="H2", id_number=SPOUSE_ID, name="其其格")

    second = apply_rows([moved], on=SECOND_SNAPSHOT, partial=True)

    assert issues(first) == [
        ("duplicate_person", "户编号H1：其其格同时是托克托县建档立卡户1501220001的成员"),
        ("duplicate_person", "户编号H1：巴特尔同时是托克托县建档立卡户1501220001的成员"),
    ]
    assert issues(second) == [
        ("duplicate_person", "户编号H2：其其格同时是土默特左旗建档立卡户H1的成员"),
        ("duplicate_person", "户编号H2：其其格同时是托克托县建档立卡户1501220001的成员"),
    ]


def test_issues_carry_the_township_person_and_are_replaced_on_rerun(apply_rows, areas):
    snapshot = apply_rows(couple(head={"劳动能力": ""}))

    issue = DataQualityIssue.objects.get(snapshot=snapshot)
    assert issue.township == areas.township
    assert issue.person.name == "巴特尔"
    assert issue.household.number == "H1"
    assert quality_check_snapshot(snapshot=snapshot) == 1
    assert DataQualityIssue.objects.filter(snapshot=snapshot).count() == 1


def test_ages_are_full_years_on_the_snapshot_date():
    assert age_on(date(2010, 1, 15), date(2026, 1, 15)) == 16
    assert age_on(date(2010, 1, 16), date(2026, 1, 15)) == 15
    assert age_on(date(2008, 2, 29), date(2026, 2, 28)) == 17


def test_every_rule_has_a_chinese_label():
    assert all(label and not label.isascii() for label in QualityRule.labels)


# --- the report by township ------------------------------------------------------------------


@pytest.fixture
def snapshot_with_issues(apply_rows):
    other_township = {"嘎查村代码": OTHER_TOWNSHIP_VILLAGE_CODE}
    rows = [
        *couple(household="H1", both={"帮扶责任人": ""}, head={"劳动能力": ""}),
        *couple(
            household="H2",
            both={**other_township, "帮扶责任人": ""},
            spouse_id=make_id_number(birth_date=date(1982, 6, 1), sex="女"),
        ),
    ]
    rows[2]["证件号码"] = make_id_number(birth_date=date(1980, 5, 1), sex="男")
    return apply_rows(rows)


def test_quality_report_counts_issues_by_township_and_rule(snapshot_with_issues, areas, case_users):
    report = quality_report(actor=case_users.poverty_office, snapshot=snapshot_with_issues)

    assert report.rules == [
        ("labour_capacity_missing", "16–65岁劳动能力为空"),
        ("no_helper", "无帮扶责任人"),
    ]
    assert [(row.township.name, row.cells, row.total) for row in report.rows] == [
        ("察素齐镇", [1, 1], 2),
        ("毕克齐镇", [0, 1], 1),
    ]
    assert (report.total_cells, report.total) == ([1, 2], 3)


def test_quality_report_is_scoped_to_the_actors_townships(snapshot_with_issues, case_users):
    report = quality_report(actor=case_users.sibling_caseworker, snapshot=snapshot_with_issues)

    assert [(row.township.name, row.cells) for row in report.rows] == [("毕克齐镇", [1])]
    assert report.rules == [("no_helper", "无帮扶责任人")]
