"""The upload pages (台账导入): every page and endpoint × role × area, the menu entry, the history
scoped to the admin's areas with a flat query count, and the upload form's checks.

The helpers at the top (admins, files, batches) are shared by the other ``test_upload_*`` modules.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from openpyxl import Workbook

from cases.models import Household
from lowbao.accounts.models import User
from lowbao.areas.models import Area
from lowbao.areas.roles import Role
from lowbao.imports.jobs import import_batch_prepare
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportStatus
from lowbao.imports.pipeline import import_batch_create
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    ROSTER_HEADERS,
    roster_row,
    two_households,
    write_csv,
)
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

SIBLING_VILLAGE = "150122100201"
DISABILITY_HEADERS = ["姓名", "身份证号", "残疾证号", "残疾类别", "残疾等级", "发证日期"]


# --- shared helpers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Admins:
    county: User
    sibling: User
    league: User
    region: User
    caseworker: User


def make_admins(areas, make_user) -> Admins:
    """Data admins on the county, the sibling county, the league and the region, and a township
    caseworker (no import capability). Each ``test_upload_*`` module has an ``admins`` fixture
    calling this."""
    return Admins(
        county=make_user(role=Role.DATA_ADMIN, area=areas.county, username="da_county"),
        sibling=make_user(role=Role.DATA_ADMIN, area=areas.sibling_county, username="da_sibling"),
        league=make_user(role=Role.DATA_ADMIN, area=areas.league, username="da_league"),
        region=make_user(role=Role.DATA_ADMIN, area=areas.region, username="da_region"),
        caseworker=make_user(
            role=Role.TOWNSHIP_CASEWORKER, area=areas.township, username="cw_import"
        ),
    )


@pytest.fixture
def admins(areas, make_user) -> Admins:
    return make_admins(areas, make_user)


def xlsx_bytes(
    headers: Sequence[str], rows: Sequence[dict[str, Any]], *, title: str = "台账"
) -> bytes:
    """An .xlsx ledger written by openpyxl: a title row, the header row (row 2), data from row 3;
    every cell is text (as offices keep ID numbers)."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append([title])
    sheet.append(list(headers))
    for row in rows:
        sheet.append([str(row.get(header, "")) for header in headers])
    stream = io.BytesIO()
    workbook.save(stream)
    return stream.getvalue()


def csv_bytes(tmp_path: Path, headers: Sequence[str], rows: Sequence[dict], **kwargs: Any) -> bytes:
    return write_csv(tmp_path / "ledger.csv", headers, rows, **kwargs).read_bytes()


def upload(
    client: Client,
    *,
    kind: str,
    content: bytes,
    name: str = "roster.xlsx",
    county: str = COUNTY,
    **fields: Any,
) -> Any:
    data = {"kind": kind, "county": county, "file": SimpleUploadedFile(name, content), **fields}
    return client.post(reverse("imports:upload"), data)


def roster_rows_in(village: str, households: int = 2) -> list[dict]:
    rows = []
    for index in range(households):
        rows.append(roster_row(f"H{index:03d}", make_id_number(), 嘎查村代码=village))
    return rows


def make_batch(
    tmp_path: Path,
    *,
    actor: User | None,
    county: Area | None,
    kind: str = "dibao",
    headers: Sequence[str] = ROSTER_HEADERS,
    rows: Sequence[dict] | None = None,
    name: str = "roster.csv",
    options: ImportOptions | None = None,
) -> ImportBatch:
    """A batch created, parsed and previewed the way the upload page does it."""
    path = write_csv(tmp_path / name, headers, rows if rows is not None else two_households())
    batch = import_batch_create(
        actor=actor,
        kind=kind,
        path=path,
        county=county,
        options=options or ImportOptions(),
        original_name=name,
    )
    return import_batch_prepare(actor=actor, batch=batch)


def disability_rows() -> list[dict]:
    id_number = make_id_number()
    return [
        {
            "姓名": "王五",
            "身份证号": id_number,
            "残疾证号": f"{id_number}42",
            "残疾类别": "肢体",
            "残疾等级": "二级",
            "发证日期": "2020-05-01",
        }
    ]


@dataclass(frozen=True)
class Batches:
    county: ImportBatch  # 土默特左旗, uploaded by the county admin
    sibling: ImportBatch  # 托克托县, uploaded by the sibling county's admin
    own_without_county: ImportBatch  # disability, uploaded by the county admin
    region_without_county: ImportBatch  # disability, uploaded by the region admin


