"""The ledger kinds ``import_ledger`` and the upload page accept (ledgers.md §2–§6).

A kind says which headers its file must have, how to validate the rows (every rule, every
problem reported with row, column, code and message; never a write) and how to apply the valid
part (set-based, inside the pipeline's transaction). This module is the composition root of the
import pipeline: the one kernel module that knows the domain apps' validators and services. The
``dibao`` kind lives with its models in ``cases.roster_import`` and is looked up by path, so that
``cases`` can import the types below without an import cycle.

Two ways to validate: ``validate`` gets every row at once (the person-level ledgers, the registry
snapshot, the reference ledgers: files of bounded size); a kind with a ``stream`` (the roster)
gets its rows one by one through a ``StreamingRun`` that stages them in temporary tables, so that
memory stays flat and the statements do not grow with the rows (quality.md P3, P4).
"""

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache, cached_property
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from cases.models import GuaranteeStandard
from lowbao.areas.models import Area, AreaLevel
from lowbao.audit.services import record
from lowbao.imports.cells import CellError, normalise_text, parse_date, parse_money
from lowbao.people.masking import mask_bank_account, mask_id_number, mask_value_in_text
from poverty import validation as registry_validation
from poverty import verification_validation as vv
from poverty.models import RegistryHousehold, RegistrySnapshotEntry
from poverty.services.disability import disability_records_apply
from poverty.services.registry import registry_snapshot_apply
from poverty.services.verification import verification_reports_apply

VALUE_DISPLAY_LENGTH = 60
SHORTEST_ID_NUMBER = 15  # first-generation numbers; 18 otherwise


# --- types shared by every kind ---------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    skip_invalid: bool = False
    sheet: str | None = None
    snapshot_date: date | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "skip_invalid": self.skip_invalid,
            "sheet": self.sheet,
            "snapshot_date": self.snapshot_date.isoformat() if self.snapshot_date else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ImportOptions":
        snapshot = data.get("snapshot_date")
        return cls(
            dry_run=bool(data.get("dry_run")),
            skip_invalid=bool(data.get("skip_invalid")),
            sheet=data.get("sheet") or None,
            snapshot_date=date.fromisoformat(snapshot) if snapshot else None,
        )


@dataclass(frozen=True)
class Row:
    """A data row as the pipeline hands it to a kind: spreadsheet row number, canonical header →
    raw cell value, and the headers whose cell Excel stored as a number."""

    number: int
    values: dict[str, Any]
    numeric_cells: frozenset[str] = frozenset()


@dataclass
class Validation:
    """What a kind's ``validate`` found.

    ``payload`` is what ``apply`` takes: the valid part only (every household or row with an
    error is left out whole). ``units`` counts the households (household ledgers) or rows (person
    ledgers) in ``payload``; ``skipped`` those left out. ``row_keys`` maps row numbers to their
    household number, ``matched_rows`` lists the rows whose household or person is already known.
    """

    rows: int
    households: int
    persons: int
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    payload: Any
    units: int
    skipped: int = 0
    row_keys: dict[int, str] = field(default_factory=dict)
    matched_rows: set[int] = field(default_factory=set)

    @property
    def is_valid(self) -> bool:
        return not self.errors


KEYS_KEPT = 10  # the keys of each outcome an apply reports: the preview's samples


