"""The ledger import pipeline (style B.6), shared by ``import_ledger`` and the upload page.

``import_batch_create`` → ``import_batch_parse`` → ``import_batch_apply`` → ``import_batch_report``
(``import_batch_trial``: the apply, rolled back).

- **One batch per file.** A batch is keyed by (kind, county, sha256 of the content): the same
  file uploaded twice is the same batch. A parsed or rejected batch is parsed again on the next
  run (the data it is checked against may have changed); an applied batch is final and is never
  applied twice, so importing the same file twice leaves the state of importing it once.
- **Staging.** Parsing streams the rows, validates them with the kind's validator and stores one
  ``ImportRow`` per data row (masked values, every problem), written with one ``COPY`` on
  PostgreSQL. It never writes domain tables. Kinds with a ``stream`` (the dibao roster) keep
  memory flat in the number of rows: their run stages the rows in temporary tables (encrypted,
  no plain ID numbers) and checks households and duplicates set-based (quality.md P3, P4); the
  others get all rows in memory. The batch keeps every count and its first ``KEPT_PROBLEMS``
  problems; the report reads the rest from staging.
- **Apply** claims the batch by a conditional update *inside* the transaction that writes the
  domain tables and the audit row, so a failure anywhere rolls everything back (quality.md R1),
  and a second worker finds nothing to claim. By default a file with any error writes nothing;
  with ``skip_invalid`` every household (person-level ledgers: row) with an error is left out
  whole, and the audit row records that choice and what was left out.
- The validated data is handed from parse to apply when both run in one process on one database
  connection (the command; the run's temporary tables are still there); otherwise apply
  validates the stored file again.
- **Stored file.** The upload is kept encrypted (``lowbao.imports.storage``) and read back
  decrypted in memory; its name and the batch key stay the SHA-256 of the plain content.
- **Claims and dead workers** (quality.md R3). A parse claims the batch by a conditional update
  that sets ``claimed_at`` and a fresh ``claim_token``; progress refreshes ``claimed_at`` (a
  heartbeat) and the result is saved only while the token is still the batch's. A batch left
  PARSING by a killed worker is claimed again — by the redelivered task or a new check — once its
  claim is older than ``LOWBAO_IMPORT_STALE_SECONDS`` (default: a little above the tasks' hard
  time limit, so a live worker's claim is never taken over); ``claim_wait_seconds`` tells a
  redelivered task how long to wait. Apply claims inside its transaction: a killed apply leaves
  the batch PARSED and nothing written, so it can be applied again at once; an APPLYING batch
  with a stale claim (only ever left by a crash between commit boundaries) is claimed again too.
"""

import contextlib
import hashlib
import heapq
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from lowbao.areas.models import Area
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from lowbao.imports import readers, storage
from lowbao.imports.kinds import (
    SKIPPED_KEYS_KEPT,
    Counts,
    ImportOptions,
    LedgerKind,
    Row,
    RowOutcome,
    StreamingRun,
    StreamSummary,
    Validation,
    get_kind,
    problem,
)
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus, JobStatus, RowMatch
from lowbao.imports.safety import UnreadableFile, check_file, remember_passed
from lowbao.imports.staging import BulkWriter, drop_leftovers

logger = logging.getLogger(__name__)

STORAGE_DIR = storage.STORAGE_DIR
PROGRESS_EVERY = 10_000  # rows between progress updates (``LOWBAO_IMPORT_PROGRESS_ROWS``)
DEFAULT_TASK_TIME_LIMIT = 2 * 3600
STALE_MARGIN_SECONDS = 300
FILE_GONE_MESSAGE = "服务器上保存的原文件已不存在（超过保存期限已删除），请重新上传该文件"
KEPT_PROBLEMS = 200  # on the batch; the full list is in its rows
REPORT_FETCH_ROWS = 5000
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


