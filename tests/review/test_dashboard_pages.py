"""The dashboard pages per role × area relation (200/403/404), the menu entry, the drill-down
links, the charts and the scoping of what each page shows."""

import re

import pytest
from django.urls import reverse

from lowbao.areas.navigation import menu_for
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent

pytestmark = pytest.mark.django_db

HOME = reverse("dashboard:home")
XLSX = reverse("dashboard:bulletin_xlsx")
PDF = reverse("dashboard:bulletin_pdf")
URLS = [HOME, XLSX, PDF]
URL_IDS = ["page", "bulletin-xlsx", "bulletin-pdf"]


@pytest.mark.parametrize("url", URLS, ids=URL_IDS)
def test_anonymous_users_are_sent_to_login(url, client, dashboard_users, areas):
    response = client.get(url, {"area": areas.county.code})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", URLS, ids=URL_IDS)
@pytest.mark.parametrize(
    "user", ["no_role", "caseworker", "data_admin"], ids=["no role", "township", "data admin"]
)
def test_roles_without_the_supervision_capability_get_403(
    url, user, dashboard_users, areas, login_client
):
    response = login_client(getattr(dashboard_users, user)).get(url, {"area": areas.county.code})

    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="export.review_bulletin").exists()


AREA_CASES = [
    ("county officer: own county", "civil_affairs", "county", 200),
    ("county officer: own township", "civil_affairs", "township", 404),
    ("county officer: sibling county", "civil_affairs", "sibling_county", 404),
    ("county officer: the league above", "civil_affairs", "league", 404),
    ("county officer: the region", "civil_affairs", "region", 404),
    ("county officer: another league's county", "civil_affairs", "other_league_county", 404),
    ("poverty office: own county", "poverty_office", "county", 200),
    ("county leader: own county", "county_leader", "county", 200),
    ("sibling county officer: our county", "sibling_civil_affairs", "county", 404),
    ("sibling county officer: own county", "sibling_civil_affairs", "sibling_county", 200),
    ("league officer: own league", "league_officer", "league", 200),
    ("league officer: a county of the league", "league_officer", "county", 200),
    ("league officer: a township", "league_officer", "township", 404),
    ("league officer: another league", "league_officer", "other_league", 404),
    ("league officer: another league's county", "league_officer", "other_league_county", 404),
    ("league officer: the region", "league_officer", "region", 404),
    ("other league officer: our league", "other_league_officer", "league", 404),
    ("other league officer: our county", "other_league_officer", "county", 404),
    ("other league officer: own county", "other_league_officer", "other_league_county", 200),
    ("region officer: the region", "region_officer", "region", 200),
    ("region officer: a league", "region_officer", "other_league", 200),
    ("region officer: a county", "region_officer", "county", 200),
]


@pytest.mark.parametrize("url", URLS, ids=URL_IDS)
@pytest.mark.parametrize(("_case", "user", "area", "status"), AREA_CASES)
def test_each_page_per_role_and_area(
    url, _case, user, area, status, dashboard_users, areas, login_client
):
    response = login_client(getattr(dashboard_users, user)).get(
        url, {"area": getattr(areas, area).code}
    )

    assert response.status_code == status
    audits = AuditEvent.objects.filter(action="export.review_bulletin").count()
    assert audits == (1 if status == 200 and url != HOME else 0)


@pytest.mark.parametrize("url", URLS, ids=URL_IDS)
@pytest.mark.parametrize("code", ["abc", "150999000000", ""], ids=["garbage", "unknown", "blank"])
def test_an_unknown_area_is_404(url, code, dashboard_users, areas, login_client):
    client = login_client(dashboard_users.league_officer)

    response = client.get(url, {"area": code})

    # a blank area falls back to the viewer's own league
    assert response.status_code == (200 if code == "" else 404)


@pytest.mark.parametrize(
    ("_case", "user", "root"),
    [
        ("county officer", "civil_affairs", "county"),
        ("league officer", "league_officer", "league"),
        ("region officer", "region_officer", "region"),
    ],
)
def test_without_an_area_each_viewer_sees_their_own(
    _case, user, root, dashboard_users, areas, login_client
):
    response = login_client(getattr(dashboard_users, user)).get(HOME)

    assert response.status_code == 200
    assert response.context["board"].root == getattr(areas, root)


def test_a_viewer_with_two_counties_chooses_one(areas, make_user, login_client):
    user = make_user(
        role=Role.COUNTY_CIVIL_AFFAIRS,
        area=areas.county,
        extra=((Role.COUNTY_LEADER, areas.other_league_county),),
    )
    client = login_client(user)

    page = client.get(HOME)
    bulletin = client.get(XLSX)

    assert page.status_code == 200
    links = re.findall(r'href="/review/dashboard/\?area=(\d{12})"', page.content.decode())
    assert links == [areas.county.code, areas.other_league_county.code]
    assert bulletin.status_code == 404


def test_the_menu_entry_is_for_supervision_roles_only(dashboard_users):
    entry = {"label": "监督统计", "url": HOME}

    for name in ("civil_affairs", "poverty_office", "county_leader", "league_officer"):
        assert entry in menu_for(getattr(dashboard_users, name))
    assert entry in menu_for(dashboard_users.region_officer)
    for name in ("caseworker", "data_admin", "no_role"):
        assert entry not in menu_for(getattr(dashboard_users, name))


