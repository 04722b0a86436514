"""The means-test arithmetic (contracts.md ``POST /api/v1/means-test/``, domain.md §2–§4, §7).

Every test runs in 察素齐一村 (土默特左旗, standard 460 yuan) on 2026-11-01 with the region's
seeded 2021 policy: uplifts 10 % of the standard each (老年人 from 70), rounding to the yuan half
up, minimum 0, edge factor 1.5, vehicles 0, houses 2, business registration disqualifies.
"""

import json
from datetime import date
from decimal import Decimal

import pytest

from cases.choices import DisabilityType, Health, Programme, Relation, RoundingRule, UpliftMode
from cases.errors import CaseErrorCode
from cases.means_test import (
    SINGLE_PERSON_REASON,
    AssetsInput,
    MeansTestInput,
    MemberInput,
    means_test_run,
)
from cases.models import ClassifiedUplift, GuaranteeStandard
from lowbao.core.errors import DomainError
from lowbao.people.masking import mask_id_number
from tests.cases.means_test.conftest import ON, born_aged, member
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

D = Decimal


def test_contract_example_gives_the_contract_numbers(run):
    head = member(age=40, income=320, health=Health.DISABLED, disability_grade=2)

    result = run([head])

    assert result.to_json() == {
        "eligible": True,
        "reasons": [],
        "edge_family": False,
        "standard_monthly": 460.0,
        "household_income_monthly": 320.0,
        "deductions_allowed_monthly": 0.0,
        "members_counted": 1,
        "members_covered": 1,
        "per_capita_income_monthly": 320.0,
        "base_benefit_monthly": 140.0,
        "uplifts": [
            {"id_number": mask_id_number(head.id_number), "category": "重度残疾", "amount": 46.0}
        ],
        "monthly_benefit": 186.0,
        "lines": [
            "保障标准 460.00 元/人·月",
            "家庭月收入 320.00 元（计入 1 人）",
            "扣减刚性支出及就业成本 0.00 元",
            "家庭月人均收入 = (320.00 − 0.00) ÷ 1 = 320.00 元",
            "家庭财产：存款等金融资产 0.00 元，机动车辆 0 辆，房产 1 套，无工商登记",
            "家庭财产符合规定",
            "月人均收入 320.00 元低于保障标准 460.00 元",
            "结论：符合低保条件",
            "补差 = (460.00 − 320.00) × 1 人 = 140.00 元",
            "分类施保（每人只享受最高一项，不叠加）：",
            f"{mask_id_number(head.id_number)} 重度残疾 460.00 × 10% = 46.00 元",
            "合计 140.00 + 46.00 = 186.00 元，取整到元（四舍五入）为 186.00 元",
            "月保障金 186.00 元",
        ],
    }


def test_result_keeps_decimals_and_names_the_policy_and_standard_used(run, standard, region_policy):
    result = run([member(income=320, disability_grade=2)])

    assert result.monthly_benefit == D("186.00")
    assert result.per_capita_income_monthly == D("320.00")
    assert result.uplifts[0].amount == D("46.00")
    assert (result.programme, result.policy_id, result.standard_id) == (
        "dibao",
        region_policy.pk,
        standard.pk,
    )


def test_snapshot_is_json_with_exact_amounts_and_masked_ids(run, areas, standard, region_policy):
    head = member(income=320, disability_grade=1)

    snapshot = run([head]).to_snapshot()

    assert json.loads(json.dumps(snapshot)) == snapshot
    assert head.id_number not in json.dumps(snapshot, ensure_ascii=False)
    assert snapshot["monthly_benefit"] == "186.00"
    assert snapshot["uplifts"] == [
        {"id_number": mask_id_number(head.id_number), "category": "重度残疾", "amount": "46.00"}
    ]
    assert {key: snapshot[key] for key in ("programme", "coverage", "date", "area")} == {
        "programme": "dibao",
        "coverage": "household",
        "date": "2026-11-01",
        "area": areas.village.code,
    }
    assert (snapshot["policy_id"], snapshot["standard_id"]) == (region_policy.pk, standard.pk)


