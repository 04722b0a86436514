"""The ledger import pipeline (style B.6), shared by ``import_ledger`` and the upload page.

``import_batch_create`` → ``import_batch_parse`` → ``import_batch_apply`` → ``import_batch_report``.

- **One batch per file.** A batch is keyed by (kind, county, sha256 of the content): the same
  file uploaded twice is the same batch. A parsed or rejected batch is parsed again on the next
  run (the data it is checked against may have changed); an applied batch is final and is never
  applied twice, so importing the same file twice leaves the state of importing it once.
- **Staging.** Parsing streams the rows, validates them with the kind's validator and stores one
  ``ImportRow`` per data row (masked values, every problem), in bulk. It never writes domain
  tables.
- **Apply** claims the batch by a conditional update *inside* the transaction that writes the
  domain tables and the audit row, so a failure anywhere rolls everything back (quality.md R1),
  and a second worker finds nothing to claim. By default a file with any error writes nothing;
  with ``skip_invalid`` every household (person-level ledgers: row) with an error is left out
  whole, and the audit row records that choice and what was left out.
- The validated data is handed from parse to apply in memory when both run in one process (the
  command); otherwise apply reads the stored file again (staging never holds plain ID numbers).
"""

import hashlib
import shutil
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lowbao.areas.models import Area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.imports import readers
from lowbao.imports.kinds import (
    Counts,
    ImportOptions,
    LedgerKind,
    Row,
    Validation,
    get_kind,
    problem,
)
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus, JobStatus, RowMatch
from lowbao.imports.safety import UnreadableFile, check_file

STORAGE_DIR = "imports"
STAGING_BATCH = 2000
PROGRESS_EVERY = 10_000
KEPT_PROBLEMS = 200  # on the batch; the full list is in its rows
REPARSABLE = (
    ImportStatus.UPLOADED,
    ImportStatus.PARSED,
    ImportStatus.REJECTED,
    ImportStatus.FAILED,
)


class ImportErrorCode:
    UNKNOWN_KIND = "import_unknown_kind"
    COUNTY_REQUIRED = "import_county_required"
    ALREADY_APPLIED = "import_already_applied"
    NOT_READY = "import_not_ready"
    HAS_ERRORS = "import_has_errors"


def _digest(path: Path) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1024 * 1024), b""):
            sha.update(chunk)
            size += len(chunk)
    return sha.hexdigest(), size


def _store(path: Path, sha256: str, file_format: str) -> str:
    """Copy the file under MEDIA_ROOT/imports/, named by its content (stored once)."""
    relative = f"{STORAGE_DIR}/{sha256[:2]}/{sha256}.{file_format}"
    target = Path(settings.MEDIA_ROOT) / relative
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_suffix(".part")
        shutil.copyfile(path, partial)
        partial.replace(target)
    return relative


def _kind(code: str) -> LedgerKind:
    spec = get_kind(code)
    if spec is None:
        raise DomainError(code=ImportErrorCode.UNKNOWN_KIND, message=f"未知的台账类型“{code}”")
    return spec