def _digest(stream: BinaryIO) -> tuple[str, int]:
    sha = hashlib.sha256()
    size = 0
    stream.seek(0)
    for chunk in iter(lambda: stream.read(1024 * 1024), b""):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def _store(stream: BinaryIO, sha256: str, file_format: str) -> str:
    """Store the file encrypted under MEDIA_ROOT/imports/, named by its plain content's digest
    (stored once)."""
    relative = f"{STORAGE_DIR}/{sha256[:2]}/{sha256}.{file_format}"
    storage.store_encrypted(stream, relative)
    return relative


# --- claims ----------------------------------------------------------------------------------


def task_time_limit() -> int:
    """The import tasks' hard time limit (seconds)."""
    return int(getattr(settings, "LOWBAO_IMPORT_TASK_TIME_LIMIT", DEFAULT_TASK_TIME_LIMIT))


def stale_seconds() -> int:
    """How old a claim must be to be taken over: above the hard time limit by default, since a
    worker alive past that limit has been killed by Celery itself."""
    configured = getattr(settings, "LOWBAO_IMPORT_STALE_SECONDS", None)
    if configured is not None:
        return int(configured)
    return task_time_limit() + STALE_MARGIN_SECONDS


def _stale_claim(now: datetime) -> Q:
    return Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - timedelta(seconds=stale_seconds()))


def claim_is_stale(batch: ImportBatch, *, now: datetime | None = None) -> bool:
    """The batch is PARSING or APPLYING under a claim nobody has refreshed for the stale limit
    (its worker is gone)."""
    if batch.status not in (ImportStatus.PARSING, ImportStatus.APPLYING):
        return False
    now = now or timezone.now()
    return batch.claimed_at is None or batch.claimed_at < now - timedelta(seconds=stale_seconds())


def claim_wait_seconds(batch: ImportBatch, *, now: datetime | None = None) -> float:
    """Seconds until the batch's PARSING claim goes stale (0 when it is stale or there is no
    claim to wait for): how long a redelivered parse waits before it takes the batch over."""
    if batch.status != ImportStatus.PARSING or claim_is_stale(batch, now=now):
        return 0.0
    assert batch.claimed_at is not None  # noqa: S101 - not stale, so set
    now = now or timezone.now()
    deadline = batch.claimed_at + timedelta(seconds=stale_seconds())
    return max(0.0, (deadline - now).total_seconds())


def _heartbeat(batch: ImportBatch, **values: Any) -> None:
    """Refresh the claim (and record ``values``) while it is still this worker's."""
    ImportBatch.objects.filter(pk=batch.pk, claim_token=batch.claim_token).update(
        claimed_at=timezone.now(), **values
    )
    _test_pause()


def _test_pause() -> None:
    """Tests that kill a worker mid-job only: sleep after each step so the kill lands inside."""
    pause = float(getattr(settings, "LOWBAO_IMPORT_TEST_PAUSE_SECONDS", 0) or 0)
    if pause > 0:
        time.sleep(pause)


def _progress_rows() -> int:
    return max(1, int(getattr(settings, "LOWBAO_IMPORT_PROGRESS_ROWS", PROGRESS_EVERY)))


def _kind(code: str) -> LedgerKind:
    spec = get_kind(code)
    if spec is None:
        raise DomainError(code=ImportErrorCode.UNKNOWN_KIND, message=f"未知的台账类型“{code}”")
    return spec


