"""Reading export files back in tests."""

from pathlib import Path

from django.conf import settings
from openpyxl import load_workbook

from lowbao.exports.models import ExportJob


def job_path(job: ExportJob) -> Path:
    return Path(settings.MEDIA_ROOT) / job.file


def read_cells(path: Path) -> list[list[object]]:
    """Every row of the first sheet as cell values (title row first, then headers, then data)."""
    workbook = load_workbook(path, read_only=True)
    try:
        return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_cell_types(path: Path) -> list[list[str]]:
    """openpyxl's data type of every cell ("s" string, "n" number, "f" formula)."""
    workbook = load_workbook(path)
    try:
        return [[cell.data_type for cell in row] for row in workbook.worksheets[0].iter_rows()]
    finally:
        workbook.close()


def data_rows(path: Path) -> list[dict[str, object]]:
    rows = read_cells(path)
    headers = rows[1]
    return [dict(zip(headers, row, strict=True)) for row in rows[2:]]