def import_batch_create(
    *,
    actor: Any,
    kind: str,
    path: Path | str,
    county: Area | None,
    options: ImportOptions,
    original_name: str = "",
) -> ImportBatch:
    """The batch of this file (created, or the existing one for the same content).

    The safety check runs first: a file that cannot be read safely gives a REJECTED batch with
    the refusal's code (``error_code``) and is not stored. A missing file raises
    ``UnreadableFile``.
    """
    spec = _kind(kind)
    if spec.needs_county and county is None:
        raise DomainError(
            code=ImportErrorCode.COUNTY_REQUIRED, message=f"导入{spec.label}须指定旗县"
        )
    path = Path(path)
    refusal: UnreadableFile | None = None
    file_format = ""
    try:
        file_format = check_file(path)
    except UnreadableFile as exc:
        if not path.is_file():
            raise
        refusal = exc
    sha256, size = _digest(path)
    name = (original_name or path.name)[:255]
    stored = _store(path, sha256, file_format) if refusal is None else ""
    batch = ImportBatch.objects.filter(kind=kind, county=county, sha256=sha256).first()
    if batch is None:
        batch = ImportBatch(
            kind=kind,
            county=county,
            sha256=sha256,
            size=size,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
    elif batch.status in (ImportStatus.APPLIED, ImportStatus.APPLYING, ImportStatus.PARSING):
        return batch
    batch.original_name = name
    batch.options = options.as_json()
    if refusal is not None:
        batch.status = ImportStatus.REJECTED
        batch.error_code = refusal.code
        batch.errors = [problem(None, None, "", refusal.code, refusal.message)]
        batch.error_count = 1
        batch.warnings, batch.warning_count, batch.counts = [], 0, {}
    else:
        batch.file = stored
        batch.file_format = file_format
        batch.error_code = ""
    try:
        batch.save()
    except IntegrityError:
        # The same file uploaded concurrently: the other upload's batch is this file's batch.
        batch = ImportBatch.objects.get(kind=kind, county=county, sha256=sha256)
    return batch


# --- parse -----------------------------------------------------------------------------------


def _table_warnings(table: Any) -> list[dict[str, Any]]:
    found = [
        problem(None, str(column), "", "unknown_column", "未识别的列，已忽略")
        for column in table.unknown_columns
    ]
    found += [
        problem(None, str(column), "", "duplicate_column", "重复的列，只读取第一列")
        for column in getattr(table, "duplicate_columns", ())
    ]
    found += [
        problem(number, None, "", "totals_row", "合计行，已跳过") for number in table.skipped_totals
    ]
    return found


def _read(
    batch: ImportBatch, spec: LedgerKind, options: ImportOptions
) -> tuple[list[dict[str, Any]], list[Row]]:
    """Stream the stored file's data rows (``UnreadableFile`` when it cannot be read)."""
    path = Path(settings.MEDIA_ROOT) / batch.file
    rows: list[Row] = []
    with readers.open_table(
        path,
        sheet=options.sheet,
        required_headers=spec.required_headers,
        aliases=spec.aliases,
    ) as table:
        for sheet_row in table.rows():
            rows.append(Row(sheet_row.number, sheet_row.values, sheet_row.numeric_cells))
            if len(rows) % PROGRESS_EVERY == 0:
                ImportBatch.objects.filter(pk=batch.pk).update(rows_read=len(rows))
        warnings = _table_warnings(table)
    return warnings, rows


def _validate(
    batch: ImportBatch, spec: LedgerKind, options: ImportOptions
) -> tuple[Validation, list[Row]]:
    table_warnings, rows = _read(batch, spec, options)
    validation = spec.validate(rows, batch.county, options)
    validation.warnings = table_warnings + validation.warnings
    return validation, rows


def _by_row(problems: list[dict[str, Any]]) -> dict[int | None, list[dict[str, Any]]]:
    grouped: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for item in problems:
        grouped[item["row"]].append(item)
    return grouped


def _staged_rows(
    batch: ImportBatch, spec: LedgerKind, rows: list[Row], validation: Validation
) -> Iterator[ImportRow]:
    errors = _by_row(validation.errors)
    warnings = _by_row(validation.warnings)
    invalid_keys = {
        validation.row_keys.get(number, "") for number in errors if number is not None
    } - {""}
    for row in rows:
        key = validation.row_keys.get(row.number, "")
        if row.number in errors or (spec.household_ledger and key in invalid_keys):
            match = RowMatch.INVALID
        elif row.number in validation.matched_rows:
            match = RowMatch.MATCHED
        else:
            match = RowMatch.NEW
        yield ImportRow(
            batch=batch,
            row_number=row.number,
            household=key[:40],
            raw={
                column: spec.mask(column, value)
                for column, value in row.values.items()
                if value is not None and value != ""
            },
            match=match,
            errors=errors.get(row.number, []),
            warnings=warnings.get(row.number, []),
        )


def _stage(
    batch: ImportBatch, spec: LedgerKind, rows: list[Row], validation: Validation, *, fresh: bool
) -> None:
    if not fresh:  # a batch parsed before: its rows are replaced
        ImportRow.objects.filter(batch=batch).delete()
    chunk: list[ImportRow] = []
    for staged in _staged_rows(batch, spec, rows, validation):
        chunk.append(staged)
        if len(chunk) >= STAGING_BATCH:
            ImportRow.objects.bulk_create(chunk, batch_size=STAGING_BATCH)
            chunk = []
    ImportRow.objects.bulk_create(chunk, batch_size=STAGING_BATCH)


def _counts(validation: Validation, options: ImportOptions) -> dict[str, int]:
    return {
        "rows": validation.rows,
        "households": validation.households,
        "persons": validation.persons,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "skipped_households": validation.skipped if options.skip_invalid else 0,
    }


def _applicable(validation: Validation, options: ImportOptions) -> bool:
    return validation.is_valid or (options.skip_invalid and validation.units > 0)


def import_batch_parse(*, batch: ImportBatch) -> ImportBatch:
    """Read, validate and stage the batch's file: PARSED, or REJECTED with every problem.

    A duplicate delivery (the batch is being parsed or applied, or was applied) returns the
    batch as it is.
    """
    now = timezone.now()
    claim = {
        "status": ImportStatus.PARSING,
        "job_status": JobStatus.RUNNING,
        "started_at": now,
        "finished_at": None,
        "rows_read": 0,
    }
    # A batch never parsed has no staged rows to replace (one statement fewer on first upload).
    fresh = bool(
        ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.UPLOADED).update(**claim)
    )
    claimed = fresh or bool(
        ImportBatch.objects.filter(pk=batch.pk, status__in=REPARSABLE).update(**claim)
    )
    if not claimed:
        batch.refresh_from_db()
        return batch
    spec = _kind(batch.kind)
    options = ImportOptions.from_json(batch.options)
    try:
        validation, rows = _validate(batch, spec, options)
    except UnreadableFile as exc:
        _finish(batch, ImportStatus.REJECTED, error_code=exc.code)
        batch.errors = [problem(None, None, "", exc.code, exc.message)]
        batch.error_count, batch.warnings, batch.warning_count, batch.counts = 1, [], 0, {}
        batch.save()
        return batch
    except Exception:
        _finish(batch, ImportStatus.FAILED, job_status=JobStatus.FAILED)
        batch.save()
        raise
    _stage(batch, spec, rows, validation, fresh=fresh)
    batch.counts = _counts(validation, options)
    batch.errors = validation.errors[:KEPT_PROBLEMS]
    batch.warnings = validation.warnings[:KEPT_PROBLEMS]
    batch.error_count = len(validation.errors)
    batch.warning_count = len(validation.warnings)
    batch.rows_read = validation.rows
    status = ImportStatus.PARSED if _applicable(validation, options) else ImportStatus.REJECTED
    _finish(batch, status, error_code="")
    batch.save()
    batch.validation = validation  # type: ignore[attr-defined]  # handed to apply in-process
    batch.all_problems = (validation.errors, validation.warnings)  # type: ignore[attr-defined]
    return batch


