"""``POST /api/v1/means-test/`` (contracts.md): shapes, validation, scope and roles."""

from datetime import date

import pytest

from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.people.masking import mask_id_number
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

URL = "/api/v1/means-test/"
ID_NUMBER = make_id_number(birth_date=date(1986, 3, 15))


def contract_request(**overrides) -> dict:
    body = {
        "area": "150121100201",
        "date": "2026-11-01",
        "coverage": "household",
        "members": [
            {
                "id_number": ID_NUMBER,
                "relation": "户主",
                "counted": True,
                "income_monthly": 320.0,
                "labor_capacity": "丧失劳动力",
                "health": "残疾",
                "disability_grade": 2,
                "in_school": False,
            }
        ],
        "deductions_monthly": {"medical": 0, "education": 0, "employment": 0, "disability": 0},
        "assets": {"deposits": 0, "vehicles": 0, "houses": 1, "business_registered": False},
    }
    body.update(overrides)
    return body


def with_member(**changes) -> dict:
    body = contract_request()
    body["members"][0].update(changes)
    return body


@pytest.fixture
def caseworker_client(areas, standard, region_policy, make_user, login_client):
    return login_client(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))


def test_contract_example_returns_the_contract_response(caseworker_client):
    audit_before = AuditEvent.objects.count()

    response = caseworker_client.post(URL, contract_request(), content_type="application/json")

    assert response.status_code == 200
    body = response.json()
    assert {key: value for key, value in body.items() if key != "lines"} == {
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
            {"id_number": mask_id_number(ID_NUMBER), "category": "重度残疾", "amount": 46.0}
        ],
        "monthly_benefit": 186.0,
    }
    assert body["lines"][:2] == ["保障标准 460.00 元/人·月", "家庭月收入 320.00 元（计入 1 人）"]
    assert ID_NUMBER not in response.content.decode()
    assert AuditEvent.objects.count() == audit_before


@pytest.mark.parametrize(
    ("_case", "member"),
    [
        ("codes", {"relation": "01", "labor_capacity": "lost", "health": "disabled"}),
        (
            "ledger_spellings",
            {"relation": "本人", "labor_capacity": "丧失劳动能力", "health": "残疾"},
        ),
        ("optional_fields_left_out", {"labor_capacity": "", "health": ""}),
    ],
)
def test_codes_and_chinese_labels_are_both_accepted(caseworker_client, _case, member):
    response = caseworker_client.post(URL, with_member(**member), content_type="application/json")

    assert response.status_code == 200
    assert response.json()["monthly_benefit"] == 186.0


