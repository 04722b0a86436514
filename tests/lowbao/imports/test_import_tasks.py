"""The big-file path: the Celery tasks called directly (ids in, state in the batch row, duplicate
deliveries harmless), the views enqueueing only on commit, the progress JSON, the row estimate."""

import inspect
from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from cases.models import Household
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
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


def test_the_tasks_are_late_acknowledged_bound_and_take_ids(settings):
    assert import_batch_parse_task.acks_late is True
    assert import_batch_apply_task.acks_late is True
    assert import_batch_parse_task.reject_on_worker_lost is True
    assert import_batch_apply_task.reject_on_worker_lost is True
    # time limits from settings, the soft one first; a claim goes stale only past the hard one
    for task in (import_batch_parse_task, import_batch_apply_task):
        assert (task.soft_time_limit, task.time_limit) == (2 * 3600 - 120, 2 * 3600)
    assert pipeline.stale_seconds() == 2 * 3600 + 300 > import_batch_parse_task.time_limit
    # bound: ``self`` is the task, so only the ids remain in the signature (and, on a retry of a
    # redelivered parse, the dead worker's claim token it waited for)
    assert list(inspect.signature(import_batch_parse_task.run).parameters) == [
        "batch_id",
        "take_over",
    ]
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


# --- dead workers: stale claims (quality.md R3) ---------------------------------------------------


def left_parsing(batch: ImportBatch, *, age_seconds: float) -> ImportBatch:
    """The batch as a worker killed mid-parse leaves it: PARSING under its claim, some rows
    staged, the queued parse still set."""
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.PARSING,
        job_status=JobStatus.RUNNING,
        claim_token="dead",
        claimed_at=timezone.now() - timedelta(seconds=age_seconds),
        rows_read=2,
        queued_job=QueuedJob.PARSE,
        queued_at=timezone.now() - timedelta(seconds=age_seconds),
    )
    ImportRow.objects.create(batch=batch, row_number=4, raw={"姓名": "半行"}, match="new")
    batch.refresh_from_db()
    return batch


def test_a_batch_left_parsing_by_a_dead_worker_is_parsed_by_the_redelivered_task(
    areas, admins, tmp_path
):
    batch = left_parsing(
        queued_batch(areas, admins, tmp_path), age_seconds=pipeline.stale_seconds() + 1
    )

    import_batch_parse_task(batch.pk)

    batch.refresh_from_db()
    assert (batch.status, batch.job_status, batch.queued_job, batch.claim_token) == (
        ImportStatus.PARSED,
        JobStatus.DONE,
        QueuedJob.NONE,
        "",
    )
    assert (batch.preview["created"], batch.rows_read) == (2, 3)
    assert list(ImportRow.objects.filter(batch=batch).values_list("row_number", flat=True)) == [
        3,
        4,
        5,
    ]
    assert not ImportRow.objects.filter(raw={"姓名": "半行"}).exists()


def test_a_redelivered_parse_waits_while_the_claim_is_fresh_then_takes_only_that_claim_over(
    areas, admins, tmp_path, settings
):
    settings.LOWBAO_IMPORT_STALE_SECONDS = 600
    batch = left_parsing(queued_batch(areas, admins, tmp_path), age_seconds=60)

    with pytest.raises(jobs.ClaimBusy) as busy:
        jobs.import_batch_prepare_by_id(batch_id=batch.pk)

    assert busy.value.token == "dead"
    assert 538 < busy.value.wait_seconds <= 540
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.PARSING
    # the claim goes stale meanwhile: the retry (take_over) parses the batch
    ImportBatch.objects.filter(pk=batch.pk).update(
        claimed_at=timezone.now() - timedelta(seconds=601)
    )

    jobs.import_batch_prepare_by_id(batch_id=batch.pk, take_over=busy.value.token)

    batch.refresh_from_db()
    assert (batch.status, batch.queued_job, batch.preview["created"]) == (
        ImportStatus.PARSED,
        QueuedJob.NONE,
        2,
    )