def import_batch_create(
    *,
    actor: Any,
    kind: str,
    path: Path | str | BinaryIO,
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
    if isinstance(path, str | Path):
        path = Path(path)
        if not path.is_file():
            check_file(path)  # refuses it: "not_a_spreadsheet", the file cannot be opened
        with path.open("rb") as stream:
            return import_batch_create(
                actor=actor,
                kind=kind,
                path=stream,
                county=county,
                options=options,
                original_name=original_name or path.name,
            )
    stream = path
    name = (original_name or str(getattr(stream, "name", "")) or "upload")[:255]
    refusal: UnreadableFile | None = None
    file_format = ""
    try:
        file_format = check_file(stream, name=name)
    except UnreadableFile as exc:
        refusal = exc
    sha256, size = _digest(stream)
    stored = ""
    if refusal is None:
        stored = _store(stream, sha256, file_format)
        # opening the stored file to parse it in this process need not scan it again
        remember_passed(sha256, name=name, kind=file_format)
    batch = ImportBatch.objects.filter(kind=kind, county=county, sha256=sha256).first()
    if batch is None:
        batch = ImportBatch(
            kind=kind,
            county=county,
            sha256=sha256,
            size=size,
            uploaded_by=actor if getattr(actor, "pk", None) else None,
        )
    elif batch.status in (ImportStatus.APPLIED, ImportStatus.APPLYING) or (
        batch.status == ImportStatus.PARSING and not claim_is_stale(batch)
    ):
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

TABLE_WARNING_CODES = frozenset({"unknown_column", "duplicate_column", "totals_row"})


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


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


class _Problems:
    """Counts every problem and keeps the first ``KEPT_PROBLEMS`` of each kind in report order
    (by row, then column), whatever order the rows come in: a bounded heap, not a list of all."""

    def __init__(self, table_warnings: list[dict[str, Any]]) -> None:
        self.table_warnings = table_warnings
        self.table_errors: list[dict[str, Any]] = []  # problems of the whole file (row None)
        self.error_count = 0
        self.warning_count = len(table_warnings)
        self._errors: list[tuple[int, int, int, dict[str, Any]]] = []
        self._warnings: list[tuple[int, int, int, dict[str, Any]]] = []
        self._seq = 0

    def add(self, row: int, errors: list[dict[str, Any]], warnings: list[dict[str, Any]]) -> None:
        self.error_count += len(errors)
        self.warning_count += len(warnings)
        for heap, items in ((self._errors, errors), (self._warnings, warnings)):
            for index, item in enumerate(items):
                self._seq += 1
                entry = (-row, -index, -self._seq, item)
                if len(heap) < KEPT_PROBLEMS:
                    heapq.heappush(heap, entry)
                elif entry > heap[0]:
                    heapq.heapreplace(heap, entry)

    @staticmethod
    def _ordered(heap: list[tuple[int, int, int, dict[str, Any]]]) -> list[dict[str, Any]]:
        return [entry[3] for entry in sorted(heap, reverse=True)]

    def first_errors(self) -> list[dict[str, Any]]:
        return self._ordered(self._errors)

    def first_warnings(self) -> list[dict[str, Any]]:
        return (self.table_warnings + self._ordered(self._warnings))[:KEPT_PROBLEMS]


@dataclass
class _Parsed:
    """A validated file: its counts, its first problems and what apply needs (the in-memory
    validation of a collecting kind, or the staging of a streaming kind's run)."""

    summary: StreamSummary
    problems: _Problems
    validation: Validation | None = None
    run: StreamingRun | None = None

    @property
    def is_valid(self) -> bool:
        return self.problems.error_count == 0

    def applicable(self, options: ImportOptions) -> bool:
        return self.is_valid or (options.skip_invalid and self.summary.units > 0)

    def counts(self, options: ImportOptions) -> dict[str, int]:
        return {
            "rows": self.summary.rows,
            "households": self.summary.households,
            "persons": self.summary.persons,
            "created": 0,
            "updated": 0,
            "unchanged": 0,
            "skipped_households": self.summary.skipped if options.skip_invalid else 0,
        }

    def is_alive(self) -> bool:
        return self.run is None or self.run.is_alive()

    def apply(
        self, *, actor: Any, spec: LedgerKind, batch: ImportBatch, options: ImportOptions
    ) -> Counts:
        if self.run is not None:
            return self.run.apply(actor=actor, options=options, source_name=batch.original_name)
        assert self.validation is not None  # noqa: S101 - one of the two is always set
        return spec.apply(
            actor=actor,
            payload=self.validation.payload,
            county=batch.county,
            options=options,
            source_name=batch.original_name,
        )

    def close(self) -> None:
        if self.run is not None:
            self.run.close()


def open_stored(batch: ImportBatch) -> Any:
    """The batch's stored file, decrypted, as a binary file object (the caller closes it).
    Raises ``UnreadableFile`` when it is gone (purged) or cannot be decrypted."""
    if not batch.file:
        raise UnreadableFile("stored_file_missing", FILE_GONE_MESSAGE)
    try:
        return storage.open_decrypted(batch.file)
    except FileNotFoundError:
        raise UnreadableFile("stored_file_missing", FILE_GONE_MESSAGE) from None


def _open(batch: ImportBatch, spec: LedgerKind, options: ImportOptions) -> readers.Table:
    return readers.open_table(
        open_stored(batch),
        name=Path(batch.file).name,
        sheet=options.sheet,
        required_headers=spec.required_headers,
        aliases=spec.aliases,
        sha256=batch.sha256,
    )


def _progress(batch: ImportBatch, count: int) -> None:
    """The heartbeat, with the rows read so far, every ``_progress_rows()`` rows."""
    if count % _progress_rows() == 0:
        _heartbeat(batch, rows_read=count)


def _parse(
    batch: ImportBatch, spec: LedgerKind, options: ImportOptions, *, staged: BulkWriter | None
) -> _Parsed:
    """Read and validate the stored file; with ``staged``, write one ``ImportRow`` per data row
    through it. Raises ``UnreadableFile`` when the file cannot be read."""
    if spec.stream is not None:
        return _parse_streaming(batch, spec, options, staged=staged)
    return _parse_collecting(batch, spec, options, staged=staged)


def _parse_streaming(
    batch: ImportBatch, spec: LedgerKind, options: ImportOptions, *, staged: BulkWriter | None
) -> _Parsed:
    """Memory flat in the rows: the kind's run stages each row as it is read and gives the
    outcomes back household by household (quality.md P3)."""
    assert spec.stream is not None  # noqa: S101 - checked by _parse
    drop_leftovers()
    run = spec.stream(batch.county, options)
    try:
        count = 0
        every = _progress_rows()  # read once: this loop runs for every row
        with _open(batch, spec, options) as table:
            for sheet_row in table.rows():
                row = Row(sheet_row.number, sheet_row.values, sheet_row.numeric_cells)
                run.add(row, spec.raw(row) if staged is not None else "{}")
                count += 1
                if count % every == 0:
                    run.pause()  # the heartbeat needs the connection the run may write through
                    _heartbeat(batch, rows_read=count)
            problems = _Problems(_table_warnings(table))
        # Rows staged in tables are read back through a server-side cursor: in a transaction it
        # streams (a holdable one, outside, would first copy the whole result).
        with transaction.atomic() if run.uses_tables else contextlib.nullcontext():
            for outcome in run.outcomes():
                problems.add(outcome.row, outcome.errors, outcome.warnings)
                if staged is not None and not outcome.staged:
                    staged.add(_import_row(batch, outcome))
            if staged is not None:
                staged.flush()
                run.stage_rows(batch.pk)
    except BaseException:
        run.close()
        raise
    return _Parsed(summary=run.summary, problems=problems, run=run)


def _import_row(batch: ImportBatch, outcome: RowOutcome) -> tuple[Any, ...]:
    return (
        batch.pk,
        outcome.row,
        outcome.household[:40],
        outcome.raw,
        outcome.match,
        _json(outcome.errors) if outcome.errors else "[]",
        _json(outcome.warnings) if outcome.warnings else "[]",
    )


def _parse_collecting(
    batch: ImportBatch, spec: LedgerKind, options: ImportOptions, *, staged: BulkWriter | None
) -> _Parsed:
    """Every row in memory, validated by the kind at once (the person-level ledgers, the
    registry snapshot and the small reference ledgers)."""
    rows: list[Row] = []
    with _open(batch, spec, options) as table:
        for sheet_row in table.rows():
            rows.append(Row(sheet_row.number, sheet_row.values, sheet_row.numeric_cells))
            _progress(batch, len(rows))
        problems = _Problems(_table_warnings(table))
    validation = spec.validate(rows, batch.county, options)
    problems.table_warnings += [w for w in validation.warnings if w["row"] is None]
    problems.warning_count += sum(1 for w in validation.warnings if w["row"] is None)
    for outcome in _outcomes(spec, rows, validation):
        problems.add(outcome.row, outcome.errors, outcome.warnings)
        if staged is not None:
            staged.add(_import_row(batch, outcome))
    if staged is not None:
        staged.flush()
    problems.error_count += sum(1 for e in validation.errors if e["row"] is None)
    problems.table_errors = [e for e in validation.errors if e["row"] is None]
    invalid_keys = {validation.row_keys.get(p["row"], "") for p in validation.errors} - {""}
    summary = StreamSummary(
        rows=validation.rows,
        households=validation.households,
        persons=validation.persons,
        units=validation.units,
        skipped=validation.skipped,
        error_count=len(validation.errors),
        skipped_keys=sorted(invalid_keys)[:SKIPPED_KEYS_KEPT],
    )
    return _Parsed(summary=summary, problems=problems, validation=validation)


def _by_row(problems: list[dict[str, Any]]) -> dict[int | None, list[dict[str, Any]]]:
    grouped: dict[int | None, list[dict[str, Any]]] = defaultdict(list)
    for item in problems:
        grouped[item["row"]].append(item)
    return grouped


def _outcomes(spec: LedgerKind, rows: list[Row], validation: Validation) -> Iterator[RowOutcome]:
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
        yield RowOutcome(
            row.number,
            key,
            spec.raw(row),
            match,
            errors.get(row.number, []),
            warnings.get(row.number, []),
        )


PARSE_FIELDS = (
    "status",
    "job_status",
    "finished_at",
    "error_code",
    "counts",
    "errors",
    "warnings",
    "error_count",
    "warning_count",
    "rows_read",
)


def _claim_parse(batch: ImportBatch, *, take_over: str) -> tuple[bool, bool]:
    """(claimed, fresh): the conditional update that makes this worker the batch's parser."""
    now = timezone.now()
    token = uuid.uuid4().hex
    claim = {
        "status": ImportStatus.PARSING,
        "job_status": JobStatus.RUNNING,
        "started_at": now,
        "finished_at": None,
        "rows_read": 0,
        "claimed_at": now,
        "claim_token": token,
        "updated_at": now,
    }
    batches = ImportBatch.objects.filter(pk=batch.pk)
    if take_over:  # a redelivered parse: only the dead claim it waited for
        fresh = False
        claimed = bool(
            batches.filter(status=ImportStatus.PARSING, claim_token=take_over)
            .filter(_stale_claim(now))
            .update(**claim)
        )
    else:
        # A batch never parsed has no staged rows to replace (one statement fewer on first
        # upload).
        fresh = bool(batches.filter(status=ImportStatus.UPLOADED).update(**claim))
        claimed = fresh or bool(
            batches.filter(
                Q(status__in=REPARSABLE) | (Q(status=ImportStatus.PARSING) & _stale_claim(now))
            ).update(**claim)
        )
    if claimed:
        for name, value in claim.items():
            setattr(batch, name, value)
    return claimed, fresh


def _save_parse(batch: ImportBatch, token: str) -> bool:
    """Save the parse's result and release the claim, if the claim is still ours."""
    values = {name: getattr(batch, name) for name in PARSE_FIELDS}
    saved = ImportBatch.objects.filter(pk=batch.pk, claim_token=token).update(
        **values, claim_token="", updated_at=timezone.now()
    )
    if not saved:
        logger.warning("import batch %s: claim taken over meanwhile, result dropped", batch.pk)
        batch.refresh_from_db()
        return False
    batch.claim_token = ""
    return True


def import_batch_parse(*, batch: ImportBatch, take_over: str = "") -> ImportBatch:
    """Read, validate and stage the batch's file: PARSED, or REJECTED with every problem.

    A duplicate delivery (the batch is being parsed or applied, or was applied) returns the
    batch as it is; a batch left PARSING by a dead worker (stale claim) is parsed again. With
    ``take_over`` (the claim token a redelivered task waited for) only that dead claim is taken
    over: a batch parsed meanwhile is left alone. A parsed batch keeps its validated staging on
    this database connection, so that applying it in the same process does not read the file
    again.
    """
    claimed, fresh = _claim_parse(batch, take_over=take_over)
    if not claimed:
        batch.refresh_from_db()
        return batch
    token = batch.claim_token
    spec = _kind(batch.kind)
    options = ImportOptions.from_json(batch.options)
    staged = BulkWriter(
        ImportRow._meta.db_table,
        ["batch_id", "row_number", "household", "raw", "match", "errors", "warnings"],
    )
    try:
        if not fresh:  # a batch parsed before (or by a dead worker): its rows are replaced
            ImportRow.objects.filter(batch=batch).delete()
        _test_pause()
        parsed = _parse(batch, spec, options, staged=staged)
    except UnreadableFile as exc:
        _finish(batch, ImportStatus.REJECTED, error_code=exc.code)
        batch.errors = [problem(None, None, "", exc.code, exc.message)]
        batch.error_count, batch.warnings, batch.warning_count, batch.counts = 1, [], 0, {}
        batch.rows_read = 0
        _save_parse(batch, token)
        return batch
    except Exception:
        _finish(batch, ImportStatus.FAILED, job_status=JobStatus.FAILED)
        _save_parse(batch, token)
        raise
    finally:
        staged.close()
    problems = parsed.problems
    batch.counts = parsed.counts(options)
    batch.errors = (problems.table_errors + problems.first_errors())[:KEPT_PROBLEMS]
    batch.warnings = problems.first_warnings()
    batch.error_count = problems.error_count
    batch.warning_count = problems.warning_count
    batch.rows_read = parsed.summary.rows
    applicable = parsed.applicable(options)
    _test_pause()  # the rows are staged: a kill here leaves PARSING, to be taken over
    _finish(batch, ImportStatus.PARSED if applicable else ImportStatus.REJECTED, error_code="")
    if _save_parse(batch, token) and applicable:
        batch._parsed = parsed  # type: ignore[attr-defined]  # handed to apply in-process
    else:
        parsed.close()
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


def _parsed_for_apply(batch: ImportBatch, spec: LedgerKind, options: ImportOptions) -> _Parsed:
    """The validation handed over by the parse in this process, if its staging is still there;
    else the stored file validated again (against today's data)."""
    parsed: _Parsed | None = getattr(batch, "_parsed", None)
    if parsed is not None and parsed.is_alive():
        return parsed
    parsed = _parse(batch, spec, options, staged=None)
    batch._parsed = parsed  # type: ignore[attr-defined]
    return parsed


def import_batch_trial(*, actor: Any, batch: ImportBatch) -> Counts:
    """What applying would create, update and leave unchanged, computed by applying inside a
    transaction that is rolled back (``--dry-run``): nothing is written."""
    if batch.status != ImportStatus.PARSED:
        return Counts()
    spec = _kind(batch.kind)
    options = ImportOptions.from_json(batch.options)
    parsed = _parsed_for_apply(batch, spec, options)
    if not parsed.applicable(options):
        return Counts()
    with transaction.atomic():
        counts = parsed.apply(
            actor=actor, spec=spec, batch=batch, options=replace(options, dry_run=True)
        )
        transaction.set_rollback(True)
    return counts


def import_batch_apply(*, actor: Any, batch: ImportBatch) -> ImportBatch:
    """Write the parsed batch, all or nothing, and mark it APPLIED (one audit row).

    The claim (PARSED → APPLYING, or a stale APPLYING claim) is made inside the transaction that
    writes, so a worker killed mid-apply leaves the batch PARSED with nothing written and a
    second worker waits on the row lock, then finds the batch APPLIED and is refused: a batch is
    never applied twice."""
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
            now = timezone.now()
            token = uuid.uuid4().hex
            claimed = bool(
                ImportBatch.objects.filter(pk=batch.pk)
                .filter(
                    Q(status=ImportStatus.PARSED)
                    | (Q(status=ImportStatus.APPLYING) & _stale_claim(now))
                )
                .update(
                    status=ImportStatus.APPLYING,
                    job_status=JobStatus.RUNNING,
                    claimed_at=now,
                    claim_token=token,
                )
            )
            if not claimed:
                batch.refresh_from_db()
                raise DomainError(
                    code=ImportErrorCode.NOT_READY,
                    message=f"该批次当前状态为“{batch.get_status_display()}”，不能导入",
                    status=409,
                )
            batch.status, batch.claimed_at, batch.claim_token = ImportStatus.APPLYING, now, token
            _test_pause()
            parsed = _parsed_for_apply(batch, spec, options)
            if not parsed.applicable(options):
                raise DomainError(
                    code=ImportErrorCode.HAS_ERRORS,
                    message=f"文件有 {parsed.problems.error_count} 处错误，未写入任何数据",
                )
            counts = parsed.apply(actor=actor, spec=spec, batch=batch, options=options)
            _test_pause()  # the domain tables are written, not committed yet
            now = timezone.now()
            # the rows written are the batch's rows that are not invalid (ImportRow.written):
            # no per-row stamp, one statement fewer per import (quality.md P4)
            batch.counts = {
                **parsed.counts(options),
                "created": counts.created,
                "updated": counts.updated,
                "unchanged": counts.unchanged,
            }
            batch.applied_at = now
            batch.applied_by = actor if getattr(actor, "pk", None) else None
            batch.claim_token = ""
            _finish(batch, ImportStatus.APPLIED)
            batch.save()
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
                    "errors": parsed.problems.error_count,
                    "skipped": parsed.summary.skipped_keys if options.skip_invalid else [],
                },
                actor_label="" if getattr(actor, "pk", None) else "system:import_ledger",
            )
            parsed.close()
            batch._parsed = None  # type: ignore[attr-defined]
    except Exception:
        if claimed:
            ImportBatch.objects.filter(
                pk=batch.pk, status__in=(ImportStatus.PARSED, ImportStatus.APPLYING)
            ).update(
                status=ImportStatus.FAILED,
                job_status=JobStatus.FAILED,
                finished_at=timezone.now(),
                claim_token="",
            )
            batch.refresh_from_db()
        raise
    return batch


# --- report ----------------------------------------------------------------------------------


def _problems(batch: ImportBatch) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every problem of the batch, in report order: those of the whole file (kept on the batch),
    then each row's from staging, by row number (streamed, only the rows that have any)."""
    errors = [p for p in batch.errors if p.get("row") is None]
    warnings = [
        p for p in batch.warnings if p.get("row") is None or p.get("code") in TABLE_WARNING_CODES
    ]
    if batch.error_count > len(errors) or batch.warning_count > len(warnings):
        rows = (
            ImportRow.objects.filter(batch=batch)
            .filter(Q(match=RowMatch.INVALID) | ~Q(warnings=[]))
            .order_by("row_number")
            .values_list("errors", "warnings")
        )
        for row_errors, row_warnings in rows.iterator(chunk_size=REPORT_FETCH_ROWS):
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