@pytest.mark.parametrize(
    ("_case", "incomes", "expected"),
    [
        ("two_members", ["300", "100"], ("400.00", 2, "200.00", "520.00", "520.00")),
        ("no_income", ["0", "0", "0"], ("0.00", 3, "0.00", "1380.00", "1380.00")),
        (
            "per_capita_rounded_to_fen",
            ["1000", "0", "0"],
            ("1000.00", 3, "333.33", "380.01", "380.00"),
        ),
        ("just_below_standard", ["459.99"], ("459.99", 1, "459.99", "0.01", "0.00")),
    ],
)
def test_gap_is_standard_minus_per_capita_times_members(run, _case, incomes, expected):
    result = run([member(income=income) for income in incomes])

    assert (
        str(result.household_income_monthly),
        result.members_counted,
        str(result.per_capita_income_monthly),
        str(result.base_benefit_monthly),
        str(result.monthly_benefit),
    ) == expected
    assert result.eligible is True


def test_excluded_members_neither_count_nor_bring_income(run):
    members = [
        member(income=200),
        member(income=0, relation=Relation.SPOUSE),
        member(income=2000, relation=Relation.SON, counted=False),
    ]

    result = run(members)

    assert (result.household_income_monthly, result.members_counted) == (D("200"), 2)
    assert (result.members_covered, result.per_capita_income_monthly) == (2, D("100.00"))
    assert result.base_benefit_monthly == D("720.00")
    assert "不计入共同生活家庭成员 1 人，其收入不计入家庭收入" in result.lines


def test_excluded_member_gets_no_uplift(run):
    members = [member(income=100), member(age=80, counted=False, relation=Relation.FATHER)]

    result = run(members)

    assert result.uplifts == ()
    assert result.monthly_benefit == D("360.00")


def test_no_counted_member_is_refused(run):
    with pytest.raises(DomainError) as error:
        run([member(counted=False)])

    assert error.value.code == CaseErrorCode.MEANS_TEST_INVALID
    assert error.value.message == "没有计入的家庭成员"


def test_not_eligible_when_per_capita_equals_the_standard(run):
    result = run([member(income=460)])

    assert result.eligible is False
    assert result.reasons == ("家庭月人均收入 460.00 元不低于保障标准 460.00 元",)
    assert (result.base_benefit_monthly, result.monthly_benefit, result.uplifts) == (
        D("0"),
        D("0"),
        (),
    )


@pytest.mark.parametrize(
    ("_case", "caps", "declared", "allowed", "per_capita"),
    [
        ("uncapped", {}, {"medical": "150", "education": "50"}, "200.00", "300.00"),
        (
            "medical_capped",
            {"medical_deduction_cap": D("100")},
            {"medical": "150", "education": "50"},
            "150.00",
            "350.00",
        ),
        (
            "every_cap",
            {
                "medical_deduction_cap": D("10"),
                "education_deduction_cap": D("20"),
                "employment_deduction_cap": D("30"),
                "disability_deduction_cap": D("40"),
            },
            {"medical": "100", "education": "100", "employment": "100", "disability": "100"},
            "100.00",
            "400.00",
        ),
        (
            "below_cap",
            {"employment_deduction_cap": D("300")},
            {"employment": "120"},
            "120.00",
            "380.00",
        ),
        ("deductions_above_income", {}, {"medical": "900"}, "900.00", "0.00"),
    ],
)
def test_deductions_are_capped_by_policy(
    run, region_policy, _case, caps, declared, allowed, per_capita
):
    for name, value in caps.items():
        setattr(region_policy, name, value)
    region_policy.save(update_fields=list(caps) or None)

    result = run(
        [member(income=500)], deductions={kind: D(amount) for kind, amount in declared.items()}
    )

    assert str(result.deductions_allowed_monthly) == allowed
    assert str(result.per_capita_income_monthly) == per_capita


def test_capped_deduction_is_explained_on_the_sheet(run, region_policy):
    region_policy.medical_deduction_cap = D("100")
    region_policy.save(update_fields=["medical_deduction_cap"])

    result = run([member(income=500)], deductions={"medical": D("150"), "education": D("50")})

    assert (
        "扣减刚性支出及就业成本 150.00 元（医疗 100.00 元（申报 150.00 元，上限 100.00 元）；"
        "教育 50.00 元）"
    ) in result.lines


