"""Two shortcuts of the import's parse and what keeps them safe.

- The stored upload is scanned again when it is opened (``safety.check_stored``) unless this
  process passed that very content under the same extension and limits: the file the command
  line has just stored is not scanned twice, but a file swapped on disk since, a process that
  did not check it (a worker) and limits changed since are scanned in full.
- Staged roster rows are spooled and written after the read (a ``COPY`` kept open while the
  file is read, tried for P2, blocked the area lookups that follow the read): they stage what
  the rows held in memory stage, and a read that fails midway leaves nothing staged."""

import io
from pathlib import Path

import pytest

from lowbao.imports import readers, safety, staging, storage
from lowbao.imports.kinds import ImportOptions
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus
from lowbao.imports.pipeline import import_batch_create, import_batch_parse, import_batch_report
from lowbao.imports.safety import UnreadableFile
from tests.lowbao.imports.corpus import write_entity_bomb
from tests.lowbao.imports.database_digest import staging_tables
from tests.lowbao.imports.test_import_ledger_command import ROSTER_HEADERS, roster, roster_row
from tests.lowbao.imports.test_streaming_import import _households
from tests.lowbao.imports.test_upload_pages import xlsx_bytes


@pytest.fixture
def scans(monkeypatch) -> list[str]:
    """The names of the files the safety scan read, in order."""
    seen: list[str] = []
    real = safety._check_stream

    def counted(stream, name, *args):
        seen.append(name)
        return real(stream, name, *args)

    monkeypatch.setattr(safety, "_check_stream", counted)
    return seen


def _create(path: Path, areas) -> ImportBatch:
    return import_batch_create(
        actor=None, kind="dibao", path=path, county=areas.county, options=ImportOptions()
    )


def _xlsx_roster(tmp_path: Path) -> Path:
    path = tmp_path / "roster.xlsx"
    path.write_bytes(xlsx_bytes(ROSTER_HEADERS, _households(2)))
    return path


def _parsed(batch: ImportBatch) -> ImportBatch:
    batch = import_batch_parse(batch=batch)
    parsed = getattr(batch, "_parsed", None)
    if parsed is not None:
        parsed.close()
    return batch


# --- the stored file's safety scan ---------------------------------------------------------------


@pytest.mark.django_db
def test_the_file_this_process_just_stored_is_not_scanned_again_when_parsed(areas, tmp_path, scans):
    batch = _create(_xlsx_roster(tmp_path), areas)
    assert scans == ["roster.xlsx"]

    batch = _parsed(batch)

    assert batch.status == ImportStatus.PARSED
    assert scans == ["roster.xlsx"]


@pytest.mark.django_db
def test_a_stored_file_swapped_on_disk_is_scanned_and_refused(areas, tmp_path, scans):
    batch = _create(_xlsx_roster(tmp_path), areas)
    storage.delete(batch.file)
    storage.store_encrypted(io.BytesIO(write_entity_bomb(tmp_path).read_bytes()), batch.file)

    batch = _parsed(batch)

    assert (batch.status, batch.error_code) == (ImportStatus.REJECTED, "xml_entity")
    assert scans == ["roster.xlsx", Path(batch.file).name]


@pytest.mark.django_db
def test_a_process_that_did_not_check_the_file_scans_it(areas, tmp_path, scans, monkeypatch):
    batch = _create(_xlsx_roster(tmp_path), areas)
    monkeypatch.setattr(safety, "_PASSED", type(safety._PASSED)())  # a worker's fresh memory

    batch = _parsed(batch)

    assert batch.status == ImportStatus.PARSED
    assert scans == ["roster.xlsx", Path(batch.file).name]


@pytest.mark.django_db
def test_limits_changed_since_the_check_are_applied_to_the_stored_file(
    areas, tmp_path, scans, settings
):
    batch = _create(_xlsx_roster(tmp_path), areas)
    settings.LOWBAO_IMPORT_MAX_BYTES = 100

    batch = _parsed(batch)

    assert (batch.status, batch.error_code) == (ImportStatus.REJECTED, "file_too_large")
    assert len(scans) == 2