def _finish(
    batch: ImportBatch,
    status: str,
    *,
    job_status: str = JobStatus.DONE,
    error_code: str | None = None,
) -> None:
    batch.status = status
    batch.job_status = job_status
    batch.finished_at = timezone.now()
    if error_code is not None:
        batch.error_code = error_code


# --- apply -----------------------------------------------------------------------------------


def _validation_for_apply(
    batch: ImportBatch, spec: LedgerKind, options: ImportOptions
) -> Validation:
    cached = getattr(batch, "validation", None)
    if cached is not None:
        return cached
    validation, _rows = _validate(batch, spec, options)
    return validation


def import_batch_trial(*, actor: Any, batch: ImportBatch) -> Counts:
    """What applying would create, update and leave unchanged, computed by applying inside a
    transaction that is rolled back (``--dry-run``): nothing is written."""
    spec = _kind(batch.kind)
    options = ImportOptions.from_json(batch.options)
    validation = _validation_for_apply(batch, spec, options)
    if batch.status != ImportStatus.PARSED or not _applicable(validation, options):
        return Counts()
    with transaction.atomic():
        counts = spec.apply(
            actor=actor,
            payload=validation.payload,
            county=batch.county,
            options=replace(options, dry_run=True),
            source_name=batch.original_name,
        )
        transaction.set_rollback(True)
    return counts