def test_every_failed_rule_is_listed(run, region_policy):
    region_policy.deposit_limit_per_person = D("5000")
    region_policy.save(update_fields=["deposit_limit_per_person"])
    assets = AssetsInput(deposits=D("20000"), vehicles=1, houses=3, business_registered=True)

    result = run([member(income=1200), member(income=0)], assets=assets)

    assert result.eligible is False
    assert result.reasons == (
        "家庭月人均收入 600.00 元不低于保障标准 460.00 元",
        "人均存款等金融资产 10000.00 元，超过限额 5000.00 元",
        "机动车辆 1 辆，超过限额 0 辆",
        "房产 3 套，超过限额 2 套",
        "家庭成员有工商登记（正常经营）",
    )
    assert (result.monthly_benefit, result.edge_family) == (D("0"), False)


@pytest.mark.parametrize(
    ("_case", "assets", "reasons"),
    [
        ("deposits_at_limit", AssetsInput(deposits=D("10000")), ()),
        (
            "deposits_over_limit",
            AssetsInput(deposits=D("10000.02")),
            ("人均存款等金融资产 5000.01 元，超过限额 5000.00 元",),
        ),
        ("two_houses", AssetsInput(houses=2), ()),
        ("one_vehicle", AssetsInput(vehicles=1), ("机动车辆 1 辆，超过限额 0 辆",)),
    ],
)
def test_asset_rules_at_their_limits(run, region_policy, _case, assets, reasons):
    region_policy.deposit_limit_per_person = D("5000")
    region_policy.save(update_fields=["deposit_limit_per_person"])

    result = run([member(income=100), member(income=100)], assets=assets)

    assert result.reasons == reasons
    assert result.eligible is (not reasons)


def test_unset_limits_and_business_allowed_pass_everything(run, region_policy):
    region_policy.vehicle_limit = None
    region_policy.house_limit = None
    region_policy.business_registration_disqualifies = False
    region_policy.save(
        update_fields=["vehicle_limit", "house_limit", "business_registration_disqualifies"]
    )
    assets = AssetsInput(deposits=D("999999"), vehicles=3, houses=5, business_registered=True)

    result = run([member(income=100)], assets=assets)

    assert (result.eligible, result.reasons) == (True, ())


@pytest.mark.parametrize(
    ("_case", "rounding", "income", "age", "expected"),
    [
        ("yuan_half_up_at_half", RoundingRule.YUAN_HALF_UP, "45.50", 10, "461.00"),
        ("yuan_half_up_below_half", RoundingRule.YUAN_HALF_UP, "0.55", 40, "459.00"),
        ("yuan_half_up_above_half", RoundingRule.YUAN_HALF_UP, "0.45", 40, "460.00"),
        ("jiao_half_up_at_half", RoundingRule.JIAO_HALF_UP, "0.45", 40, "459.60"),
        ("jiao_half_up_below_half", RoundingRule.JIAO_HALF_UP, "0.56", 40, "459.40"),
        ("fen", RoundingRule.FEN, "0.45", 40, "459.55"),
        ("yuan_up", RoundingRule.YUAN_UP, "0.99", 40, "460.00"),
        ("yuan_up_exact", RoundingRule.YUAN_UP, "1", 40, "459.00"),
    ],
)
def test_rounding_rules(run, region_policy, _case, rounding, income, age, expected):
    region_policy.rounding = rounding
    region_policy.save(update_fields=["rounding"])

    result = run([member(income=income, age=age)])

    assert str(result.monthly_benefit) == expected


@pytest.mark.parametrize(
    ("_case", "incomes", "expected"),
    [
        ("raised_to_minimum", ["450"], "50.00"),
        ("raised_for_each_covered_person", ["900", "0"], "100.00"),
        ("above_minimum_unchanged", ["400"], "60.00"),
    ],
)
def test_minimum_per_covered_person(run, region_policy, _case, incomes, expected):
    region_policy.minimum_per_person_monthly = D("50")
    region_policy.save(update_fields=["minimum_per_person_monthly"])

    result = run([member(income=income) for income in incomes])

    assert str(result.monthly_benefit) == expected