@pytest.mark.django_db
def test_a_csv_uploaded_under_another_extension_is_scanned_under_its_stored_name(
    areas, tmp_path, scans
):
    text = roster(tmp_path, _households(1)).read_bytes()
    path = tmp_path / "roster.txt"
    path.write_bytes(text)
    batch = _create(path, areas)

    batch = _parsed(batch)

    assert batch.status == ImportStatus.PARSED
    assert scans == ["roster.txt", Path(batch.file).name]


# --- rows streamed to PostgreSQL while the file is read ------------------------------------------


def _report_and_staging(areas, tmp_path: Path, rows: list[dict]) -> tuple[dict, list]:
    batch = _parsed(_create(roster(tmp_path, rows), areas))
    staged = list(
        ImportRow.objects.filter(batch=batch)
        .order_by("row_number")
        .values_list("row_number", "household", "raw", "match", "errors", "warnings")
    )
    return import_batch_report(ImportBatch.objects.get(pk=batch.pk)), staged


@pytest.mark.django_db(transaction=True)
def test_rows_staged_in_tables_stage_what_the_rows_held_in_memory_stage_without_an_open_copy(
    areas, tmp_path, settings, monkeypatch
):
    rows = _households(4)
    rows[1]["月保障金额"] = "abc"  # an error in the first household
    rows.append(roster_row("H0009", rows[4]["身份证号"]))  # a person twice
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 5000
    in_memory = _report_and_staging(areas, tmp_path, rows)
    ImportBatch.objects.all().delete()
    opened: list[str] = []
    real_open = staging.BulkWriter._open_copy

    def open_copy(self):
        if self._copy is None:
            opened.append(self.table)
        return real_open(self)

    monkeypatch.setattr(staging.BulkWriter, "_open_copy", open_copy)
    monkeypatch.setattr(staging, "SPOOL_LINES", 1)  # every row sent as it comes
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 2
    settings.LOWBAO_IMPORT_PROGRESS_ROWS = 3  # heartbeats pause the COPY twice

    streamed = _report_and_staging(areas, tmp_path, rows)

    assert streamed == in_memory
    assert [e["code"] for e in streamed[0]["errors"]] == ["bad_number", "duplicate_in_file"]
    # spooled and written at the end: a COPY held open while the file is read blocked the area
    # lookups that follow the read (test below)
    assert opened == []
    assert staging_tables() == []


@pytest.mark.django_db(transaction=True)
def test_a_read_failing_midway_leaves_the_connection_usable_and_nothing_staged(
    areas, tmp_path, settings, monkeypatch
):
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 2
    monkeypatch.setattr(staging, "SPOOL_LINES", 1)
    real_rows = readers.Table.rows

    def failing_rows(self):
        for count, row in enumerate(real_rows(self), start=1):
            if count == 6:
                raise UnreadableFile("bad_zip", "文件已损坏")
            yield row

    monkeypatch.setattr(readers.Table, "rows", failing_rows)

    batch = _parsed(_create(roster(tmp_path, _households(4)), areas))

    assert (batch.status, batch.error_code) == (ImportStatus.REJECTED, "bad_zip")
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.REJECTED
    assert not ImportRow.objects.filter(batch=batch).exists()
    assert staging_tables() == []


@pytest.mark.django_db(transaction=True)
def test_areas_looked_up_after_the_read_while_rows_streamed_get_the_same_errors(
    areas, tmp_path, settings, monkeypatch
):
    rows = _households(3)
    rows[2]["嘎查村代码"] = areas.other_county_village.code  # looked up once the file is read
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 5000
    in_memory = _report_and_staging(areas, tmp_path, rows)
    ImportBatch.objects.all().delete()
    monkeypatch.setattr(staging, "SPOOL_LINES", 1)  # the last rows still in an open COPY
    settings.LOWBAO_IMPORT_STAGE_IN_MEMORY_ROWS = 2

    streamed = _report_and_staging(areas, tmp_path, rows)

    assert streamed == in_memory
    assert [e["code"] for e in streamed[0]["errors"]] == ["area_out_of_scope"]
    assert staging_tables() == []
