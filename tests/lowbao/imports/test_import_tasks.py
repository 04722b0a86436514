"""The big-file path: the Celery tasks called directly (ids in, state in the batch row, duplicate
deliveries harmless), the views enqueueing only on commit, the progress JSON, the row estimate."""

import inspect

import pytest
from django.db import transaction
from django.urls import reverse

from cases.models import Household
from lowbao.audit.models import AuditEvent
from lowbao.imports import jobs, pipeline
from lowbao.imports.jobs import (
    APPLY_FAILED_MESSAGE,
    estimate_rows,
    import_batch_check,
)
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus, JobStatus, QueuedJob
from lowbao.imports.pipeline import import_batch_create
from lowbao.imports.selectors import batch_progress
from lowbao.imports.tasks import import_batch_apply_task, import_batch_parse_task
from tests.lowbao.imports.corpus import write_raw_xlsx, write_xls
from tests.lowbao.imports.test_import_ledger_command import (
    ROSTER_HEADERS,
    roster,
    two_households,
)
from tests.lowbao.imports.test_upload_kinds import bad_check_digit
from tests.lowbao.imports.test_upload_pages import make_admins, make_batch, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins(areas, make_user):
    return make_admins(areas, make_user)


@pytest.fixture
def background(settings):
    """Every upload is "big": it is checked and applied in Celery."""
    settings.LOWBAO_IMPORT_SYNC_MAX_BYTES = 0


@pytest.fixture
def enqueued(monkeypatch):
    """Record what the views enqueue instead of running it: [(task name, args)]."""
    calls: list[tuple[str, tuple]] = []
    for name, task in (
        ("parse", jobs.import_batch_parse_task),
        ("apply", jobs.import_batch_apply_task),
    ):
        monkeypatch.setattr(
            task, "delay", lambda *args, _name=name: calls.append((_name, args)), raising=False
        )
    return calls


def queued_batch(areas, admins, tmp_path, rows=None) -> ImportBatch:
    """A stored batch whose check was queued (as the upload page leaves a big file)."""
    batch = import_batch_create(
        actor=admins.county,
        kind="dibao",
        path=roster(tmp_path, rows if rows is not None else two_households()),
        county=areas.county,
        options=ImportOptions(),
    )
    ImportBatch.objects.filter(pk=batch.pk).update(queued_job=QueuedJob.PARSE)
    return batch


# --- the tasks, called directly -------------------------------------------------------------------


def test_the_parse_task_parses_previews_and_clears_the_queue(areas, admins, tmp_path):
    batch = queued_batch(areas, admins, tmp_path)

    import_batch_parse_task(batch.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.job_status, batch.queued_job) == (
        ImportStatus.PARSED,
        JobStatus.DONE,
        QueuedJob.NONE,
    )
    assert (batch.preview["created"], batch.counts["households"]) == (2, 2)
    assert ImportRow.objects.filter(batch=batch).count() == 3
    assert Household.objects.count() == 0


def test_the_parse_task_on_a_rejected_file_stores_every_problem_and_no_preview(
    areas, admins, tmp_path
):
    rows = two_households()
    rows[1]["身份证号"] = bad_check_digit(rows[1]["身份证号"])
    batch = queued_batch(areas, admins, tmp_path, rows)

    import_batch_parse_task(batch.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.error_count, batch.preview, batch.queued_job) == (
        ImportStatus.REJECTED,
        1,
        {},
        QueuedJob.NONE,
    )


