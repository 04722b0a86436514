"""Registry pages: role × area, both sides per household and per person, snapshots with the diff
and the quality report, the card extract read back with openpyxl, flat query counts."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from cases.choices import Programme
from cases.models import Application
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from poverty.models import RegistryHousehold
from poverty.services.registry import CARD_EXTRACT_HEADERS
from tests.lowbao.people.factories import make_id_number
from tests.poverty.registry.conftest import (
    OTHER_TOWNSHIP_VILLAGE_CODE,
    SECOND_SNAPSHOT,
    household_rows,
    person_row,
)

pytestmark = pytest.mark.django_db

HEAD_ID = make_id_number(birth_date=date(1980, 5, 1), sex="男")
SPOUSE_ID = make_id_number(birth_date=date(1982, 6, 1), sex="女")


def masked(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[14:]


@pytest.fixture
def world(areas, apply_rows, county_standard, paid_household, case_users):
    """H1 (察素齐镇, 低保贫困户) whose spouse is in a paid dibao household with an approved
    application; H2 (毕克齐镇, 一般贫困户) on nobody's roster."""
    snapshot = apply_rows(
        [
            person_row(
                household="H1", id_number=HEAD_ID, name="巴特尔", cells={"贫困户属性": "低保贫困户"}
            ),
            person_row(
                household="H1",
                relation="配偶",
                id_number=SPOUSE_ID,
                name="其其格",
                cells={"贫困户属性": "低保贫困户"},
            ),
            *household_rows("H2", village_code=OTHER_TOWNSHIP_VILLAGE_CODE),
        ]
    )
    dibao = paid_household(id_numbers=[SPOUSE_ID], amount="310.00")
    Application.objects.create(
        household=dibao,
        area=dibao.area,
        programme=Programme.DIBAO,
        profile="2021",
        status="approved",
        applied_on=date(2026, 1, 5),
        applicant_name="其其格",
        submitted_by=case_users.caseworker,
        township_opinion="recommend",
        township_opinion_text="因病丧失劳动能力",
        means_test={"per_capita_income_monthly": "150.00", "standard_monthly": "460.00"},
        approved_amount=Decimal("310.00"),
        payment_start_month=date(2026, 2, 1),
        decided_on=date(2026, 1, 20),
    )
    households = {h.number: h for h in RegistryHousehold.objects.all()}
    return snapshot, households["H1"], households["H2"], dibao


def detail_url(household) -> str:
    return reverse("poverty:registry_household_detail", args=[household.pk])


# --- role × area -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_name", "own", "sibling"),
    [
        ("village_assistant", 200, 404),
        ("caseworker", 200, 404),
        ("township_head", 200, 404),
        ("poverty_office", 200, 200),
        ("civil_affairs", 200, 200),
        ("county_leader", 200, 200),
        ("sibling_caseworker", 404, 200),
        ("other_county_civil_affairs", 404, 404),
    ],
)
def test_household_page_by_role_and_area(world, case_users, login_client, user_name, own, sibling):
    _, h1, h2, _ = world
    client = login_client(getattr(case_users, user_name))

    assert client.get(detail_url(h1)).status_code == own
    assert client.get(detail_url(h2)).status_code == sibling
    listed = client.get(reverse("poverty:registry_household_list")).context["rows"]
    assert sorted(h.number for h, _head in listed) == sorted(
        number for number, code in (("H1", own), ("H2", sibling)) if code == 200
    )


@pytest.mark.parametrize(
    "name",
    [
        "poverty:registry_household_list",
        "poverty:snapshot_list",
    ],
)
def test_pages_need_the_registry_capability(world, areas, make_user, login_client, name):
    data_admin = login_client(make_user(role=Role.DATA_ADMIN, area=areas.county))

    assert data_admin.get(reverse(name)).status_code == 403
    assert Client().get(reverse(name)).status_code == 302  # to the login page