@dataclass(frozen=True)
class Counts:
    """What an apply wrote: how many households (household ledgers) or rows (the others) it
    created, updated and left unchanged, and the keys of the first ``KEYS_KEPT`` of each, in
    file order: 户编号 for household ledgers, spreadsheet row numbers for the others. Bounded,
    whatever the size of the file; the preview shows them as samples."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    created_keys: tuple[str | int, ...] = ()
    updated_keys: tuple[str | int, ...] = ()
    unchanged_keys: tuple[str | int, ...] = ()


class Outcomes:
    """Counts the units an apply creates, updates and leaves unchanged, in file order, keeping
    the keys of the first ``KEYS_KEPT`` of each (``counts()`` gives the ``Counts``)."""

    def __init__(self) -> None:
        self._counts = {"created": 0, "updated": 0, "unchanged": 0}
        self._keys: dict[str, list[str | int]] = {"created": [], "updated": [], "unchanged": []}

    def add(self, outcome: str, key: str | int) -> None:
        self._counts[outcome] += 1
        if len(self._keys[outcome]) < KEYS_KEPT:
            self._keys[outcome].append(key)

    def counts(self) -> Counts:
        return Counts(
            **self._counts, **{f"{name}_keys": tuple(keys) for name, keys in self._keys.items()}
        )


Validate = Callable[[Sequence[Row], Area | None, ImportOptions], Validation]
Apply = Callable[..., Counts]


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What a streaming kind found for one data row: its staging (``ImportRow``) content.
    ``raw`` is the row's masked cells as JSON text; ``errors``/``warnings`` are in column order."""

    row: int
    household: str
    raw: str
    match: str
    errors: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    staged: bool = False  # its ImportRow is written by the run (``StreamingRun.stage_rows``)


@dataclass
class StreamSummary:
    """The counts of a streamed validation (``Validation`` without the payload): ``units`` are
    the households (or rows) that can be written, ``skipped`` those left out, ``skipped_keys`` the
    first ``SKIPPED_KEYS_KEPT`` household numbers left out, in order."""

    rows: int = 0
    households: int = 0
    persons: int = 0
    units: int = 0
    skipped: int = 0
    error_count: int = 0
    skipped_keys: list[str] = field(default_factory=list)


SKIPPED_KEYS_KEPT = 500


class StreamingRun(Protocol):
    """One streamed validation of one file, for kinds whose memory must stay flat in the number
    of rows (quality.md P3). The pipeline calls ``add`` for every data row, then iterates
    ``outcomes()`` (in any row order; ``summary`` is complete once it is exhausted) and writes an
    ``ImportRow`` for each outcome, except for the rows the run vouches for set-based: those it
    writes itself in ``stage_rows`` (outcomes with ``staged`` set are only reported, a row the
    run vouches for without a warning does not come out at all). ``apply`` writes the valid part
    inside the pipeline's transaction. The run keeps its staging in
    temporary tables of the database connection: ``is_alive`` says whether they are still there
    (same connection, not rolled back), ``close`` drops them."""

    summary: StreamSummary

    @property
    def uses_tables(self) -> bool:
        """Its rows are staged in tables (read back in a transaction), not held in memory."""
        ...

    def add(self, row: Row, raw: str) -> None: ...

    def pause(self) -> None:
        """Between two ``add``: let another statement run on the database connection (the run
        may be writing its rows through a ``COPY`` it keeps open)."""
        ...

    def outcomes(self) -> Iterator[RowOutcome]: ...

    def stage_rows(self, batch_id: int) -> int: ...

    def apply(self, *, actor: Any, options: ImportOptions, source_name: str) -> Counts: ...

    def is_alive(self) -> bool: ...

    def close(self) -> None: ...


StartRun = Callable[[Area | None, ImportOptions], StreamingRun]