def test_minimum_does_not_apply_when_not_eligible(run, region_policy):
    region_policy.minimum_per_person_monthly = D("50")
    region_policy.save(update_fields=["minimum_per_person_monthly"])

    assert run([member(income=500)]).monthly_benefit == D("0")


@pytest.mark.parametrize(
    ("_case", "income", "assets", "edge_family"),
    [
        ("just_below_edge_line", "689.99", AssetsInput(), True),
        ("at_edge_line", "690", AssetsInput(), False),
        ("at_standard", "460", AssetsInput(), True),
        ("eligible_is_not_edge", "100", AssetsInput(), False),
        ("assets_fail", "500", AssetsInput(vehicles=1), False),
    ],
)
def test_edge_family_at_the_factor_boundary(run, _case, income, assets, edge_family):
    result = run([member(income=income)], assets=assets)

    assert result.edge_family is edge_family


def test_edge_family_factor_is_configurable(run, region_policy):
    region_policy.edge_family_factor = D("2.00")
    region_policy.save(update_fields=["edge_family_factor"])

    assert run([member(income=900)]).edge_family is True
    assert run([member(income=920)]).edge_family is False


@pytest.mark.parametrize(
    ("_case", "kwargs", "category"),
    [
        ("severe_disability_grade_1", {"disability_grade": 1}, "severe_disability"),
        ("severe_disability_grade_2", {"disability_grade": 2}, "severe_disability"),
        ("grade_3_is_not_severe", {"disability_grade": 3}, None),
        ("elderly_at_70", {"age": 70}, "elderly"),
        ("not_elderly_at_69", {"age": 69}, None),
        ("minor_at_17", {"age": 17}, "minor"),
        ("adult_at_18", {"age": 18}, None),
        ("serious_illness", {"health": Health.SERIOUS_ILLNESS}, "serious_illness"),
        ("chronic_illness", {"health": Health.CHRONIC}, None),
    ],
)
def test_classified_uplift_categories(run, _case, kwargs, category):
    result = run([member(income=100, **kwargs)])

    assert [uplift.category for uplift in result.uplifts] == ([category] if category else [])
    assert result.monthly_benefit == D("360") + (D("46") if category else D("0"))


def test_elderly_age_is_counted_on_the_calculation_date(run):
    birthday_tomorrow = MemberInput(
        id_number=make_id_number(birth_date=date(1956, 11, 2)),
        relation=Relation.HEAD,
        income_monthly=D("100"),
    )

    assert run([birthday_tomorrow]).uplifts == ()
    assert len(run([birthday_tomorrow], on=date(2026, 11, 2)).uplifts) == 1


def test_uplifts_do_not_stack_equal_amounts_prefer_severe_disability(run):
    person = member(age=80, income=100, disability_grade=1, health=Health.SERIOUS_ILLNESS)

    result = run([person])

    assert [(u.category, u.amount) for u in result.uplifts] == [("severe_disability", D("46.00"))]
    assert result.monthly_benefit == D("406")
    assert (
        f"{person.id_number_masked} 重度残疾 460.00 × 10% = 46.00 元"
        "（同时符合重病患者、老年人，不叠加，取最高一项）"
    ) in result.lines


def test_uplifts_do_not_stack_the_largest_wins(run, region_policy):
    ClassifiedUplift.objects.filter(policy=region_policy, category="elderly").update(value=20)
    ClassifiedUplift.objects.filter(policy=region_policy, category="minor").update(
        mode=UpliftMode.FIXED, value=D("30")
    )

    result = run([member(age=75, income=0, disability_grade=2), member(age=10, income=0)])

    assert [(u.category, u.amount) for u in result.uplifts] == [
        ("elderly", D("92.00")),
        ("minor", D("30.00")),
    ]
    assert result.monthly_benefit == D("1042")


def test_policy_without_uplift_rows_pays_the_gap_only(run, region_policy):
    region_policy.uplifts.all().delete()

    result = run([member(income=320, disability_grade=1)])

    assert (result.uplifts, result.monthly_benefit) == ((), D("140"))
    assert "分类施保：无" in result.lines


