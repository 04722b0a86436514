"""The bad-input corpus (quality.md R6, ledgers.md §1): every malformed file and cell of
``bad_inputs`` and ``corpus`` goes through ``import_ledger`` and gets exactly its errors (row,
column, code, a Chinese message), and nothing is written: the digest of every table an import may
write is the same before and after, and no staging table is left behind."""

import shutil
from pathlib import Path

import pytest

from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus
from tests.lowbao.imports import bad_inputs, corpus
from tests.lowbao.imports.bad_inputs import BASES, CELL_CASES, CellCase
from tests.lowbao.imports.database_digest import database_digest, staging_tables
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    ROSTER_HEADERS,
    roster_row,
    run_json,
    write_csv,
)
from tests.lowbao.people.factories import make_id_number

DATA = Path(__file__).resolve().parents[2] / "data" / "imports"
COUNTY_KINDS = {"dibao", "poverty"}


def _arguments(kind: str) -> list[str]:
    return ["--county", COUNTY] if kind in COUNTY_KINDS else []


def _problems(report: dict) -> list[tuple[int | None, str | None, str]]:
    return [(item["row"], item["column"], item["code"]) for item in report["errors"]]


def _state() -> tuple[str, list[int]]:
    applied = ImportBatch.objects.filter(status=ImportStatus.APPLIED).values_list("pk", flat=True)
    return database_digest(), sorted(applied)


def _nothing_written(before: tuple[str, list[int]]) -> None:
    assert _state() == before
    assert staging_tables() == []


# --- bad cells ------------------------------------------------------------------------------------


@pytest.mark.parametrize("case", CELL_CASES, ids=[f"{c.kind}-{c.name}" for c in CELL_CASES])
def test_a_bad_cell_is_reported_at_its_row_and_column_and_nothing_is_written(
    areas, tmp_path, case: CellCase
):
    if case.setup is not None:
        case.setup(areas, tmp_path)
    headers, base, title = BASES[case.kind]
    rows = base()
    case.change(rows)
    path = write_csv(tmp_path / f"{case.kind}.csv", headers, rows, title=title)
    before = _state()

    code, report = run_json(case.kind, str(path), *_arguments(case.kind), *case.arguments)

    assert _problems(report) == case.expected
    assert code == 1
    assert all(item["message"] for item in report["errors"])
    _nothing_written(before)


@pytest.mark.parametrize(
    "kind", sorted(BASES), ids=[f"{kind}-valid_base" for kind in sorted(BASES)]
)
def test_every_base_ledger_of_the_corpus_is_valid(areas, tmp_path, kind):
    """The cases above are bad because of their change, not because of their base."""
    headers, base, title = BASES[kind]
    path = write_csv(tmp_path / f"{kind}.csv", headers, base(), title=title)

    code, report = run_json(kind, str(path), *_arguments(kind), "--dry-run")

    assert (code, report["errors"]) == (0, [])


def test_the_corpus_covers_every_error_code_of_the_contract():
    contract = {
        "id_checksum",
        "id_birthdate",
        "id_numeric_cell",
        "id_missing",
        "duplicate_in_file",
        "duplicate_in_other_household",
        "area_unknown",
        "area_ambiguous",
        "area_out_of_scope",
        "household_no_head",
        "household_many_heads",
        "household_conflict",
        "required_missing",
        "bad_enum",
        "bad_number",
        "bad_date",
        "negative_amount",
    }
    covered = {code for case in CELL_CASES for _row, _column, code in case.expected}

    assert contract <= covered
    assert len(CELL_CASES) + len(FILE_CASES) + len(WHOLE_FILE_CASES) >= 200


# --- files that cannot be read (exit code 2) ---------------------------------------------------


def _huge_sheet_over_the_size_limit(directory: Path) -> Path:
    return corpus.write_large_xlsx(directory / "huge.xlsx", 3000)


FILE_CASES: list[tuple[str, object, str, dict]] = [
    *[(name, generate, code, {}) for name, generate, code in corpus.BAD_FILES],
    (
        "huge sheet past the size limit",
        _huge_sheet_over_the_size_limit,
        "file_too_large",
        {"LOWBAO_IMPORT_MAX_BYTES": 64 * 1024},
    ),
    (
        "huge sheet past the uncompressed limit",
        _huge_sheet_over_the_size_limit,
        "zip_bomb",
        {"LOWBAO_IMPORT_MAX_UNCOMPRESSED_BYTES": 256 * 1024},
    ),
]


@pytest.mark.parametrize(
    ("_case", "generate", "code", "limits"),
    FILE_CASES,
    ids=[f"file-{case}" for case, _generate, _code, _limits in FILE_CASES],
)
def test_a_file_that_cannot_be_read_exits_2_and_writes_nothing(
    areas, tmp_path, settings, _case, generate, code, limits
):
    for name, value in limits.items():
        setattr(settings, name, value)
    path = generate(tmp_path)
    before = _state()

    exit_code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert exit_code == 2
    assert _problems(report) == [(None, None, code)]
    assert report["errors"][0]["message"]
    assert ImportRow.objects.count() == 0
    _nothing_written(before)