@dataclass(frozen=True)
class LedgerKind:
    code: str
    label: str
    required_headers: tuple[str, ...]
    aliases: dict[str, tuple[str, ...]]
    validate: Validate
    apply: Apply
    needs_county: bool = True
    id_columns: frozenset[str] = frozenset()
    account_columns: frozenset[str] = frozenset()
    household_ledger: bool = True
    # Kinds that validate through staging tables (flat memory); others get every row in memory.
    stream: StartRun | None = None

    def raw(self, row: Row) -> str:
        """The row's cells as staged in ``ImportRow.raw`` (JSON): what was typed, normalised,
        ID numbers and bank accounts masked (first 6, last 4), empty cells left out; as
        ``mask`` gives each (inlined: this runs for every cell of every row).

        The same text as ``json.dumps(cells, ensure_ascii=False, separators=(",", ":"))``, put
        together from each cell's ``"column":"text"``; the others than ID numbers and accounts
        are remembered per column (``RAW_CELLS_KEPT``), as most repeat on every row: a column
        of values seen once (names) forgets only its own."""
        parts: list[str] = []
        sensitive = self._sensitive_columns
        for column, value in row.values.items():
            if value is None or value == "":
                continue
            if column in sensitive:
                parts.append(f"{_json_text(column)}:{_json_text(self.mask(column, value))}")
                continue
            known = _RAW_CELLS.get(column)
            if known is None:
                if len(_RAW_CELLS) >= RAW_COLUMNS_KEPT:
                    _RAW_CELLS.clear()
                known = _RAW_CELLS[column] = {}
            key = value if type(value) is str else (type(value), value)
            part = known.get(key)
            if part is None:
                text = normalise_text(value)
                if len(text) >= SHORTEST_ID_NUMBER:
                    text = mask_value_in_text(text)[:VALUE_DISPLAY_LENGTH]
                part = f"{_json_text(column)}:{_json_text(text)}"
                if len(known) >= RAW_CELLS_KEPT:
                    known.clear()
                known[key] = part
            parts.append(part)
        return "{" + ",".join(parts) + "}"

    @cached_property
    def _sensitive_columns(self) -> frozenset[str]:
        return self.id_columns | self.account_columns

    def mask(self, column: str | None, value: object) -> str:
        """A cell value as it may be shown or stored: ID numbers and accounts first 6, last 4."""
        if value is None:
            return ""
        if column in self.id_columns:
            return mask_id_number(value if _is_plain(value) else normalise_text(value))
        if column in self.account_columns:
            return mask_bank_account(value if _is_plain(value) else normalise_text(value))
        text = normalise_text(value)
        if len(text) < SHORTEST_ID_NUMBER:
            return text  # too short to hold an ID number
        return mask_value_in_text(text)[:VALUE_DISPLAY_LENGTH]


def _is_plain(value: object) -> bool:
    """ASCII letters and digits only (the usual ID number or account cell): its own normalised
    text. Masking it as it is spares the normalisation cache a value seen once."""
    return type(value) is str and value.isascii() and value.isalnum()


# A string as ``json.dumps(..., ensure_ascii=False)`` writes it (quoted, escaped).
_json_text = json.encoder.encode_basestring
# column → cell value → its ``"column":"text"`` in ``LedgerKind.raw``; bounded like the
# normalised texts of ``cells``, per column (``RAW_CELLS_KEPT`` values of ``RAW_COLUMNS_KEPT``
# columns): emptied whenever full.
RAW_CELLS_KEPT = 4096
RAW_COLUMNS_KEPT = 32
_RAW_CELLS: dict[str, dict[Any, str]] = {}


def problem(
    row: int | None, column: str | None, value: str, code: str, message: str
) -> dict[str, Any]:
    return {"row": row, "column": column, "value": value, "code": code, "message": message}


def numeric_ids(rows: Iterable[Row], column: str) -> list[dict[str, Any]]:
    """Rows as dicts for the poverty validators, with an ID cell Excel stored as a number turned
    into a number, so that ``parse_id_number`` reports ``id_numeric_cell``."""
    result = []
    for row in rows:
        values = dict(row.values)
        if column in row.numeric_cells:
            value = values.get(column)
            text = normalise_text(value)
            digits = text.upper().replace("E+", "", 1).replace(".", "", 1)
            if isinstance(value, str) and digits.isdigit():
                values[column] = float(text)  # also Excel's 1.50121E+17 written to a CSV
        result.append(values)
    return result


# --- poverty (ledgers.md §3) -------------------------------------------------------------------


def _validate_poverty(
    rows: Sequence[Row], county: Area | None, options: ImportOptions
) -> Validation:
    assert county is not None  # noqa: S101 - the pipeline checks needs_county
    result = registry_validation.validate_registry_rows(
        numeric_ids(rows, registry_validation.ID_NUMBER),
        county=county,
        row_numbers=[row.number for row in rows],
    )
    row_keys = {}
    for row in rows:
        number = normalise_text(row.values.get(registry_validation.HOUSEHOLD_NUMBER))
        if number:
            row_keys[row.number] = number
    numbers = [household.number for household in result.households]
    known = set(
        RegistryHousehold.objects.filter(county=county, number__in=numbers).values_list(
            "number", flat=True
        )
    )
    matched = {
        row
        for household in result.households
        if household.number in known
        for row in household.rows
    }
    return Validation(
        rows=result.rows,
        households=len(result.households) + len(result.invalid_households),
        persons=result.rows,
        errors=result.errors,
        warnings=[w for w in result.warnings if w["code"] != "unknown_column"],
        payload=result.households,
        units=len(result.households),
        skipped=len(result.invalid_households),
        row_keys=row_keys,
        matched_rows=matched,
    )


