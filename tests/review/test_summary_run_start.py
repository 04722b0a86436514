"""立即比对 on the county summary: county officers queue a run through the reconciliation service
(enqueued on commit); a second request while one is active is a Chinese conflict message; every
other role and area is refused and nothing is queued."""

import pytest
from django.urls import reverse

from lowbao.audit.models import AuditEvent
from review.models import ReconciliationRun, RunStatus, RunTrigger
from tests.fixtures.review_items import pick_user

pytestmark = pytest.mark.django_db

START = reverse("review:reconciliation_run_start")
SUMMARY = reverse("review:reconciliation_summary")


def _runs() -> list[tuple]:
    return list(ReconciliationRun.objects.order_by("id").values_list("id", "status"))


@pytest.mark.parametrize("user", ["civil_affairs", "poverty_office"])
def test_a_county_officer_queues_a_run_now(
    user, recon, areas, case_users, login_client, django_capture_on_commit_callbacks
):
    officer = getattr(case_users, user)

    with django_capture_on_commit_callbacks() as callbacks:
        response = login_client(officer).post(START, {"county": areas.county.code}, follow=True)

    run = ReconciliationRun.objects.get(status=RunStatus.QUEUED)
    assert (run.county, run.trigger, run.started_by) == (areas.county, RunTrigger.MANUAL, officer)
    assert response.redirect_chain == [(f"{SUMMARY}?county={areas.county.code}", 302)]
    content = response.content.decode()
    assert f"已发起土默特左旗的台账比对（{run.period}" in content
    assert f'id="run-{run.pk}"' in content
    assert "排队中" in content
    assert len(callbacks) == 1  # the task, enqueued once the request's transaction commits
    assert AuditEvent.objects.filter(
        action="reconciliation.run_request", object_id=str(run.pk)
    ).exists()


def test_a_second_request_while_a_run_is_active_is_a_conflict_message(
    recon, areas, case_users, login_client
):
    client = login_client(case_users.civil_affairs)
    client.post(START, {"county": areas.county.code})
    before = _runs()

    response = client.post(START, {"county": areas.county.code}, follow=True)

    assert response.status_code == 200
    assert "土默特左旗已有一次比对在排队或进行中，请等它完成后再发起。" in response.content.decode()
    assert _runs() == before


@pytest.mark.parametrize(
    ("_case", "user", "county", "status"),
    [
        ("township caseworker", "caseworker", "county", 403),
        ("county leader", "county_leader", "county", 403),
        ("league officer", "league_officer", "county", 403),
        ("region officer", "region_officer", "county", 403),
        ("no capability", "data_admin", "county", 403),
        ("officer of another county", "other_county_civil_affairs", "county", 404),
        ("county officer: sibling county", "civil_affairs", "sibling_county", 404),
        ("county officer: a township code", "civil_affairs", "township", 404),
    ],
)
def test_refused_requests_queue_nothing(
    _case, user, county, status, recon, areas, case_users, recon_users, login_client
):
    before = _runs()

    response = login_client(pick_user(user, case_users, recon_users)).post(
        START, {"county": getattr(areas, county).code}
    )

    assert response.status_code == status
    assert _runs() == before


def test_anonymous_requests_go_to_login(recon, areas, client):
    before = _runs()

    response = client.post(START, {"county": areas.county.code})

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert _runs() == before


def test_run_now_is_a_post(recon, areas, case_users, login_client):
    response = login_client(case_users.civil_affairs).get(START, {"county": areas.county.code})

    assert response.status_code == 405