def test_a_retry_whose_claim_ended_meanwhile_leaves_the_batch_alone(areas, admins, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    state = ImportBatch.objects.filter(pk=batch.pk).values().get()

    jobs.import_batch_prepare_by_id(batch_id=batch.pk, take_over="dead")

    assert ImportBatch.objects.filter(pk=batch.pk).values().get() == state


def test_two_workers_taking_over_one_stale_claim_parse_it_once(areas, admins, tmp_path):
    batch = left_parsing(
        queued_batch(areas, admins, tmp_path), age_seconds=pipeline.stale_seconds() + 1
    )
    second_view = ImportBatch.objects.get(pk=batch.pk)  # read before the first one claims

    first = pipeline.import_batch_parse(batch=batch, take_over="dead")
    second = pipeline.import_batch_parse(batch=second_view, take_over="dead")

    assert (first.status, second.status) == (ImportStatus.PARSED, ImportStatus.PARSED)
    assert second.started_at == first.started_at  # the second one claimed nothing
    assert ImportRow.objects.filter(batch=batch).count() == 3


def test_a_fresh_parsing_claim_is_not_taken_over(areas, admins, tmp_path):
    batch = left_parsing(queued_batch(areas, admins, tmp_path), age_seconds=5)

    parsed = pipeline.import_batch_parse(batch=batch)

    assert (parsed.status, parsed.claim_token, parsed.rows_read) == (
        ImportStatus.PARSING,
        "dead",
        2,
    )
    with pytest.raises(DomainError) as refused:
        import_batch_check(actor=admins.county, batch=batch)
    assert refused.value.message == "该批次已有校验任务在排队，请稍候"


def test_a_batch_left_parsing_is_checked_again_from_the_page_once_stale(
    areas, admins, tmp_path, login_client
):
    batch = left_parsing(
        queued_batch(areas, admins, tmp_path), age_seconds=pipeline.stale_seconds() + 1
    )

    response = login_client(admins.county).post(
        reverse("imports:batch_recheck", args=[batch.pk]), follow=True
    )

    assert response.status_code == 200
    batch.refresh_from_db()
    assert (batch.status, batch.queued_job, batch.preview["created"]) == (
        ImportStatus.PARSED,
        QueuedJob.NONE,
        2,
    )


def test_a_worker_whose_claim_was_taken_over_drops_its_result(
    areas, admins, tmp_path, settings, monkeypatch
):
    settings.LOWBAO_IMPORT_PROGRESS_ROWS = 1
    batch = queued_batch(areas, admins, tmp_path)
    steps = []

    def another_worker_takes_over() -> None:
        steps.append("pause")
        if len(steps) == 2:  # after the first row: this worker is judged dead
            ImportBatch.objects.filter(pk=batch.pk).update(
                claim_token="other", claimed_at=timezone.now()
            )

    monkeypatch.setattr(pipeline, "_test_pause", another_worker_takes_over)

    result = pipeline.import_batch_parse(batch=batch)

    assert (result.status, result.claim_token) == (ImportStatus.PARSING, "other")
    assert getattr(result, "_parsed", None) is None


def test_progress_refreshes_the_claim_and_the_end_releases_it(
    areas, admins, tmp_path, settings, monkeypatch
):
    settings.LOWBAO_IMPORT_PROGRESS_ROWS = 1
    batch = queued_batch(areas, admins, tmp_path)
    seen = []
    monkeypatch.setattr(
        pipeline,
        "_test_pause",
        lambda: seen.append(
            ImportBatch.objects.filter(pk=batch.pk).values_list("claimed_at", "rows_read").get()
        ),
    )

    batch = pipeline.import_batch_parse(batch=batch)

    claimed = [at for at, _rows in seen]
    assert [rows for _at, rows in seen] == [0, 1, 2, 3, 3]  # claim, three rows, staged
    assert claimed == sorted(claimed)
    assert claimed[0] >= batch.started_at
    assert (batch.status, batch.claim_token) == (ImportStatus.PARSED, "")


@pytest.mark.parametrize(
    ("_case", "age", "applied"),
    [("stale_claim_is_applied", 10**6, True), ("live_claim_is_a_duplicate", 5, False)],
)
def test_an_apply_finding_the_batch_applying(areas, admins, tmp_path, _case, age, applied):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    ImportBatch.objects.filter(pk=batch.pk).update(
        status=ImportStatus.APPLYING,
        claim_token="dead",
        claimed_at=timezone.now() - timedelta(seconds=age),
        queued_job=QueuedJob.APPLY,
    )

    import_batch_apply_task(batch.pk, admins.county.pk)

    batch.refresh_from_db()
    assert batch.status == (ImportStatus.APPLIED if applied else ImportStatus.APPLYING)
    assert (batch.job_message, batch.queued_job) == ("", QueuedJob.NONE)
    assert Household.objects.count() == (2 if applied else 0)
    assert AuditEvent.objects.filter(action="import.apply").count() == (1 if applied else 0)


def test_an_apply_that_fails_leaves_no_claim_and_can_be_retried_after_a_recheck(
    areas, admins, tmp_path, monkeypatch
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    monkeypatch.setattr(
        pipeline, "record", lambda **kwargs: (_ for _ in ()).throw(OSError("disk full"))
    )
    with pytest.raises(OSError, match="disk full"):
        pipeline.import_batch_apply(actor=admins.county, batch=batch)
    monkeypatch.undo()
    batch.refresh_from_db()
    assert (batch.status, batch.claim_token) == (ImportStatus.FAILED, "")

    batch = import_batch_check(actor=admins.county, batch=batch)
    pipeline.import_batch_apply(actor=admins.county, batch=batch)

    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.APPLIED
    assert Household.objects.count() == 2
