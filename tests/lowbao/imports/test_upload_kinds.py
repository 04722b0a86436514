"""Uploading every kind from the browser: a valid file is checked and previewed, an invalid one is
rejected with every problem on the page, a file the safety check refuses (or too large) gets a
clear Chinese message on the upload page, and nothing is ever written before the admin confirms.
"""

from datetime import date

import pytest
from django.urls import reverse
from django.utils import timezone

from cases.models import GuaranteeStandard, Household
from lowbao.areas.models import Area
from lowbao.audit.models import AuditEvent
from lowbao.imports.models import ImportBatch, ImportStatus
from poverty.models import DisabilityRecord, RegistryHousehold, VerificationReport
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    POVERTY_HEADERS,
    ROSTER_HEADERS,
    poverty_row,
    roster_row,
    two_households,
)
from tests.lowbao.imports.test_upload_pages import (
    DISABILITY_HEADERS,
    csv_bytes,
    disability_rows,
    make_admins,
    upload,
    xlsx_bytes,
)
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

VERIFICATION_HEADERS = ["身份证号", "姓名", "核对项目", "核对结果", "金额", "明细", "核对日期"]
STANDARDS_HEADERS = ["区划代码", "生效日期", "农村低保标准", "特困基本生活标准"]


@pytest.fixture
def admins(areas, make_user):
    return make_admins(areas, make_user)


def bad_check_digit(id_number: str) -> str:
    return id_number[:17] + ("0" if id_number[17] != "0" else "1")


def masked(id_number: str) -> str:
    return id_number[:6] + "********" + id_number[14:]


def verification_row(id_number: str) -> dict:
    return {
        "身份证号": id_number,
        "姓名": "李四",
        "核对项目": "车辆",
        "核对结果": "有",
        "金额": "30000",
        "明细": "蒙A12345",
        "核对日期": "2026-06-01",
    }


def domain_snapshot() -> tuple[int, ...]:
    return (
        Household.objects.count(),
        RegistryHousehold.objects.count(),
        DisabilityRecord.objects.count(),
        VerificationReport.objects.count(),
        GuaranteeStandard.objects.count(),
    )


def batch_of(response) -> ImportBatch:
    """The batch a successful upload redirected to."""
    assert response.status_code == 302
    batch_id = int(response["Location"].rstrip("/").rsplit("/", 1)[-1])
    return ImportBatch.objects.get(pk=batch_id)


# --- valid files of each kind ------------------------------------------------------------------


def test_a_valid_roster_xlsx_is_checked_and_previewed_without_writing(admins, login_client):
    client = login_client(admins.county)
    before = domain_snapshot()

    batch = batch_of(
        upload(client, kind="dibao", content=xlsx_bytes(ROSTER_HEADERS, two_households()))
    )

    assert batch.status == ImportStatus.PARSED
    assert (batch.kind, batch.county.code, batch.original_name) == ("dibao", COUNTY, "roster.xlsx")
    assert batch.uploaded_by == admins.county
    assert batch.counts["households"] == 2
    assert (batch.preview["created"], batch.preview["updated"], batch.preview["unchanged"]) == (
        2,
        0,
        0,
    )
    assert domain_snapshot() == before
    page = client.get(reverse("imports:batch_detail", args=[batch.pk])).content.decode()
    assert 'id="confirm-apply"' in page
    assert 'id="no-problems"' in page


def test_a_valid_registry_csv_keeps_its_snapshot_date(admins, login_client, tmp_path):
    rows = [
        poverty_row("1501210001", make_id_number()),
        poverty_row("1501210001", make_id_number(), "配偶"),
        poverty_row("1501210002", make_id_number()),
    ]
    client = login_client(admins.county)

    batch = batch_of(
        upload(
            client,
            kind="poverty",
            content=csv_bytes(tmp_path, POVERTY_HEADERS, rows, title="建档立卡贫困人口"),
            name="registry.csv",
            snapshot_date="2026-06-30",
        )
    )
    client.post(reverse("imports:batch_apply", args=[batch.pk]))

    assert batch.options["snapshot_date"] == "2026-06-30"
    assert batch.preview["created"] == 2
    household = RegistryHousehold.objects.get(number="1501210001")
    assert household.last_snapshot.snapshot_date == date(2026, 6, 30)


def test_a_disability_ledger_needs_no_county(admins, login_client):
    client = login_client(admins.county)

    batch = batch_of(
        upload(
            client,
            kind="disability",
            county="",
            content=xlsx_bytes(DISABILITY_HEADERS, disability_rows()),
            name="disability.xlsx",
        )
    )
    client.post(reverse("imports:batch_apply", args=[batch.pk]))

    assert batch.county is None
    assert batch.preview["created"] == 1
    assert DisabilityRecord.objects.get().grade == 2