@pytest.fixture
def batches(areas, admins, tmp_path) -> Batches:
    return Batches(
        county=make_batch(tmp_path, actor=admins.county, county=areas.county),
        sibling=make_batch(
            tmp_path,
            actor=admins.sibling,
            county=areas.sibling_county,
            rows=roster_rows_in(SIBLING_VILLAGE),
            name="sibling.csv",
        ),
        own_without_county=make_batch(
            tmp_path,
            actor=admins.county,
            county=None,
            kind="disability",
            headers=DISABILITY_HEADERS,
            rows=disability_rows(),
            name="disability.csv",
        ),
        region_without_county=make_batch(
            tmp_path,
            actor=admins.region,
            county=None,
            kind="disability",
            headers=DISABILITY_HEADERS,
            rows=disability_rows(),
            name="disability2.csv",
        ),
    )


# --- role × area ---------------------------------------------------------------------------------

BATCH_ENDPOINTS = [
    ("imports:batch_detail", "get"),
    ("imports:batch_progress", "get"),
    ("imports:error_sheet", "get"),
    ("imports:batch_recheck", "post"),
    ("imports:batch_apply", "post"),
]
# (user, batch) → status of every batch endpoint; POSTs answer 302 (back to the batch page).
MATRIX = [
    ("county", "county", 200),
    ("county", "sibling", 404),
    ("county", "own_without_county", 200),
    ("county", "region_without_county", 404),
    ("sibling", "county", 404),
    ("sibling", "sibling", 200),
    ("sibling", "own_without_county", 404),
    ("league", "county", 200),
    ("league", "sibling", 200),
    ("league", "own_without_county", 404),
    ("league", "region_without_county", 404),
    ("region", "county", 200),
    ("region", "own_without_county", 200),
    ("region", "region_without_county", 200),
    ("caseworker", "county", 403),
]


@pytest.mark.parametrize(("user_name", "batch_name", "expected"), MATRIX)
@pytest.mark.parametrize(("url_name", "method"), BATCH_ENDPOINTS)
def test_batch_endpoints_by_role_and_area(
    admins, batches, login_client, user_name, batch_name, expected, url_name, method
):
    batch = getattr(batches, batch_name)
    client = login_client(getattr(admins, user_name))
    before = ImportBatch.objects.values_list("pk", "status", "applied_at").order_by("pk")
    before = list(before)

    response = getattr(client, method)(reverse(url_name, args=[batch.pk]))

    if method == "post" and expected == 200:
        assert response.status_code == 302
        assert response["Location"] == reverse("imports:batch_detail", args=[batch.pk])
    else:
        assert response.status_code == expected
    if expected != 200:
        after = list(ImportBatch.objects.values_list("pk", "status", "applied_at").order_by("pk"))
        assert after == before
        assert Household.objects.count() == 0