def import_batch_apply(*, actor: Any, batch: ImportBatch) -> ImportBatch:
    """Write the parsed batch, all or nothing, and mark it APPLIED (one audit row)."""
    if batch.status == ImportStatus.APPLIED:
        raise DomainError(
            code=ImportErrorCode.ALREADY_APPLIED,
            message=(
                f"该文件已于{timezone.localtime(batch.applied_at):%Y-%m-%d %H:%M}导入，不能重复导入"
            ),
            status=409,
        )
    spec = _kind(batch.kind)
    options = ImportOptions.from_json(batch.options)
    claimed = False
    try:
        with transaction.atomic():
            claimed = bool(
                ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PARSED).update(
                    status=ImportStatus.APPLYING, job_status=JobStatus.RUNNING
                )
            )
            if not claimed:
                batch.refresh_from_db()
                raise DomainError(
                    code=ImportErrorCode.NOT_READY,
                    message=f"该批次当前状态为“{batch.get_status_display()}”，不能导入",
                    status=409,
                )
            validation = _validation_for_apply(batch, spec, options)
            if not _applicable(validation, options):
                raise DomainError(
                    code=ImportErrorCode.HAS_ERRORS,
                    message=f"文件有 {len(validation.errors)} 处错误，未写入任何数据",
                )
            counts = spec.apply(
                actor=actor,
                payload=validation.payload,
                county=batch.county,
                options=options,
                source_name=batch.original_name,
            )
            now = timezone.now()
            ImportRow.objects.filter(batch=batch).exclude(match=RowMatch.INVALID).update(
                applied_at=now
            )
            batch.counts = {
                **_counts(validation, options),
                "created": counts.created,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
            }
            batch.applied_at = now
            batch.applied_by = actor if getattr(actor, "pk", None) else None
            _finish(batch, ImportStatus.APPLIED)
            batch.save()
            skipped_keys = sorted(
                {validation.row_keys.get(p["row"], "") for p in validation.errors} - {""}
            )
            record(
                actor=actor,
                action="import.apply",
                obj=batch,
                area=batch.county,
                changes={
                    "kind": batch.kind,
                    "file": batch.original_name,
                    "sha256": batch.sha256,
                    **batch.counts,
                    "skip_invalid": options.skip_invalid,
                    "errors": len(validation.errors),
                    "skipped": skipped_keys[:500] if options.skip_invalid else [],
                },
                actor_label="" if getattr(actor, "pk", None) else "system:import_ledger",
            )
    except Exception:
        if claimed:
            ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PARSED).update(
                status=ImportStatus.FAILED, job_status=JobStatus.FAILED, finished_at=timezone.now()
            )
            batch.refresh_from_db()
        raise
    return batch


# --- report ----------------------------------------------------------------------------------


def _problems(batch: ImportBatch) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    cached = getattr(batch, "all_problems", None)
    if cached is not None:
        return cached
    errors = [p for p in batch.errors if p.get("row") is None]
    warnings = [p for p in batch.warnings if p.get("row") is None]
    for row_errors, row_warnings in ImportRow.objects.filter(batch=batch).values_list(
        "errors", "warnings"
    ):
        errors.extend(row_errors)
        warnings.extend(row_warnings)
    return errors, warnings


def import_batch_report(batch: ImportBatch, *, counts: Counts | None = None) -> dict[str, Any]:
    """The contracts.md JSON object of a batch. ``counts`` overrides the stored write counts
    (a dry run's trial counts)."""
    options = ImportOptions.from_json(batch.options)
    stored = batch.counts or {}
    errors, warnings = _problems(batch)
    written = counts or Counts(
        created=stored.get("created", 0),
        updated=stored.get("updated", 0),
        unchanged=stored.get("unchanged", 0),
    )
    return {
        "kind": batch.kind,
        "file": batch.original_name,
        "county": batch.county.code if batch.county_id else None,
        "dry_run": options.dry_run,
        "rows": stored.get("rows", 0),
        "households": stored.get("households", 0),
        "persons": stored.get("persons", 0),
        "created": written.created,
        "updated": written.updated,
        "unchanged": written.unchanged,
        "skipped_households": stored.get("skipped_households", 0),
        "errors": errors,
        "warnings": warnings,
    }


def import_batch_replay_report(batch: ImportBatch, *, dry_run: bool) -> dict[str, Any]:
    """The report for a file that was already applied: nothing written, everything unchanged."""
    report = import_batch_report(batch)
    stored = batch.counts or {}
    report.update(
        dry_run=dry_run,
        created=0,
        updated=0,
        unchanged=stored.get("created", 0) + stored.get("updated", 0) + stored.get("unchanged", 0),
    )
    applied = timezone.localtime(batch.applied_at) if batch.applied_at else None
    when = f"于{applied:%Y-%m-%d %H:%M}" if applied else ""
    report["warnings"] = [
        problem(
            None, None, "", "already_imported", f"该文件已{when}导入（批次 {batch.pk}），未重复写入"
        ),
        *report["warnings"],
    ]
    return report