def test_object_pages_need_the_registry_capability(world, areas, make_user, login_client):
    snapshot, h1, _, _ = world
    client = login_client(make_user(role=Role.DATA_ADMIN, area=areas.county))

    assert client.get(detail_url(h1)).status_code == 403
    assert client.get(reverse("poverty:snapshot_detail", args=[snapshot.pk])).status_code == 403
    person_url = reverse("poverty:person_overview", args=[h1.members.first().person_id])
    assert client.get(person_url).status_code == 403
    assert client.get(reverse("poverty:card_extract") + "?county=150121000000").status_code == 403


# --- list ------------------------------------------------------------------------------------


def test_list_shows_masked_ids_and_filters(world, case_users, login_client):
    client = login_client(case_users.poverty_office)

    page = client.get(reverse("poverty:registry_household_list"))
    by_township = client.get(reverse("poverty:registry_household_list") + "?township=150121101000")
    by_attribute = client.get(reverse("poverty:registry_household_list") + "?attribute=dibao")
    by_name = client.get(reverse("poverty:registry_household_list") + "?name=其其格")

    html = page.content.decode()
    assert masked(HEAD_ID) in html
    assert HEAD_ID not in html
    assert [h.number for h, _ in by_township.context["rows"]] == ["H2"]
    assert [h.number for h, _ in by_attribute.context["rows"]] == ["H1"]
    assert [h.number for h, _ in by_name.context["rows"]] == ["H1"]


def test_list_finds_a_household_by_id_number_posted(world, case_users, login_client):
    client = login_client(case_users.poverty_office)
    url = reverse("poverty:registry_household_list")

    found = client.post(url, {"id_number": SPOUSE_ID.lower()})
    bad = client.post(url, {"id_number": "360426199101010072"})

    assert [h.number for h, _ in found.context["rows"]] == ["H1"]
    assert bad.context["rows"] == []
    assert "身份证号校验位错误" in bad.content.decode()


def test_left_households_are_hidden_by_default_and_listed_on_request(
    world, apply_rows, case_users, login_client
):
    apply_rows(household_rows("H3"), on=SECOND_SNAPSHOT)  # H1 and H2 leave
    client = login_client(case_users.poverty_office)
    url = reverse("poverty:registry_household_list")

    assert [h.number for h, _ in client.get(url).context["rows"]] == ["H3"]
    assert [h.number for h, _ in client.get(url + "?in_registry=0").context["rows"]] == ["H1", "H2"]
    assert len(client.get(url + "?in_registry=all").context["rows"]) == 3


def test_list_query_count_is_flat(
    world, apply_rows, case_users, login_client, django_assert_num_queries
):
    client = login_client(case_users.poverty_office)
    url = reverse("poverty:registry_household_list")
    client.get(url)
    with django_assert_num_queries(7):
        small = client.get(url)
    rows = [row for index in range(12) for row in household_rows(f"N{index:02d}")]
    apply_rows(rows, on=SECOND_SNAPSHOT, partial=True)
    with django_assert_num_queries(7):
        large = client.get(url)

    assert (len(small.context["rows"]), len(large.context["rows"])) == (2, 14)


# --- both sides ------------------------------------------------------------------------------


def test_household_page_shows_both_sides_and_the_card_fields(world, case_users, login_client):
    _, h1, _, dibao = world

    response = login_client(case_users.poverty_office).get(detail_url(h1))

    html = response.content.decode()
    assert response.status_code == 200
    assert "低保贫困户" in html
    assert masked(SPOUSE_ID) in html
    assert SPOUSE_ID not in html
    card = response.context["cards"][0]
    assert card.household == dibao
    assert card.reason == (
        "低保；乡镇审核意见：建议纳入（因病丧失劳动能力）；家庭月人均收入150.00元，低于保障标准460.00元"
    )
    assert card.standard_monthly == Decimal("460.00")
    assert "460.00 元/人·月" in html
    assert "310.00 元/月（自 2026年2月）" in html
    sides = {m.person.name: s for m, s in response.context["rows"]}
    assert sides["巴特尔"] == []
    assert [(s.household.number, s.is_receiving) for s in sides["其其格"]] == [(dibao.number, True)]
    assert "2026-02 至 今：310.00 元/月" in html


