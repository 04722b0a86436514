"""Case pages for every role and area relation; forms in the browser round trip."""

import pytest
from django.test import Client
from django.utils import timezone

from cases.choices import ApplicationStatus as S
from cases.choices import Relation
from cases.models import Application, Household
from cases.services.applications import application_transition
from tests.fixtures.cases import member

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(new_application):
    return new_application()


def _pages(application: Application) -> list[str]:
    household = application.household
    return [
        f"/cases/households/{household.pk}/",
        f"/cases/applications/{application.pk}/",
        f"/cases/applications/{application.pk}/print/",
        f"/cases/households/{household.pk}/calculation/",
        f"/cases/notices/{application.area.code}/",
    ]


@pytest.mark.parametrize(
    ("user_name", "expected"),
    [
        ("village_assistant", 200),
        ("caseworker", 200),
        ("township_head", 200),
        ("civil_affairs", 200),
        ("poverty_office", 200),
        ("county_leader", 200),
        ("sibling_caseworker", 404),
        ("other_county_civil_affairs", 404),
    ],
)
def test_case_pages_by_role_and_area(application, case_users, login_client, user_name, expected):
    client = login_client(getattr(case_users, user_name))

    statuses = [client.get(url).status_code for url in _pages(application)]

    assert statuses == [expected] * 5


def test_users_without_case_capability_get_403(application, areas, make_user, login_client):
    client = login_client(make_user(role="data_admin", area=areas.county))

    assert [client.get(url).status_code for url in _pages(application)] == [403] * 5
    assert client.get("/cases/").status_code == 403


