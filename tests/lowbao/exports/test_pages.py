"""Export pages: the export page of a list (role × area), the small export streamed in the
response, the big one queued, "my exports" with progress, the download only for the requester
within scope, and the "导出Excel" buttons on the list pages."""

import io

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from lowbao.areas.models import UserAreaRole
from lowbao.areas.roles import Role
from lowbao.areas.scoping import forget_assignments
from lowbao.areas.services import role_assign
from lowbao.audit.models import AuditEvent
from lowbao.exports.models import ExportJob, ExportStatus
from tests.cases.test_roster_export import HEAD1
from tests.lowbao.exports.helpers import job_path

pytestmark = pytest.mark.django_db

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MASKED_HEAD1 = HEAD1[:6] + "********" + HEAD1[14:]


def export_url(kind="dibao", query=""):
    return reverse("exports:export_new", args=[kind]) + (f"?{query}" if query else "")


def workbook_rows(response) -> list[list[object]]:
    content = b"".join(response.streaming_content)
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@pytest.fixture
def league_officer(roster_world, make_user):
    return make_user(role=Role.LEAGUE_OFFICER, area=roster_world.league, username="league")


# --- the export page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_name", "status", "counties"),
    [
        pytest.param("village_assistant", 200, ["150121000000"], id="own_village_case"),
        pytest.param("caseworker", 200, ["150121000000"], id="own_township_case"),
        pytest.param("sibling_caseworker", 200, ["150121000000"], id="sibling_township_case"),
        pytest.param("civil_affairs", 200, ["150121000000"], id="county_case"),
        pytest.param("other_county_civil_affairs", 200, ["150122000000"], id="other_county_case"),
    ],
)
def test_export_page_offers_the_counties_in_scope(
    roster_world, case_users, login_client, user_name, status, counties
):
    response = login_client(getattr(case_users, user_name)).get(export_url(query="programme=tekun"))

    assert response.status_code == status
    choices = [code for code, _label in response.context["form"].fields["county"].choices]
    assert choices == ["", *counties]
    assert response.context["filters"] == {"programme": "tekun"}


def test_export_page_at_league_level_offers_the_leagues_counties(
    roster_world, league_officer, login_client
):
    response = login_client(league_officer).get(export_url())

    codes = [code for code, _label in response.context["form"].fields["county"].choices]
    assert codes[:3] == ["", "150102000000", "150103000000"]
    assert "150121000000" in codes
    assert "150202000000" not in codes  # another league


@pytest.mark.parametrize("kind", ["dibao", "poverty"])
@pytest.mark.parametrize(
    "role",
    [
        pytest.param(Role.DATA_ADMIN, id="export_but_no_list_capability_case"),
        pytest.param(Role.SECURITY_ADMIN, id="no_export_capability_case"),
        pytest.param(Role.AUDIT_ADMIN, id="audit_admin_case"),
    ],
)
def test_export_page_needs_both_capabilities(roster_world, make_user, login_client, role, kind):
    client = login_client(make_user(role=role, area=roster_world.county))

    assert client.get(export_url(kind)).status_code == 403
    assert client.post(export_url(kind), {"county": "150121000000"}).status_code == 403
    assert ExportJob.objects.count() == 0


def test_my_exports_needs_the_export_capability(roster_world, make_user, login_client):
    client = login_client(make_user(role=Role.SECURITY_ADMIN, area=roster_world.county))

    assert client.get(reverse("exports:job_list")).status_code == 403


def test_anonymous_users_are_sent_to_the_login_page(roster_world):
    client = Client()

    for url in (
        export_url(),
        reverse("exports:job_list"),
        reverse("exports:job_download", args=[1]),
    ):
        response = client.get(url)
        assert (response.status_code, response.url.split("?")[0]) == (302, "/accounts/login/")


def test_unknown_export_kind_is_404(roster_world, case_users, login_client):
    assert login_client(case_users.civil_affairs).get(export_url("nothing")).status_code == 404


def test_registry_export_page_shows_the_snapshot_warning(roster_world, case_users, login_client):
    response = login_client(case_users.poverty_office).get(export_url("poverty"))

    assert response.status_code == 200
    assert "按旗县整体替换" in response.content.decode()


