"""What applying a parsed batch will change, shown on the batch page before the admin confirms.

- **Counts** (new / updated / unchanged) come from ``import_batch_trial``: the kind's apply runs
  inside a transaction that is rolled back, so they are exactly what the apply would write today.
  A refusal of the apply (a registry snapshot older than the county's latest, say) is shown as
  such, with no groups: nothing would change.
- **Groups** follow the counts: 新增 / 更新 / 不变, each with its count from the trial and as
  samples the first ``SAMPLE_SIZE`` units the trial's apply reported for it (``Counts.*_keys``:
  households for the household ledgers, rows for the others), in file order, read from staging
  (masked values only: staging never holds a plain ID number or bank account). For the poverty
  registry, the households **leaving the registry** are the county's households now in the
  registry that the apply would not write (not in the file, or skipped with "skip invalid"),
  with their head from the registry (masked ID number).

Like ``kinds``, this module reads domain tables (the poverty registry) for the import kernel.
The preview is stored on the batch (``ImportBatch.preview``), so the page and a reload show it
without computing it again; it is computed again whenever the batch is parsed again. Previews
stored before the groups followed the counts (a "known" group: 已有的户) render as they are.
"""

import logging
import sys
from collections.abc import Sequence
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from lowbao.core.errors import DomainError
from lowbao.imports.kinds import KEYS_KEPT, Counts, LedgerKind, get_kind
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus, JobStatus, RowMatch
from lowbao.imports.pipeline import import_batch_trial
from poverty.models import RegistryHousehold
from poverty.selectors import head_members

logger = logging.getLogger(__name__)

SAMPLE_SIZE = KEYS_KEPT  # what the apply reports is what the preview can show
NAME = "姓名"
RELATION = "与户主关系"
HEAD_RELATIONS = ("户主", "本人")
ID_COLUMN_PREFERENCE = ("身份证号", "证件号码")
HOUSEHOLD_COLUMNS = ["户编号", "户主姓名", "户主身份证号"]
REGISTRY_KIND = "poverty"
ROW_SAMPLE_HEADERS = 4
# (group key, Counts field, label): the keys the page and its tests know
OUTCOME_GROUPS = (
    ("new", "created", "新增"),
    ("updated", "updated", "更新"),
    ("unchanged", "unchanged", "不变"),
)
LEAVING_LABEL = "退出台账（现在台账中、本次不写入的户）"
PREVIEW_FAILED_MESSAGE = (
    "变更预览计算失败，未写入任何数据；请点击“重新校验”再试，仍失败请联系系统管理员"
)


def registry_households_leaving(*, batch: ImportBatch) -> QuerySet[RegistryHousehold]:
    """The batch county's registry households that applying the batch takes out of the registry:
    in the registry now, and not among the households the apply writes (with "skip invalid" a
    household with an error is not written, so it leaves too). The caller checked the scope."""
    written = (
        ImportRow.objects.filter(batch=batch)
        .exclude(match=RowMatch.INVALID)
        .exclude(household="")
        .values("household")
    )
    return (
        RegistryHousehold.objects.filter(county_id=batch.county_id, in_registry=True)
        .exclude(number__in=written)
        .order_by("number")
    )


def _id_column(spec: LedgerKind) -> str:
    for column in ID_COLUMN_PREFERENCE:
        if column in spec.id_columns:
            return column
    return min(spec.id_columns, default="")


def _group(key: str, label: str, count: int, samples: list[list[str]], unit: str) -> dict:
    return {"key": key, "label": label, "count": count, "samples": samples, "unit": unit}


def _household_samples(
    batch: ImportBatch, spec: LedgerKind, numbers: Sequence[str | int]
) -> list[list[str]]:
    """[户编号, head's name, head's masked ID] of these households of the file, in file order
    (the first row's name and ID when no row is the head's)."""
    if not numbers:
        return []
    heads: dict[str, dict[str, Any]] = {}
    first_rows: dict[str, int] = {}
    for household, row_number, raw in (
        ImportRow.objects.filter(batch=batch, household__in=[str(n) for n in numbers])
        .order_by("row_number")
        .values_list("household", "row_number", "raw")
    ):
        first_rows.setdefault(household, row_number)
        current = heads.get(household)
        if current is None or (
            current.get(RELATION) not in HEAD_RELATIONS and raw.get(RELATION) in HEAD_RELATIONS
        ):
            heads[household] = raw
    id_column = _id_column(spec)
    ordered = sorted({str(n) for n in numbers}, key=lambda n: (first_rows.get(n, sys.maxsize), n))
    return [
        [number, heads.get(number, {}).get(NAME, ""), heads.get(number, {}).get(id_column, "")]
        for number in ordered[:SAMPLE_SIZE]
    ]