@pytest.mark.parametrize(("url_name", "method"), BATCH_ENDPOINTS)
def test_batch_endpoints_send_anonymous_users_to_the_login_page(batches, url_name, method):
    response = getattr(Client(), method)(reverse(url_name, args=[batches.county.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    assert ImportBatch.objects.get(pk=batches.county.pk).status == ImportStatus.PARSED


@pytest.mark.parametrize(
    ("user_name", "expected"),
    [("county", 200), ("sibling", 200), ("league", 200), ("region", 200), ("caseworker", 403)],
)
@pytest.mark.parametrize("url_name", ["imports:upload", "imports:batch_list"])
def test_pages_need_the_import_capability(admins, login_client, user_name, expected, url_name):
    assert login_client(getattr(admins, user_name)).get(reverse(url_name)).status_code == expected


@pytest.mark.parametrize("url_name", ["imports:upload", "imports:batch_list"])
def test_pages_send_anonymous_users_to_the_login_page(db, url_name):
    response = Client().get(reverse(url_name))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_upload_by_a_caseworker_is_forbidden_and_stores_nothing(admins, login_client):
    content = xlsx_bytes(ROSTER_HEADERS, two_households())

    response = upload(login_client(admins.caseworker), kind="dibao", content=content)

    assert response.status_code == 403
    assert ImportBatch.objects.count() == 0


def test_the_menu_shows_ledger_import_to_data_admins_only(admins, login_client):
    admin_page = login_client(admins.county).get(reverse("imports:batch_list"))
    caseworker_menu = login_client(admins.caseworker).get("/").context["nav_menu"]

    assert {"label": "台账导入", "url": reverse("imports:upload")} in admin_page.context["nav_menu"]
    assert "台账导入" not in [entry["label"] for entry in caseworker_menu]


# --- the history -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_name", "listed"),
    [
        ("county", ["own_without_county", "county"]),
        ("sibling", ["sibling"]),
        ("league", ["sibling", "county"]),
        ("region", ["region_without_county", "own_without_county", "sibling", "county"]),
    ],
)
def test_history_lists_the_batches_of_the_admins_areas_newest_first(
    admins, batches, login_client, user_name, listed
):
    page = login_client(getattr(admins, user_name)).get(reverse("imports:batch_list"))

    assert [b.pk for b in page.context["page"].object_list] == [
        getattr(batches, name).pk for name in listed
    ]


def test_history_shows_who_when_hash_counts_and_status(admins, batches, login_client):
    html = login_client(admins.county).get(reverse("imports:batch_list")).content.decode()

    batch = batches.county
    assert f'<code title="{batch.sha256}">{batch.sha256[:12]}</code>' in html
    assert "roster.csv" in html
    assert "土默特左旗" in html
    assert "da_county" in html or "测试用户" in html
    assert "已解析" in html


def test_history_query_count_does_not_grow_with_the_batches(
    areas, admins, login_client, tmp_path, django_assert_num_queries
):
    for index in range(3):
        make_batch(tmp_path, actor=admins.county, county=areas.county, name=f"r{index}.csv")
    client = login_client(admins.county)
    # session and assignments warmed the same way (and the session renewed: no write follows)
    client.get(reverse("imports:batch_list"))

    with django_assert_num_queries(5):
        small = client.get(reverse("imports:batch_list"))
    for index in range(3, 12):
        make_batch(tmp_path, actor=admins.county, county=areas.county, name=f"r{index}.csv")
    with django_assert_num_queries(5):
        big = client.get(reverse("imports:batch_list"))

    assert (len(small.context["page"].object_list), len(big.context["page"].object_list)) == (
        3,
        12,
    )


def test_history_is_paginated(areas, admins, login_client, tmp_path, monkeypatch):
    monkeypatch.setattr("lowbao.imports.views.HISTORY_PAGE_SIZE", 2)
    for index in range(3):
        make_batch(tmp_path, actor=admins.county, county=areas.county, name=f"p{index}.csv")
    client = login_client(admins.county)

    first = client.get(reverse("imports:batch_list")).context["page"]
    second = client.get(reverse("imports:batch_list"), {"page": 2}).context["page"]

    assert [b.original_name for b in first.object_list] == ["p2.csv", "p1.csv"]
    assert [b.original_name for b in second.object_list] == ["p0.csv"]


# --- the upload form ----------------------------------------------------------------------------


def test_county_choices_are_the_counties_under_the_admins_areas(areas, admins, login_client):
    county_form = login_client(admins.county).get(reverse("imports:upload")).context["form"]
    league_form = login_client(admins.league).get(reverse("imports:upload")).context["form"]

    assert [code for code, _ in county_form.fields["county"].choices] == ["", COUNTY]
    assert county_form.fields["county"].initial == COUNTY
    league_codes = [code for code, _ in league_form.fields["county"].choices][1:]
    assert league_codes == sorted(
        Area.objects.filter(parent=areas.league).values_list("code", flat=True)
    )


def test_kind_choices_are_the_kinds_the_pipeline_knows(admins, login_client):
    form = login_client(admins.county).get(reverse("imports:upload")).context["form"]

    codes = [code for code, _ in form.fields["kind"].choices]
    assert codes[:5] == ["dibao", "poverty", "disability", "verification", "standards"]
    from lowbao.imports.kinds import get_kind

    assert ("areas" in codes) == (get_kind("areas") is not None)


@pytest.mark.parametrize(
    ("_case", "user_name", "fields", "field", "message"),
    [
        ("county of another county", "county", {"county": "150122000000"}, "county", "有效的选项"),
        ("roster without county", "county", {"county": ""}, "county", "须选择旗县"),
        (
            "snapshot date on a roster",
            "county",
            {"snapshot_date": "2026-01-01"},
            "snapshot_date",
            "只用于建档立卡",
        ),
        (
            "standards without county below the region",
            "league",
            {"kind": "standards", "county": ""},
            "county",
            "请选择旗县",
        ),
        ("unknown kind", "county", {"kind": "payroll"}, "kind", "有效的选项"),
    ],
)
def test_upload_form_refuses_bad_choices_and_stores_nothing(
    admins, login_client, _case, user_name, fields, field, message
):
    client = login_client(getattr(admins, user_name))
    content = xlsx_bytes(ROSTER_HEADERS, two_households())
    data = {"kind": "dibao", "county": COUNTY} | fields

    response = upload(client, content=content, **data)

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert ImportBatch.objects.count() == 0


def test_a_future_snapshot_date_is_refused(admins, login_client):
    response = upload(
        login_client(admins.county),
        kind="poverty",
        content=b"x",
        snapshot_date="2999-01-01",
    )

    assert response.context["form"].errors["snapshot_date"] == ["导出日期不能晚于今天"]
    assert ImportBatch.objects.count() == 0


def test_the_upload_page_states_the_limits(admins, login_client, settings):
    settings.LOWBAO_IMPORT_MAX_BYTES = 20 * 1024 * 1024
    settings.LOWBAO_IMPORT_SYNC_MAX_BYTES = 256 * 1024

    html = login_client(admins.county).get(reverse("imports:upload")).content.decode()

    assert 'data-max-bytes="20971520"' in html
    assert "不超过 20 MB" in html
    assert "不超过 256 KB 的文件当场校验" in html
    assert "跳过有错误的户（其余写入）" in html