def test_household_page_without_dibao(world, case_users, login_client):
    _, _, h2, _ = world

    response = login_client(case_users.poverty_office).get(detail_url(h2))

    assert response.context["cards"] == []
    assert "本户成员未享受低保或特困供养" in response.content.decode()


def test_a_migrated_tekun_household_shows_the_tekun_standard(
    world, apply_rows, paid_household, case_users, login_client
):
    tekun_id = make_id_number()
    apply_rows([person_row(household="H7", id_number=tekun_id)], on=SECOND_SNAPSHOT, partial=True)
    tekun = paid_household(id_numbers=[tekun_id], programme=Programme.TEKUN, amount="760.00")
    tekun.migrated_from = "roster.xlsx"
    tekun.save(update_fields=["migrated_from"])

    response = login_client(case_users.poverty_office).get(
        detail_url(RegistryHousehold.objects.get(number="H7"))
    )

    card = response.context["cards"][0]
    assert card.reason == "特困供养；台账迁移（roster.xlsx）；家庭月人均收入150.00元"
    assert card.standard_monthly == Decimal("760.00")


def test_person_page_shows_both_sides(world, case_users, login_client):
    _, h1, _, dibao = world
    spouse = h1.members.get(relation="02").person
    url = reverse("poverty:person_overview", args=[spouse.pk])

    office = login_client(case_users.poverty_office).get(url)
    sibling = login_client(case_users.sibling_caseworker).get(url)

    overview = office.context["overview"]
    assert overview.person == spouse
    assert [m.household.number for m in overview.registry] == ["H1"]
    assert [side.household for side in overview.dibao] == [dibao]
    assert [p.monthly_amount for p in overview.dibao[0].benefit_periods] == [Decimal("310.00")]
    html = office.content.decode()
    assert masked(SPOUSE_ID) in html
    assert SPOUSE_ID not in html
    assert sibling.status_code == 404


def test_person_page_with_only_the_dibao_side(world, paid_household, case_users, login_client):
    other_id = make_id_number()
    household = paid_household(id_numbers=[other_id])
    person = household.members.get().person

    response = login_client(case_users.caseworker).get(
        reverse("poverty:person_overview", args=[person.pk])
    )

    assert response.status_code == 200
    assert response.context["overview"].registry == []
    assert "没有（或不在您的管辖范围内的）建档立卡记录" in response.content.decode()


# --- snapshots -------------------------------------------------------------------------------


def test_snapshot_pages_with_diff_and_quality_report(world, apply_rows, case_users, login_client):
    first, _, _, _ = world
    h1_rows = [
        person_row(
            household="H1", id_number=HEAD_ID, name="巴特尔", cells={"贫困户属性": "低保贫困户"}
        ),
        person_row(
            household="H1",
            relation="配偶",
            id_number=SPOUSE_ID,
            name="其其格",
            cells={"贫困户属性": "低保贫困户", "帮扶责任人": "", "劳动能力": ""},
        ),
    ]
    h1_rows[0]["帮扶责任人"] = ""
    second = apply_rows([*h1_rows, *household_rows("H5")], on=SECOND_SNAPSHOT)
    client = login_client(case_users.poverty_office)

    listed = client.get(reverse("poverty:snapshot_list"))
    detail = client.get(reverse("poverty:snapshot_detail", args=[second.pk]))

    assert [s.pk for s in listed.context["page"].object_list] == [second.pk, first.pk]
    assert detail.context["previous"] == first
    diff = detail.context["diff"]
    assert (diff.created, diff.updated, diff.left, diff.unchanged) == (["H5"], ["H1"], ["H2"], [])
    report = detail.context["report"]
    assert [(row.township.name, row.cells) for row in report.rows] == [("察素齐镇", [1, 1])]
    assert [code for code, _ in report.rules] == ["labour_capacity_missing", "no_helper"]
    html = detail.content.decode()
    assert "16–65岁劳动能力为空" in html
    assert "户编号H1：其其格（43岁）劳动能力为空" in html
    filtered = client.get(reverse("poverty:snapshot_detail", args=[second.pk]) + "?rule=no_helper")
    assert [issue.rule for issue in filtered.context["issues"]] == ["no_helper"]