def _apply_poverty(
    *, actor: Any, payload: list, county: Area | None, options: ImportOptions, source_name: str
) -> Counts:
    snapshot = registry_snapshot_apply(
        actor=actor,
        county=county,
        households=payload,
        snapshot_date=options.snapshot_date or timezone.localdate(),
        source="import",
        source_name=source_name,
    )
    if snapshot.replayed:
        first = tuple(household.number for household in payload[:KEYS_KEPT])
        return Counts(unchanged=snapshot.household_count, unchanged_keys=first)
    keys: dict[str, tuple[str | int, ...]] = {}
    for change, count in (
        ("created", snapshot.created_count),
        ("updated", snapshot.updated_count),
        ("unchanged", snapshot.unchanged_count),
    ):
        # The entries are written in file order: the first ones of each change, by id.
        entries = RegistrySnapshotEntry.objects.filter(snapshot=snapshot, change=change)
        keys[change] = (
            tuple(entries.order_by("pk").values_list("household__number", flat=True)[:KEYS_KEPT])
            if count
            else ()
        )
    return Counts(
        created=snapshot.created_count,
        updated=snapshot.updated_count,
        unchanged=snapshot.unchanged_count,
        created_keys=keys["created"],
        updated_keys=keys["updated"],
        unchanged_keys=keys["unchanged"],
    )


# --- person-level ledgers (ledgers.md §4, §5) ---------------------------------------------------


def _person_rows(
    result: vv.LedgerValidation, rows: Sequence[Row], skip_invalid: bool
) -> Validation:
    valid = result.rows
    failed_rows = {problem["row"] for problem in result.errors}
    return Validation(
        rows=len(rows),
        households=0,
        persons=len({row.id_number for row in valid}) + len(failed_rows - {None}),
        errors=result.errors,
        warnings=[w for w in result.warnings if w["code"] != "unknown_column"],
        payload=valid,
        units=len(valid),
        skipped=len(failed_rows - {None}),
    )


def _validate_disability(
    rows: Sequence[Row], county: Area | None, options: ImportOptions
) -> Validation:
    result = vv.validate_disability_rows(
        numeric_ids(rows, vv.ID), row_numbers=[row.number for row in rows]
    )
    return _person_rows(result, rows, options.skip_invalid)


def _person_counts(counts: Any) -> Counts:
    """The ``Counts`` of a person-level apply (disability records, verification reports): its
    counts, and its first rows of each outcome as the keys."""
    return Counts(
        created=counts.created,
        updated=counts.updated,
        unchanged=counts.unchanged,
        created_keys=counts.created_rows,
        updated_keys=counts.updated_rows,
        unchanged_keys=counts.unchanged_rows,
    )


def _apply_disability(*, actor: Any, payload: list, **_: Any) -> Counts:
    counts = disability_records_apply(
        actor=actor, rows=payload, source="import", rows_kept=KEYS_KEPT
    )
    return _person_counts(counts)


def _validate_verification(
    rows: Sequence[Row], county: Area | None, options: ImportOptions
) -> Validation:
    result = vv.validate_verification_rows(
        numeric_ids(rows, vv.ID), row_numbers=[row.number for row in rows]
    )
    return _person_rows(result, rows, options.skip_invalid)


def _apply_verification(*, actor: Any, payload: list, **_: Any) -> Counts:
    counts = verification_reports_apply(
        actor=actor, rows=payload, source="import", rows_kept=KEYS_KEPT
    )
    return _person_counts(counts)


# --- standards (ledgers.md §6) ------------------------------------------------------------------