# --- what the pages show -------------------------------------------------------------------------


def _row_names(content: str, table_id: str) -> list[str]:
    table = re.search(rf'<table [^>]*id="{table_id}".*?</table>', content, re.S).group(0)
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r'<tr data-code="\d+">\s*<td>(.*?)</td>', table, re.S)
    ]


def test_the_league_page_drills_down_to_its_counties_only(
    dashboard_world, dashboard_users, areas, login_client
):
    response = login_client(dashboard_users.league_officer).get(HOME)
    content = response.content.decode()
    year = dashboard_world.year

    assert response.status_code == 200
    assert _row_names(content, "progress-table")[:6] == [
        "新城区",
        "回民区",
        "玉泉区",
        "赛罕区",
        "土默特左旗",
        "托克托县",
    ]
    drill = set(re.findall(r'href="/review/dashboard/\?area=(\d{12})&amp;year=(\d{4})"', content))
    assert (areas.county.code, str(year)) in drill
    assert (areas.sibling_county.code, str(year)) in drill
    assert {code[:4] for code, _ in drill} == {"1501"}
    for outside in ("东河区", "河东镇", "包头市", "内蒙古自治区"):
        assert outside not in content
    assert 'id="dashboard-trail"' in content
    assert re.search(r'id="dashboard-trail">\s*<span>呼和浩特市</span>', content)


def test_the_league_page_draws_the_charts_on_the_server(
    dashboard_world, dashboard_users, areas, login_client
):
    content = login_client(dashboard_users.league_officer).get(HOME).content.decode()

    bars = re.findall(
        r'<g class="progress-bar" data-label="([^"]+)" data-items="(\d+)" data-decided="(\d+)" '
        r'data-overdue="(\d+)"',
        content,
    )
    assert bars == [("土默特左旗", "7", "4", "3"), ("托克托县", "2", "2", "0")]
    payment = re.search(r'<svg [^>]*id="payment-chart".*?</svg>', content, re.S).group(0)
    values = re.findall(r'<g class="point" data-label="([^"]+)" data-value="(\d+)"', payment)
    assert len(values) == 12
    assert [value for _label, value in values[-3:]] == ["1200", "5000", "3100"]
    assert 'id="category-chart"' in content
    assert 'id="coverage-chart"' in content
    assert "<script" not in content.split("</main>")[0].split("<main")[1]


def test_the_county_page_shows_townships_and_the_county_wide_row(
    dashboard_world, dashboard_users, areas, login_client
):
    response = login_client(dashboard_users.civil_affairs).get(HOME)
    content = response.content.decode()

    assert _row_names(content, "coverage-table") == ["察素齐镇", "毕克齐镇", "土默特左旗本级"]
    assert 'href="/review/dashboard/?area=' not in content  # townships are not drilled into
    assert re.search(r'id="root-campaign-status">本旗县 \d{4} 年度复核：复核中<', content)
    assert re.search(r'id="card-dibao">.*?<span class="households">4</span>', content, re.S)
    assert re.search(r'id="card-overlap">.*?<span class="persons">3</span>', content, re.S)
    for outside in ("托克托县", "双河镇", "东河区", "呼和浩特市"):
        assert outside not in content
    assert 'id="bulletin-xlsx"' in content


def test_the_region_sees_the_way_back_up_from_a_county(
    dashboard_world, dashboard_users, areas, login_client
):
    content = (
        login_client(dashboard_users.region_officer)
        .get(HOME, {"area": areas.county.code})
        .content.decode()
    )
    trail = re.search(r'id="dashboard-trail">(.*?)</nav>', content, re.S).group(1)

    assert re.findall(r"\?area=(\d{12})", trail) == [areas.region.code, areas.league.code]


def test_another_year_is_shown_when_asked(dashboard_world, dashboard_users, areas, login_client):
    response = login_client(dashboard_users.civil_affairs).get(
        HOME, {"year": dashboard_world.year - 1}
    )

    assert response.context["board"].year == dashboard_world.year - 1
    assert response.context["board"].total.progress.items == 1


@pytest.mark.parametrize(
    ("year", "message"),
    [
        ("abc", "年度应为四位数字，已显示默认年度"),
        ("1999", "年度应在 2016–2100 之间，已显示默认年度"),
    ],
)
def test_a_bad_year_is_refused_in_chinese_and_the_default_shown(
    year, message, dashboard_world, dashboard_users, login_client
):
    response = login_client(dashboard_users.civil_affairs).get(HOME, {"year": year})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["board"].year == dashboard_world.year


def test_a_bad_year_exports_no_bulletin(dashboard_world, dashboard_users, areas, login_client):
    client = login_client(dashboard_users.civil_affairs)

    response = client.get(XLSX, {"area": areas.county.code, "year": "x"})

    assert response.status_code == 302
    assert response["Location"] == f"{HOME}?area={areas.county.code}"
    assert "年度应为四位数字，通报未导出" in client.get(response["Location"]).content.decode()
    assert not AuditEvent.objects.filter(action="export.review_bulletin").exists()


def test_a_county_without_campaigns_says_so(dashboard_users, areas, login_client):
    content = login_client(dashboard_users.civil_affairs).get(HOME).content.decode()

    assert 'id="no-review-items"' in content
    assert 'id="progress-chart"' not in content
