"""The linkage pages per role × area (own 200, sibling township/other county 404, no capability
403), and the flow the township caseworker and the poverty office go through in the browser."""

import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from cases.choices import ApplicationStatus
from cases.models import Application
from lowbao.areas.roles import Role
from poverty.choices import ReferralDirection, ReferralStatus, SurveyOutcome
from poverty.models import GuaranteeCheck, LabourSurvey, LabourSurveyItem, Referral
from poverty.services.referrals import referral_insert
from poverty.services.survey import survey_open
from tests.poverty.linkage.conftest import RegistryPerson, person, registry_persons

pytestmark = pytest.mark.django_db

SURVEYS = reverse("poverty:survey_list")
REFERRALS = reverse("poverty:referral_list")
GUARANTEES = reverse("poverty:guarantee_report")
INSPECTION = reverse("poverty:inspection_report")
DASHBOARD = reverse("poverty:linkage_dashboard")


def test_urls_are_named_in_the_poverty_namespace():
    assert (SURVEYS, REFERRALS, GUARANTEES, INSPECTION, DASHBOARD) == (
        "/poverty/surveys/",
        "/poverty/referrals/",
        "/poverty/guarantees/",
        "/poverty/inspection/",
        "/poverty/dashboard/",
    )
    assert reverse("poverty:survey_detail", kwargs={"survey_id": 3}) == "/poverty/surveys/3/"


@pytest.fixture
def data_admin(make_user, areas):
    """A user with a role over the county but none of the linkage capabilities."""
    return make_user(role=Role.DATA_ADMIN, area=areas.county)


@pytest.fixture
def survey(make_registry, areas, case_users):
    """A survey with one household in the caseworker's village and one in the sibling township."""
    make_registry(
        village=areas.village,
        number="PK-OWN",
        members=[RegistryPerson(name="本镇户主")],
    )
    make_registry(
        village=areas.other_township_village,
        number="PK-SIB",
        members=[RegistryPerson(name="邻镇户主")],
    )
    return survey_open(
        actor=case_users.civil_affairs,
        county=areas.county,
        title="2026年冬季摸底",
        deadline=timezone.localdate() + timedelta(days=10),
    )


def _item(number: str) -> LabourSurveyItem:
    return LabourSurveyItem.objects.get(registry_household__number=number)


# --- access matrix ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", [SURVEYS, REFERRALS, GUARANTEES, INSPECTION, DASHBOARD], ids=lambda u: u
)
def test_anonymous_users_are_sent_to_login(url, client):
    response = client.get(url)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "url", [SURVEYS, REFERRALS, GUARANTEES, INSPECTION, DASHBOARD], ids=lambda u: u
)
def test_a_role_without_the_capability_gets_403(url, data_admin, login_client):
    response = login_client(data_admin).get(url)

    assert response.status_code == 403
    assert "Traceback" not in response.content.decode()


@pytest.mark.parametrize(
    ("_case", "user", "url", "status"),
    [
        ("caseworker: surveys", "caseworker", SURVEYS, 200),
        ("caseworker: referrals", "caseworker", REFERRALS, 200),
        ("caseworker: guarantees", "caseworker", GUARANTEES, 200),
        ("caseworker: no inspection", "caseworker", INSPECTION, 403),
        ("caseworker: dashboard without a county", "caseworker", DASHBOARD, 200),
        ("village assistant: surveys", "village_assistant", SURVEYS, 200),
        ("poverty office: inspection", "poverty_office", INSPECTION, 200),
        ("civil affairs: dashboard", "civil_affairs", DASHBOARD, 200),
        ("county leader: inspection", "county_leader", INSPECTION, 200),
    ],
)
def test_pages_per_role(_case, user, url, status, case_users, login_client, survey):
    response = login_client(getattr(case_users, user)).get(url)

    assert response.status_code == status


def test_the_survey_page_is_404_in_another_county(survey, case_users, login_client):
    url = reverse("poverty:survey_detail", kwargs={"survey_id": survey.pk})

    own = login_client(case_users.caseworker).get(url)
    other = login_client(case_users.other_county_civil_affairs).get(url)

    assert (own.status_code, other.status_code) == (200, 404)


def test_a_township_sees_only_its_households_in_the_worklist(survey, case_users, login_client):
    url = reverse("poverty:survey_detail", kwargs={"survey_id": survey.pk})

    own = login_client(case_users.caseworker).get(url).content.decode()
    sibling = login_client(case_users.sibling_caseworker).get(url).content.decode()
    county = login_client(case_users.civil_affairs).get(url).content.decode()

    assert ("PK-OWN" in own, "PK-SIB" in own) == (True, False)
    assert ("PK-OWN" in sibling, "PK-SIB" in sibling) == (False, True)
    assert ("PK-OWN" in county, "PK-SIB" in county) == (True, True)
    assert 'class="d-flex gap-1 mb-1 assess-form"' in own
    assert "assess-form" not in county  # the county sees progress, the township assesses


