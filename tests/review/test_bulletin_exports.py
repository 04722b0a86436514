"""The bulletin (通报): the ranking by review progress, the ``.xlsx`` and the PDF (text read back
with pypdf), one audit row per export."""

from datetime import date
from decimal import Decimal
from io import BytesIO

import pytest
from django.core.cache import cache
from django.urls import reverse
from openpyxl import load_workbook
from pypdf import PdfReader

from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.services import AreaRow, area_load_rows
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from review.bulletin import (
    Bulletin,
    bulletin_export,
    bulletin_for,
    bulletin_pdf,
    bulletin_ranking,
)
from review.dashboard import Dashboard, Progress, SubAreaRow, dashboard

XLSX = reverse("dashboard:bulletin_xlsx")
PDF = reverse("dashboard:bulletin_pdf")


def _ranking(board) -> list[tuple[str, str]]:
    return [(row.rank_label, row.name) for row in bulletin_ranking(board)]


def _pdf_text(content: bytes) -> str:
    reader = PdfReader(BytesIO(content))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\n", "")


# --- the ranking ---------------------------------------------------------------------------------


def _row(code: str, items: int, decided: int, overdue: int = 0, open_items: int = 0):
    area = Area(code=code, name=f"区{code[3:6]}", level=AreaLevel.COUNTY)
    row = SubAreaRow(code=code, name=area.name, area=area)
    row.progress = Progress(items=items, decided=decided, overdue=overdue)
    row.open_items = {"attr_mismatch": open_items} if open_items else {}
    return row


def _board(rows: list[SubAreaRow]) -> Dashboard:
    root = Area(code="150100000000", name="测试盟", level=AreaLevel.LEAGUE)
    total = SubAreaRow(code=root.code, name="合计", area=None)
    for row in rows:
        total.add(row)
    return Dashboard(
        root=root,
        child_level=AreaLevel.COUNTY,
        year=2026,
        years=[2026],
        today=date(2026, 11, 29),
        rows=rows,
        total=total,
        payment_months=[],
        latest_payment_month=None,
        coverage_months=[],
        reconciliation_periods=[],
    )


def test_the_ranking_goes_by_rate_then_overdue_then_open_items_and_ties_share_a_rank():
    board = _board(
        [
            _row("150101000000", items=10, decided=5, overdue=2, open_items=1),
            _row("150102000000", items=4, decided=2, overdue=2, open_items=1),  # tie with 101
            _row("150103000000", items=3, decided=3),
            _row("150104000000", items=0, decided=0),  # nothing to review yet
            _row("150105000000", items=2, decided=1, overdue=1, open_items=9),
            _row("150106000000", items=2, decided=1, overdue=1, open_items=0),
            _row("150107000000", items=3, decided=1),
        ]
    )

    assert _ranking(board) == [
        ("1", "区103"),  # 100 %
        ("2", "区106"),  # 50 %, 1 overdue, no open items
        ("3", "区105"),  # 50 %, 1 overdue, 9 open items
        ("4", "区101"),  # 50 %, 2 overdue, 1 open item ...
        ("4", "区102"),  # ... the same: same rank, then by code
        ("6", "区107"),  # 33.3 %
        ("未开展", "区104"),
    ]


def test_an_exact_rate_decides_not_the_rounded_percent():
    board = _board(
        [
            _row("150101000000", items=3000, decided=2000),  # 66.666… %
            _row("150102000000", items=1501, decided=1001),  # 66.688… %, both show 66.7 %
        ]
    )

    ranking = bulletin_ranking(board)

    assert [(row.rank, row.name, row.percent) for row in ranking] == [
        (1, "区102", Decimal("66.7")),
        (2, "区101", Decimal("66.7")),
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "user", "root", "expected"),
    [
        ("county by township", "civil_affairs", "county", [("1", "察素齐镇"), ("2", "毕克齐镇")]),
        (
            "league by county",
            "league_officer",
            "league",
            [("1", "托克托县"), ("2", "土默特左旗")] + [("未开展", None)] * 7,
        ),
        (
            "region by league",
            "region_officer",
            "region",
            [("1", "呼和浩特市"), ("2", "包头市")] + [("未开展", None)] * 10,
        ),
    ],
)
def test_the_world_ranks_as_expected(
    _case, user, root, expected, dashboard_world, dashboard_users, areas
):
    ranking = _ranking(dashboard(actor=getattr(dashboard_users, user), root=getattr(areas, root)))

    assert [(rank, name if rank != "未开展" else None) for rank, name in ranking] == expected


# --- xlsx ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_league_bulletin_downloads_as_xlsx_with_the_ranking(
    dashboard_world, dashboard_users, areas, login_client
):
    response = login_client(dashboard_users.league_officer).get(XLSX)
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))
    year, today = dashboard_world.year, dashboard_world.today

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "filename*=utf-8''" in response["Content-Disposition"]
    assert rows[0][0] == f"呼和浩特市{year}年度复核工作进展通报"
    assert rows[1][0] == f"截至{today:%Y年%m月%d日}"
    assert rows[2][0].startswith(f"截至{today:%Y年%m月%d日}，呼和浩特市{year}年度复核对象 9 户")
    assert rows[3] == (
        "名次",
        "旗县",
        "复核对象（户）",
        "已办结（户）",
        "办结率",
        "逾期未办结（户）",
        "待处理比对问题（个）",
        "名单已签字/名单数",
        "已备案/已发起旗县",
    )
    assert rows[4] == ("1", "托克托县", 2, 2, "100.0%", 0, 2, "1/1", "1/1")
    assert rows[5] == ("2", "土默特左旗", 7, 4, "57.1%", 3, 4, "0/2", "0/1")
    assert rows[6] == ("未开展", "新城区", 0, 0, "—", 0, 0, "0/0", "0/0")
    assert len(rows) == 4 + 9 + 1
    assert rows[-1] == (None, "合计", 9, 6, "66.7%", 3, 6, "1/3", "1/2")


