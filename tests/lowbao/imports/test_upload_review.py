"""The batch page before and after apply: every problem listed (paginated), the error sheet, the
preview of what will change (new / updated / unchanged / leaving the registry, with samples), and
the confirm button that applies once — never twice, whatever the clicks."""

import io
import threading
from datetime import date

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from cases.models import Household
from lowbao.audit.models import AuditEvent
from lowbao.imports import readers
from lowbao.imports.error_sheet import PROBLEMS_HEADER, ROW_NUMBER_HEADER
from lowbao.imports.kinds import ImportOptions, get_kind
from lowbao.imports.models import ImportBatch, ImportStatus
from lowbao.imports.pipeline import import_batch_create, import_batch_parse
from lowbao.imports.preview import registry_households_leaving
from poverty.models import RegistryHousehold
from tests.lowbao.imports.test_import_ledger_command import (
    POVERTY_HEADERS,
    ROSTER_HEADERS,
    poverty_row,
    roster,
    roster_row,
    two_households,
)
from tests.lowbao.imports.test_upload_kinds import bad_check_digit, masked
from tests.lowbao.imports.test_upload_pages import (
    DISABILITY_HEADERS,
    disability_rows,
    make_admins,
    make_batch,
)
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db


@pytest.fixture
def admins(areas, make_user):
    return make_admins(areas, make_user)


def detail(batch: ImportBatch) -> str:
    return reverse("imports:batch_detail", args=[batch.pk])


def apply_url(batch: ImportBatch) -> str:
    return reverse("imports:batch_apply", args=[batch.pk])


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- the validation report ------------------------------------------------------------------------


def roster_with_problems() -> list[dict]:
    """Row 3 a bad check digit, row 4 a warning only (15-digit ID upgraded), row 5 a formula-
    looking name and a bad phone, row 6 fine; an unknown column 备注."""
    head = make_id_number()
    return [
        roster_row("DB001", bad_check_digit(head)),
        roster_row("DB002", make_id_number(), 联系电话="1"),
        roster_row("DB003", make_id_number(), 姓名="=HYPERLINK(1)", 联系电话="2"),
        roster_row("DB004", make_id_number()),
    ]


def test_every_problem_is_listed_with_row_column_masked_value_and_message(
    areas, admins, login_client, tmp_path
):
    rows = roster_with_problems()
    batch = make_batch(
        tmp_path, actor=admins.county, county=areas.county, rows=rows, headers=ROSTER_HEADERS
    )

    page = login_client(admins.county).get(detail(batch))

    problems = [
        (p["row"], p["column"], p["value"], p["code"], p["level"])
        for p in page.context["problems"].problems
    ]
    assert problems == [
        (3, "身份证号", masked(rows[0]["身份证号"]), "id_checksum", "error"),
        (4, "联系电话", "1", "bad_phone", "error"),
        (5, "联系电话", "2", "bad_phone", "error"),
    ]
    assert batch.status == ImportStatus.REJECTED
    html = page.content.decode()
    assert rows[0]["身份证号"] not in html
    assert "身份证号校验位错误" in html


def test_the_report_is_paginated_and_can_show_errors_only(
    areas, admins, login_client, tmp_path, monkeypatch
):
    monkeypatch.setattr("lowbao.imports.views.PROBLEM_PAGE_SIZE", 2)
    rows = [roster_row(f"DB{i}", bad_check_digit(make_id_number())) for i in range(3)]
    rows.append(roster_row("OLD", make_id_number()[:6] + "800101001"))  # 15 digits: a warning
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, rows=rows)
    client = login_client(admins.county)

    first = client.get(detail(batch)).context["problems"]
    second = client.get(detail(batch), {"page": 2}).context["problems"]
    errors_only = client.get(detail(batch), {"only": "errors"}).context["problems"]

    assert first.paginator.count == 4
    assert [p["row"] for p in first.problems] == [3, 4]
    assert [(p["row"], p["level"]) for p in second.problems] == [(5, "error"), (6, "warning")]
    assert errors_only.paginator.count == 3


def test_file_level_problems_are_shown_apart(areas, admins, login_client, tmp_path):
    headers = [*ROSTER_HEADERS, "备注"]
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, headers=headers)

    page = login_client(admins.county).get(detail(batch))

    assert [(p["column"], p["code"]) for p in page.context["file_problems"]] == [
        ("备注", "unknown_column")
    ]
    assert "未识别的列，已忽略" in page.content.decode()