def test_a_parse_delivered_again_after_the_apply_changes_nothing(
    areas, admins, tmp_path, login_client
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    login_client(admins.county).post(reverse("imports:batch_apply", args=[batch.pk]))
    batch.refresh_from_db()
    state = (batch.status, batch.counts, batch.applied_at, batch.preview)

    import_batch_parse_task(batch.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.counts, batch.applied_at, batch.preview) == state
    assert AuditEvent.objects.filter(action="import.apply").count() == 1


def test_the_parse_task_of_a_batch_that_is_gone_does_nothing(db):
    assert import_batch_parse_task(987654) is None


def test_the_apply_task_applies_in_the_name_of_the_admin_who_confirmed(areas, admins, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    ImportBatch.objects.filter(pk=batch.pk).update(queued_job=QueuedJob.APPLY)

    import_batch_apply_task(batch.pk, admins.league.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.applied_by, batch.queued_job, batch.job_message) == (
        ImportStatus.APPLIED,
        admins.league,
        QueuedJob.NONE,
        "",
    )
    assert Household.objects.count() == 2
    assert AuditEvent.objects.get(action="import.apply").actor == admins.league


def test_an_apply_delivered_twice_applies_once_and_reports_nothing(areas, admins, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)

    import_batch_apply_task(batch.pk, admins.county.pk)
    import_batch_apply_task(batch.pk, admins.county.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.job_message) == (ImportStatus.APPLIED, "")
    assert AuditEvent.objects.filter(action="import.apply").count() == 1
    assert Household.objects.count() == 2


def test_an_apply_the_pipeline_refuses_keeps_its_message_for_the_page(areas, admins, tmp_path):
    rows = two_households()
    rows[0]["身份证号"] = bad_check_digit(rows[0]["身份证号"])
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, rows=rows)
    ImportBatch.objects.filter(pk=batch.pk).update(queued_job=QueuedJob.APPLY)

    import_batch_apply_task(batch.pk, admins.county.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.queued_job) == (ImportStatus.REJECTED, QueuedJob.NONE)
    assert batch.job_message == "该批次当前状态为“已拒绝”，不能导入"
    assert Household.objects.count() == 0


def test_an_apply_that_fails_midway_writes_nothing_and_says_so(
    areas, admins, tmp_path, monkeypatch
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    ImportBatch.objects.filter(pk=batch.pk).update(queued_job=QueuedJob.APPLY)

    def failing_audit(**kwargs):  # the domain tables are written by then
        raise RuntimeError("disk full")

    monkeypatch.setattr(pipeline, "record", failing_audit)

    with pytest.raises(RuntimeError):
        import_batch_apply_task(batch.pk, admins.county.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.job_message, batch.queued_job) == (
        ImportStatus.FAILED,
        APPLY_FAILED_MESSAGE,
        QueuedJob.NONE,
    )
    assert Household.objects.count() == 0


def test_the_tasks_are_late_acknowledged_bound_and_take_ids():
    assert import_batch_parse_task.acks_late is True
    assert import_batch_apply_task.acks_late is True
    # bound: ``self`` is the task, so only the ids remain in the signature
    assert list(inspect.signature(import_batch_parse_task.run).parameters) == ["batch_id"]
    assert list(inspect.signature(import_batch_apply_task.run).parameters) == [
        "batch_id",
        "actor_id",
    ]


# --- the views enqueue on commit ------------------------------------------------------------------


def test_a_big_upload_is_queued_on_commit_and_the_page_shows_progress(
    admins, login_client, background, enqueued, django_capture_on_commit_callbacks
):
    client = login_client(admins.county)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = upload(
            client, kind="dibao", content=xlsx_bytes(ROSTER_HEADERS, two_households())
        )

    batch = ImportBatch.objects.get()
    assert len(callbacks) == 1
    assert enqueued == [("parse", (batch.pk,))]
    assert (batch.status, batch.queued_job, batch.rows_total_estimate) == (
        ImportStatus.UPLOADED,
        QueuedJob.PARSE,
        5,
    )
    page = client.get(response["Location"])
    assert 'id="batch-progress"' in page.content.decode()
    progress = client.get(reverse("imports:batch_progress", args=[batch.pk])).json()
    assert (progress["busy"], progress["phase"], progress["percent"]) == (
        True,
        "已排队，等待后台校验",
        None,
    )

    import_batch_parse_task(batch.pk)  # the worker

    progress = client.get(reverse("imports:batch_progress", args=[batch.pk])).json()
    assert (progress["busy"], progress["status"], progress["percent"]) == (False, "parsed", 100)
    assert 'id="confirm-apply"' in client.get(response["Location"]).content.decode()


def test_under_eager_celery_a_big_upload_simply_finishes(
    admins, login_client, background, django_capture_on_commit_callbacks
):
    client = login_client(admins.county)

    with django_capture_on_commit_callbacks(execute=True):
        upload(client, kind="dibao", content=xlsx_bytes(ROSTER_HEADERS, two_households()))

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.queued_job, batch.preview["created"]) == (
        ImportStatus.PARSED,
        QueuedJob.NONE,
        2,
    )


def test_a_big_confirm_is_queued_once_whatever_the_clicks(
    areas,
    admins,
    login_client,
    tmp_path,
    background,
    enqueued,
    django_capture_on_commit_callbacks,
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    client = login_client(admins.county)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = client.post(reverse("imports:batch_apply", args=[batch.pk]), follow=True)
        second = client.post(reverse("imports:batch_apply", args=[batch.pk]), follow=True)

    assert len(callbacks) == 1
    assert enqueued == [("apply", (batch.pk, admins.county.pk))]
    assert [str(m) for m in first.context["messages"]] == [
        "已提交后台写入；本页显示进度，可随时刷新或稍后再来。"
    ]
    assert [str(m) for m in second.context["messages"]] == [
        "该批次已有写入任务在排队，请勿重复提交"
    ]
    assert "已排队，等待后台写入" in second.content.decode()
    assert Household.objects.count() == 0

    import_batch_apply_task(*enqueued[0][1])  # the worker

    batch.refresh_from_db()
    assert (batch.status, batch.queued_job) == (ImportStatus.APPLIED, QueuedJob.NONE)
    assert Household.objects.count() == 2


def test_nothing_is_enqueued_when_the_transaction_rolls_back(
    areas, admins, tmp_path, background, enqueued, django_capture_on_commit_callbacks
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)

    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        import_batch_check(actor=admins.county, batch=batch)
        transaction.set_rollback(True)

    assert (callbacks, enqueued) == ([], [])
    batch.refresh_from_db()
    assert batch.queued_job == QueuedJob.NONE


def test_a_queued_batch_cannot_be_checked_or_confirmed_again(
    areas, admins, login_client, tmp_path, background, enqueued
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    ImportBatch.objects.filter(pk=batch.pk).update(queued_job=QueuedJob.PARSE)
    client = login_client(admins.county)

    recheck = client.post(reverse("imports:batch_recheck", args=[batch.pk]), follow=True)
    confirm = client.post(reverse("imports:batch_apply", args=[batch.pk]), follow=True)

    assert [str(m) for m in recheck.context["messages"]] == ["该批次已有校验任务在排队，请稍候"]
    assert [str(m) for m in confirm.context["messages"]] == [
        "该批次已有校验任务在排队，请勿重复提交"
    ]
    assert enqueued == []
    assert Household.objects.count() == 0


# --- progress ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "state", "phase", "percent", "busy"),
    [
        (
            "reading",
            {"status": "parsing", "rows_read": 5000, "rows_total_estimate": 20000},
            "正在读取文件：已读 5,000 行，共约 20,000 行",
            25,
            True,
        ),
        (
            "validating",
            {"status": "parsing", "rows_read": 20000, "rows_total_estimate": 20000},
            "已读 20,000 行，正在逐行校验",
            None,
            True,
        ),
        (
            "preview",
            {"status": "parsed", "job_status": "running"},
            "校验完成，正在计算变更预览",
            None,
            True,
        ),
        ("applying", {"status": "applying"}, "正在写入数据库（全部成功或全部不写入）", None, True),
        ("applied", {"status": "applied"}, "已导入", 100, False),
    ],
)
def test_progress_reads_the_batch_row(
    areas, admins, login_client, tmp_path, _case, state, phase, percent, busy
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    ImportBatch.objects.filter(pk=batch.pk).update(**state)

    progress = login_client(admins.county).get(reverse("imports:batch_progress", args=[batch.pk]))

    assert progress["Content-Type"] == "application/json"
    assert (progress.json()["phase"], progress.json()["percent"], progress.json()["busy"]) == (
        phase,
        percent,
        busy,
    )
    assert batch_progress(ImportBatch.objects.get(pk=batch.pk))["busy"] is busy


# --- the row estimate -----------------------------------------------------------------------------


def stored(areas, admins, path) -> ImportBatch:
    return import_batch_create(
        actor=admins.county, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )


def test_the_row_estimate_of_an_xlsx_reads_its_dimension(areas, admins, tmp_path):
    path = tmp_path / "r.xlsx"
    path.write_bytes(xlsx_bytes(ROSTER_HEADERS, two_households() * 4))

    assert estimate_rows(stored(areas, admins, path)) == 14


def test_the_row_estimate_of_an_xlsx_without_dimension_counts_rows(areas, admins, tmp_path):
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>x{n}</t></is></c></row>'
        for n in range(1, 41)
    )
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f"<sheetData>{rows}</sheetData></worksheet>"
    )
    path = write_raw_xlsx(tmp_path / "raw.xlsx", sheet_xml=sheet)

    assert estimate_rows(stored(areas, admins, path)) == 40


def test_the_row_estimate_of_a_csv_and_an_xls(areas, admins, tmp_path):
    csv_path = roster(tmp_path, two_households() * 10)
    xls_path = write_xls(tmp_path / "r.xls", [["户编号", "姓名"], *[["H1", "张三"]] * 7])

    assert estimate_rows(stored(areas, admins, csv_path)) == 32
    assert estimate_rows(stored(areas, admins, xls_path)) == 8
