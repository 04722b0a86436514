"""Progress bulletins (通报) of the annual review: the sub-areas of a county, league or region
ranked by review progress, as ``.xlsx`` and PDF.

The ranking comes from the dashboard's figures (``review.dashboard``), so the bulletin and the
page always agree. Ranking rule: the completion rate (decided items / items, exact) from high to
low; equal rates rank the fewer overdue items first, then the fewer open reconciliation items;
rows equal in all three share a rank (1, 2, 2, 4). Sub-areas with nothing to review (no campaign
yet) come last without a rank ("未开展").

``bulletin_export`` is the one entry point: it checks the viewer's areas, writes the file and one
audit row per export.
"""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from io import BytesIO
from typing import Any

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.exports import text_cell
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from review.dashboard import DASHBOARD_PERM, Dashboard, SubAreaRow, dashboard
from review.documents import XLSX_CONTENT_TYPE
from review.documents import _font as pdf_font  # the one place the CJK font is registered

PDF_CONTENT_TYPE = "application/pdf"
BULLETIN_FORMATS = {"xlsx": XLSX_CONTENT_TYPE, "pdf": PDF_CONTENT_TYPE}
NOT_STARTED = "未开展"


@dataclass(frozen=True)
class BulletinRow:
    rank: int | None  # None: nothing to review yet
    code: str
    name: str
    items: int
    decided: int
    percent: Decimal | None
    overdue: int
    open_items: int
    lists_signed: int
    lists: int
    campaigns_filed: int
    campaigns_opened: int

    @property
    def rank_label(self) -> str:
        return str(self.rank) if self.rank is not None else NOT_STARTED

    @property
    def percent_label(self) -> str:
        return f"{self.percent}%" if self.percent is not None else "—"


@dataclass(frozen=True)
class Bulletin:
    root: Area
    year: int
    on: date
    child_level: str
    rows: list[BulletinRow]
    total: SubAreaRow

    @property
    def title(self) -> str:
        return f"{self.root.name}{self.year}年度复核工作进展通报"

    @property
    def child_label(self) -> str:
        return AreaLevel(self.child_level).label

    @property
    def shows_filings(self) -> bool:
        """Counties file their campaigns: the column makes sense for county and league rows."""
        return self.child_level != AreaLevel.TOWNSHIP

    @property
    def headers(self) -> list[str]:
        headers = [
            "名次",
            self.child_label,
            "复核对象（户）",
            "已办结（户）",
            "办结率",
            "逾期未办结（户）",
            "待处理比对问题（个）",
            "名单已签字/名单数",
        ]
        return [*headers, "已备案/已发起旗县"] if self.shows_filings else headers

    def cells(self, row: BulletinRow) -> list[Any]:
        cells: list[Any] = [
            row.rank_label,
            row.name,
            row.items,
            row.decided,
            row.percent_label,
            row.overdue,
            row.open_items,
            f"{row.lists_signed}/{row.lists}",
        ]
        if self.shows_filings:
            cells.append(f"{row.campaigns_filed}/{row.campaigns_opened}")
        return cells

    @property
    def summary(self) -> str:
        progress = self.total.progress
        percent = f"{progress.percent}%" if progress.percent is not None else "—"
        return (
            f"截至{self.on:%Y年%m月%d日}，{self.root.name}{self.year}年度复核对象 "
            f"{progress.items} 户，已办结 {progress.decided} 户（办结率 {percent}），"
            f"逾期未办结 {progress.overdue} 户；待处理的台账比对问题 "
            f"{self.total.open_items_total} 个。按办结率排名如下"
            "（办结率相同的，逾期未办结少的在前，再按待处理比对问题少的在前）。"
        )


def _row(row: SubAreaRow, rank: int | None) -> BulletinRow:
    progress = row.progress
    return BulletinRow(
        rank=rank,
        code=row.code,
        name=row.name,
        items=progress.items,
        decided=progress.decided,
        percent=progress.percent,
        overdue=progress.overdue,
        open_items=row.open_items_total,
        lists_signed=progress.lists_signed,
        lists=progress.lists,
        campaigns_filed=progress.campaigns_filed,
        campaigns_opened=progress.campaigns_opened,
    )


def bulletin_ranking(board: Dashboard) -> list[BulletinRow]:
    """The sub-areas of the dashboard ranked by progress (see the module docstring)."""
    started = [row for row in board.sub_area_rows if row.progress.items]
    not_started = [row for row in board.sub_area_rows if not row.progress.items]

    def merit(row: SubAreaRow) -> tuple[Any, ...]:
        return (-row.progress.rate, row.progress.overdue, row.open_items_total)

    started.sort(key=lambda row: (*merit(row), row.code))
    ranked: list[BulletinRow] = []
    for position, row in enumerate(started, start=1):
        if ranked and merit(started[position - 2]) == merit(row):
            rank = ranked[-1].rank
        else:
            rank = position
        ranked.append(_row(row, rank))
    return ranked + [_row(row, None) for row in not_started]


