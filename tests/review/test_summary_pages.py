"""The county summary per role × area: counts by township × category for the latest finished run,
the SVG chart, the trend from run to run, the runs with their progress (JSON endpoint), the
立即比对 button, and the menu entry."""

import re

import pytest
from django.urls import reverse

from lowbao.areas.navigation import menu_for
from review.models import ItemState, ReconciliationCategory, RunStatus
from review.selectors import TASK_CATEGORIES
from tests.fixtures.review_items import H2_COUNTS, make_run, pick_user

pytestmark = pytest.mark.django_db

SUMMARY = reverse("review:reconciliation_summary")
HOME = reverse("review:reconciliation_home")


def _progress_url(run) -> str:
    return reverse("review:reconciliation_run_progress", kwargs={"run_id": run.pk})


def _bars(content: str) -> dict[str, int]:
    svg = re.search(r'<svg [^>]*id="category-chart".*?</svg>', content, re.S).group(0)
    return {
        label: int(value)
        for label, value in re.findall(
            r'<text [^>]*text-anchor="end"[^>]*>([^<]+)</text>.*?<text [^>]*>(\d+)</text>',
            svg,
            re.S,
        )
    }


# --- access -------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [SUMMARY, HOME], ids=["summary", "home"])
def test_anonymous_users_are_sent_to_login(url, client, recon):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_the_progress_endpoint_sends_anonymous_users_to_login(client, recon):
    response = client.get(_progress_url(recon.run))

    assert response.status_code == 302


@pytest.mark.parametrize("url", [SUMMARY, HOME], ids=["summary", "home"])
def test_a_role_without_the_capability_gets_403(url, recon, recon_users, login_client):
    assert login_client(recon_users.data_admin).get(url).status_code == 403