def test_the_worklist_shows_masked_id_numbers(survey, case_users, login_client):
    head = registry_persons(_item("PK-OWN").registry_household)[0]
    url = reverse("poverty:survey_detail", kwargs={"survey_id": survey.pk})

    page = login_client(case_users.caseworker).get(url).content.decode()

    assert head.id_number[:6] + "********" + head.id_number[-4:] in page
    assert head.id_number not in page


def test_assessing_an_item_of_the_sibling_township_is_404_and_changes_nothing(
    survey, case_users, login_client
):
    item = _item("PK-OWN")
    url = reverse("poverty:survey_item_assess", kwargs={"item_id": item.pk})

    response = login_client(case_users.sibling_caseworker).post(
        url, {"outcome": "not_eligible", "reason": "x"}
    )

    assert response.status_code == 404
    item.refresh_from_db()
    assert item.outcome == SurveyOutcome.PENDING


def test_assessing_without_the_capability_is_403_and_changes_nothing(
    survey, case_users, login_client
):
    item = _item("PK-OWN")
    url = reverse("poverty:survey_item_assess", kwargs={"item_id": item.pk})

    response = login_client(case_users.civil_affairs).post(
        url, {"outcome": "not_eligible", "reason": "x"}
    )

    assert response.status_code == 403
    item.refresh_from_db()
    assert item.outcome == SurveyOutcome.PENDING
    assert not Referral.objects.exists()


def test_inspection_of_another_county_is_404(case_users, login_client, areas, county_standard):
    response = login_client(case_users.other_county_civil_affairs).get(
        INSPECTION, {"county": areas.county.code}
    )

    assert response.status_code == 404


def test_dashboard_of_another_county_is_404(case_users, login_client, areas):
    response = login_client(case_users.civil_affairs).get(
        DASHBOARD, {"county": areas.sibling_county.code}
    )

    assert response.status_code == 404


def test_a_caseworker_cannot_open_a_survey(case_users, login_client, areas):
    response = login_client(case_users.caseworker).post(
        SURVEYS, {"county": areas.county.code, "title": "x", "deadline": "2030-01-01"}
    )

    assert response.status_code == 403
    assert not LabourSurvey.objects.exists()


def test_a_caseworker_cannot_receive_a_referral(make_registry, case_users, login_client):
    referral, _ = referral_insert(
        actor=case_users.caseworker,
        direction=ReferralDirection.TO_POVERTY_OFFICE,
        reason="x",
        registry_household=make_registry(),
    )
    url = reverse(
        "poverty:referral_transition", kwargs={"referral_id": referral.pk, "action": "receive"}
    )

    own = login_client(case_users.caseworker).post(url)
    other = login_client(case_users.other_county_civil_affairs).post(url)

    assert (own.status_code, other.status_code) == (403, 404)
    referral.refresh_from_db()
    assert referral.status == ReferralStatus.PENDING


# --- the browser-like flow --------------------------------------------------------------------


def test_civil_affairs_opens_a_survey_from_the_page(make_registry, case_users, login_client, areas):
    make_registry(number="PK-1")
    client = login_client(case_users.civil_affairs)

    page = client.get(SURVEYS)
    response = client.post(
        SURVEYS,
        {
            "county": areas.county.code,
            "title": "2026年摸底",
            "deadline": f"{timezone.localdate() + timedelta(days=3):%Y-%m-%d}",
        },
    )

    assert 'id="survey-open-form"' in page.content.decode()
    survey = LabourSurvey.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("poverty:survey_detail", kwargs={"survey_id": survey.pk})
    assert survey.items.count() == 1
    listing = client.get(SURVEYS).content.decode()
    assert "2026年摸底" in listing


def test_an_invalid_survey_form_shows_the_error_on_the_page(case_users, login_client, areas):
    response = login_client(case_users.civil_affairs).post(
        SURVEYS, {"county": areas.county.code, "title": "x", "deadline": "2020-01-01"}
    )

    assert response.status_code == 200
    assert "上报截止日期不能早于今天" in response.content.decode()
    assert not LabourSurvey.objects.exists()