STANDARD_AREA = "区划代码"
STANDARD_FROM = "生效日期"
STANDARD_DIBAO = "农村低保标准"
STANDARD_TEKUN = "特困基本生活标准"
STANDARD_LEVELS = (AreaLevel.REGION, AreaLevel.LEAGUE, AreaLevel.COUNTY)


@dataclass(frozen=True)
class StandardRow:
    row: int
    area_id: int
    effective_from: date
    rural_dibao_monthly: Decimal
    tekun_basic_monthly: Decimal | None


def _validate_standards(
    rows: Sequence[Row], county: Area | None, options: ImportOptions
) -> Validation:
    errors: list[dict[str, Any]] = []
    codes = {normalise_text(row.values.get(STANDARD_AREA)).replace(" ", "") for row in rows}
    areas = {area.code: area for area in Area.objects.filter(code__in=codes - {""})}
    valid: list[StandardRow] = []
    seen: dict[tuple[int, date], int] = {}
    failed: set[int] = set()

    def fail(row: Row, column: str, code: str, message: str) -> None:
        failed.add(row.number)
        errors.append(
            problem(row.number, column, normalise_text(row.values.get(column)), code, message)
        )

    for row in rows:
        code = normalise_text(row.values.get(STANDARD_AREA)).replace(" ", "")
        area = areas.get(code)
        if not code:
            fail(row, STANDARD_AREA, "required_missing", "区划代码不能为空")
        elif area is None:
            fail(row, STANDARD_AREA, "area_unknown", f"区划代码{code}不存在")
        elif area.level not in STANDARD_LEVELS:
            message = f"{area.name}不是自治区、盟市或旗县，保障标准只能按这三级制定"
            fail(row, STANDARD_AREA, "area_out_of_scope", message)
        elif county is not None and area.pk != county.pk:
            message = f"{area.name}不是{county.name}，不能在本旗县导入"
            fail(row, STANDARD_AREA, "area_out_of_scope", message)
        parsed: dict[str, Any] = {}
        for column, parser in (
            (STANDARD_FROM, lambda v: parse_date(v, label=STANDARD_FROM, required=True)),
            (STANDARD_DIBAO, lambda v: parse_money(v, label=STANDARD_DIBAO, required=True)),
            (STANDARD_TEKUN, lambda v: parse_money(v, label=STANDARD_TEKUN)),
        ):
            try:
                parsed[column] = parser(row.values.get(column))
            except CellError as exc:
                fail(row, column, exc.code, exc.message)
        if parsed.get(STANDARD_DIBAO) == 0:
            fail(row, STANDARD_DIBAO, "bad_number", "农村低保标准应大于 0")
        if row.number in failed or area is None:
            continue
        key = (area.pk, parsed[STANDARD_FROM])
        if key in seen:
            message = f"与第{seen[key]}行的区划和生效日期相同"
            fail(row, STANDARD_AREA, "duplicate_in_file", message)
            continue
        seen[key] = row.number
        valid.append(
            StandardRow(
                row=row.number,
                area_id=area.pk,
                effective_from=parsed[STANDARD_FROM],
                rural_dibao_monthly=parsed[STANDARD_DIBAO],
                tekun_basic_monthly=parsed.get(STANDARD_TEKUN),
            )
        )
    return Validation(
        rows=len(rows),
        households=0,
        persons=0,
        errors=sorted(errors, key=lambda p: p["row"] or 0),
        warnings=[],
        payload=valid,
        units=len(valid),
        skipped=len(failed),
    )