# --- the error sheet ----------------------------------------------------------------------------


def test_the_error_sheet_is_the_read_sheet_with_masked_values_and_an_error_column(
    areas, admins, login_client, tmp_path
):
    rows = roster_with_problems()
    headers = [*ROSTER_HEADERS, "备注"]
    batch = make_batch(
        tmp_path, actor=admins.county, county=areas.county, rows=rows, headers=headers
    )

    response = login_client(admins.county).get(reverse("imports:error_sheet", args=[batch.pk]))
    workbook = load_workbook(io.BytesIO(b"".join(response.streaming_content)))

    assert response["Content-Disposition"].startswith("attachment;")
    assert "roster_%E6%A0%A1%E9%AA%8C%E7%BB%93%E6%9E%9C.xlsx" in response["Content-Disposition"]
    assert workbook.sheetnames == ["校验结果", "文件级问题"]
    sheet = workbook["校验结果"]
    table = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert table[0] == [*headers, ROW_NUMBER_HEADER, PROBLEMS_HEADER]
    assert len(table) == 5
    id_column, name_column = headers.index("身份证号"), headers.index("姓名")
    account_column = headers.index("银行账号")
    assert [row[id_column] for row in table[1:]] == [masked(r["身份证号"]) for r in rows]
    assert {row[account_column] for row in table[1:]} == {"622848*********8901"}
    assert [row[-2] for row in table[1:]] == ["3", "4", "5", "6"]
    assert table[1][-1] == f"错误：[身份证号] “{masked(rows[0]['身份证号'])}” 身份证号校验位错误"
    assert table[2][-1].startswith("错误：[联系电话] “1” ")
    assert table[4][-1] in ("", None)
    formula = sheet.cell(row=4, column=name_column + 1)
    assert (formula.value, formula.data_type) == (" =HYPERLINK(1)", "s")
    assert all(cell.data_type == "s" for row in sheet.iter_rows() for cell in row if cell.value)
    notes = [[cell.value for cell in row] for row in workbook["文件级问题"].iter_rows()]
    assert notes[1] == [None, "备注", None, "unknown_column", "未识别的列，已忽略", "警告"]


def test_the_error_sheet_has_the_ledgers_layout_so_it_reads_back(
    areas, admins, login_client, tmp_path
):
    """The masked values cannot be re-imported as they are, but the layout is the ledger's: the
    header is found in row 1 and the two added columns are only unknown columns."""
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    response = login_client(admins.county).get(reverse("imports:error_sheet", args=[batch.pk]))
    path = tmp_path / "sheet.xlsx"
    path.write_bytes(b"".join(response.streaming_content))
    spec = get_kind("dibao")

    with readers.open_table(
        path, required_headers=spec.required_headers, aliases=spec.aliases
    ) as table:
        assert table.header_row_number == 1
        assert table.unknown_columns == [ROW_NUMBER_HEADER, PROBLEMS_HEADER]
        assert [row.number for row in table.rows()] == [2, 3, 4]


# --- the preview ---------------------------------------------------------------------------------


def registry_rows(numbers: dict[str, str]) -> list[dict]:
    """One head per household: {户编号: ID number}."""
    return [poverty_row(number, id_number) for number, id_number in numbers.items()]


@pytest.fixture
def registry(areas, admins, login_client, tmp_path):
    """The county's registry: households R1, R2, R3 (heads with known ID numbers)."""
    ids = {"R1": make_id_number(), "R2": make_id_number(), "R3": make_id_number()}
    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        kind="poverty",
        headers=POVERTY_HEADERS,
        rows=registry_rows(ids),
        name="registry1.csv",
    )
    response = login_client(admins.county).post(apply_url(batch))
    assert response.status_code == 302
    assert RegistryHousehold.objects.filter(in_registry=True).count() == 3
    return ids