def test_caseworker_and_poverty_office_each_do_their_part(survey, case_users, login_client, areas):
    caseworker = login_client(case_users.caseworker)
    office = login_client(case_users.poverty_office)
    item = _item("PK-OWN")

    # The township caseworker assesses the household as not eligible, with a reason.
    assessed = caseworker.post(
        reverse("poverty:survey_item_assess", kwargs={"item_id": item.pk}),
        {"outcome": "not_eligible", "reason": "子女有赡养能力"},
    )
    assert assessed.status_code == 302
    item.refresh_from_db()
    assert (item.outcome, item.reason) == (SurveyOutcome.NOT_ELIGIBLE, "子女有赡养能力")

    # The poverty office finds the referral, receives it, then records the measure taken.
    listing = office.get(REFERRALS).content.decode()
    referral = Referral.objects.get()
    assert f'id="referral-{referral.pk}"' in listing
    assert "receive-form" in listing
    received = office.post(
        reverse(
            "poverty:referral_transition", kwargs={"referral_id": referral.pk, "action": "receive"}
        )
    )
    assert received.status_code == 302
    empty_measure = office.post(
        reverse(
            "poverty:referral_transition",
            kwargs={"referral_id": referral.pk, "action": "complete"},
        ),
        {"measure": ""},
        follow=True,
    )
    assert "请填写落实的帮扶措施" in empty_measure.content.decode()
    office.post(
        reverse(
            "poverty:referral_transition",
            kwargs={"referral_id": referral.pk, "action": "complete"},
        ),
        {"measure": "安排生态护林员公益岗位"},
    )
    referral.refresh_from_db()
    assert (referral.status, referral.measure, referral.received_by) == (
        ReferralStatus.MEASURES_TAKEN,
        "安排生态护林员公益岗位",
        case_users.poverty_office,
    )
    # The caseworker sees the outcome, but no buttons.
    seen = caseworker.get(REFERRALS).content.decode()
    assert "安排生态护林员公益岗位" in seen
    assert "receive-form" not in seen


def test_caseworker_starts_an_application_from_the_worklist(survey, case_users, login_client):
    item = _item("PK-OWN")

    response = login_client(case_users.caseworker).post(
        reverse("poverty:survey_item_start", kwargs={"item_id": item.pk}),
        {
            "programme": "dibao",
            "applied_on": f"{timezone.localdate():%Y-%m-%d}",
            "authorisation_signed": "on",
        },
    )

    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse(
        "cases:application_detail", kwargs={"application_id": application.pk}
    )
    assert (application.status, application.area_id, application.authorisation_signed) == (
        ApplicationStatus.APPLIED,
        item.area_id,
        True,
    )
    item.refresh_from_db()
    assert item.application_id == application.pk


def test_a_refused_assessment_shows_a_chinese_message(survey, case_users, login_client):
    item = _item("PK-OWN")

    response = login_client(case_users.caseworker).post(
        reverse("poverty:survey_item_assess", kwargs={"item_id": item.pk}),
        {"outcome": "already_covered"},
        follow=True,
    )

    assert response.status_code == 200
    assert "不能登记为“已纳入保障”" in response.content.decode()


def test_caseworker_refers_a_household_by_hand(make_registry, case_users, login_client):
    make_registry(number="PK-77")

    response = login_client(case_users.caseworker).post(
        REFERRALS,
        {"direction": "to_poverty_office", "registry_number": "PK-77", "reason": "临时救助不符"},
    )

    assert response.status_code == 302
    assert Referral.objects.get().reason == "临时救助不符"


def test_a_household_number_outside_the_scope_is_reported_on_the_form(
    make_registry, case_users, login_client, areas
):
    make_registry(number="PK-SIB", village=areas.other_township_village)

    response = login_client(case_users.caseworker).post(
        REFERRALS, {"direction": "to_poverty_office", "registry_number": "PK-SIB", "reason": "x"}
    )

    assert response.status_code == 200
    assert "户编号不存在或不在您的管辖范围内" in response.content.decode()
    assert not Referral.objects.exists()


def test_civil_affairs_generates_proposals_from_the_page(
    make_paid, poverty_line_2026, case_users, login_client, areas
):
    make_paid(income="100")

    response = login_client(case_users.civil_affairs).post(
        reverse("poverty:referral_propose"),
        {"county": areas.county.code, "on": f"{timezone.localdate():%Y-%m-%d}"},
        follow=True,
    )

    assert "新增 1 户" in response.content.decode()
    assert Referral.objects.get().direction == ReferralDirection.PROPOSE_REGISTRY


def test_referral_export_from_the_page(make_registry, case_users, login_client):
    head = person(name="周六")
    referral_insert(
        actor=case_users.caseworker,
        direction=ReferralDirection.TO_POVERTY_OFFICE,
        reason="x",
        registry_household=make_registry(
            members=[RegistryPerson(id_number=head.id_number, name=head.name)]
        ),
    )

    response = login_client(case_users.poverty_office).get(
        reverse("poverty:referral_export"), {"direction": "to_poverty_office"}
    )

    rows = list(
        load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.iter_rows(
            values_only=True
        )
    )
    assert response.status_code == 200
    assert rows[1][5:7] == ("周六", head.id_number[:6] + "********" + head.id_number[-4:])