@pytest.mark.django_db
def test_the_county_bulletin_ranks_townships_without_a_filing_column(
    dashboard_world, dashboard_users, areas, login_client
):
    response = login_client(dashboard_users.civil_affairs).get(XLSX)
    rows = list(load_workbook(BytesIO(response.content)).active.iter_rows(values_only=True))

    assert rows[3][1] == "苏木乡镇"
    assert len(rows[3]) == 8
    assert rows[4] == ("1", "察素齐镇", 5, 3, "60.0%", 2, 2, "0/1")
    assert rows[5] == ("2", "毕克齐镇", 2, 1, "50.0%", 1, 1, "0/1")
    # the county-wide item counts in the total, not for a township
    assert rows[6] == (None, "合计", 7, 4, "57.1%", 3, 4, "0/2")


@pytest.mark.django_db
def test_a_name_that_looks_like_a_formula_stays_text(
    dashboard_world, dashboard_users, areas, login_client
):
    area_load_rows(
        actor=None,
        rows=[AreaRow(areas.sibling_township.code, "=HYPERLINK(1)", "township", areas.county.code)],
        source="tests",
    )

    response = login_client(dashboard_users.civil_affairs).get(XLSX)
    sheet = load_workbook(BytesIO(response.content)).active
    cell = sheet.cell(row=6, column=2)

    assert (cell.value, cell.data_type) == (" =HYPERLINK(1)", "s")


# --- pdf -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_league_bulletin_pdf_reads_back_with_title_date_ranking_and_page_number(
    dashboard_world, dashboard_users, areas, login_client
):
    response = login_client(dashboard_users.league_officer).get(PDF)
    text = _pdf_text(response.content)
    year, today = dashboard_world.year, dashboard_world.today

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"呼和浩特市{year}年度复核工作进展通报" in text
    assert f"截至{today:%Y年%m月%d日}" in text
    assert "第1页" in text
    first, second = text.index("1托克托县22100.0%"), text.index("2土默特左旗7457.1%3")
    assert first < second < text.index("新城区")
    assert "东河区" not in text
    assert "包头市" not in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for page in PdfReader(BytesIO(response.content)).pages
        for font in page["/Resources"]["/Font"].values()
    }
    assert any("WenQuanYi" in font for font in fonts)


def test_a_long_bulletin_numbers_every_page():
    rows = [_row(f"15{index:04d}000000", items=10, decided=index % 10) for index in range(1, 121)]
    board = _board(rows)
    bulletin = bulletin_for(board)

    content = bulletin_pdf(bulletin)
    reader = PdfReader(BytesIO(content))

    assert len(reader.pages) >= 3
    for number, page in enumerate(reader.pages, start=1):
        assert f"第{number}页" in page.extract_text().replace(" ", "")
    assert isinstance(bulletin, Bulletin)


# --- the export service and its audit ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["xlsx", "pdf"])
def test_each_export_writes_one_audit_row(
    kind, dashboard_world, dashboard_users, areas, login_client
):
    client = login_client(dashboard_users.league_officer)

    client.get(reverse(f"dashboard:bulletin_{kind}"), {"area": areas.league.code})

    event = AuditEvent.objects.get(action="export.review_bulletin")
    assert (event.actor_id, event.area_code, event.object_type, event.object_id) == (
        dashboard_users.league_officer.pk,
        areas.league.code,
        "review.bulletin",
        f"{areas.league.code}-{dashboard_world.year}",
    )
    assert event.changes["format"] == kind
    assert event.changes["year"] == dashboard_world.year
    assert event.changes["ranking"] == [areas.sibling_county.code, areas.county.code]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("_case", "user", "root", "kind", "status"),
    [
        ("unknown format", "league_officer", "league", "csv", 400),
        ("outside the viewer's areas", "league_officer", "other_league", "xlsx", 404),
        ("a county officer on the league", "civil_affairs", "league", "pdf", 404),
    ],
)
def test_the_service_refuses_and_writes_nothing(
    _case, user, root, kind, status, dashboard_users, areas
):
    with pytest.raises(DomainError) as refused:
        bulletin_export(actor=getattr(dashboard_users, user), root=getattr(areas, root), kind=kind)

    assert refused.value.status == status
    assert not AuditEvent.objects.filter(action="export.review_bulletin").exists()


def test_the_percent_rounds_half_up():
    assert Progress(items=2000, decided=1).percent == Decimal("0.1")  # 0.05 %
    assert Progress(items=8, decided=5).percent == Decimal("62.5")
    assert Progress(items=0, decided=0).percent is None


@pytest.mark.django_db
def test_bulletin_downloads_count_against_the_export_rate(
    dashboard_users, areas, login_client, settings
):
    settings.LOWBAO_THROTTLE_RATES = {**settings.LOWBAO_THROTTLE_RATES, "export": "2/hour"}
    cache.clear()
    client = login_client(dashboard_users.league_officer)

    statuses = [client.get(url).status_code for url in (XLSX, PDF, XLSX)]

    cache.clear()
    assert statuses == [200, 200, 429]
    assert AuditEvent.objects.filter(action="export.review_bulletin").count() == 2