@pytest.mark.parametrize(
    ("user_name", "status"),
    [
        ("poverty_office", 200),
        ("county_leader", 200),
        ("caseworker", 404),
        ("other_county_civil_affairs", 404),
    ],
)
def test_snapshot_detail_by_role(world, case_users, login_client, user_name, status):
    snapshot = world[0]

    response = login_client(getattr(case_users, user_name)).get(
        reverse("poverty:snapshot_detail", args=[snapshot.pk])
    )

    assert response.status_code == status


# --- card extract ----------------------------------------------------------------------------


def test_card_extract_reads_back_with_masked_ids_and_is_audited(world, case_users, login_client):
    _, _, _, dibao = world

    response = login_client(case_users.poverty_office).get(
        reverse("poverty:card_extract") + "?county=150121000000"
    )

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == [
        "户编号",
        "户主",
        "身份证号",
        "贫困户属性",
        "享受类型",
        "享受原因",
        "保障标准",
        "月发放金额",
        "保障起始年月",
    ]
    assert tuple(rows[0]) == CARD_EXTRACT_HEADERS
    assert rows[1:] == [
        [
            "H1",
            "巴特尔",
            masked(HEAD_ID),
            "低保贫困户",
            "低保",
            "低保；乡镇审核意见：建议纳入（因病丧失劳动能力）；家庭月人均收入150.00元，低于保障标准460.00元",
            "460.00元/人·月",
            310,
            "2026-02",
        ]
    ]
    assert sheet["C2"].data_type == "s"
    assert HEAD_ID not in str(rows)
    event = AuditEvent.objects.get(action="export.registry_card_extract")
    assert event.actor_id == case_users.poverty_office.pk
    assert event.area_code == "150121000000"
    assert event.changes == {"format": "xlsx", "rows": 1, "masked": True}
    assert dibao.number not in str(rows)


def test_card_extract_texts_that_look_like_formulas_are_neutralised(
    world, apply_rows, paid_household, case_users, login_client
):
    head = make_id_number()
    apply_rows(
        [person_row(household="=HYPERLINK(1)", id_number=head, name="@张三")],
        on=SECOND_SNAPSHOT,
        partial=True,
    )
    paid_household(id_numbers=[head])

    response = login_client(case_users.poverty_office).get(
        reverse("poverty:card_extract") + "?county=150121000000"
    )

    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    row = next(r for r in sheet.iter_rows(min_row=2) if "HYPERLINK" in str(r[0].value))
    assert (row[0].value, row[1].value) == (" =HYPERLINK(1)", " @张三")
    assert row[0].data_type == "s"


@pytest.mark.parametrize(
    ("user_name", "code", "status"),
    [
        ("caseworker", "150121000000", 404),  # a township role does not cover the county
        ("other_county_civil_affairs", "150121000000", 404),
        ("poverty_office", "150121100000", 404),  # not a county
        ("poverty_office", "", 404),
    ],
)
def test_card_extract_refusals(world, case_users, login_client, user_name, code, status):
    response = login_client(getattr(case_users, user_name)).get(
        reverse("poverty:card_extract") + f"?county={code}"
    )

    assert response.status_code == status
    assert not AuditEvent.objects.filter(action="export.registry_card_extract").exists()