def test_the_registry_preview_counts_new_updated_unchanged_and_leaving_with_samples(
    areas, admins, login_client, tmp_path, registry
):
    new_id = make_id_number()
    rows = registry_rows({"R1": registry["R1"], "R2": registry["R2"], "R4": new_id})
    rows[1]["家庭年人均纯收入"] = "9900"  # R2 changes
    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        kind="poverty",
        headers=POVERTY_HEADERS,
        rows=rows,
        name="registry2.csv",
    )

    page = login_client(admins.county).get(detail(batch))

    preview = page.context["preview"]
    assert (preview["created"], preview["updated"], preview["unchanged"]) == (1, 1, 1)
    groups = {group["key"]: group for group in preview["groups"]}
    assert preview["columns"] == ["户编号", "户主姓名", "户主身份证号"]
    assert list(groups) == ["new", "updated", "unchanged", "leaving"]
    assert groups["new"]["count"] == 1
    assert groups["new"]["samples"] == [["R4", f"成员{new_id[-4:]}", masked(new_id)]]
    assert groups["updated"]["count"] == 1
    assert groups["updated"]["samples"] == [
        ["R2", f"成员{registry['R2'][-4:]}", masked(registry["R2"])]
    ]
    assert groups["unchanged"]["count"] == 1
    assert [sample[0] for sample in groups["unchanged"]["samples"]] == ["R1"]
    assert groups["leaving"]["count"] == 1
    assert groups["leaving"]["samples"] == [
        ["R3", f"成员{registry['R3'][-4:]}", masked(registry["R3"])]
    ]
    html = page.content.decode()
    assert 'id="preview-leaving">1<' in html
    assert masked(registry["R3"]) in html
    assert registry["R3"] not in html
    assert RegistryHousehold.objects.filter(in_registry=True).count() == 3  # nothing written


def test_households_skipped_for_errors_count_as_leaving_the_registry(
    areas, admins, tmp_path, registry
):
    rows = registry_rows({"R1": registry["R1"], "R2": bad_check_digit(registry["R2"])})
    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        kind="poverty",
        headers=POVERTY_HEADERS,
        rows=rows,
        name="registry2.csv",
        options=ImportOptions(skip_invalid=True),
    )

    leaving = list(registry_households_leaving(batch=batch).values_list("number", flat=True))

    assert batch.status == ImportStatus.PARSED
    assert leaving == ["R2", "R3"]
    groups = {group["key"]: group for group in batch.preview["groups"]}
    assert groups["leaving"]["count"] == 2


def test_the_preview_shows_a_refusal_and_offers_no_confirm(
    areas, admins, login_client, tmp_path, registry
):
    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        kind="poverty",
        headers=POVERTY_HEADERS,
        rows=registry_rows({"R1": registry["R1"]}),
        name="old.csv",
        options=ImportOptions(snapshot_date=date(2020, 1, 1)),
    )

    html = login_client(admins.county).get(detail(batch)).content.decode()

    assert "按当前数据，导入会被拒绝：快照日期 2020-" in html
    assert 'id="confirm-apply"' not in html


def test_person_ledger_preview_lists_the_rows_to_write_by_outcome(admins, login_client, tmp_path):
    rows = disability_rows()
    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=None,
        kind="disability",
        headers=DISABILITY_HEADERS,
        rows=rows,
        name="disability.csv",
    )

    preview = batch.preview

    assert preview["columns"] == ["行号", "身份证号", "姓名", "残疾证号", "残疾类别"]
    assert preview["groups"] == [
        {
            "key": "new",
            "label": "新增",
            "count": 1,
            "unit": "行",
            "samples": [
                [
                    "3",
                    masked(rows[0]["身份证号"]),
                    "王五",
                    rows[0]["残疾证号"][:6] + "*" * 10 + rows[0]["残疾证号"][16:],
                    "肢体",
                ]
            ],
        },
        {"key": "updated", "label": "更新", "count": 0, "unit": "行", "samples": []},
        {"key": "unchanged", "label": "不变", "count": 0, "unit": "行", "samples": []},
    ]


def test_the_skip_invalid_choice_is_restated_next_to_the_confirm_button(
    areas, admins, login_client, tmp_path
):
    rows = two_households()
    rows[2]["身份证号"] = bad_check_digit(rows[2]["身份证号"])
    batch = make_batch(
        tmp_path,
        actor=admins.county,
        county=areas.county,
        rows=rows,
        options=ImportOptions(skip_invalid=True),
    )

    html = login_client(admins.county).get(detail(batch)).content.decode()

    assert 'id="preview-skipped">1<' in html
    assert "有错误的 1 行所在的户整户不写入" in html
    assert 'id="confirm-apply"' in html


