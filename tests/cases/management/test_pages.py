"""Management pages for every role and area relation; forms round-trip with Chinese errors."""

from datetime import date
from decimal import Decimal

import pytest

from cases.choices import ChangeKind, Relation
from cases.models import ChangeReport, HomeVisit, TemporaryAssistance
from cases.services.management import change_assess, change_report
from cases.services.temporary import temporary_apply
from tests.cases.management.helpers import member_of
from tests.fixtures.cases import member
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

ID_NUMBER = make_id_number()


@pytest.fixture
def world(paid_household, case_users, areas):
    """A paid household with an assessed change, and a temporary-assistance case."""
    household = paid_household()
    change = change_report(
        actor=case_users.caseworker,
        household=household,
        kind=ChangeKind.OTHER,
        description="年度复核",
        reported_on=date(2026, 11, 20),
    )
    change_assess(actor=case_users.caseworker, change_id=change.pk)
    assistance = temporary_apply(
        actor=case_users.caseworker,
        area=areas.village,
        person_id_number=ID_NUMBER,
        name="乌日娜",
        kind="emergency",
        reason="住房失火",
        household_size=3,
        per_capita_income_monthly=None,
        amount=Decimal("1500"),
    )
    return household, change, assistance


def _object_pages(world) -> list[str]:
    household, change, assistance = world
    return [
        f"/cases/households/{household.pk}/manage/",
        f"/cases/changes/{change.pk}/",
        f"/cases/temporary/{assistance.pk}/",
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
def test_management_pages_by_role_and_area(world, case_users, login_client, user_name, expected):
    client = login_client(getattr(case_users, user_name))
    household, _change, _assistance = world

    statuses = [client.get(url).status_code for url in _object_pages(world)]
    lists = [client.get(url) for url in ("/cases/changes/", "/cases/temporary/")]

    assert statuses == [expected] * 3
    assert [response.status_code for response in lists] == [200, 200]
    visible = [household.number in lists[0].content.decode(), "乌日娜" in lists[1].content.decode()]
    assert visible == [expected == 200, expected == 200]


def test_users_without_case_capability_get_403(world, areas, make_user, login_client):
    client = login_client(make_user(role="data_admin", area=areas.county))
    urls = [*_object_pages(world), "/cases/changes/", "/cases/temporary/", "/cases/temporary/new/"]

    assert [client.get(url).status_code for url in urls] == [403] * 6


def test_anonymous_is_sent_to_login(world, client):
    response = client.get(_object_pages(world)[0])

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("user_name", "expected"),
    [
        ("village_assistant", 200),
        ("caseworker", 200),
        ("township_head", 403),
        ("civil_affairs", 403),
    ],
)
def test_only_applicants_open_the_temporary_assistance_form(
    case_users, areas, login_client, user_name, expected
):
    client = login_client(getattr(case_users, user_name))

    assert client.get("/cases/temporary/new/").status_code == expected


def test_the_manage_page_offers_forms_by_capability(world, case_users, login_client):
    household, _change, _assistance = world
    url = f"/cases/households/{household.pk}/manage/"

    caseworker = login_client(case_users.caseworker).get(url).content.decode()
    poverty_office = login_client(case_users.poverty_office).get(url).content.decode()

    assert 'id="form-visit"' in caseworker
    assert 'id="form-refusal"' in caseworker
    assert 'id="form-visit"' not in poverty_office
    assert "您的角色在本户没有可办理的动态管理事项" in poverty_office


def test_a_home_visit_form_error_is_shown_in_chinese(world, case_users, login_client):
    household, _change, _assistance = world
    client = login_client(case_users.caseworker)

    response = client.post(
        f"/cases/households/{household.pk}/manage/visit/",
        {"visited_on": "2026-11-20", "visitors": " ", "findings": "无变化"},
    )

    assert response.status_code == 400
    assert "请填写走访人员（至少 1 人）" in response.content.decode()
    assert HomeVisit.objects.count() == 0


@pytest.mark.parametrize(
    ("user_name", "expected"),
    [("poverty_office", 403), ("sibling_caseworker", 404), ("caseworker", 302)],
)
def test_posting_a_home_visit_needs_the_capability_and_the_area(
    world, case_users, login_client, user_name, expected
):
    household, _change, _assistance = world
    client = login_client(getattr(case_users, user_name))

    response = client.post(
        f"/cases/households/{household.pk}/manage/visit/",
        {"visited_on": "2026-11-20", "visitors": "王一，李二", "findings": "无变化"},
    )

    assert response.status_code == expected
    assert HomeVisit.objects.count() == (1 if expected == 302 else 0)


def test_a_death_reported_on_the_page_sets_the_check(world, case_users, login_client):
    household, _change, _assistance = world
    spouse = member_of(household, relation=Relation.SPOUSE)
    client = login_client(case_users.village_assistant)

    response = client.post(
        f"/cases/households/{household.pk}/manage/change/",
        {
            "kind": "death",
            "reported_on": "2026-11-20",
            "description": "配偶病故",
            "member_id": str(spouse.pk),
            "left_on": "2026-08-01",
        },
    )
    listing = client.get("/cases/changes/").content.decode()

    household.refresh_from_db()
    assert response.status_code == 302
    assert household.check_due == date(2026, 11, 1)
    assert 'class="table-danger overdue"' in listing
    assert "已逾期" in listing