def test_caseworker_records_a_guarantee_on_the_report_page(make_paid, case_users, login_client):
    make_paid(number="DB-55")
    client = login_client(case_users.caseworker)

    response = client.post(
        GUARANTEES,
        {
            "household_number": "DB-55",
            "kind": "housing",
            "status": "gap",
            "evidence": "危房D级",
            "checked_on": f"{timezone.localdate():%Y-%m-%d}",
        },
    )
    page = client.get(GUARANTEES).content.decode()

    assert response.status_code == 302
    assert GuaranteeCheck.objects.get().evidence == "危房D级"
    assert "DB-55" in page
    assert "存在缺口" in page


def test_a_sibling_township_household_cannot_be_recorded(
    make_paid, case_users, login_client, areas
):
    make_paid(number="DB-SIB", village=areas.other_township_village)

    response = login_client(case_users.caseworker).post(
        GUARANTEES,
        {
            "household_number": "DB-SIB",
            "kind": "housing",
            "status": "assured",
            "checked_on": f"{timezone.localdate():%Y-%m-%d}",
        },
    )

    assert response.status_code == 200
    assert "保障户不存在或不在您的管辖范围内" in response.content.decode()
    assert not GuaranteeCheck.objects.exists()


def test_inspection_page_and_export(make_registry, case_users, login_client, county_standard):
    make_registry(income="1000", number="PK-SP")
    client = login_client(case_users.civil_affairs)

    page = client.get(INSPECTION, {"on": "2026-11-02"}).content.decode()
    export = client.get(reverse("poverty:inspection_export"), {"on": "2026-11-02"})

    assert 'id="section-should_protect"' in page
    assert "PK-SP" in page
    workbook = load_workbook(io.BytesIO(b"".join(export.streaming_content)))
    assert list(workbook["应保未保"].iter_rows(values_only=True))[1][3] == "PK-SP"


def test_the_dashboard_shows_each_section_for_the_county(
    survey, make_paid, case_users, login_client, county_standard
):
    make_paid(number="DB-1")

    page = login_client(case_users.civil_affairs).get(DASHBOARD).content.decode()

    for section in (
        "dashboard-surveys",
        "dashboard-referrals",
        "dashboard-guarantees",
        "dashboard-inspection",
    ):
        assert f'id="{section}"' in page
    assert "2026年冬季摸底" in page


def test_the_survey_export_from_the_page_is_scoped(survey, case_users, login_client):
    response = login_client(case_users.caseworker).get(
        reverse("poverty:survey_export", kwargs={"survey_id": survey.pk})
    )

    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))
    numbers = [row[2] for row in workbook["摸底户"].iter_rows(min_row=2, values_only=True)]
    assert numbers == ["PK-OWN"]


# --- query counts -----------------------------------------------------------------------------


def _queries(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_worklist_query_count_does_not_grow_with_items(
    make_registry, case_users, login_client, areas
):
    make_registry(number="PK-1")
    first = survey_open(
        actor=case_users.civil_affairs,
        county=areas.county,
        title="少",
        deadline=timezone.localdate() + timedelta(days=1),
    )
    for index in range(6):
        make_registry(number=f"PK-M{index}")
    second = survey_open(
        actor=case_users.civil_affairs,
        county=areas.county,
        title="多",
        deadline=timezone.localdate() + timedelta(days=1),
    )
    client = login_client(case_users.caseworker)
    client.get(SURVEYS)

    few = _queries(client, reverse("poverty:survey_detail", kwargs={"survey_id": first.pk}))
    many = _queries(client, reverse("poverty:survey_detail", kwargs={"survey_id": second.pk}))

    assert (second.items.count(), few) == (7, many)


def test_the_referral_list_query_count_does_not_grow_with_rows(
    make_registry, make_paid, case_users, login_client
):
    def refer(count: int) -> None:
        for _ in range(count):
            referral_insert(
                actor=case_users.civil_affairs,
                direction=ReferralDirection.TO_POVERTY_OFFICE,
                reason="x",
                registry_household=make_registry(),
            )
            referral_insert(
                actor=case_users.civil_affairs,
                direction=ReferralDirection.PROPOSE_REGISTRY,
                reason="y",
                household=make_paid(),
            )

    client = login_client(case_users.poverty_office)
    refer(1)
    client.get(REFERRALS)
    few = _queries(client, REFERRALS)
    refer(4)

    assert _queries(client, REFERRALS) == few
