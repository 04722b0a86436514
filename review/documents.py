"""Documents of a signed review list: PDF (Chinese text in an embedded font, signature block,
content hash, page numbers) and ``.xlsx``. Both are made from the frozen snapshot only, so the
document of a signed list never changes whatever happens to its households later.

The font is WenQuanYi Zen Hei (fonts-wqy-zenhei, a Debian package installed by ``.ci/run``);
reportlab embeds the glyphs used (a subset) in the PDF.
"""

from collections.abc import Iterable
from functools import lru_cache
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.utils import timezone
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from cases.exports import text_cell
from lowbao.areas.roles import Role
from lowbao.core.errors import DomainError
from review.models import ReviewListSnapshot, ReviewSignature

FONT_NAME = "WenQuanYiZenHei"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
)
COLUMNS = (
    ("seq", "序号"),
    ("township", "苏木乡镇"),
    ("village", "嘎查村"),
    ("kind", "类别"),
    ("number", "户编号"),
    ("registry_number", "建档立卡户编号"),
    ("head_name", "户主姓名"),
    ("head_id_masked", "户主身份证号"),
    ("persons", "人数"),
    ("amount_before", "原月保障金"),
    ("outcome", "复核结果"),
    ("new_amount", "调整后金额"),
    ("effective_month", "生效月份"),
)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@lru_cache(maxsize=1)
def _font() -> str:
    """Register the CJK font once; a clear error when the package is missing."""
    configured = getattr(settings, "LOWBAO_PDF_FONT", "")
    for candidate in (configured, *FONT_CANDIDATES):
        if candidate and Path(candidate).exists():
            pdfmetrics.registerFont(TTFont(FONT_NAME, candidate, subfontIndex=0))
            return FONT_NAME
    raise DomainError(
        code="font_missing",
        message="服务器未安装中文字体（fonts-wqy-zenhei），无法生成 PDF",
        status=503,
    )


def _cell(row: dict[str, Any], key: str) -> str:
    value = row.get(key, "")
    if key == "in_registry":
        return "是" if value else "否"
    return "" if value is None else str(value)


def _signature_lines(snapshot: ReviewListSnapshot, signature: ReviewSignature | None) -> list[str]:
    header = snapshot.header
    lines = [
        f"户数：{header.get('households', snapshot.row_count)}　人数：{header.get('persons', '')}",
        f"复核结果：{'；'.join(f'{k} {v} 户' for k, v in header.get('outcomes', {}).items())}",
        f"名单内容摘要（SHA-256）：{snapshot.content_sha256}",
    ]
    if signature is not None:
        signed_at = timezone.localtime(signature.signed_at)
        lines.append(
            f"签字确认：{signature.signer_name}（{_role_label(signature.role)}）"
            f"　{signed_at:%Y年%m月%d日 %H:%M}　身份验证：{signature.reauth_method}"
        )
    return lines


def _role_label(role: str) -> str:
    return Role(role).label if role in Role.values else role


def signed_list_pdf(snapshot: ReviewListSnapshot, signature: ReviewSignature | None) -> bytes:
    """The signed list as PDF: title, table of rows, signature block with the hash, and
    "第 n 页" page numbers with the hash in every footer."""
    font = _font()
    buffer = BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=landscape(A4),
        leftMargin=12 * mm,
        rightMargin=12 * mm,
        topMargin=14 * mm,
        bottomMargin=16 * mm,
        title=snapshot.title,
        author="lowbao",
    )
    title = ParagraphStyle("title", fontName=font, fontSize=14, leading=20, alignment=1)
    body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13)
    cell = ParagraphStyle("cell", fontName=font, fontSize=7.5, leading=9.5)
    story: list[Any] = [
        Paragraph(snapshot.title, title),
        Paragraph(
            f"第 {snapshot.round} 轮　冻结时间 "
            f"{timezone.localtime(snapshot.created_at):%Y-%m-%d %H:%M}",
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    data = [[Paragraph(label, cell) for _key, label in COLUMNS]]
    for row in snapshot.rows:
        data.append([Paragraph(_cell(row, key), cell) for key, _label in COLUMNS])
    widths = [10, 22, 24, 16, 26, 30, 18, 34, 10, 18, 34, 18, 16]
    table = Table(data, colWidths=[w * mm for w in widths], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9ecef")),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    story += [table, Spacer(1, 6 * mm)]
    story += [Paragraph(line, body) for line in _signature_lines(snapshot, signature)]
    story.append(Spacer(1, 8 * mm))
    story.append(Paragraph("签字：____________________　　日期：____________________", body))

    def footer(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        canvas.setFont(font, 7.5)
        canvas.drawString(12 * mm, 8 * mm, f"SHA-256：{snapshot.content_sha256}")
        canvas.drawRightString(landscape(A4)[0] - 12 * mm, 8 * mm, f"第 {doc.page} 页")
        canvas.restoreState()

    document.build(story, onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue()


def _rows(snapshot: ReviewListSnapshot) -> Iterable[list[Any]]:
    for row in snapshot.rows:
        yield [row.get(key, "") for key, _label in COLUMNS]


def signed_list_xlsx(
    snapshot: ReviewListSnapshot, signature: ReviewSignature | None, stream: IO[bytes]
) -> int:
    """The signed list as ``.xlsx`` (string cells, formula triggers neutralised); returns the
    rows written. The last rows carry the signature block and the hash."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="复核名单")
    sheet.append([text_cell(sheet, snapshot.title)])
    sheet.append([text_cell(sheet, label) for _key, label in COLUMNS])
    count = 0
    for values in _rows(snapshot):
        sheet.append(
            [value if isinstance(value, int) else text_cell(sheet, value) for value in values]
        )
        count += 1
    sheet.append([])
    for line in _signature_lines(snapshot, signature):
        sheet.append([text_cell(sheet, line)])
    workbook.save(stream)
    return count