def _roster_file(directory: Path, name: str, headers: list[str], **write: object) -> Path:
    rows = [roster_row("DB001", make_id_number()), roster_row("DB002", make_id_number())]
    return write_csv(directory / name, headers, rows, **write)


def _missing_column(directory: Path) -> Path:
    return _roster_file(directory, "no_id.csv", [h for h in ROSTER_HEADERS if h != "身份证号"])


def _header_below_row_30(directory: Path) -> Path:
    path = directory / "late_header.csv"
    lines = ["说明"] * 30 + [",".join(ROSTER_HEADERS)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _only_unknown_columns(directory: Path) -> Path:
    return write_csv(directory / "other.csv", ["名称", "数量"], [{"名称": "a", "数量": "1"}])


def _empty_csv(directory: Path) -> Path:
    path = directory / "blank.csv"
    path.write_text("\n\n ,, \n", encoding="utf-8")
    return path


def _unknown_encoding(directory: Path) -> Path:
    path = directory / "latin.csv"
    path.write_bytes("户编号,姓名,身份证号\n".encode() + b"\x81\x30\xff\xfe\n")
    return path


WHOLE_FILE_CASES: list[tuple[str, object, list[str], str]] = [
    ("required column missing", _missing_column, [], "header_not_found"),
    ("header below row 30", _header_below_row_30, [], "header_not_found"),
    ("only unknown columns", _only_unknown_columns, [], "header_not_found"),
    ("blank csv", _empty_csv, [], "sheet_empty"),
    ("csv in no known encoding", _unknown_encoding, [], "bad_encoding"),
    ("named sheet missing", corpus.write_roster_xlsx, ["--sheet", "第二页"], "sheet_not_found"),
    ("empty workbook sheet", corpus.write_empty_sheet, [], "sheet_empty"),
    ("no header row", corpus.write_no_header, [], "header_not_found"),
]


@pytest.mark.parametrize(
    ("_case", "generate", "arguments", "code"),
    WHOLE_FILE_CASES,
    ids=[f"whole-{case}" for case, _generate, _arguments, _code in WHOLE_FILE_CASES],
)
def test_a_file_without_a_readable_table_exits_2_and_writes_nothing(
    areas, tmp_path, _case, generate, arguments, code
):
    path = generate(tmp_path)
    before = _state()

    exit_code, report = run_json("dibao", str(path), "--county", COUNTY, *arguments)

    assert exit_code == 2
    assert _problems(report) == [(None, None, code)]
    _nothing_written(before)


# --- real files with bad cells ---------------------------------------------------------------

LIBREOFFICE_PROBLEMS = [(8, "身份证号", "id_checksum"), (9, "身份证号", "id_numeric_cell")]
LIBREOFFICE_WARNINGS = [(None, "序号", "unknown_column"), (11, None, "totals_row")]


@pytest.mark.parametrize("name", ["libreoffice_roster.xls", "libreoffice_roster.xlsx"])
def test_a_roster_saved_by_libreoffice_gets_exactly_its_errors(areas, tmp_path, name):
    path = Path(shutil.copy(DATA / name, tmp_path / name))
    before = _state()

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 1
    assert _problems(report) == LIBREOFFICE_PROBLEMS
    assert [(w["row"], w["column"], w["code"]) for w in report["warnings"]] == LIBREOFFICE_WARNINGS
    assert (report["rows"], report["households"]) == (7, 4)
    _nothing_written(before)


def test_a_libreoffice_roster_with_its_bad_household_skipped_writes_the_others(areas, tmp_path):
    """The merged household cells and the date cell were read: with "skip invalid" the three
    valid households are written whole (LO-001 with its three members)."""
    path = Path(shutil.copy(DATA / "libreoffice_roster.xlsx", tmp_path / "roster.xlsx"))

    code, report = run_json("dibao", str(path), "--county", COUNTY, "--skip-invalid")

    assert (code, report["created"], report["skipped_households"]) == (0, 3, 1)
    from cases.models import Household

    first = Household.objects.get(number="LO-001")
    assert (first.members.count(), str(first.monthly_amount), str(first.payment_start_month)) == (
        3,
        "680.00",
        "2016-07-01",
    )


def test_a_gbk_csv_gets_its_errors_in_chinese(areas, tmp_path):
    rows = [
        roster_row("DB001", make_id_number(), 民族="火星族"),
        roster_row("DB001", make_id_number(), "配偶", 月保障金额="七百"),
    ]
    path = tmp_path / "gbk.csv"
    write_csv(path, ROSTER_HEADERS, rows)
    path.write_bytes(path.read_text(encoding="utf-8-sig").encode("gbk"))
    before = _state()

    code, report = run_json("dibao", str(path), "--county", COUNTY)

    assert code == 1
    assert _problems(report) == [(3, "民族", "bad_enum"), (4, "月保障金额", "bad_number")]
    assert "火星族" in report["errors"][0]["message"]
    _nothing_written(before)


def test_the_corpus_module_lists_its_cases_once():
    names = [(case.kind, case.name) for case in bad_inputs.CELL_CASES]

    assert len(names) == len(set(names))