def test_a_verification_ledger_imports_from_the_page(admins, login_client):
    client = login_client(admins.county)
    content = xlsx_bytes(VERIFICATION_HEADERS, [verification_row(make_id_number())])

    batch = batch_of(
        upload(client, kind="verification", county="", content=content, name="核对.xlsx")
    )
    client.post(reverse("imports:batch_apply", args=[batch.pk]))

    assert VerificationReport.objects.count() == 1
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.APPLIED


@pytest.mark.parametrize(("user_name", "county"), [("county", COUNTY), ("region", "")])
def test_standards_import_for_the_county_or_region_wide(admins, login_client, user_name, county):
    client = login_client(getattr(admins, user_name))
    rows = [{"区划代码": COUNTY, "生效日期": "2027-01-01", "农村低保标准": "812"}]

    batch = batch_of(
        upload(
            client,
            kind="standards",
            county=county,
            content=xlsx_bytes(STANDARDS_HEADERS, rows),
            name="standards.xlsx",
        )
    )
    client.post(reverse("imports:batch_apply", args=[batch.pk]))

    standard = GuaranteeStandard.objects.get(area__code=COUNTY, effective_from=date(2027, 1, 1))
    assert standard.rural_dibao_monthly == 812


# --- invalid files of each kind -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "kind", "county", "headers", "rows", "expected"),
    [
        (
            "roster: wrong check digit",
            "dibao",
            COUNTY,
            ROSTER_HEADERS,
            lambda bad: [roster_row("DB001", bad)],
            lambda bad: (3, "身份证号", masked(bad), "id_checksum"),
        ),
        (
            "registry: same person twice",
            "poverty",
            COUNTY,
            POVERTY_HEADERS,
            lambda bad: [poverty_row("P1", bad[:17] + "X"), poverty_row("P1", bad[:17] + "X")],
            lambda bad: None,
        ),
        (
            "disability: wrong check digit",
            "disability",
            "",
            DISABILITY_HEADERS,
            lambda bad: [disability_rows()[0] | {"身份证号": bad}],
            lambda bad: (3, "身份证号", masked(bad), "id_checksum"),
        ),
        (
            "verification: wrong check digit",
            "verification",
            "",
            ["身份证号", "姓名", "核对项目", "核对结果", "金额", "明细", "核对日期"],
            lambda bad: [verification_row(bad)],
            lambda bad: (3, "身份证号", masked(bad), "id_checksum"),
        ),
        (
            "standards: a village",
            "standards",
            COUNTY,
            ["区划代码", "生效日期", "农村低保标准"],
            lambda bad: [
                {"区划代码": "150121100201", "生效日期": "2027-01-01", "农村低保标准": "9"}
            ],
            lambda bad: (3, "区划代码", "150121100201", "area_out_of_scope"),
        ),
    ],
)
def test_an_invalid_file_is_rejected_with_its_problems_on_the_page(
    admins, login_client, _case, kind, county, headers, rows, expected
):
    bad = bad_check_digit(make_id_number())
    client = login_client(admins.county)
    before = domain_snapshot()

    batch = batch_of(
        upload(client, kind=kind, county=county, content=xlsx_bytes(headers, rows(bad)))
    )
    page = client.get(reverse("imports:batch_detail", args=[batch.pk]))

    assert batch.status == ImportStatus.REJECTED
    assert batch.error_count >= 1
    assert batch.preview == {}
    problems = page.context["problems"].problems
    assert len(problems) >= 1
    first = problems[0]
    if expected(bad) is not None:
        assert (first["row"], first["column"], first["value"], first["code"]) == expected(bad)
    html = page.content.decode()
    assert f"文件有 {batch.error_count} 处错误，未写入任何数据" in html
    assert 'id="confirm-apply"' not in html
    assert first["message"] in html
    assert bad not in html  # ID numbers only ever masked
    assert domain_snapshot() == before


def test_a_file_without_the_ledger_headers_says_which_are_missing(admins, login_client):
    client = login_client(admins.county)

    batch = batch_of(upload(client, kind="dibao", content=xlsx_bytes(["姓名", "备注"], [{}])))
    html = client.get(reverse("imports:batch_detail", args=[batch.pk])).content.decode()

    assert (batch.status, batch.error_code) == (ImportStatus.REJECTED, "header_not_found")
    assert "文件未能读取：未找到表头：缺少“户编号”" in html


# --- refusals before parsing -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "name", "content", "code", "message"),
    [
        ("a picture", "roster.xlsx", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "not_a_spreadsheet", "PNG"),
        ("a web page", "roster.xls", b"<html><table></table></html>", "not_a_spreadsheet", "网页"),
        ("binary csv", "roster.csv", b"a,b\n\x00\x01", "not_a_spreadsheet", "二进制"),
    ],
)
def test_a_file_the_safety_check_refuses_is_explained_on_the_upload_page(
    admins, login_client, _case, name, content, code, message
):
    response = upload(login_client(admins.county), kind="dibao", content=content, name=name)

    assert response.status_code == 200
    batch = response.context["refused"]
    assert (batch.status, batch.error_code, batch.file) == (ImportStatus.REJECTED, code, "")
    html = response.content.decode()
    assert 'id="upload-refusal"' in html
    assert message in html
    assert "Traceback" not in html