def test_anonymous_is_sent_to_login(application, client):
    response = client.get(f"/cases/applications/{application.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_worklist_shows_only_what_the_user_can_do(application, case_users, login_client):
    caseworker = login_client(case_users.caseworker).get("/cases/").content.decode()
    head = login_client(case_users.township_head).get("/cases/").content.decode()
    sibling = login_client(case_users.sibling_caseworker).get("/cases/").content.decode()

    assert application.household.number in caseworker
    assert "受理" in caseworker
    assert application.household.number not in head
    assert application.household.number not in sibling


def test_household_list_is_scoped_and_masks_id_numbers(
    new_application, case_users, areas, login_client
):
    head = member(income="100")
    mine = new_application(members=[head])
    theirs = new_application(village=areas.other_township_village, by=case_users.sibling_caseworker)

    html = login_client(case_users.caseworker).get("/cases/households/").content.decode()

    assert mine.household.number in html
    assert theirs.household.number not in html
    assert head.id_number not in html
    assert f"{head.id_number[:6]}********{head.id_number[-4:]}" in html


def test_household_search_by_id_number_is_a_post(new_application, case_users, login_client):
    head = member(income="100")
    application = new_application(members=[head])
    client = login_client(case_users.caseworker)

    found = client.post(
        "/cases/households/", {"id_number": head.id_number.lower()}
    ).content.decode()
    bad = client.post("/cases/households/", {"id_number": "123"}).content.decode()

    assert application.household.number in found
    assert "身份证号" in bad
    assert application.household.number not in bad


def test_household_list_query_count_is_flat(
    new_application, case_users, login_client, django_assert_max_num_queries
):
    client = login_client(case_users.caseworker)
    new_application(members=[member(income="1")])
    client.get("/cases/households/")
    with django_assert_max_num_queries(12) as few:
        client.get("/cases/households/")
    for _ in range(9):
        new_application(members=[member(income="1"), member(relation=Relation.SPOUSE)])
    with django_assert_max_num_queries(12) as many:
        client.get("/cases/households/")

    assert len(few.captured_queries) == len(many.captured_queries)


def _post_application(client: Client, village_code: str, members: list[dict[str, str]]):
    data = {
        "village": village_code,
        "programme": "dibao",
        "coverage_scope": "whole_household",
        "applicant_name": "张三",
        "applied_on": "2026-11-02",
        "authorisation_signed": "on",
        "members-TOTAL_FORMS": str(len(members)),
        "members-INITIAL_FORMS": "0",
        "members-MIN_NUM_FORMS": "0",
        "members-MAX_NUM_FORMS": "20",
    }
    for index, row in enumerate(members):
        for key, value in row.items():
            data[f"members-{index}-{key}"] = value
    return client.post("/cases/applications/new/", data)


def test_application_form_registers_household_and_application(case_users, areas, login_client):
    head = member()
    client = login_client(case_users.caseworker)

    response = _post_application(
        client,
        areas.village.code,
        [
            {
                "name": "张三",
                "id_number": head.id_number,
                "relation": "01",
                "is_counted": "on",
                "wages": "300",
            },
        ],
    )

    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/cases/applications/{application.pk}/"
    assert application.household.members.get().incomes.get().amount_monthly == 300


@pytest.mark.parametrize(
    ("_case", "rows", "message"),
    [
        (
            "bad_check_digit",
            [
                {
                    "name": "张三",
                    "id_number": "360426199101010072",
                    "relation": "01",
                    "is_counted": "on",
                }
            ],
            "身份证号校验位错误",
        ),
        (
            "two_heads",
            [
                {"name": "甲", "id_number": "", "relation": "01", "is_counted": "on"},
                {"name": "乙", "id_number": "", "relation": "01", "is_counted": "on"},
            ],
            "每户须有且只有一名户主，现有 2 名",
        ),
        (
            "excluded_without_reason",
            [{"name": "甲", "id_number": "", "relation": "01"}],
            "不计入家庭成员须选择原因",
        ),
    ],
)
def test_application_form_shows_chinese_errors_and_saves_nothing(
    case_users, areas, login_client, _case, rows, message
):
    for row in rows:
        row["id_number"] = row["id_number"] or member().id_number
    client = login_client(case_users.caseworker)

    response = _post_application(client, areas.village.code, rows)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert Household.objects.count() == 0


def test_application_form_refuses_a_village_outside_scope(case_users, areas, login_client):
    client = login_client(case_users.caseworker)

    response = _post_application(
        client,
        areas.other_township_village.code,
        [
            {"name": "张三", "id_number": member().id_number, "relation": "01", "is_counted": "on"},
        ],
    )

    assert response.status_code == 200
    assert Household.objects.count() == 0


def test_step_form_in_the_browser_and_stale_version(application, case_users, login_client):
    client = login_client(case_users.caseworker)

    ok = client.post(
        f"/cases/applications/{application.pk}/act/accept/",
        {"accept-version": "0", "accept-comment": ""},
    )
    stale = login_client(case_users.township_head).post(
        f"/cases/applications/{application.pk}/act/withdraw/",
        {"withdraw-version": "0", "withdraw-comment": "撤回"},
    )

    assert ok.status_code == 302
    assert Application.objects.get(pk=application.pk).status == S.ACCEPTED
    assert stale.status_code == 400
    assert "该申请已被他人处理，请刷新页面后查看最新状态" in stale.content.decode()


def test_step_form_errors_are_shown_on_fields(application, case_users, login_client):
    client = login_client(case_users.caseworker)
    client.post(f"/cases/applications/{application.pk}/act/accept/", {"accept-version": "0"})

    response = client.post(
        f"/cases/applications/{application.pk}/act/investigate/",
        {
            "investigate-version": "1",
            "investigate-investigators": "王一",
            "investigate-on": "2026-11-02",
        },
    )

    assert response.status_code == 400
    page = response.content.decode()
    assert "入户调查须至少 2 名调查人员" in page
    assert "请填写入户调查记录" in page


def test_village_notice_shows_only_name_members_and_amount(application, case_users, login_client):
    app_id = application.pk
    for action, user, extra in [
        ("accept", case_users.caseworker, {}),
        (
            "investigate",
            case_users.caseworker,
            {
                "investigators": ["王一", "李二"],
                "home_visit_record": "记录",
                "on": timezone.localdate(),
            },
        ),
        ("township_review", case_users.township_head, {"opinion": "recommend", "comment": "符合"}),
        ("start_notice", case_users.caseworker, {}),
    ]:
        from cases.services.applications import StepData

        application_transition(
            application_id=app_id, action=action, actor=user, data=StepData(**extra)
        )

    html = (
        login_client(case_users.village_assistant)
        .get(f"/cases/notices/{application.area.code}/")
        .content.decode()
    )

    assert "申请人" in html
    assert "600.00" in html
    head = application.household.members.select_related("person").first().person
    assert head.id_number[:6] not in html.replace(application.area.code, "")