def bulletin_for(board: Dashboard) -> Bulletin:
    return Bulletin(
        root=board.root,
        year=board.year,
        on=board.today,
        child_level=board.child_level,
        rows=bulletin_ranking(board),
        total=board.total,
    )


# --- documents ----------------------------------------------------------------------------------


def bulletin_xlsx(bulletin: Bulletin) -> bytes:
    """Title, date, the ranking table (numbers stay numbers, text is string cells with formula
    triggers neutralised) and the total."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="通报")
    sheet.append([text_cell(sheet, bulletin.title)])
    sheet.append([text_cell(sheet, f"截至{bulletin.on:%Y年%m月%d日}")])
    sheet.append([text_cell(sheet, bulletin.summary)])
    sheet.append([text_cell(sheet, header) for header in bulletin.headers])
    for row in bulletin.rows:
        sheet.append(
            [
                value if isinstance(value, int) else text_cell(sheet, value)
                for value in bulletin.cells(row)
            ]
        )
    total = _row(bulletin.total, None)
    total_cells = bulletin.cells(total)
    total_cells[0:2] = ["", "合计"]
    sheet.append(
        [value if isinstance(value, int) else text_cell(sheet, value) for value in total_cells]
    )
    buffer = BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def bulletin_pdf(bulletin: Bulletin) -> bytes:
    """A4 portrait: title, date, summary, the ranking table (header repeated on every page) and
    "第 n 页" in every footer; Chinese text in the embedded font."""
    font = pdf_font()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=14 * mm,
        rightMargin=14 * mm,
        topMargin=16 * mm,
        bottomMargin=18 * mm,
        title=bulletin.title,
        author="lowbao",
    )
    title = ParagraphStyle("title", fontName=font, fontSize=15, leading=22, alignment=1)
    centre = ParagraphStyle("centre", fontName=font, fontSize=10, leading=14, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=10, leading=15)
    cell = ParagraphStyle("cell", fontName=font, fontSize=8.5, leading=11)
    story: list[Any] = [
        Paragraph(bulletin.title, title),
        Paragraph(f"截至 {bulletin.on:%Y年%m月%d日}", centre),
        Spacer(1, 4 * mm),
        Paragraph(bulletin.summary, body),
        Spacer(1, 4 * mm),
    ]
    data = [[Paragraph(header, cell) for header in bulletin.headers]]
    for row in bulletin.rows:
        data.append([Paragraph(str(value), cell) for value in bulletin.cells(row)])
    total_cells = bulletin.cells(_row(bulletin.total, None))
    total_cells[0:2] = ["", "合计"]
    data.append([Paragraph(str(value), cell) for value in total_cells])
    widths = [14, 34, 20, 20, 18, 24, 26, 24]
    if bulletin.shows_filings:
        widths = [14, 28, 18, 18, 16, 20, 22, 22, 22]
    table = Table(data, colWidths=[width * mm for width in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("BACKGROUND", (0, -1), (-1, -1), colors.HexColor("#f8f9fa")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story.append(table)

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 8)
        canvas.drawString(14 * mm, 9 * mm, bulletin.title)
        canvas.drawRightString(A4[0] - 14 * mm, 9 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


# --- the export service -------------------------------------------------------------------------


@dataclass(frozen=True)
class BulletinFile:
    content: bytes
    filename: str
    content_type: str
    rows: int


@transaction.atomic
def bulletin_export(
    *,
    actor: object,
    root: Area,
    kind: str,
    year: int | None = None,
    today: date | None = None,
) -> BulletinFile:
    """The bulletin of ``root`` (county level or above) as ``kind`` (``xlsx`` or ``pdf``), with
    one audit row. 404 outside the viewer's areas, 403 without the export capability."""
    if kind not in BULLETIN_FORMATS:
        raise DomainError(code=CoreErrorCode.INVALID, message="通报只能导出为 xlsx 或 pdf")
    if not actor_covers_area(actor, root, perm=DASHBOARD_PERM):
        raise DomainError(code=CoreErrorCode.NOT_FOUND, message="区划不存在或不在您的管辖范围内")
    if not actor_covers_area(actor, root, perm=Perm.EXPORT_RUN):
        raise DomainError(code=CoreErrorCode.PERMISSION_DENIED, message="您的角色不能导出通报")
    today = today or timezone.localdate()
    bulletin = bulletin_for(dashboard(actor=actor, root=root, year=year, today=today))
    content = bulletin_xlsx(bulletin) if kind == "xlsx" else bulletin_pdf(bulletin)
    record(
        actor=actor,
        action="export.review_bulletin",
        area=root,
        object_type="review.bulletin",
        object_id=f"{root.code}-{bulletin.year}",
        changes={
            "format": kind,
            "year": bulletin.year,
            "on": today,
            "rows": len(bulletin.rows),
            "ranking": [row.code for row in bulletin.rows if row.rank is not None],
        },
    )
    return BulletinFile(
        content=content,
        filename=f"通报-{root.name}-{bulletin.year}年度复核-{today:%Y%m%d}.{kind}",
        content_type=BULLETIN_FORMATS[kind],
        rows=len(bulletin.rows),
    )
