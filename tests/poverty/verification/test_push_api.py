"""``POST /api/v1/verification/reports/`` (核对平台) and ``GET …?application=``: roles, all or
nothing, idempotence, audit without plain ID numbers, reports for persons not yet known."""

import json
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from cases.choices import ApplicationAction as A
from cases.choices import Relation
from cases.services.applications import application_transition
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from poverty.models import VerificationReport
from poverty.services.verification import verification_gate, verification_link_new_person
from tests.fixtures.cases import member
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

URL = "/api/v1/verification/reports/"


def _row(id_number: str, item: str = "车辆", found: str = "无", **extra: str) -> dict[str, str]:
    return {
        "身份证号": id_number,
        "姓名": extra.pop("name", "张三"),
        "核对项目": item,
        "核对结果": found,
        "核对日期": extra.pop("on", "2026-11-20"),
        **extra,
    }


def _post(client: Client, body: object):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


def test_the_url_names_are_the_contract():
    assert reverse("verification-report-push") == URL
    assert reverse("disability-record-push") == "/api/v1/disability/records/"


def test_anonymous_gets_401(areas):
    response = _post(Client(), {"reports": [_row(make_id_number())]})

    assert response.status_code == 401
    assert VerificationReport.objects.count() == 0


@pytest.mark.parametrize(
    "who",
    [
        pytest.param("caseworker", id="human_caseworker"),
        pytest.param("civil_affairs", id="human_county"),
        pytest.param("federation", id="other_system_role"),
        pytest.param("poverty_system", id="poverty_office_system"),
    ],
)
def test_only_the_verification_platform_may_push(
    who, case_users, login_client, federation, token_client
):
    clients = {
        "caseworker": lambda: login_client(case_users.caseworker),
        "civil_affairs": lambda: login_client(case_users.civil_affairs),
        "federation": lambda: federation,
        "poverty_system": lambda: token_client(Role.POVERTY_OFFICE_SYSTEM),
    }

    response = _post(clients[who](), {"reports": [_row(make_id_number())]})

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert VerificationReport.objects.count() == 0


def test_invalid_rows_give_422_with_every_error_and_write_nothing(platform):
    good = make_id_number()
    body = {
        "reports": [
            _row(good),
            _row("150121198001010018", name=""),
            _row(good, item="飞机", found="也许", 金额="-3"),
            _row(good),
        ]
    }
    before = AuditEvent.objects.count()

    response = _post(platform, body)

    assert response.status_code == 422
    payload = response.json()
    assert payload["code"] == "invalid_rows"
    assert payload["message"] == "数据有 6 处错误，未写入任何数据"
    assert [(e["row"], e["column"], e["code"]) for e in payload["fields"]["errors"]] == [
        (2, "身份证号", "id_checksum"),
        (2, "姓名", "required_missing"),
        (3, "核对项目", "bad_enum"),
        (3, "核对结果", "bad_enum"),
        (3, "金额", "negative_amount"),
        (4, "身份证号", "duplicate_in_file"),
    ]
    assert payload["fields"]["errors"][0]["value"] == "150121********0018"
    assert good not in response.content.decode()
    assert VerificationReport.objects.count() == 0
    assert AuditEvent.objects.count() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="no_reports_key"),
        pytest.param({"reports": "x"}, id="not_a_list"),
        pytest.param([], id="not_an_object"),
    ],
)
def test_a_malformed_body_is_400(platform, body):
    response = _post(platform, body)

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_push_is_idempotent_and_audited_without_plain_id_numbers(platform):
    first_id, second_id = make_id_number(), make_id_number()
    body = {
        "reports": [
            _row(first_id, "车辆", "有", 金额="35000", 明细="蒙A12345"),
            _row(first_id, "存款", "无"),
            _row(second_id, "房产", "无", name="李四"),
        ]
    }

    first = _post(platform, body)
    second = _post(platform, body)

    assert first.status_code == 200
    assert first.json() == {
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "linked": 0,
        "warnings": [],
    }
    assert second.json()["created"] == 0
    assert second.json()["unchanged"] == 3
    assert VerificationReport.objects.count() == 3
    body["reports"][0]["金额"] = "30000"
    third = _post(platform, body)
    assert (third.json()["updated"], third.json()["unchanged"]) == (1, 2)
    assert VerificationReport.objects.count() == 3

    events = list(AuditEvent.objects.filter(action="verification.reports_push").order_by("seq"))
    assert [
        (e.changes["created"], e.changes["updated"], e.changes["unchanged"]) for e in events
    ] == [
        (3, 0, 0),
        (0, 0, 3),
        (0, 1, 2),
    ]
    assert events[0].actor_label == "verification-platform"
    stored = json.dumps([e.changes for e in AuditEvent.objects.all()], ensure_ascii=False)
    assert first_id not in stored
    assert second_id not in stored


