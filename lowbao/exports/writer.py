"""The streaming ``.xlsx`` writer every export uses (quality.md P7, S4, S6).

xlsxwriter in ``constant_memory`` mode: each row is flushed to a temporary file as soon as the
next one starts, so memory stays flat in the number of rows; the workbook is zipped on ``close``.

Cell rules (ledgers.md §1, §7):

- text is always a string cell, and text that a spreadsheet could take for a formula (starting with
  ``= + - @``, tab or CR) is neutralised by ``cases.exports.neutralise_formula`` (a leading space;
  the ledger import trims cells, so the export still re-imports);
- ID numbers, bank accounts and phone numbers are string cells (never numbers, which would lose
  digits), in columns formatted as text so that numbers typed in later stay text too; unless the
  export reveals them they are masked (first 6, last 4) with ``lowbao.people.masking``;
- ``int``/``float``/``Decimal`` are number cells, dates ``YYYY-MM-DD`` text, ``None`` and ``""``
  empty cells.

Layout: a title row, the header row (the import finds it by its headers; the title row above it is
ignored, as in the ledgers people keep), then one row per data row.
"""

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import TracebackType

import xlsxwriter

from cases.exports import FORMULA_TRIGGERS, neutralise_formula
from lowbao.core.errors import DomainError
from lowbao.exports.errors import ExportErrorCode
from lowbao.people.masking import mask_bank_account, mask_id_number, mask_phone

PROGRESS_EVERY = 5000
# Excel's last row is 1,048,576; two rows hold the title and the headers.
MAX_DATA_ROWS = 1_048_576 - 2
SHEET_NAME_LIMIT = 31
_SHEET_NAME_FORBIDDEN = str.maketrans(dict.fromkeys("[]:*?/\\", "_"))
TEXT_COLUMN_WIDTH = 22
COLUMN_WIDTH = 12


def _as_text(value: object) -> str:
    """Cells that are neither text nor numbers: yes/no, dates, anything else as neutralised text."""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, date):
        return value.isoformat()
    return neutralise_formula(str(value))


class XlsxExportWriter:
    """Write an export's rows to ``path``. Use as a context manager; ``write_rows`` returns the
    number of data rows written."""

    def __init__(
        self,
        path: Path,
        *,
        headers: Sequence[str],
        title: str,
        sheet_name: str,
        id_columns: Iterable[str] = (),
        account_columns: Iterable[str] = (),
        phone_columns: Iterable[str] = (),
        reveal: bool = False,
        max_rows: int = MAX_DATA_ROWS,
    ) -> None:
        self.headers = tuple(headers)
        self.reveal = reveal
        self.max_rows = max_rows
        self._workbook = xlsxwriter.Workbook(
            str(path),
            {
                "constant_memory": True,
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "tmpdir": str(path.parent),
            },
        )
        name = sheet_name.translate(_SHEET_NAME_FORBIDDEN)[:SHEET_NAME_LIMIT] or "Sheet1"
        self._sheet = self._workbook.add_worksheet(name)
        maskers: dict[str, Callable[[object], str]] = {}
        maskers.update(dict.fromkeys(id_columns, mask_id_number))
        maskers.update(dict.fromkeys(account_columns, mask_bank_account))
        maskers.update(dict.fromkeys(phone_columns, mask_phone))
        unknown = sorted(set(maskers) - set(self.headers))
        if unknown:
            raise ValueError(f"sensitive columns {unknown} are not in the headers")
        self._sensitive = [
            (index, maskers[header])
            for index, header in enumerate(self.headers)
            if header in maskers
        ]
        text_format = self._workbook.add_format({"num_format": "@"})
        for index, header in enumerate(self.headers):
            if header in maskers:
                self._sheet.set_column(index, index, TEXT_COLUMN_WIDTH, text_format)
            else:
                self._sheet.set_column(index, index, COLUMN_WIDTH)
        self._sheet.write_string(0, 0, neutralise_formula(title))
        bold = self._workbook.add_format({"bold": True})
        for index, header in enumerate(self.headers):
            self._sheet.write_string(1, index, header, bold)
        self._sheet.freeze_panes(2, 0)
        self._next_row = 2

    def __enter__(self) -> "XlsxExportWriter":
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write_rows(
        self,
        rows: Iterable[Sequence[object]],
        *,
        progress: Callable[[int], None] | None = None,
        progress_every: int = PROGRESS_EVERY,
    ) -> int:
        """Write every row; ``progress(rows_written)`` is called every ``progress_every`` rows."""
        # xlsxwriter's undecorated writers (what ``write_string``/``write_number`` call after
        # converting A1 notation): this loop already knows each cell's type, so it skips the
        # per-cell decorator and type dispatch of the public methods (quality.md P7).
        write_string = self._sheet._write_string
        write_number = self._sheet._write_number
        sensitive = [] if self.reveal else self._sensitive
        revealed = self._sensitive if self.reveal else []
        width = len(self.headers)
        row_number = self._next_row
        written = 0
        for source in rows:
            values = list(source)
            if len(values) != width:
                raise ValueError(f"row {written + 1} has {len(values)} values, not {width}")
            if written >= self.max_rows:
                raise DomainError(
                    code=ExportErrorCode.TOO_MANY_ROWS,
                    message=f"超过 Excel 的最大行数（{self.max_rows} 行），请筛选后分批导出",
                )
            for index, mask in sensitive:
                value = values[index]
                if value is not None and value != "":
                    values[index] = mask(value)
            for index, _mask in revealed:
                value = values[index]
                if value is not None and not isinstance(value, str):
                    values[index] = str(value)
            column = -1
            for value in values:
                column += 1
                kind = value.__class__
                if kind is str:
                    if value:
                        if value.startswith(FORMULA_TRIGGERS):
                            value = neutralise_formula(value)
                        write_string(row_number, column, value)
                elif value is None:
                    continue
                elif kind is int or kind is float:
                    write_number(row_number, column, value)
                elif kind is Decimal:
                    write_number(row_number, column, float(value))
                else:
                    write_string(row_number, column, _as_text(value))
            row_number += 1
            written += 1
            if progress is not None and written % progress_every == 0:
                progress(written)
        self._next_row = row_number
        return written

    def close(self) -> None:
        self._workbook.close()