@pytest.mark.parametrize(
    ("_case", "income", "eligible", "benefit", "reasons"),
    [
        ("gap_to_tekun_standard", "100", True, "660.00", ()),
        (
            "income_above_dibao_standard",
            "500",
            False,
            "0.00",
            ("家庭月人均收入 500.00 元不低于低保标准 460.00 元",),
        ),
    ],
)
def test_tekun_uses_the_tekun_standard(run, _case, income, eligible, benefit, reasons):
    result = run([member(income=income)], programme=Programme.TEKUN)

    assert result.standard_monthly == D("760.00")
    assert (result.eligible, str(result.monthly_benefit), result.reasons) == (
        eligible,
        benefit,
        reasons,
    )
    assert result.programme == "tekun"
    assert result.lines[0] == "保障标准 760.00 元/人·月（特困人员基本生活标准）"


def test_tekun_without_a_tekun_standard_is_refused(run, areas):
    GuaranteeStandard.objects.create(
        area=areas.county,
        effective_from=date(2026, 6, 1),
        rural_dibao_monthly=D("470"),
        tekun_basic_monthly=None,
    )

    with pytest.raises(DomainError) as error:
        run([member(income=0)], programme=Programme.TEKUN)

    assert error.value.code == CaseErrorCode.STANDARD_MISSING


@pytest.mark.parametrize(
    ("_case", "on", "expected"),
    [
        ("county_row_beats_region_row", date(2026, 11, 1), D("460.00")),
        ("before_county_row_region_applies", date(2025, 12, 1), D("492.83")),
    ],
)
def test_standard_inheritance(run, _case, on, expected):
    assert run([member(income=0)], on=on).standard_monthly == expected


def test_no_standard_in_force_is_refused(run):
    with pytest.raises(DomainError) as error:
        run([member(income=0)], on=date(2017, 6, 1))

    assert error.value.code == CaseErrorCode.STANDARD_MISSING


def _single_household(*, covered_kwargs=None, other_income="1000"):
    covered_kwargs = covered_kwargs or {"disability_grade": 1}
    person = member(income=0, covered=True, **covered_kwargs)
    other = member(income=other_income, relation=Relation.SPOUSE, covered=False)
    return person, other


@pytest.mark.parametrize(
    ("_case", "covered_kwargs", "uplift"),
    [
        ("grade_1", {"disability_grade": 1}, ["severe_disability"]),
        ("grade_2", {"disability_grade": 2}, ["severe_disability"]),
        (
            "grade_3_intellectual",
            {"disability_grade": 3, "disability_type": DisabilityType.INTELLECTUAL},
            [],
        ),
        ("grade_3_mental", {"disability_grade": 3, "disability_type": DisabilityType.MENTAL}, []),
        ("serious_illness", {"health": Health.SERIOUS_ILLNESS}, ["serious_illness"]),
    ],
)
def test_single_person_coverage_allowed_in_an_edge_family(run, _case, covered_kwargs, uplift):
    person, other = _single_household(covered_kwargs=covered_kwargs)

    result = run([person, other], coverage="single_person")

    assert result.eligible is True
    assert (result.members_counted, result.members_covered) == (2, 1)
    assert result.per_capita_income_monthly == D("500.00")
    assert result.base_benefit_monthly == D("460.00")
    assert [(u.id_number, u.category) for u in result.uplifts] == [
        (person.id_number, category) for category in uplift
    ]


def test_single_person_benefit_is_the_gap_to_their_own_income(run):
    person = member(income=100, covered=True, disability_grade=2)
    other = member(income=900, relation=Relation.SPOUSE)

    result = run([person, other], coverage="single_person")

    assert (result.base_benefit_monthly, result.monthly_benefit) == (D("360.00"), D("406"))
    assert f"{person.id_number_masked} 补差 = 460.00 − 100.00 = 360.00 元" in result.lines