def test_a_file_over_the_size_limit_is_refused_with_the_limit_in_the_message(
    admins, login_client, settings
):
    settings.LOWBAO_IMPORT_MAX_BYTES = 1024 * 1024
    content = xlsx_bytes(ROSTER_HEADERS, two_households()) + b"\0" * (1024 * 1024)

    response = upload(login_client(admins.county), kind="dibao", content=content)

    assert response.status_code == 200
    assert response.context["refused"].error_code == "file_too_large"
    assert "超过上限 1 MB" in response.content.decode()
    assert Household.objects.count() == 0


def test_a_macro_enabled_workbook_is_refused(admins, login_client):
    content = xlsx_bytes(ROSTER_HEADERS, two_households())

    response = upload(login_client(admins.county), kind="dibao", content=content, name="r.xlsm")

    assert response.context["refused"].error_code == "macro_enabled"
    assert "文件含有宏" in response.content.decode()
    kept = response.context["form"].initial
    assert (kept["kind"], kept["county"], kept["skip_invalid"]) == ("dibao", COUNTY, False)


def test_an_empty_upload_is_a_form_error(admins, login_client):
    response = upload(login_client(admins.county), kind="dibao", content=b"")

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert ImportBatch.objects.count() == 0


# --- the same file again ------------------------------------------------------------------------


def test_the_same_file_uploaded_after_it_was_applied_is_not_written_again(admins, login_client):
    client = login_client(admins.county)
    content = xlsx_bytes(ROSTER_HEADERS, two_households())
    batch = batch_of(upload(client, kind="dibao", content=content))
    client.post(reverse("imports:batch_apply", args=[batch.pk]))
    households = Household.objects.count()

    again = upload(client, kind="dibao", content=content, name="copy.xlsx")
    page = client.get(again["Location"])

    assert batch_of(again).pk == batch.pk
    assert ImportBatch.objects.count() == 1
    assert Household.objects.count() == households == 2
    applied_at = timezone.localtime(ImportBatch.objects.get(pk=batch.pk).applied_at)
    assert f"该文件已于{applied_at:%Y-%m-%d %H:%M}导入（批次 {batch.pk}），未重复写入。" in (
        page.content.decode()
    )


def test_a_rejected_file_uploaded_again_with_skip_invalid_is_checked_again(admins, login_client):
    rows = two_households()
    rows[2]["身份证号"] = bad_check_digit(rows[2]["身份证号"])
    content = xlsx_bytes(ROSTER_HEADERS, rows)
    client = login_client(admins.county)
    rejected = batch_of(upload(client, kind="dibao", content=content))

    again = batch_of(upload(client, kind="dibao", content=content, skip_invalid="on"))

    assert rejected.status == ImportStatus.REJECTED
    assert again.pk == rejected.pk
    assert again.status == ImportStatus.PARSED
    assert again.options["skip_invalid"] is True
    assert (again.counts["skipped_households"], again.preview["created"]) == (1, 1)


def test_every_upload_is_audited_with_the_choices_made(admins, login_client):
    client = login_client(admins.county)
    content = xlsx_bytes(ROSTER_HEADERS, two_households())

    batch = batch_of(upload(client, kind="dibao", content=content, skip_invalid="on"))

    event = AuditEvent.objects.get(action="import.upload")
    assert event.actor == admins.county
    assert event.object_id == str(batch.pk)
    assert event.changes["sha256"] == batch.sha256
    assert event.changes["skip_invalid"] is True
    assert event.changes["file"] == "roster.xlsx"


def test_an_areas_ledger_adds_a_village_of_the_county_and_refuses_another_countys(
    admins, login_client
):
    headers = ["统计用区划代码", "城乡分类代码", "名称"]
    client = login_client(admins.county)
    good = [{"统计用区划代码": "150121100203", "城乡分类代码": "220", "名称": "察素齐三村"}]
    bad = [{"统计用区划代码": "150122100202", "城乡分类代码": "220", "名称": "双河二村"}]

    rejected = batch_of(
        upload(client, kind="areas", content=xlsx_bytes(headers, bad), name="bad.xlsx")
    )
    batch = batch_of(upload(client, kind="areas", content=xlsx_bytes(headers, good)))
    preview = batch.preview
    client.post(reverse("imports:batch_apply", args=[batch.pk]))

    assert (rejected.status, rejected.rows.get().errors[0]["code"]) == (
        ImportStatus.REJECTED,
        "area_out_of_scope",
    )
    assert preview["created"] == 1
    assert preview["groups"][0]["samples"] == [["3", "150121100203", "察素齐三村"]]
    village = Area.objects.get(code="150121100203")
    assert (village.name, village.parent.code) == ("察素齐三村", "150121100000")
