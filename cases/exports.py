"""Spreadsheet exports of the cases app (ledgers.md §7, quality.md S4/S6/P7).

- openpyxl in write-only mode: rows are streamed to a temporary file, so memory stays flat in
  the number of rows; lines are read from the database with ``iterator()``.
- Text that a spreadsheet could take for a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab
  or a carriage return) is written as an explicit string cell *and* prefixed with a space by
  ``neutralise_formula``: the string type keeps Excel, WPS and LibreOffice from evaluating it on
  open, and the space keeps it inert if a user re-enters the cell or saves it as CSV. The ledger
  import trims cells (ledgers.md §1), so an export still re-imports without loss.
- ID numbers and bank accounts are always string cells (never numbers, which would lose digits).
"""

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import IO, Any

from django.http import Http404
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from cases.models import PaymentSheet
from cases.payment_selectors import payment_line_rows
from cases.services.payments import payment_sheet_months
from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_covers_area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
TOTALS_LABEL = "合计"

PAYMENT_SHEET_HEADERS = (
    "户编号",
    "户主姓名",
    "身份证号",
    "苏木乡镇",
    "嘎查村",
    "保障人数",
    "月保障金额",
    "开户银行",
    "银行账号",
    "发放月份",
)
QUARTER_AMOUNT_HEADER = "本季发放金额"


def neutralise_formula(text: str) -> str:
    """``text`` made safe to put in a spreadsheet cell: a value starting with a formula trigger
    (``= + - @``, tab, CR) gets a leading space; anything else is returned unchanged.

    Reusable for CSV as well. Write the result as a string cell (``text_cell``) in ``.xlsx``.
    """
    if text and text.startswith(FORMULA_TRIGGERS):
        return " " + text
    return text


def text_cell(worksheet: WriteOnlyWorksheet, value: object) -> WriteOnlyCell:
    """A write-only cell that is always a string (``t="inlineStr"``), never a formula or number."""
    text = "" if value is None else neutralise_formula(str(value))
    cell = WriteOnlyCell(worksheet, value=text)
    cell.data_type = "s"  # openpyxl infers "f" for text starting with "="; force string
    return cell


def _row(worksheet: WriteOnlyWorksheet, values: Iterable[object]) -> list[Any]:
    """Strings become string cells; numbers stay numbers; ``None`` is an empty cell."""
    return [text_cell(worksheet, value) if isinstance(value, str) else value for value in values]


def _month_label(months: list[date]) -> str:
    if len(months) == 1:
        return f"{months[0]:%Y年%m月}".replace("年0", "年")
    return f"{months[0]:%Y年}{months[0].month}-{months[-1].month}月"


def export_payment_sheet_xlsx(*, sheet: PaymentSheet, actor: object, stream: IO[bytes]) -> int:
    """Write the sheet as ``.xlsx`` to ``stream``; returns the number of lines written.

    Layout: a title row, the header row (``PAYMENT_SHEET_HEADERS``, plus ``本季发放金额`` on a
    quarterly sheet, where ``月保障金额`` is the monthly amount and the new column what is paid for
    the quarter), one row per line, and a ``合计`` row that the ledger import skips.

    **Always masked for now**: ID numbers and bank accounts show the first 6 and last 4
    characters, whoever exports. When a reveal permission exists (quality.md S4: revealing needs a
    permission and is audited), pass the decision in here and record it in the audit row.

    The caller fetched ``sheet`` through ``access_payment_sheet_by_id``; the scope is checked
    again here so that every path to an export shares the rule. An ``export.payment_sheet`` audit
    row is written once the file is complete.
    """
    if not actor_covers_area(actor, sheet.township, perm=Perm.PAYMENT_VIEW):
        raise Http404("发放花名册不存在或不在您的管辖范围内")
    try:
        months = payment_sheet_months(township=sheet.township, month=sheet.month)
    except DomainError:  # policy edited since the sheet was made: export it as a monthly sheet
        months = [sheet.month]
    is_quarterly = len(months) > 1
    month_text = f"{sheet.month:%Y-%m}"

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(title="发放花名册")
    headers = [*PAYMENT_SHEET_HEADERS, *([QUARTER_AMOUNT_HEADER] if is_quarterly else [])]
    title = f"{sheet.township.name}{_month_label(months)}农村牧区低保发放花名册"
    worksheet.append(_row(worksheet, [title]))
    worksheet.append(_row(worksheet, headers))

    count, persons, total = 0, 0, Decimal("0")
    for line in payment_line_rows(sheet=sheet):
        values: list[object] = [
            line.household_number,
            line.head_name,
            line.head_id_number_masked,
            line.township_name,
            line.village_name,
            line.covered_persons,
            line.monthly_amount if is_quarterly else line.amount,
            line.bank_name,
            line.bank_account_masked,
            month_text,
        ]
        if is_quarterly:
            values.append(line.amount)
        worksheet.append(_row(worksheet, values))
        count += 1
        persons += line.covered_persons
        total += line.amount

    totals: list[object] = [TOTALS_LABEL, f"{count}户", None, None, None, persons]
    if is_quarterly:
        totals += [None, None, None, None, total]
    else:
        totals += [total, None, None, None]
    worksheet.append(_row(worksheet, totals))
    workbook.save(stream)

    record(
        actor=actor,
        action="export.payment_sheet",
        obj=sheet,
        area=sheet.township,
        changes={
            "format": "xlsx",
            "month": month_text,
            "rows": count,
            "total_amount": total,
            "masked": True,
        },
    )
    return count