@pytest.mark.parametrize(
    ("_case", "covered_kwargs", "other_income", "detail"),
    [
        (
            "physical_grade_3",
            {"disability_grade": 3, "disability_type": DisabilityType.PHYSICAL},
            "1000",
            "{masked} 不是 1–2 级残疾、3 级智力或精神残疾或重病患者",
        ),
        (
            "old_age_is_not_a_ground",
            {"age": 85},
            "1000",
            "{masked} 不是 1–2 级残疾、3 级智力或精神残疾或重病患者",
        ),
        (
            "not_an_edge_family",
            {"disability_grade": 1},
            "1380",
            "家庭月人均收入 690.00 元不低于低保边缘家庭标准 690.00 元（1.5 倍低保标准）",
        ),
    ],
)
def test_single_person_coverage_refused(run, _case, covered_kwargs, other_income, detail):
    person, other = _single_household(covered_kwargs=covered_kwargs, other_income=other_income)

    result = run([person, other], coverage="single_person")

    assert result.eligible is False
    assert result.reasons == (
        SINGLE_PERSON_REASON,
        detail.format(masked=person.id_number_masked),
    )
    assert result.monthly_benefit == D("0")


def test_single_person_coverage_needs_a_marked_member(run):
    members = [member(income=0, disability_grade=1), member(income=1000, relation=Relation.SPOUSE)]

    result = run(members, coverage="single_person")

    assert result.reasons == (SINGLE_PERSON_REASON, "未指定单人保对象")


def test_single_person_coverage_still_applies_asset_rules(run):
    person, other = _single_household()

    result = run([person, other], coverage="single_person", assets=AssetsInput(vehicles=1))

    assert result.reasons == ("机动车辆 1 辆，超过限额 0 辆",)


def test_household_coverage_covers_every_counted_member_whatever_covered_says(run):
    members = [member(income=0, covered=False), member(income=0, covered=True)]

    assert run(members).members_covered == 2


def _wrong_check() -> str:
    number = make_id_number()
    return number[:17] + ("1" if number[17] != "1" else "2")


@pytest.mark.parametrize(
    ("_case", "build", "field"),
    [
        ("negative_income", lambda: member(income="-1"), "income_monthly"),
        (
            "bad_id_number",
            lambda: MemberInput(id_number=_wrong_check(), relation="01"),
            "id_number",
        ),
        ("unknown_relation", lambda: member(relation="77"), "relation"),
        ("grade_5", lambda: member(disability_grade=5), "disability_grade"),
        ("negative_deposits", lambda: AssetsInput(deposits=D("-5")), "deposits"),
    ],
)
def test_invalid_inputs_are_refused(_case, build, field):
    with pytest.raises(DomainError) as error:
        build()

    assert error.value.code == CaseErrorCode.MEANS_TEST_INVALID
    assert list(error.value.fields) == [field]


@pytest.mark.parametrize(
    ("_case", "kwargs", "field"),
    [
        ("unknown_deduction", {"deductions": {"travel": D("5")}}, "deductions"),
        ("negative_deduction", {"deductions": {"medical": D("-5")}}, "medical"),
        ("unknown_coverage", {"coverage": "village_quota"}, "coverage"),
        ("unknown_programme", {"programme": "wubao"}, "programme"),
    ],
)
def test_invalid_run_arguments_are_refused(run, _case, kwargs, field):
    with pytest.raises(DomainError) as error:
        run([member(income=0)], **kwargs)

    assert error.value.code == CaseErrorCode.MEANS_TEST_INVALID
    assert list(error.value.fields) == [field]


def test_member_input_normalises_the_id_number_and_derives_the_birth_date():
    number = make_id_number(birth_date=date(1980, 1, 1), seq=1)

    person = MemberInput(
        id_number=f" {number[:6]} {number[6:14]} {number[14:]}".lower(), relation="01"
    )

    assert (person.id_number, person.birth_date) == (number, date(1980, 1, 1))


def test_whole_household_scope_code_is_accepted(run):
    assert run([member(income=0)], coverage="whole_household").coverage == "household"


def test_means_test_input_runs_the_same_calculation(areas, standard, region_policy):
    head = member(income=320, disability_grade=2)
    given = MeansTestInput(
        area=areas.village, on=ON, members=(head,), deductions={}, assets=AssetsInput(houses=1)
    )

    assert given.run() == means_test_run(
        area=areas.village, on=ON, members=[head], deductions={}, assets=AssetsInput(houses=1)
    )


def test_born_aged_helper_is_exact():
    assert (
        MemberInput(id_number=make_id_number(birth_date=born_aged(40)), relation="01").age_on(ON)
        == 40
    )
