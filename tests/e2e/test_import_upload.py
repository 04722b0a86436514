"""A county data admin imports a dibao roster in the browser: the first file has an error, the
report shows it, the error sheet is downloaded, the corrected file is previewed and confirmed."""

import pytest
from openpyxl import load_workbook

from cases.models import Household
from lowbao.areas.roles import Role
from lowbao.imports import jobs
from lowbao.imports.models import ImportBatch, ImportStatus
from lowbao.imports.tasks import import_batch_parse_task
from tests.e2e.navigation import open_menu
from tests.lowbao.imports.test_import_ledger_command import ROSTER_HEADERS, two_households
from tests.lowbao.imports.test_upload_kinds import bad_check_digit, masked
from tests.lowbao.imports.test_upload_pages import xlsx_bytes

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_data_admin_uploads_fixes_previews_and_confirms_a_roster(
    open_as, areas, make_user, tmp_path, screenshot
):
    make_user(role=Role.DATA_ADMIN, area=areas.county, username="data_admin_e2e")
    rows = two_households()
    good_id = rows[1]["身份证号"]
    rows[1]["身份证号"] = bad_check_digit(good_id)
    broken = tmp_path / "花名册.xlsx"
    broken.write_bytes(xlsx_bytes(ROSTER_HEADERS, rows, title="土默特左旗低保花名册"))

    page = open_as("data_admin_e2e")
    open_menu(page, "台账导入")
    assert page.input_value("#id_county") == areas.county.code
    page.set_input_files("#id_file", str(broken))
    page.click("#upload-submit")
    page.wait_for_selector("#rejected")

    assert page.inner_text("#batch-status") == "已拒绝"
    first_problem = page.locator("#problem-table tbody tr").first.inner_text()
    assert first_problem.split("\t")[:4] == ["4", "错误", "身份证号", masked(rows[1]["身份证号"])]
    assert "身份证号校验位错误" in first_problem
    assert page.locator("#confirm-apply").count() == 0

    with page.expect_download() as download:
        page.click("#error-sheet-link")
    sheet_path = tmp_path / download.value.suggested_filename
    download.value.save_as(sheet_path)
    sheet = load_workbook(sheet_path)["校验结果"]
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert download.value.suggested_filename == "花名册_校验结果.xlsx"
    assert table[0][-2:] == ["原行号", "错误/警告"]
    assert table[2][-2] == "4"
    assert "身份证号校验位错误" in table[2][-1]

    rows[1]["身份证号"] = good_id
    fixed = tmp_path / "花名册（已改正）.xlsx"
    fixed.write_bytes(xlsx_bytes(ROSTER_HEADERS, rows, title="土默特左旗低保花名册"))
    page.click("#imports-nav >> text=上传台账")
    page.set_input_files("#id_file", str(fixed))
    page.click("#upload-submit")
    page.wait_for_selector("#preview")

    assert page.inner_text("#batch-status") == "已解析"
    assert page.inner_text("#preview-created") == "2"
    assert page.locator("#preview-samples-new tbody tr").count() == 2
    assert "DB001" in page.inner_text("#preview-samples-new")
    assert Household.objects.count() == 0
    screenshot("import_review", page)

    page.click("#confirm-apply")
    page.wait_for_selector("#applied")

    assert page.inner_text("#batch-status") == "已导入"
    assert "已导入：新增 2，更新 0，未变 0。" in page.inner_text("main")
    assert page.locator("#confirm-apply").count() == 0
    assert Household.objects.count() == 2

    page.click("#imports-nav >> text=导入记录")
    history = page.locator("#batch-list tbody tr")
    assert history.count() == 2
    assert history.first.inner_text().split("\t")[-1] == "已导入"


def test_a_big_file_shows_a_progress_bar_that_survives_a_reload_and_ends_on_the_preview(
    open_as, areas, make_user, tmp_path, settings, monkeypatch
):
    settings.LOWBAO_IMPORT_SYNC_MAX_BYTES = 0  # every file goes to Celery
    queued: list[tuple] = []
    monkeypatch.setattr(jobs.import_batch_parse_task, "delay", lambda *args: queued.append(args))
    make_user(role=Role.DATA_ADMIN, area=areas.county, username="data_admin_big")
    path = tmp_path / "big.xlsx"
    path.write_bytes(xlsx_bytes(ROSTER_HEADERS, two_households()))

    page = open_as("data_admin_big")
    open_menu(page, "台账导入")
    page.set_input_files("#id_file", str(path))
    page.click("#upload-submit")
    page.wait_for_selector("#batch-progress")
    assert page.inner_text("#progress-phase") == "已排队，等待后台校验"
    page.reload()
    assert page.inner_text("#progress-phase") == "已排队，等待后台校验"
    assert page.locator("#confirm-apply").count() == 0

    import_batch_parse_task(*queued[0])  # the worker picks the task up

    page.wait_for_selector("#preview")  # the page polled, saw the end and reloaded itself
    assert page.locator("#batch-progress").count() == 0
    assert page.inner_text("#preview-created") == "2"
    assert ImportBatch.objects.get().status == ImportStatus.PARSED
