"""Export jobs: small exports written at once, big ones enqueued on commit, the Celery task run
directly, claims by conditional update, reveal rules, audit rows, failures and the purge."""

import hashlib
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from lowbao.areas.models import UserAreaRole
from lowbao.areas.roles import Role
from lowbao.areas.scoping import ACTIVE_ASSIGNMENT_ATTR
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.exports import registry, services
from lowbao.exports.models import ExportJob, ExportStatus
from lowbao.exports.registry import register_export
from lowbao.exports.services import export_files_purge, export_job_request, export_job_run
from lowbao.exports.tasks import export_files_purge_task, export_job_run_task
from tests.cases.test_roster_export import HEAD1
from tests.lowbao.exports.helpers import data_rows, job_path

pytestmark = pytest.mark.django_db


@pytest.fixture
def big(settings):
    """Every export with more than 2 rows runs in Celery."""
    settings.LOWBAO_EXPORT_SYNC_MAX_ROWS = 2


@pytest.fixture
def failing_kind():
    def explode(query):
        yield ["1"]
        raise RuntimeError("boom")

    spec = register_export(
        "test_failing",
        "测试清单",
        "case.view",
        explode,
        headers=("a",),
        count_rows=lambda q: 1,
        needs_county=False,
    )
    yield spec
    registry._KINDS.pop(spec.code)


def request_roster(actor, county, **extra):
    return export_job_request(actor=actor, kind="dibao", county=county, filters={}, **extra)


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


# --- small exports ---------------------------------------------------------------------------


def test_small_export_is_written_at_once_and_audited(roster_world, case_users):
    actor = case_users.civil_affairs

    job = export_job_request(
        actor=actor, kind="dibao", county=roster_world.county, filters={"programme": "dibao"}
    )

    assert (job.status, job.row_count, job.rows_written, job.rows_expected) == ("done", 3, 3, 3)
    content = job_path(job).read_bytes()
    assert job.sha256 == hashlib.sha256(content).hexdigest()
    assert job.size == len(content)
    assert job.file.startswith("exports/")
    assert job.file.endswith(".xlsx")
    assert job.file_name.startswith("低保特困花名册-土默特左旗-")
    assert job.expires_at - job.finished_at == timedelta(days=7)
    (run,) = events("export.run")
    assert (run.actor_id, run.object_id, run.area_code) == (actor.pk, str(job.pk), "150121000000")
    assert run.changes == {
        "kind": "dibao",
        "list": "低保特困花名册",
        "county": "150121000000",
        "filters": {"programme": "dibao"},
        "rows": 3,
        "masked": True,
        "sha256": job.sha256,
    }
    assert events("export.reveal") == []


def test_reveal_with_permission_and_reason_is_audited_with_the_reason(roster_world, case_users):
    job = request_roster(
        case_users.caseworker, roster_world.county, reveal=True, reason="  报送 民政局 "
    )

    assert (job.reveal, job.reveal_reason) == (True, "报送 民政局")
    assert data_rows(job_path(job))[0]["身份证号"] == HEAD1
    (reveal,) = events("export.reveal")
    assert reveal.changes == {
        "kind": "dibao",
        "list": "低保特困花名册",
        "county": "150121000000",
        "reason": "报送 民政局",
        "rows": 3,
    }
    assert events("export.run")[0].changes["masked"] is False


@pytest.mark.parametrize(
    ("user_name", "reveal", "reason", "code"),
    [
        pytest.param("county_leader", True, "理由", "export_reveal_not_allowed", id="no_perm_case"),
        pytest.param("village_assistant", True, "理由", "export_reveal_not_allowed", id="va_case"),
        pytest.param("civil_affairs", True, "  ", "export_reveal_reason_required", id="no_reason"),
        pytest.param("civil_affairs", True, "长" * 201, "invalid", id="reason_too_long_case"),
    ],
)
def test_reveal_needs_the_permission_and_a_reason(
    roster_world, case_users, user_name, reveal, reason, code
):
    with pytest.raises(DomainError) as error:
        request_roster(
            getattr(case_users, user_name), roster_world.county, reveal=reveal, reason=reason
        )

    assert error.value.code == code
    assert ExportJob.objects.count() == 0
    assert events("export.run") == []


def test_export_needs_the_capabilities_and_a_county_in_scope(roster_world, case_users, make_user):
    data_admin = make_user(role=Role.DATA_ADMIN, area=roster_world.county)
    security_admin = make_user(role=Role.SECURITY_ADMIN, area=roster_world.county)
    refusals = {}
    for label, actor, county, kind in (
        ("data_admin", data_admin, roster_world.county, "dibao"),
        ("security_admin", security_admin, roster_world.county, "dibao"),
        ("other_county", case_users.other_county_civil_affairs, roster_world.county, "dibao"),
        ("sibling_county", case_users.caseworker, roster_world.sibling_county, "dibao"),
        ("no_county", case_users.civil_affairs, None, "dibao"),
        ("unknown_kind", case_users.civil_affairs, roster_world.county, "nothing"),
    ):
        with pytest.raises(DomainError) as error:
            export_job_request(actor=actor, kind=kind, county=county, filters={})
        refusals[label] = (error.value.code, error.value.status)

    assert refusals == {
        "data_admin": ("permission_denied", 403),
        "security_admin": ("permission_denied", 403),
        "other_county": ("not_found", 404),
        "sibling_county": ("not_found", 404),
        "no_county": ("export_county_required", 422),
        "unknown_kind": ("export_unknown_kind", 404),
    }
    assert ExportJob.objects.count() == 0