def test_reveal_fields_only_for_users_who_may_reveal(roster_world, case_users, login_client):
    caseworker_form = login_client(case_users.caseworker).get(export_url()).context["form"]
    assistant_form = login_client(case_users.village_assistant).get(export_url()).context["form"]

    assert {"county", "reveal", "reason"} == set(caseworker_form.fields)
    assert {"county"} == set(assistant_form.fields)


# --- running an export from the page ---------------------------------------------------------


def test_small_export_is_returned_in_the_response_masked_with_the_pages_filters(
    roster_world, case_users, login_client
):
    client = login_client(case_users.civil_affairs)

    response = client.post(export_url(query="programme=dibao&page=2"), {"county": "150121000000"})

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    rows = workbook_rows(response)
    assert [row[0] for row in rows[2:]] == ["DB001", "DB001", "DB003"]
    assert rows[2][5] == MASKED_HEAD1
    job = ExportJob.objects.get()
    assert (job.filters, job.status, job.requested_by_id) == (
        {"programme": "dibao"},
        ExportStatus.DONE,
        case_users.civil_affairs.pk,
    )
    assert AuditEvent.objects.filter(action="export.run").count() == 1


def test_revealed_export_from_the_page_needs_a_reason(roster_world, case_users, login_client):
    client = login_client(case_users.caseworker)

    refused = client.post(export_url(), {"county": "150121000000", "reveal": "on", "reason": " "})
    allowed = client.post(
        export_url(), {"county": "150121000000", "reveal": "on", "reason": "报送核对"}
    )

    assert refused.status_code == 200
    assert refused.context["form"].errors["reason"] == ["导出完整信息须填写理由"]
    assert allowed.status_code == 200
    assert workbook_rows(allowed)[2][5] == HEAD1
    assert ExportJob.objects.get().reveal_reason == "报送核对"
    reveal = AuditEvent.objects.get(action="export.reveal")
    assert (reveal.actor_id, reveal.changes["reason"]) == (case_users.caseworker.pk, "报送核对")


def test_users_who_may_not_reveal_get_a_masked_file_whatever_they_post(
    roster_world, case_users, login_client
):
    client = login_client(case_users.village_assistant)

    response = client.post(
        export_url(), {"county": "150121000000", "reveal": "on", "reason": "想看"}
    )

    assert workbook_rows(response)[2][5] == MASKED_HEAD1
    assert AuditEvent.objects.filter(action="export.reveal").count() == 0


def test_a_county_out_of_scope_is_refused_and_nothing_exported(
    roster_world, case_users, login_client
):
    client = login_client(case_users.other_county_civil_affairs)

    response = client.post(export_url(), {"county": "150121000000"})

    assert response.status_code == 200
    assert "county" in response.context["form"].errors
    assert ExportJob.objects.count() == 0


def test_big_export_is_queued_and_listed_with_progress(
    roster_world, case_users, login_client, settings, django_capture_on_commit_callbacks
):
    settings.LOWBAO_EXPORT_SYNC_MAX_ROWS = 2
    client = login_client(case_users.civil_affairs)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(export_url(), {"county": "150121000000"})
    queued = client.get(reverse("exports:job_list"))
    callbacks[0]()
    done = client.get(reverse("exports:job_list"))

    assert (response.status_code, response.url) == (302, reverse("exports:job_list"))
    assert len(callbacks) == 1
    html = queued.content.decode()
    assert 'http-equiv="refresh"' in html
    assert "排队中" in html
    job = ExportJob.objects.get()
    done_html = done.content.decode()
    assert 'http-equiv="refresh"' not in done_html
    assert reverse("exports:job_download", args=[job.pk]) in done_html