def test_a_decision_without_reasons_is_shown_then_made(world, case_users, login_client):
    _household, change, _assistance = world
    client = login_client(case_users.civil_affairs)

    refused = client.post(f"/cases/changes/{change.pk}/decide/", {"outcome": "stop", "reasons": ""})
    decided = client.post(
        f"/cases/changes/{change.pk}/decide/", {"outcome": "stop", "reasons": "外出务工收入稳定"}
    )
    page = client.get(f"/cases/changes/{change.pk}/").content.decode()

    change.refresh_from_db()
    assert refused.status_code == 400
    assert "“停发（退出）”须写明理由" in refused.content.decode()
    assert decided.status_code == 302
    assert change.status == "decided"
    assert 'id="notice-text"' in page
    assert "停发告知书" in page


def test_a_caseworker_cannot_decide_on_the_page(world, case_users, login_client):
    _household, change, _assistance = world
    client = login_client(case_users.caseworker)

    response = client.post(
        f"/cases/changes/{change.pk}/decide/", {"outcome": "unchanged", "reasons": ""}
    )

    change.refresh_from_db()
    assert response.status_code == 403
    assert change.status == "assessed"


def test_temporary_assistance_registered_on_the_page_masks_the_id_number(
    case_users, areas, login_client
):
    client = login_client(case_users.caseworker)
    id_number = make_id_number()

    response = client.post(
        "/cases/temporary/new/",
        {
            "village": areas.village.code,
            "name": "巴特尔",
            "id_number": id_number,
            "kind": "emergency",
            "reason": "突发重病住院",
            "household_size": "4",
            "amount": "600",
            "aid_form": "cash",
            "pay_first": "on",
        },
    )
    assistance = TemporaryAssistance.objects.get()
    listing = client.get("/cases/temporary/").content.decode()
    detail = client.get(f"/cases/temporary/{assistance.pk}/").content.decode()

    assert response.status_code == 302
    assert response["Location"] == f"/cases/temporary/{assistance.pk}/"
    assert assistance.status == "paid_first"
    assert id_number not in listing + detail
    assert assistance.person.id_number_masked in listing


def test_temporary_assistance_form_errors_are_shown_in_chinese(case_users, areas, login_client):
    client = login_client(case_users.caseworker)

    response = client.post(
        "/cases/temporary/new/",
        {
            "village": areas.village.code,
            "name": "巴特尔",
            "id_number": make_id_number(),
            "kind": "expenditure",
            "reason": "子女学费",
            "household_size": "4",
            "amount": "600",
            "aid_form": "cash",
            "pay_first": "on",
        },
    )

    assert response.status_code == 400
    assert "只有急难型临时救助可以先行救助" in response.content.decode()
    assert TemporaryAssistance.objects.count() == 0


def test_a_township_head_over_the_limit_is_told_to_refer_to_the_county(
    world, case_users, login_client
):
    _household, _change, assistance = world
    client = login_client(case_users.township_head)

    response = client.post(f"/cases/temporary/{assistance.pk}/decide/", {"approve": "yes"})

    assistance.refresh_from_db()
    assert response.status_code == 400
    assert "超过苏木乡镇审批权限（1,000.00 元），请报旗县民政局审批" in response.content.decode()
    assert assistance.status == "applied"


def test_the_change_list_shows_pending_changes(world, case_users, login_client):
    household, change, _assistance = world

    page = login_client(case_users.civil_affairs).get("/cases/changes/").content.decode()

    assert f"/cases/changes/{change.pk}/" in page
    assert ChangeReport.objects.filter(status="assessed").count() == 1
    assert household.number in page


def test_assessing_on_the_page_needs_a_management_capability(world, case_users, login_client):
    _household, change, _assistance = world

    denied = login_client(case_users.poverty_office).post(f"/cases/changes/{change.pk}/assess/")
    sibling = login_client(case_users.sibling_caseworker).post(
        f"/cases/changes/{change.pk}/assess/"
    )
    done = login_client(case_users.caseworker).post(f"/cases/changes/{change.pk}/assess/")

    assert [denied.status_code, sibling.status_code, done.status_code] == [403, 404, 302]


def test_paperwork_is_completed_on_the_page(world, case_users, login_client):
    _household, _change, assistance = world
    assistance.status, assistance.paperwork_completed = "paid_first", False
    assistance.save(update_fields=["status", "paperwork_completed"])

    response = login_client(case_users.village_assistant).post(
        f"/cases/temporary/{assistance.pk}/paperwork/"
    )

    assistance.refresh_from_db()
    assert response.status_code == 302
    assert assistance.paperwork_completed is True


def test_finishing_a_grace_that_is_not_over_is_refused_with_a_message(
    world, case_users, login_client
):
    household, _change, _assistance = world
    url = f"/cases/households/{household.pk}/manage/finish-grace/"

    caseworker = login_client(case_users.caseworker).post(url)
    county = login_client(case_users.civil_affairs).post(url, follow=True)

    household.refresh_from_db()
    assert caseworker.status_code == 403
    assert "该户不在渐退期" in county.content.decode()
    assert household.status == "in_payment"


def test_the_tekun_check_and_self_care_assessment_on_the_page(
    paid_household, case_users, login_client
):
    household = paid_household(programme="tekun", members=[member(birth_year=1950)])
    person = household.members.get()
    client = login_client(case_users.caseworker)
    url = f"/cases/households/{household.pk}/manage/"

    check = client.get(url, {"check": "1", "supporter_unable": "on"}).content.decode()
    assessed = client.post(
        f"{url}selfcare/",
        {
            "member": str(person.pk),
            "assessed_on": "2026-11-20",
            "can_eat": "on",
            "can_dress": "on",
        },
    )
    page = client.get(url).content.decode()

    assert "符合特困人员条件" in check
    assert assessed.status_code == 302
    assert "完全丧失生活自理能力" in page