def test_a_changed_report_date_is_a_new_report(platform):
    id_number = make_id_number()
    _post(platform, {"reports": [_row(id_number, on="2026-11-01")]})

    response = _post(platform, {"reports": [_row(id_number, on="2026-11-02")]})

    assert response.json()["created"] == 1
    assert VerificationReport.objects.count() == 2


def test_reports_for_an_unknown_person_are_kept_and_count_once_the_person_appears(
    platform, new_application, case_users
):
    newcomer = member(income="100", name="周八")
    body = {
        "reports": [
            _row(newcomer.id_number, item, name="周八", on="2026-11-20")
            for item in ("车辆", "房产", "工商登记", "存款")
        ]
    }

    response = _post(platform, body)

    assert response.json()["linked"] == 0
    assert VerificationReport.objects.filter(person__isnull=True).count() == 4

    application = new_application(members=[newcomer])
    assert verification_gate(application, date(2026, 11, 30)) == []  # read by ID-number hash
    application_transition(
        application_id=application.pk,
        action=A.ACCEPT,
        actor=case_users.caseworker,
        today=date(2026, 11, 2),
    )
    person = application.household.members.get().person
    assert VerificationReport.objects.filter(person=person).count() == 4
    assert verification_link_new_person(person) == 0  # already linked at acceptance
    assert _post(platform, body).json()["linked"] == 4


def test_a_name_differing_from_the_record_is_a_warning_not_an_error(platform, new_application):
    application = new_application(members=[member(income="100", name="吴九")])
    person = application.household.members.get().person

    response = _post(platform, {"reports": [_row(person.id_number, name="吴久")]})

    assert response.status_code == 200
    assert [w["code"] for w in response.json()["warnings"]] == ["name_mismatch"]
    assert response.json()["linked"] == 1


# --- GET ?application= ----------------------------------------------------------------------


@pytest.fixture
def reported_application(new_application, platform):
    application = new_application(
        members=[member(income="100", name="张三"), member(relation=Relation.SPOUSE, name="李四")]
    )
    head = application.household.members.get(relation=Relation.HEAD).person
    _post(platform, {"reports": [_row(head.id_number, "车辆", "有", 明细="蒙A1")]})
    _post(platform, {"reports": [_row(make_id_number())]})  # someone else
    return application


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param("caseworker", 200, id="own_township"),
        pytest.param("civil_affairs", 200, id="county"),
        pytest.param("township_head", 200, id="township_head"),
        pytest.param("sibling_caseworker", 404, id="sibling_township"),
        pytest.param("other_county_civil_affairs", 404, id="other_county"),
        pytest.param("village_assistant", 403, id="no_capability"),
        pytest.param("poverty_office", 403, id="county_poverty_office"),
    ],
)
def test_reports_of_an_application_are_scoped(
    reported_application, case_users, login_client, user, expected
):
    client = login_client(getattr(case_users, user))

    response = client.get(URL, {"application": reported_application.pk})

    assert response.status_code == expected
    if expected == 200:
        head = reported_application.household.members.get(relation=Relation.HEAD).person
        (report,) = response.json()["results"]
        assert report["id_number"] == head.id_number_masked
        assert (report["item"], report["item_label"], report["found"], report["detail"]) == (
            "vehicle",
            "车辆",
            True,
            "蒙A1",
        )
        assert report["explanation"] is None
        assert head.id_number not in response.content.decode()


def test_the_platform_may_not_read_and_the_application_is_required(
    reported_application, platform, case_users, login_client
):
    assert platform.get(URL, {"application": reported_application.pk}).status_code == 403
    response = login_client(case_users.caseworker).get(URL)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"


def test_schema_lists_both_push_endpoints(case_users, login_client):
    response = login_client(case_users.caseworker).get("/api/schema/", {"format": "json"})

    paths = response.json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/verification/reports/"])
    assert "post" in paths["/api/v1/disability/records/"]