@pytest.mark.parametrize(
    ("_case", "user", "county", "status"),
    [
        ("county civil affairs: own county", "civil_affairs", "county", 200),
        ("county poverty office: own county", "poverty_office", "county", 200),
        ("county leader: own county", "county_leader", "county", 200),
        ("county officer: sibling county", "civil_affairs", "sibling_county", 404),
        ("other county officer: our county", "other_county_civil_affairs", "county", 404),
        ("league officer: a county of the league", "league_officer", "county", 200),
        ("league officer: another league's county", "league_officer", "other_league_county", 404),
        ("region officer", "region_officer", "other_league_county", 200),
        ("township caseworker: the county above", "caseworker", "county", 404),
        ("another league's officer", "other_league_officer", "county", 404),
    ],
)
def test_the_summary_of_a_county_per_role(
    _case, user, county, status, recon, areas, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(
        SUMMARY, {"county": getattr(areas, county).code}
    )

    assert response.status_code == status


def test_a_township_user_gets_a_pointer_to_the_worklist(recon, case_users, login_client):
    response = login_client(case_users.caseworker).get(SUMMARY)
    content = response.content.decode()

    assert response.status_code == 200
    assert 'id="summary-not-county"' in content
    assert 'id="category-chart"' not in content


@pytest.mark.parametrize(
    ("_case", "user", "target"),
    [
        ("township caseworker", "caseworker", "review:reconciliation_worklist"),
        ("village assistant", "village_assistant", "review:reconciliation_worklist"),
        ("county officer", "civil_affairs", "review:reconciliation_summary"),
        ("league officer", "league_officer", "review:reconciliation_summary"),
    ],
)
def test_the_menu_entry_leads_each_level_to_its_page(
    _case, user, target, recon, case_users, recon_users, login_client
):
    user = pick_user(user, case_users, recon_users)

    response = login_client(user).get(HOME)

    assert response.status_code == 302
    assert response["Location"] == reverse(target)
    assert {"label": "台账比对", "url": HOME} in menu_for(user)


def test_the_menu_has_no_entry_without_the_capability(recon, recon_users):
    assert {"label": "台账比对", "url": HOME} not in menu_for(recon_users.data_admin)


# --- content --------------------------------------------------------------------------------


def test_the_county_summary_shows_the_latest_run_as_a_chart(recon, case_users, login_client):
    response = login_client(case_users.civil_affairs).get(SUMMARY)
    content = response.content.decode()

    assert response.status_code == 200
    labels = dict(ReconciliationCategory.choices)
    assert _bars(content) == {
        labels[category]: H2_COUNTS.get(category, 0) for category in TASK_CATEGORIES
    }
    assert '<strong id="linked-count">30</strong>' in content
    assert "最近一次比对：2026H2（基准日 2026-07-01）" in content
    assert "<script" in content
    assert "cdn" not in content.lower()


def _township_rows(content: str) -> dict[str, list[str]]:
    table = re.search(r'id="township-counts">(.*?)</table>', content, re.S).group(1)
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]:
        cells = [
            re.sub(r"<[^>]+>", "", cell).strip()
            for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        rows[cells[0]] = cells[1:]
    total = re.search(r'<tr class="fw-bold">(.*?)</tr>', table, re.S).group(1)
    rows["合计"] = [
        re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", total, re.S)
    ][1:]
    return rows


def test_the_counts_by_township_and_category(recon, areas, case_users, login_client):
    recon.protect_item.state = ItemState.INCLUDED
    recon.protect_item.save(update_fields=["state"])

    content = login_client(case_users.civil_affairs).get(SUMMARY).content.decode()
    rows = _township_rows(content)

    position = {category: index for index, category in enumerate(TASK_CATEGORIES)}

    def row(found: dict[str, str], total: str) -> list[str]:
        cells = ["0"] * len(TASK_CATEGORIES)
        for category, text in found.items():
            cells[position[category]] = text
        return [*cells, total]

    assert rows == {
        areas.township.name: row(
            {
                "attr_mismatch": "1（1）",
                "should_protect": "1",  # resolved: no longer open
                "should_register": "1（1）",
                "should_exit_review": "1（1）",
            },
            "4（3）",
        ),
        areas.sibling_township.name: row({"member_mismatch": "1（1）"}, "1（1）"),
        "（旗县统筹，未分到苏木乡镇）": row({"duplicate_person": "1（1）"}, "1（1）"),
        "合计": row(
            {
                "attr_mismatch": "1（1）",
                "member_mismatch": "1（1）",
                "should_protect": "1",
                "should_register": "1（1）",
                "should_exit_review": "1（1）",
                "duplicate_person": "1（1）",
            },
            "6（5）",
        ),
    }


def test_the_trend_runs_from_the_oldest_to_the_newest_finished_run(
    recon, areas, case_users, login_client
):
    make_run(areas.county, status=RunStatus.FAILED)  # failed runs are not part of the trend
    content = login_client(case_users.civil_affairs).get(SUMMARY).content.decode()

    table = re.search(r'id="trend-table">(.*?)</table>', content, re.S).group(1)
    periods = re.findall(r"<tr><td>(\d{4}H[12])</td>", table)
    chart = re.search(r'<svg [^>]*id="trend-chart".*?</svg>', content, re.S).group(0)
    points = [int(v) for v in re.findall(r'<g class="point" data-value="(\d+)">', chart)]
    assert periods == ["2026H1", "2026H2"]
    assert points == [5, 6]  # 3 + 2 findings in H1, 6 in H2 (linked not counted)


def test_a_county_without_a_finished_run(areas, case_users, login_client):
    content = login_client(case_users.civil_affairs).get(SUMMARY).content.decode()

    assert 'id="no-finished-run"' in content
    assert 'id="category-chart"' not in content
    assert "尚未比对。" in content


def test_the_league_officer_sees_an_overview_of_the_counties(
    recon, areas, recon_users, login_client
):
    content = login_client(recon_users.league_officer).get(SUMMARY).content.decode()

    table = re.search(r'id="county-overview">(.*?)</table>', content, re.S).group(1)
    assert f'?county={areas.county.code}">{areas.county.name}</a>' in table
    assert f'?county={areas.sibling_county.code}">{areas.sibling_county.name}</a>' in table
    own_row = re.search(rf"{areas.county.name}</a></td>(.*?)</tr>", table, re.S).group(1)
    assert "2026H2（基准日 2026-07-01）" in own_row
    assert '<td class="text-end">6</td>' in own_row  # open items of the county


@pytest.mark.parametrize(
    ("_case", "user", "shown"),
    [
        ("county civil affairs", "civil_affairs", True),
        ("county poverty office", "poverty_office", True),
        ("county leader", "county_leader", False),
        ("league officer (read-only)", "league_officer", False),
        ("region officer (read-only)", "region_officer", False),
    ],
)
def test_the_run_now_button_only_for_county_officers(
    _case, user, shown, recon, areas, case_users, recon_users, login_client
):
    content = login_client(pick_user(user, case_users, recon_users)).get(
        SUMMARY, {"county": areas.county.code}
    )

    assert (b'id="run-start-form"' in content.content) is shown


def test_active_runs_show_their_progress_for_polling(recon, areas, case_users, login_client):
    running = make_run(areas.county, status=RunStatus.RUNNING, progress=40)

    content = login_client(case_users.civil_affairs).get(SUMMARY).content.decode()

    assert f'data-progress-url="{_progress_url(running)}"' in content
    assert '<rect class="run-progress-fill" x="0" y="0" width="40"' in content
    assert '<span class="run-progress-text small">40%</span>' in content
    assert "style=" not in content.split("<main", 1)[1]  # nothing inline (CSP: style-src 'self')
    assert re.search(r'id="run-start-form">.*?disabled', content, re.S)
    assert "review/run_progress.js" in content


# --- progress endpoint ----------------------------------------------------------------------------


def test_the_progress_endpoint_reports_a_running_run(recon, areas, case_users, login_client):
    running = make_run(areas.county, status=RunStatus.RUNNING, progress=40)
    running.step = "匹配家庭成员"
    running.save(update_fields=["step"])

    response = login_client(case_users.civil_affairs).get(_progress_url(running))

    assert response.status_code == 200
    assert response.json() == {
        "id": running.pk,
        "status": "running",
        "status_label": "比对中",
        "progress": 40,
        "step": "匹配家庭成员",
        "is_active": True,
        "finished_at": None,
        "error": "",
    }


@pytest.mark.parametrize(
    ("_case", "user", "status"),
    [
        ("county officer", "civil_affairs", 200),
        ("league officer", "league_officer", 200),
        ("township caseworker (runs are county-level)", "caseworker", 404),
        ("other county officer", "other_county_civil_affairs", 404),
        ("another league", "other_league_officer", 404),
        ("no capability", "data_admin", 403),
    ],
)
def test_the_progress_endpoint_per_role(
    _case, user, status, recon, case_users, recon_users, login_client
):
    response = login_client(pick_user(user, case_users, recon_users)).get(_progress_url(recon.run))

    assert response.status_code == status
    if status == 200:
        assert response.json()["is_active"] is False