def test_an_export_bigger_than_a_sheet_is_refused_before_any_work(
    roster_world, case_users, monkeypatch
):
    monkeypatch.setattr(services, "MAX_DATA_ROWS", 3)

    with pytest.raises(DomainError) as error:
        request_roster(case_users.civil_affairs, roster_world.county)

    assert error.value.code == "export_too_many_rows"
    assert ExportJob.objects.count() == 0


def test_only_the_kinds_filters_are_kept(roster_world, case_users):
    job = export_job_request(
        actor=case_users.civil_affairs,
        kind="dibao",
        county=roster_world.county,
        filters={"programme": " tekun ", "page": "3", "id_number": "1501", "name": ""},
    )

    assert job.filters == {"programme": "tekun"}
    assert job.row_count == 1


# --- big exports -----------------------------------------------------------------------------


def test_big_export_is_enqueued_on_commit_and_written_by_the_task(
    roster_world, case_users, big, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = request_roster(case_users.civil_affairs, roster_world.county)

    assert (job.status, job.rows_expected, len(callbacks)) == ("queued", 4, 1)
    assert job.task_id
    assert events("export.run") == []
    callbacks[0]()  # eager Celery: the task runs now
    job.refresh_from_db()
    assert (job.status, job.row_count) == ("done", 4)
    assert len(data_rows(job_path(job))) == 4
    assert len(events("export.run")) == 1


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    roster_world, case_users, big, django_capture_on_commit_callbacks
):
    def request_in_a_transaction_that_fails():
        with transaction.atomic():
            request_roster(case_users.civil_affairs, roster_world.county)
            raise RuntimeError("rolled back")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        request_in_a_transaction_that_fails()

    assert callbacks == []
    assert ExportJob.objects.count() == 0


def test_task_function_called_directly_runs_the_job_once(roster_world, case_users, big):
    job = request_roster(case_users.civil_affairs, roster_world.county)

    export_job_run_task(job.pk)
    export_job_run_task(job.pk)  # a duplicate delivery
    job.refresh_from_db()

    assert (job.status, job.row_count) == ("done", 4)
    assert len(events("export.run")) == 1
    assert sorted(p.name for p in job_path(job).parent.glob(f"{job.pk}-*")) == [job_path(job).name]


def test_a_running_job_is_taken_over_only_by_the_same_message(roster_world, case_users, big):
    job = request_roster(case_users.civil_affairs, roster_world.county)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, rows_written=2)

    other = export_job_run(job_id=job.pk, task_id="another-message")
    assert (other.status, other.row_count) == ("running", None)

    export_job_run_task.apply(args=[job.pk], task_id=job.task_id)  # redelivered after a crash
    job.refresh_from_db()
    assert (job.status, job.row_count) == ("done", 4)


def test_the_task_uses_the_area_switchers_choice_of_the_request(
    roster_world, case_users, make_user, big
):
    user = make_user(
        role=Role.TOWNSHIP_CASEWORKER,
        area=roster_world.sibling_township,
        extra=((Role.TOWNSHIP_CASEWORKER, roster_world.township),),
    )
    chosen = UserAreaRole.objects.get(user=user, area=roster_world.township)
    setattr(user, ACTIVE_ASSIGNMENT_ATTR, chosen.pk)
    job = request_roster(user, roster_world.county)

    export_job_run_task(job.pk)
    job.refresh_from_db()

    assert job.assignment_id == chosen.pk
    assert [row["户编号"] for row in data_rows(job_path(job))] == ["DB001", "DB001", "DB002"]


def test_a_job_whose_requester_lost_the_role_fails_without_a_file(roster_world, case_users, big):
    job = request_roster(case_users.civil_affairs, roster_world.county)
    UserAreaRole.objects.filter(user=case_users.civil_affairs).delete()

    export_job_run_task(job.pk)
    job.refresh_from_db()

    assert (job.status, job.file, job.error_message) == (
        "failed",
        "",
        "没有导出低保特困花名册的权限",
    )
    assert events("export.run") == []


def test_a_builder_error_fails_the_job_and_leaves_no_file(case_users, failing_kind, settings):
    job = export_job_request(
        actor=case_users.civil_affairs, kind="test_failing", county=None, filters={}
    )

    assert (job.status, job.file, job.row_count) == ("failed", "", None)
    assert job.error_message == "导出失败，请稍后重试；多次失败请联系管理员"
    assert list((settings.MEDIA_ROOT / "exports").rglob(f"{job.pk}-*")) == []
    assert events("export.run") == []


# --- purge ---


def test_the_purge_runs_periodically(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["exports-purge-expired-files"]

    assert entry["task"] == export_files_purge_task.name == "exports.export_files_purge"
    assert entry["schedule"] == timedelta(hours=1)
    assert settings.LOWBAO_EXPORT_RETENTION_DAYS == 7


def test_purge_deletes_expired_files_only(roster_world, case_users):
    old = request_roster(case_users.civil_affairs, roster_world.county)
    fresh = request_roster(case_users.civil_affairs, roster_world.county)
    ExportJob.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    old_path = job_path(old)

    export_files_purge_task()
    old.refresh_from_db()
    fresh.refresh_from_db()

    assert (old.status, old.file, old_path.exists()) == ("expired", "", False)
    assert (fresh.status, job_path(fresh).exists()) == ("done", True)
    assert export_files_purge(now=fresh.expires_at) == 1