def test_export_requests_are_throttled_per_user(roster_world, case_users, login_client, settings):
    settings.LOWBAO_THROTTLE_RATES = {**settings.LOWBAO_THROTTLE_RATES, "export": "2/hour"}
    cache.clear()
    client = login_client(case_users.civil_affairs)

    statuses = [client.post(export_url(), {"county": "150121000000"}).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert client.get(export_url()).status_code == 200  # showing the form does not count
    assert ExportJob.objects.count() == 2
    cache.clear()


# --- my exports and the download -------------------------------------------------------------


def test_my_exports_lists_only_my_jobs_with_flat_queries(
    roster_world, case_users, login_client, django_assert_num_queries
):
    mine = login_client(case_users.civil_affairs)
    mine.post(export_url(), {"county": "150121000000"})
    login_client(case_users.caseworker).post(export_url(), {"county": "150121000000"})
    url = reverse("exports:job_list")
    mine.get(url)

    with django_assert_num_queries(5):
        first = mine.get(url)
    for _ in range(4):
        mine.post(export_url(), {"county": "150121000000"})
    with django_assert_num_queries(5):
        many = mine.get(url)

    assert [job.requested_by_id for job, _label in first.context["rows"]] == [
        case_users.civil_affairs.pk
    ]
    assert len(many.context["rows"]) == 5
    assert "低保特困花名册" in many.content.decode()


def test_download_by_the_requester_is_audited(roster_world, case_users, login_client):
    client = login_client(case_users.civil_affairs)
    client.post(export_url(), {"county": "150121000000"})
    job = ExportJob.objects.get()

    response = client.get(reverse("exports:job_download", args=[job.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert b"".join(response.streaming_content) == job_path(job).read_bytes()
    download = AuditEvent.objects.get(action="export.download")
    assert (download.actor_id, download.object_id) == (case_users.civil_affairs.pk, str(job.pk))


@pytest.mark.parametrize(
    "user_name",
    [
        pytest.param("poverty_office", id="same_county_other_user_case"),
        pytest.param("caseworker", id="township_user_case"),
        pytest.param("other_county_civil_affairs", id="other_county_case"),
    ],
)
def test_download_by_another_user_is_404(roster_world, case_users, login_client, user_name):
    login_client(case_users.civil_affairs).post(export_url(), {"county": "150121000000"})
    job = ExportJob.objects.get()

    response = login_client(getattr(case_users, user_name)).get(
        reverse("exports:job_download", args=[job.pk])
    )

    assert response.status_code == 404
    assert AuditEvent.objects.filter(action="export.download").count() == 0


def test_download_after_losing_the_role_or_after_expiry_is_404(
    roster_world, case_users, login_client
):
    client = login_client(case_users.civil_affairs)
    client.post(export_url(), {"county": "150121000000"})
    client.post(export_url(), {"county": "150121000000"})
    expired, kept = ExportJob.objects.order_by("pk")
    ExportJob.objects.filter(pk=expired.pk).update(status=ExportStatus.EXPIRED, file="")

    assert client.get(reverse("exports:job_download", args=[expired.pk])).status_code == 404
    assert client.get(reverse("exports:job_download", args=[kept.pk])).status_code == 200
    UserAreaRole.objects.filter(user=case_users.civil_affairs).delete()
    forget_assignments(case_users.civil_affairs)
    assert client.get(reverse("exports:job_download", args=[kept.pk])).status_code == 403
    role_assign(
        actor=None,
        user=case_users.civil_affairs,
        role=Role.COUNTY_CIVIL_AFFAIRS,
        area=roster_world.sibling_county,
    )
    assert client.get(reverse("exports:job_download", args=[kept.pk])).status_code == 404


# --- the buttons on the list pages and the menu ----------------------------------------------


def test_household_list_has_an_export_button_with_the_current_filters(
    roster_world, case_users, login_client
):
    response = login_client(case_users.caseworker).get(
        reverse("cases:household_list") + "?programme=tekun&name=张&page=1"
    )

    html = response.content.decode()
    assert 'id="export-button"' in html
    assert f'href="{export_url(query="programme=tekun&amp;name=%E5%BC%A0")}"' in html


def test_registry_list_has_an_export_button_with_the_current_filters(
    roster_world, case_users, login_client
):
    response = login_client(case_users.poverty_office).get(
        reverse("poverty:registry_household_list") + "?attribute=dibao&in_registry=0"
    )

    html = response.content.decode()
    assert f'href="{export_url("poverty", "attribute=dibao")}"' in html


def test_menu_has_my_exports_for_users_who_may_export(
    roster_world, case_users, make_user, login_client
):
    security_admin = make_user(role=Role.SECURITY_ADMIN, area=roster_world.county)
    url = reverse("exports:job_list")

    shown = login_client(case_users.village_assistant).get(reverse("web:home")).content.decode()
    hidden = login_client(security_admin).get(reverse("web:home")).content.decode()

    assert f'href="{url}">我的导出</a>' in shown
    assert f'href="{url}">我的导出</a>' not in hidden
