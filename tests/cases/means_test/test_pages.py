"""The 试算 page and the printable 算账单 of a household."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import Programme, Relation
from cases.models import Household, HouseholdMember, MemberIncome
from lowbao.areas.roles import Role
from lowbao.people.masking import mask_id_number
from lowbao.people.services import person_upsert
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

PAGE = "/cases/means-test/"
ID_NUMBER = make_id_number(birth_date=date(1986, 3, 15))


def form_data(**overrides) -> dict:
    data = {
        "area": "",
        "on": "2026-11-01",
        "programme": "dibao",
        "coverage": "household",
        "houses": "1",
        "members-TOTAL_FORMS": "3",
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "1",
        "members-MAX_NUM_FORMS": "30",
        "members-0-id_number": ID_NUMBER,
        "members-0-relation": Relation.HEAD,
        "members-0-counted": "yes",
        "members-0-income_monthly": "320",
        "members-0-disability_grade": "2",
        "members-1-counted": "yes",
        "members-2-counted": "yes",
    }
    data.update(overrides)
    return data


@pytest.fixture
def caseworker(areas, standard, region_policy, make_user):
    return make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township)


def test_page_lists_only_villages_in_scope(areas, caseworker, login_client):
    html = login_client(caseworker).get(PAGE).content.decode()

    assert f'value="{areas.village.pk}"' in html
    assert f'value="{areas.sibling_village.pk}"' in html
    assert f'value="{areas.other_township_village.pk}"' not in html
    assert 'name="members-0-id_number"' in html


def test_page_calculates_the_contract_example(areas, caseworker, login_client):
    response = login_client(caseworker).post(PAGE, form_data(area=str(areas.village.pk)))

    html = response.content.decode()
    assert response.status_code == 200
    assert "符合条件：月保障金 <strong>186.00</strong> 元" in html
    assert "补差 = (460.00 − 320.00) × 1 人 = 140.00 元" in html
    assert ID_NUMBER not in html.split('id="means-test-form"')[0]


def test_blank_extra_rows_are_ignored(areas, caseworker, login_client):
    data = form_data(
        area=str(areas.village.pk),
        **{
            "members-1-id_number": make_id_number(),
            "members-1-relation": Relation.SPOUSE,
            "members-1-counted": "no",
            "members-1-income_monthly": "5000",
        },
    )

    html = login_client(caseworker).post(PAGE, data).content.decode()

    assert "家庭月收入 320.00 元（计入 1 人）" in html
    assert "不计入共同生活家庭成员 1 人，其收入不计入家庭收入" in html


@pytest.mark.parametrize(
    ("_case", "overrides", "message"),
    [
        (
            "bad_check_digit",
            {"members-0-id_number": ID_NUMBER[:17] + ("1" if ID_NUMBER[17] != "1" else "2")},
            "身份证号校验位错误",
        ),
        ("short_id_number", {"members-0-id_number": "15012119860315"}, "身份证号格式错误"),
        ("negative_income", {"members-0-income_monthly": "-5"}, "金额不能为负数"),
        ("no_relation", {"members-0-relation": ""}, "请选择与户主关系"),
        ("nobody_counted", {"members-0-counted": "no"}, "没有计入的家庭成员"),
        ("no_village", {"area": ""}, "请选择嘎查村"),
        ("bad_date", {"on": "2026-13-45"}, "日期格式应为 2026-11-01"),
    ],
)
def test_invalid_form_shows_chinese_errors(
    areas, caseworker, login_client, _case, overrides, message
):
    data = form_data(area=str(areas.village.pk))
    data.update(overrides)

    response = login_client(caseworker).post(PAGE, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert message in html
    assert 'id="means-test-result"' not in html
    assert "Traceback" not in html


def test_village_outside_scope_is_refused_in_the_form(areas, caseworker, login_client):
    response = login_client(caseworker).post(
        PAGE, form_data(area=str(areas.other_township_village.pk))
    )

    assert "所选嘎查村不在您的管辖范围内" in response.content.decode()


def test_missing_standard_is_shown_as_a_message(areas, caseworker, login_client):
    response = login_client(caseworker).post(
        PAGE, form_data(area=str(areas.village.pk), on="2017-06-01")
    )

    assert response.status_code == 200
    assert "没有适用的保障标准" in response.content.decode()


def test_page_is_403_without_means_test_run(areas, make_user, login_client):
    client = login_client(make_user(role=Role.COUNTY_LEADER, area=areas.county))

    assert client.get(PAGE).status_code == 403


def test_page_redirects_anonymous_to_login(client):
    response = client.get(PAGE)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- 算账单 ---------------------------------------------------------------------------------------


def make_household(*, village, county, number: str) -> tuple[Household, str]:
    household = Household.objects.create(
        area=village, county=county, programme=Programme.DIBAO, number=number, status="in_payment"
    )
    id_number = make_id_number(birth_date=date(1986, 3, 15))
    person, _ = person_upsert(actor=None, id_number=id_number, name="巴特尔")
    member = HouseholdMember.objects.create(
        household=household, person=person, relation=Relation.HEAD, disability_grade=2
    )
    MemberIncome.objects.create(member=member, category="wages", amount_monthly=Decimal("320"))
    return household, id_number


def sheet_url(household: Household) -> str:
    return f"/cases/households/{household.pk}/calculation/?on=2026-11-01"


def test_calculation_sheet_for_own_township(areas, caseworker, login_client):
    household, id_number = make_household(
        village=areas.village, county=areas.county, number="DB-0001"
    )

    response = login_client(caseworker).get(sheet_url(household))

    html = response.content.decode()
    assert response.status_code == 200
    for expected in [
        "DB-0001",
        "察素齐镇 察素齐一村",
        "2026年11月1日",
        "巴特尔",
        mask_id_number(id_number),
        "保障标准 460.00 元/人·月",
        "月保障金 186.00 元",
        "经办人（签字）",
        "审核人（签字）",
    ]:
        assert expected in html
    assert id_number not in html


def test_calculation_sheet_of_sibling_township_is_404(areas, caseworker, login_client):
    household, _ = make_household(
        village=areas.other_township_village, county=areas.county, number="DB-0002"
    )

    response = login_client(caseworker).get(sheet_url(household))

    assert response.status_code == 404


def test_calculation_sheet_without_standard_shows_a_message(areas, caseworker, login_client):
    household, _ = make_household(village=areas.village, county=areas.county, number="DB-0003")

    response = login_client(caseworker).get(
        f"/cases/households/{household.pk}/calculation/?on=2017-06-01"
    )

    assert response.status_code == 200
    assert "无法核算" in response.content.decode()


def test_county_leader_may_read_the_calculation_sheet(areas, standard, make_user, login_client):
    household, _ = make_household(village=areas.village, county=areas.county, number="DB-0004")
    client = login_client(make_user(role=Role.COUNTY_LEADER, area=areas.county))

    assert client.get(sheet_url(household)).status_code == 200


def test_calculation_sheet_is_403_without_case_view(areas, standard, make_user, login_client):
    household, _ = make_household(village=areas.village, county=areas.county, number="DB-0005")
    client = login_client(make_user(role=Role.DATA_ADMIN, area=areas.county))

    assert client.get(sheet_url(household)).status_code == 403
