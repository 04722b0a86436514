"""Pages of verification and close-relative filing, per role × area: own 200, sibling township
404, no capability 403; forms show service refusals as messages, never a traceback."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cases.choices import Relation
from lowbao.areas.roles import Role
from poverty.choices import CloseRelation, OfficialKind
from poverty.models import (
    Official,
    OfficialRelative,
    VerificationExplanation,
    VerificationReport,
    VerificationRequest,
)
from poverty.services.officials import official_add, official_relative_add
from poverty.services.verification import verification_report_record, verification_worklist
from tests.cases.workflow.test_application_path import walk_to_county_review
from tests.fixtures.cases import member
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def in_county_review(new_application, case_users):
    application = new_application(
        members=[member(income="100", name="张三"), member(relation=Relation.SPOUSE, name="李四")]
    )
    return walk_to_county_review(application, case_users)


def _head(application):
    return application.household.members.get(relation=Relation.HEAD).person


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param("caseworker", 200, id="own_township"),
        pytest.param("township_head", 200, id="township_head"),
        pytest.param("civil_affairs", 200, id="county"),
        pytest.param("county_leader", 200, id="county_leader"),
        pytest.param("sibling_caseworker", 404, id="sibling_township"),
        pytest.param("other_county_civil_affairs", 404, id="other_county"),
        pytest.param("village_assistant", 403, id="no_capability"),
        pytest.param("poverty_office", 403, id="poverty_office"),
    ],
)
def test_application_verification_page_by_role_and_area(
    in_county_review, case_users, login_client, user, expected
):
    client = login_client(getattr(case_users, user))

    response = client.get(reverse("poverty:application_verification", args=[in_county_review.pk]))

    assert response.status_code == expected
    if expected == 200:
        page = response.content.decode()
        head = _head(in_county_review)
        assert head.id_number_masked in page
        assert head.id_number not in page
        assert page.count('data-state="missing"') == 8
        assert "核对未完成" in page


def test_anonymous_is_sent_to_login(in_county_review, client):
    response = client.get(reverse("poverty:verification_list"))

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("user", "expected", "listed"),
    [
        pytest.param("caseworker", 200, True, id="own_township"),
        pytest.param("civil_affairs", 200, True, id="county"),
        pytest.param("sibling_caseworker", 200, False, id="sibling_township"),
        pytest.param("village_assistant", 403, False, id="no_capability"),
    ],
)
def test_worklist_by_role(in_county_review, case_users, login_client, user, expected, listed):
    response = login_client(getattr(case_users, user)).get(reverse("poverty:verification_list"))

    assert response.status_code == expected
    if expected == 200:
        url = reverse("poverty:application_verification", args=[in_county_review.pk])
        assert (url in response.content.decode()) is listed


def test_worklist_area_filter_outside_scope_is_404(
    in_county_review, case_users, login_client, areas
):
    client = login_client(case_users.caseworker)

    own = client.get(reverse("poverty:verification_list"), {"area": areas.township.code})
    sibling = client.get(
        reverse("poverty:verification_list"), {"area": areas.sibling_township.code}
    )

    assert own.status_code == 200
    assert sibling.status_code == 404


def test_worklist_hides_complete_applications(in_county_review, case_users, login_client, verified):
    verified(in_county_review)
    client = login_client(case_users.civil_affairs)
    url = reverse("poverty:application_verification", args=[in_county_review.pk])

    assert url not in client.get(reverse("poverty:verification_list")).content.decode()
    shown = client.get(reverse("poverty:verification_list"), {"all": "1"}).content.decode()
    assert url in shown


def test_worklist_queries_do_not_grow_with_applications(new_application, case_users):
    def count_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            verification_worklist(actor=case_users.civil_affairs, on=date(2026, 11, 16))
        return len(queries)

    walk_to_county_review(new_application(members=[member(name="甲")]), case_users)
    count_queries()  # the first call also loads the actor's role assignments (cached)
    one = count_queries()
    for name in ("乙", "丙"):
        walk_to_county_review(new_application(members=[member(name=name)]), case_users)
    three = count_queries()

    assert len(verification_worklist(actor=case_users.civil_affairs, on=date(2026, 11, 16))) == 3
    assert three == one


def test_recording_a_result_by_hand(in_county_review, case_users, login_client):
    member_row = in_county_review.household.members.get(relation=Relation.HEAD)
    url = reverse("poverty:application_verification_report", args=[in_county_review.pk])
    data = {
        "member": member_row.pk,
        "item": "vehicle",
        "found": "1",
        "amount": "12000",
        "detail": "蒙A99999",
        "checked_on": "2026-11-20",
    }

    response = login_client(case_users.caseworker).post(url, data)

    assert response.status_code == 302
    report = VerificationReport.objects.get()
    assert (report.item, report.found, report.detail, report.source, report.person_id) == (
        "vehicle",
        True,
        "蒙A99999",
        "manual",
        member_row.person_id,
    )
    page = login_client(case_users.caseworker).get(
        reverse("poverty:application_verification", args=[in_county_review.pk])
    )
    assert "发现不符，待说明" in page.content.decode()


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param("township_head", 403, id="view_only"),
        pytest.param("sibling_caseworker", 404, id="sibling_township"),
    ],
)
def test_recording_is_refused_without_capability_or_area(
    in_county_review, case_users, login_client, user, expected
):
    member_row = in_county_review.household.members.get(relation=Relation.HEAD)
    url = reverse("poverty:application_verification_report", args=[in_county_review.pk])

    response = login_client(getattr(case_users, user)).post(
        url, {"member": member_row.pk, "item": "vehicle", "found": "0", "checked_on": "2026-11-20"}
    )

    assert response.status_code == expected
    assert VerificationReport.objects.count() == 0


def test_an_invalid_result_form_shows_the_problem(in_county_review, case_users, login_client):
    member_row = in_county_review.household.members.get(relation=Relation.HEAD)
    url = reverse("poverty:application_verification_report", args=[in_county_review.pk])

    response = login_client(case_users.caseworker).post(
        url, {"member": member_row.pk, "item": "vehicle", "found": "0", "checked_on": "2099-01-01"}
    )

    assert response.status_code == 400
    assert "核对日期不能晚于今天" in response.content.decode()
    assert VerificationReport.objects.count() == 0


def test_a_request_without_authorisation_shows_the_refusal(
    new_application, case_users, login_client
):
    application = new_application(authorisation_signed=False)
    url = reverse("poverty:application_verification_request", args=[application.pk])
    client = login_client(case_users.caseworker)

    refused = client.post(url, {"items": ["vehicle"], "requested_on": "2026-11-02"})
    accepted = client.post(
        url,
        {
            "items": ["vehicle", "deposits"],
            "requested_on": "2026-11-02",
            "authorisation_reference": "授权书 2026-001",
        },
    )

    assert refused.status_code == 400
    assert "无委托不核对" in refused.content.decode()
    assert accepted.status_code == 302
    assert VerificationRequest.objects.get().items == ["vehicle", "deposits"]


def test_writing_an_explanation(in_county_review, case_users, login_client):
    person = _head(in_county_review)
    report = verification_report_record(
        actor=case_users.caseworker,
        id_number=person.id_number,
        name=person.name,
        item="business",
        found=True,
        amount=None,
        detail="某商店",
        checked_on=date(2026, 11, 20),
    )
    url = reverse("poverty:application_verification_explain", args=[in_county_review.pk, report.pk])

    empty = login_client(case_users.caseworker).post(url, {"explanation": ""})
    head_refused = login_client(case_users.township_head).post(url, {"explanation": "说明"})
    sibling = login_client(case_users.sibling_caseworker).post(url, {"explanation": "说明"})
    written = login_client(case_users.caseworker).post(url, {"explanation": "商店已转让"})

    assert (empty.status_code, head_refused.status_code, sibling.status_code) == (400, 403, 404)
    assert "请填写书面说明" in empty.content.decode()
    assert written.status_code == 302
    assert VerificationExplanation.objects.get().explanation == "商店已转让"


# --- officials and filings ------------------------------------------------------------------


def test_officials_page_adds_an_official_and_a_relative(case_users, login_client, areas):
    client = login_client(case_users.civil_affairs)
    official_id = make_id_number()
    relative_id = make_id_number()

    added = client.post(
        reverse("poverty:official_list"),
        {
            "area": areas.village.code,
            "id_number": official_id,
            "name": "赵支书",
            "kind": OfficialKind.VILLAGE_CADRE,
            "position": "党支部书记",
        },
    )
    official = Official.objects.get()
    relative = client.post(
        reverse("poverty:official_relative_new", args=[official.pk]),
        {"id_number": relative_id, "name": "赵子", "relation": CloseRelation.CHILD},
    )
    page = client.get(reverse("poverty:official_list")).content.decode()

    assert (added.status_code, relative.status_code) == (302, 302)
    assert official.county == areas.county
    assert official.area == areas.village
    assert OfficialRelative.objects.get().person.name == "赵子"
    assert "赵支书" in page
    assert "赵子" in page
    assert official_id not in page
    assert relative_id not in page
    assert official.person.id_number_masked in page


def test_an_invalid_official_form_is_400_with_the_message(case_users, login_client, areas):
    response = login_client(case_users.civil_affairs).post(
        reverse("poverty:official_list"),
        {"area": areas.village.code, "id_number": "150121198001010018", "name": "某", "kind": "x"},
    )

    assert response.status_code == 400
    assert "身份证号校验位错误" in response.content.decode()
    assert Official.objects.count() == 0


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        pytest.param("civil_affairs", 200, id="county"),
        pytest.param("caseworker", 403, id="township_no_capability"),
        pytest.param("county_leader", 403, id="county_leader_no_capability"),
    ],
)
def test_officials_page_by_role(case_users, login_client, user, expected):
    response = login_client(getattr(case_users, user)).get(reverse("poverty:official_list"))

    assert response.status_code == expected


def test_officials_of_another_county_are_404(case_users, login_client, areas):
    official = official_add(
        actor=case_users.civil_affairs,
        county=areas.county,
        area=areas.township,
        id_number=make_id_number(),
        name="刘经办",
        kind=OfficialKind.CIVIL_AFFAIRS_STAFF,
    )
    client = login_client(case_users.other_county_civil_affairs)

    relative = client.post(
        reverse("poverty:official_relative_new", args=[official.pk]),
        {"id_number": make_id_number(), "name": "某", "relation": CloseRelation.SPOUSE},
    )
    deactivate = client.post(reverse("poverty:official_deactivate", args=[official.pk]))
    listing = client.get(reverse("poverty:official_list")).content.decode()

    assert (relative.status_code, deactivate.status_code) == (404, 404)
    assert "刘经办" not in listing
    official.refresh_from_db()
    assert official.active is True
    own = login_client(case_users.civil_affairs).post(
        reverse("poverty:official_deactivate", args=[official.pk])
    )
    assert own.status_code == 302
    official.refresh_from_db()
    assert official.active is False


@pytest.fixture
def filed(new_application, case_users, areas):
    official = official_add(
        actor=case_users.civil_affairs,
        county=areas.county,
        area=areas.village,
        id_number=make_id_number(),
        name="赵支书",
        kind=OfficialKind.VILLAGE_CADRE,
    )
    relative = member(income="100", name="赵女")
    official_relative_add(
        actor=case_users.civil_affairs,
        official=official,
        id_number=relative.id_number,
        name="赵女",
        relation=CloseRelation.CHILD,
    )
    return walk_to_county_review(new_application(members=[relative]), case_users)


@pytest.mark.parametrize(
    ("user", "expected", "listed"),
    [
        pytest.param("caseworker", 200, True, id="own_township"),
        pytest.param("civil_affairs", 200, True, id="county"),
        pytest.param("sibling_caseworker", 200, False, id="sibling_township"),
        pytest.param("other_county_civil_affairs", 200, False, id="other_county"),
    ],
)
def test_filings_page_by_role(filed, case_users, login_client, user, expected, listed):
    response = login_client(getattr(case_users, user)).get(
        reverse("poverty:close_relative_filings")
    )

    assert response.status_code == expected
    assert ("赵支书" in response.content.decode()) is listed


def test_filings_page_area_outside_scope_is_404_and_no_capability_403(
    filed, case_users, login_client, make_user, areas
):
    sibling = login_client(case_users.caseworker).get(
        reverse("poverty:close_relative_filings"), {"area": areas.sibling_township.code}
    )
    admin = login_client(make_user(role=Role.DATA_ADMIN, area=areas.county)).get(
        reverse("poverty:close_relative_filings")
    )

    assert sibling.status_code == 404
    assert admin.status_code == 403


def test_menu_entry_resolves(case_users, login_client):
    response = login_client(case_users.caseworker).get("/")

    assert reverse("poverty:verification_list") in response.content.decode()