def _row_columns(spec: LedgerKind) -> list[str]:
    return list(spec.required_headers[:ROW_SAMPLE_HEADERS])


def _row_samples(
    batch: ImportBatch, spec: LedgerKind, numbers: Sequence[str | int]
) -> list[list[str]]:
    """[行号, the first required columns] of these rows of the file, in file order."""
    if not numbers:
        return []
    columns = _row_columns(spec)
    rows = (
        ImportRow.objects.filter(batch=batch, row_number__in=[int(n) for n in numbers])
        .order_by("row_number")
        .values_list("row_number", "raw")[:SAMPLE_SIZE]
    )
    return [[str(number), *(raw.get(column, "") for column in columns)] for number, raw in rows]


def _leaving_group(batch: ImportBatch) -> dict[str, Any]:
    leaving = registry_households_leaving(batch=batch)
    first = list(leaving[:SAMPLE_SIZE])
    heads = head_members(household.pk for household in first)
    samples = []
    for household in first:
        head = heads.get(household.pk)
        person = head.person if head else None
        samples.append(
            [
                household.number,
                person.name if person else "",
                person.id_number_masked if person else "",
            ]
        )
    return _group("leaving", LEAVING_LABEL, leaving.count(), samples, "户")


def _outcome_groups(batch: ImportBatch, spec: LedgerKind, counts: Counts) -> list[dict]:
    """新增 / 更新 / 不变 with the trial's counts and its first keys as samples."""
    samples = _household_samples if spec.household_ledger else _row_samples
    unit = "户" if spec.household_ledger else "行"
    return [
        _group(
            key,
            label,
            getattr(counts, field),
            samples(batch, spec, getattr(counts, f"{field}_keys")),
            unit,
        )
        for key, field, label in OUTCOME_GROUPS
    ]


def _compute(*, actor: Any, batch: ImportBatch) -> dict[str, Any]:
    spec = get_kind(batch.kind)
    if spec is None:
        return {}
    refusal = ""
    counts: Counts | None
    try:
        counts = import_batch_trial(actor=actor, batch=batch)
    except DomainError as exc:
        refusal, counts = exc.message, None
    groups = [] if counts is None else _outcome_groups(batch, spec, counts)
    if counts is not None and batch.kind == REGISTRY_KIND and batch.county_id:
        groups.append(_leaving_group(batch))
    columns = HOUSEHOLD_COLUMNS if spec.household_ledger else ["行号", *_row_columns(spec)]
    return {
        "computed_at": timezone.now().isoformat(),
        "refusal": refusal,
        "created": counts.created if counts else None,
        "updated": counts.updated if counts else None,
        "unchanged": counts.unchanged if counts else None,
        "columns": columns,
        "groups": groups,
    }


def import_batch_preview(*, actor: Any, batch: ImportBatch) -> dict[str, Any]:
    """Compute and store the preview of a PARSED batch (``job_status`` RUNNING meanwhile, so the
    page keeps polling). Returns ``{}`` when the batch is no longer PARSED."""
    claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PARSED).update(
        job_status=JobStatus.RUNNING, preview={}
    )
    if not claimed:
        return {}
    try:
        preview = _compute(actor=actor, batch=batch)
    except Exception:
        logger.exception("import batch %s: preview failed", batch.pk)
        ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PARSED).update(
            job_status=JobStatus.FAILED, job_message=PREVIEW_FAILED_MESSAGE
        )
        batch.job_status, batch.job_message = JobStatus.FAILED, PREVIEW_FAILED_MESSAGE
        raise
    ImportBatch.objects.filter(pk=batch.pk, status=ImportStatus.PARSED).update(
        preview=preview, job_status=JobStatus.DONE
    )
    batch.preview, batch.job_status = preview, JobStatus.DONE
    return preview