def test_minimal_request_uses_defaults(caseworker_client):
    body = {
        "area": "150121100201",
        "date": "2026-11-01",
        "members": [{"id_number": ID_NUMBER, "relation": "户主", "income_monthly": 100}],
    }

    response = caseworker_client.post(URL, body, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["monthly_benefit"] == 360.0


def test_single_person_and_tekun_are_selectable(caseworker_client):
    body = contract_request(coverage="single_person", programme="特困")
    body["members"][0]["covered"] = True

    response = caseworker_client.post(URL, body, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["standard_monthly"] == 760.0
    assert response.json()["members_covered"] == 1


def _wrong_check(number: str) -> str:
    return number[:17] + ("1" if number[17] != "1" else "2")


@pytest.mark.parametrize(
    ("_case", "body", "fields"),
    [
        (
            "bad_check_digit",
            with_member(id_number=_wrong_check(ID_NUMBER)),
            {"members": {"0": {"id_number": ["身份证号校验位错误"]}}},
        ),
        (
            "id_number_as_json_number",
            with_member(id_number=150121198603150011),
            {
                "members": {
                    "0": {
                        "id_number": [
                            "身份证号被 Excel 存成了数字，末尾几位已经丢失：请把该列的单元格格式"
                            "设置为“文本”，然后重新录入这些身份证号"
                        ]
                    }
                }
            },
        ),
        (
            "negative_income",
            with_member(income_monthly=-1),
            {"members": {"0": {"income_monthly": ["金额不能为负数"]}}},
        ),
        (
            "negative_deposits",
            contract_request(assets={"deposits": -5}),
            {"assets": {"deposits": ["金额不能为负数"]}},
        ),
        (
            "negative_deduction",
            contract_request(deductions_monthly={"medical": -0.01}),
            {"deductions_monthly": {"medical": ["金额不能为负数"]}},
        ),
        ("no_members", contract_request(members=[]), {"members": ["至少填写一名家庭成员"]}),
        (
            "nobody_counted",
            with_member(counted=False),
            {"members": ["没有计入的家庭成员"]},
        ),
        (
            "unknown_relation",
            with_member(relation="邻居"),
            {"members": {"0": {"relation": ["无法识别的取值“邻居”"]}}},
        ),
        ("bad_area_code", contract_request(area="1501"), {"area": ["区划代码应为 12 位数字"]}),
    ],
)
def test_invalid_requests_are_400_with_field_errors(caseworker_client, _case, body, fields):
    response = caseworker_client.post(URL, body, content_type="application/json")

    assert response.status_code == 400
    assert response.json() == {"code": "invalid", "message": "提交的数据有误", "fields": fields}


def test_full_id_number_is_never_echoed_in_errors(caseworker_client):
    bad = _wrong_check(ID_NUMBER)

    response = caseworker_client.post(
        URL, with_member(id_number=bad), content_type="application/json"
    )

    assert bad not in response.content.decode()


@pytest.mark.parametrize(
    ("_case", "area"), [("sibling_township_village", "150121101201"), ("unknown", "150121999999")]
)
def test_area_outside_scope_is_404(caseworker_client, _case, area):
    response = caseworker_client.post(
        URL, contract_request(area=area), content_type="application/json"
    )

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_county_role_may_use_any_village_of_its_county(
    areas, standard, region_policy, make_user, login_client
):
    client = login_client(make_user(role=Role.COUNTY_CIVIL_AFFAIRS, area=areas.county))

    response = client.post(
        URL, contract_request(area="150121101201"), content_type="application/json"
    )

    assert response.status_code == 200


def test_missing_standard_is_422(caseworker_client):
    response = caseworker_client.post(
        URL, contract_request(date="2017-06-01"), content_type="application/json"
    )

    assert response.status_code == 422
    assert response.json()["code"] == "standard_missing"


@pytest.mark.parametrize(
    ("_case", "role"),
    [("county_leader", Role.COUNTY_LEADER), ("data_admin", Role.DATA_ADMIN)],
)
def test_role_without_means_test_run_is_403(areas, standard, make_user, login_client, _case, role):
    client = login_client(make_user(role=role, area=areas.county))

    response = client.post(URL, contract_request(), content_type="application/json")

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_user_without_role_is_403(areas, make_user, login_client):
    response = login_client(make_user()).post(
        URL, contract_request(), content_type="application/json"
    )

    assert response.status_code == 403


def test_anonymous_is_401(areas, client):
    response = client.post(URL, contract_request(), content_type="application/json")

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_endpoint_is_in_the_openapi_schema(areas, make_user, login_client):
    client = login_client(make_user(role=Role.REGION_OFFICER, area=areas.region))

    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/api/v1/means-test/"]["post"]
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MeansTestInputRequest"
    }
    assert operation["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MeansTestResult"
    }
    assert set(schema["components"]["schemas"]["MeansTestResult"]["properties"]) == {
        "eligible", "reasons", "edge_family", "standard_monthly", "household_income_monthly",
        "deductions_allowed_monthly", "members_counted", "members_covered",
        "per_capita_income_monthly", "base_benefit_monthly", "uplifts", "monthly_benefit",
        "lines",
    }  # fmt: skip
