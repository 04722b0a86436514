"""The validation report as a spreadsheet: the batch's sheet as it was read, with an error column.

One sheet: the header row (the file's columns in the file's order), then every data row that was
read, in sheet order, then the original row number and a "错误/警告" column listing every problem
of the row. Values come from staging, so ID numbers and bank accounts are masked (staging never
holds them in plain); the admin corrects the original file and uploads it again. Problems that
belong to no row (an unknown column, a totals row) are listed on a second sheet.

Every cell is a string cell with formula-looking text neutralised (``cases.exports``). Rows are
streamed from the database into a write-only workbook on disk: memory stays flat.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook

from cases.exports import text_cell
from lowbao.imports import readers
from lowbao.imports.kinds import ImportOptions, get_kind
from lowbao.imports.models import ImportBatch, ImportRow
from lowbao.imports.pipeline import open_stored
from lowbao.imports.safety import UnreadableFile
from lowbao.imports.selectors import batch_file_problems

ROW_NUMBER_HEADER = "原行号"
PROBLEMS_HEADER = "错误/警告"
FILE_PROBLEMS_TITLE = "文件级问题"
FILE_PROBLEMS_HEADERS = ("行号", "列", "值", "代码", "说明", "级别")
LEVEL_LABELS = {"error": "错误", "warning": "警告"}
CHUNK = 2000


def describe(problem: dict[str, Any], level: str) -> str:
    """``错误：[身份证号] “150121********123X” 身份证号校验位错误``"""
    column = f"[{problem['column']}] " if problem.get("column") else ""
    value = f"“{problem['value']}” " if problem.get("value") else ""
    return f"{LEVEL_LABELS.get(level, level)}：{column}{value}{problem.get('message', '')}"


def _file_headers(batch: ImportBatch) -> list[str] | None:
    """The columns of the stored file as the pipeline read them (canonical names for the
    ledger's columns, header text for the others), in the file's order. The file is read
    decrypted in memory; ``None`` when it is gone (purged) or cannot be read."""
    spec = get_kind(batch.kind)
    if spec is None or not batch.file:
        return None
    try:
        with readers.open_table(
            open_stored(batch),
            name=Path(batch.file).name,
            sheet=ImportOptions.from_json(batch.options).sheet,
            required_headers=spec.required_headers,
            aliases=spec.aliases,
        ) as table:
            return [str(header) for header in table.headers]
    except (UnreadableFile, OSError):
        return None


def _staged_headers(batch: ImportBatch) -> list[str]:
    """Fallback when the file cannot be read again: every column seen in staging, in the order
    it first appears."""
    seen: dict[str, None] = {}
    for raw in ImportRow.objects.filter(batch=batch).values_list("raw", flat=True).iterator(CHUNK):
        for key in raw:
            seen.setdefault(key, None)
    return list(seen)


def _rows(batch: ImportBatch) -> Iterable[tuple[int, dict, list, list]]:
    return (
        ImportRow.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", "raw", "errors", "warnings")
        .iterator(CHUNK)
    )


def write_error_sheet(*, batch: ImportBatch, stream: IO[bytes]) -> int:
    """Write the batch's sheet with its problems as ``.xlsx`` to ``stream``; returns the number
    of data rows written."""
    headers = _file_headers(batch) or _staged_headers(batch)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title="校验结果")
    sheet.append([text_cell(sheet, h) for h in (*headers, ROW_NUMBER_HEADER, PROBLEMS_HEADER)])
    written = 0
    for number, raw, errors, warnings in _rows(batch):
        problems = [describe(p, "error") for p in errors] + [
            describe(p, "warning") for p in warnings
        ]
        cells = [raw.get(header, "") for header in headers]
        sheet.append(
            [text_cell(sheet, value) for value in (*cells, str(number), "；".join(problems))]
        )
        written += 1
    file_problems = batch_file_problems(batch=batch)
    if file_problems:
        notes = workbook.create_sheet(title=FILE_PROBLEMS_TITLE)
        notes.append([text_cell(notes, header) for header in FILE_PROBLEMS_HEADERS])
        for problem in file_problems:
            values = (
                "" if problem.get("row") is None else str(problem["row"]),
                problem.get("column") or "",
                problem.get("value") or "",
                problem.get("code") or "",
                problem.get("message") or "",
                LEVEL_LABELS.get(problem["level"], problem["level"]),
            )
            notes.append([text_cell(notes, value) for value in values])
    workbook.save(stream)
    return written


def error_sheet_name(batch: ImportBatch) -> str:
    stem = Path(batch.original_name).stem or f"batch{batch.pk}"
    return f"{stem}_校验结果.xlsx"