# --- confirm --------------------------------------------------------------------------------------


def test_confirm_applies_once_and_the_page_shows_it_was_imported(
    areas, admins, login_client, tmp_path
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    client = login_client(admins.county)

    response = client.post(apply_url(batch), follow=True)

    batch.refresh_from_db()
    assert (batch.status, batch.applied_by) == (ImportStatus.APPLIED, admins.county)
    assert Household.objects.count() == 2
    assert messages_of(response) == ["已导入：新增 2，更新 0，未变 0。"]
    html = response.content.decode()
    assert 'id="applied"' in html
    assert "该文件不能再次导入" in html
    assert 'id="confirm-apply"' not in html
    assert 'id="recheck-form"' not in html


def test_confirming_an_applied_batch_again_is_refused_with_the_pipelines_message(
    areas, admins, login_client, tmp_path
):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    client = login_client(admins.county)
    client.post(apply_url(batch), follow=True)
    households = list(Household.objects.values_list("pk", "updated_at"))

    again = client.post(apply_url(batch), follow=True)

    assert again.redirect_chain == [(detail(batch), 302)]
    assert len(messages_of(again)) == 1
    assert messages_of(again)[0].endswith("导入，不能重复导入")
    assert list(Household.objects.values_list("pk", "updated_at")) == households
    assert AuditEvent.objects.filter(action="import.apply").count() == 1


def test_a_double_post_applies_once(areas, admins, login_client, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    client = login_client(admins.county)

    first = client.post(apply_url(batch))
    second = client.post(apply_url(batch))

    assert (first.status_code, second.status_code) == (302, 302)
    assert AuditEvent.objects.filter(action="import.apply").count() == 1
    assert Household.objects.count() == 2


def test_a_rejected_batch_cannot_be_confirmed(areas, admins, login_client, tmp_path):
    rows = two_households()
    rows[0]["身份证号"] = bad_check_digit(rows[0]["身份证号"])
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county, rows=rows)

    response = login_client(admins.county).post(apply_url(batch), follow=True)

    assert messages_of(response) == ["该批次当前状态为“已拒绝”，不能导入"]
    assert Household.objects.count() == 0


def test_recheck_parses_the_same_file_against_todays_data(areas, admins, login_client, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    first_preview = batch.preview
    client = login_client(admins.county)

    response = client.post(reverse("imports:batch_recheck", args=[batch.pk]), follow=True)

    batch.refresh_from_db()
    assert messages_of(response) == ["已按当前数据重新校验。"]
    assert batch.status == ImportStatus.PARSED
    assert batch.preview["computed_at"] != first_preview["computed_at"]
    assert batch.preview["created"] == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_two_simultaneous_confirms_apply_once(areas, admins, tmp_path):
    batch = make_batch(tmp_path, actor=admins.county, county=areas.county)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def click() -> None:
        client = Client()
        client.force_login(admins.county)
        barrier.wait()
        try:
            statuses.append(client.post(apply_url(batch)).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == [302, 302]
    assert AuditEvent.objects.filter(action="import.apply").count() == 1
    assert Household.objects.count() == 2
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.APPLIED


def test_a_batch_checked_without_a_preview_cannot_be_confirmed_until_checked_again(
    areas, admins, login_client, tmp_path
):
    """A batch parsed by ``import_ledger --dry-run`` has no preview: the page asks for a check."""
    batch = import_batch_parse(
        batch=import_batch_create(
            actor=None,
            kind="dibao",
            path=roster(tmp_path, two_households()),
            county=areas.county,
            options=ImportOptions(),
        )
    )
    client = login_client(admins.county)

    refused = client.post(apply_url(batch), follow=True)
    client.post(reverse("imports:batch_recheck", args=[batch.pk]), follow=True)
    applied = client.post(apply_url(batch), follow=True)

    assert messages_of(refused) == ["变更预览尚未完成，请在预览显示后再确认导入"]
    assert 'id="no-preview"' in refused.content.decode()
    assert messages_of(applied) == ["已导入：新增 2，更新 0，未变 0。"]
    assert Household.objects.count() == 2