@transaction.atomic
def _apply_standards(
    *, actor: Any, payload: list[StandardRow], source_name: str, **_: Any
) -> Counts:
    existing = {
        (standard.area_id, standard.effective_from): standard
        for standard in GuaranteeStandard.objects.filter(
            area_id__in={row.area_id for row in payload},
            effective_from__in={row.effective_from for row in payload},
        )
    }
    created: list[GuaranteeStandard] = []
    updated: list[GuaranteeStandard] = []
    outcomes = Outcomes()
    now = timezone.now()
    for row in payload:
        old = existing.get((row.area_id, row.effective_from))
        if old is None:
            outcomes.add("created", row.row)
            created.append(
                GuaranteeStandard(
                    area_id=row.area_id,
                    effective_from=row.effective_from,
                    rural_dibao_monthly=row.rural_dibao_monthly,
                    tekun_basic_monthly=row.tekun_basic_monthly,
                    source=source_name[:200],
                    is_confirmed=True,
                )
            )
        elif (old.rural_dibao_monthly, old.tekun_basic_monthly, old.is_confirmed) != (
            row.rural_dibao_monthly,
            row.tekun_basic_monthly,
            True,
        ):
            old.rural_dibao_monthly = row.rural_dibao_monthly
            old.tekun_basic_monthly = row.tekun_basic_monthly
            old.is_confirmed = True
            old.source = source_name[:200]
            old.updated_at = now
            updated.append(old)
            outcomes.add("updated", row.row)
        else:
            outcomes.add("unchanged", row.row)
    GuaranteeStandard.objects.bulk_create(created, batch_size=1000)
    GuaranteeStandard.objects.bulk_update(
        updated,
        ["rural_dibao_monthly", "tekun_basic_monthly", "is_confirmed", "source", "updated_at"],
        batch_size=500,
    )
    if created or updated:
        by_area = defaultdict(list)
        for standard in (*created, *updated):
            by_area[standard.area_id].append(f"{standard.effective_from:%Y-%m-%d}")
        record(
            actor=actor,
            action="policy.standards_import",
            changes={
                "source_name": source_name,
                "created": len(created),
                "updated": len(updated),
                "areas": {str(area): dates for area, dates in by_area.items()},
            },
            actor_label="" if getattr(actor, "pk", None) else "system:import_ledger",
        )
    return outcomes.counts()


# --- the registry ----------------------------------------------------------------------------


def _aliases(headers: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    return {
        header: tuple(a for a in aliases if not a.isascii()) for header, aliases in headers.items()
    }


@cache
def kinds() -> dict[str, LedgerKind]:
    roster: LedgerKind = import_string("cases.roster_import.ROSTER_KIND")
    rv = registry_validation
    return {
        "dibao": roster,
        "poverty": LedgerKind(
            code="poverty",
            label="建档立卡贫困人口",
            required_headers=(
                rv.HOUSEHOLD_NUMBER,
                rv.NAME,
                rv.ID_NUMBER,
                rv.RELATION,
                rv.ATTRIBUTE,
                rv.MAIN_CAUSE,
                rv.POVERTY_STATUS,
                rv.INCOME,
            ),
            aliases=dict(rv.COLUMN_ALIASES),
            validate=_validate_poverty,
            apply=_apply_poverty,
            id_columns=frozenset({rv.ID_NUMBER}),
        ),
        "disability": LedgerKind(
            code="disability",
            label="残疾人信息",
            required_headers=vv.DISABILITY_REQUIRED,
            aliases=_aliases(vv.DISABILITY_HEADERS),
            validate=_validate_disability,
            apply=_apply_disability,
            needs_county=False,
            id_columns=frozenset({vv.ID, vv.CERTIFICATE}),
            household_ledger=False,
        ),
        "verification": LedgerKind(
            code="verification",
            label="家庭经济状况核对结果",
            required_headers=vv.VERIFICATION_REQUIRED,
            aliases=_aliases(vv.VERIFICATION_HEADERS),
            validate=_validate_verification,
            apply=_apply_verification,
            needs_county=False,
            id_columns=frozenset({vv.ID}),
            household_ledger=False,
        ),
        "standards": LedgerKind(
            code="standards",
            label="保障标准",
            required_headers=(STANDARD_AREA, STANDARD_FROM, STANDARD_DIBAO),
            aliases={STANDARD_AREA: (), STANDARD_FROM: (), STANDARD_DIBAO: (), STANDARD_TEKUN: ()},
            validate=_validate_standards,
            apply=_apply_standards,
            needs_county=False,
            household_ledger=False,
        ),
        "areas": import_string("lowbao.imports.areas_kind.AREAS_KIND"),
    }


def get_kind(code: str) -> LedgerKind | None:
    return kinds().get(code)
