"""What applying a parsed batch will change, shown on the batch page before the admin confirms.

- **Counts** (new / updated / unchanged) come from ``import_batch_trial``: the kind's apply runs
  inside a transaction that is rolled back, so they are exactly what the apply would write today.
  A refusal of the apply (a registry snapshot older than the county's latest, say) is shown as
  such.
- **Samples** come from staging (masked values only): the first households of the file that are
  new and that are already known. For the poverty registry, the households **leaving the
  registry** are the county's households now in the registry that the apply would not write (not
  in the file, or skipped with "skip invalid"), with their head from the registry.

Like ``kinds``, this module reads domain tables (the poverty registry) for the import kernel.
The preview is stored on the batch (``ImportBatch.preview``), so the page and a reload show it
without computing it again; it is computed again whenever the batch is parsed again.
"""

import logging
from typing import Any

from django.db.models import Min, QuerySet
from django.utils import timezone

from lowbao.core.errors import DomainError
from lowbao.imports.kinds import LedgerKind, get_kind
from lowbao.imports.models import ImportBatch, ImportRow, ImportStatus, JobStatus, RowMatch
from lowbao.imports.pipeline import import_batch_trial
from poverty.models import RegistryHousehold
from poverty.selectors import head_members

logger = logging.getLogger(__name__)

SAMPLE_SIZE = 10
NAME = "姓名"
RELATION = "与户主关系"
HEAD_RELATIONS = ("户主", "本人")
ID_COLUMN_PREFERENCE = ("身份证号", "证件号码")
HOUSEHOLD_COLUMNS = ["户编号", "户主姓名", "户主身份证号"]
REGISTRY_KIND = "poverty"
ROW_SAMPLE_HEADERS = 4
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


def _group(key: str, label: str, count: int, samples: list[list[str]]) -> dict[str, Any]:
    return {"key": key, "label": label, "count": count, "samples": samples}


def _household_samples(batch: ImportBatch, spec: LedgerKind, match: str) -> tuple[int, list]:
    """How many households of the file have this match, and the first ones (by first row) as
    [户编号, head's name, head's masked ID] (the first row's when no row is the head's)."""
    rows = ImportRow.objects.filter(batch=batch, match=match).exclude(household="")
    count = rows.values("household").distinct().count()
    first = [
        item["household"]
        for item in rows.values("household")
        .annotate(first_row=Min("row_number"))
        .order_by("first_row", "household")[:SAMPLE_SIZE]
    ]
    heads: dict[str, dict[str, Any]] = {}
    for household, raw in (
        rows.filter(household__in=first).order_by("row_number").values_list("household", "raw")
    ):
        current = heads.get(household)
        if current is None or (
            current.get(RELATION) not in HEAD_RELATIONS and raw.get(RELATION) in HEAD_RELATIONS
        ):
            heads[household] = raw
    id_column = _id_column(spec)
    samples = [
        [number, heads[number].get(NAME, ""), heads[number].get(id_column, "")] for number in first
    ]
    return count, samples


def _row_samples(batch: ImportBatch, spec: LedgerKind) -> tuple[list[str], int, list]:
    columns = list(spec.required_headers[:ROW_SAMPLE_HEADERS])
    rows = ImportRow.objects.filter(batch=batch).exclude(match=RowMatch.INVALID)
    samples = [
        [str(number), *(raw.get(column, "") for column in columns)]
        for number, raw in rows.order_by("row_number").values_list("row_number", "raw")[
            :SAMPLE_SIZE
        ]
    ]
    return ["行号", *columns], rows.count(), samples


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
    return _group("leaving", "退出台账（现在台账中、本次不写入的户）", leaving.count(), samples)


def _uses_households(batch: ImportBatch, spec: LedgerKind) -> bool:
    return (
        spec.household_ledger
        and ImportRow.objects.filter(batch=batch).exclude(household="").exists()
    )


def _compute(*, actor: Any, batch: ImportBatch) -> dict[str, Any]:
    spec = get_kind(batch.kind)
    if spec is None:
        return {}
    refusal = ""
    try:
        counts = import_batch_trial(actor=actor, batch=batch)
    except DomainError as exc:
        refusal, counts = exc.message, None
    if _uses_households(batch, spec):
        columns = HOUSEHOLD_COLUMNS
        new_count, new_samples = _household_samples(batch, spec, RowMatch.NEW)
        known_count, known_samples = _household_samples(batch, spec, RowMatch.MATCHED)
        groups = [
            _group("new", "新增的户", new_count, new_samples),
            _group("known", "已有的户（将更新或保持不变）", known_count, known_samples),
        ]
        if batch.kind == REGISTRY_KIND and batch.county_id:
            groups.append(_leaving_group(batch))
    else:
        columns, count, samples = _row_samples(batch, spec)
        groups = [_group("rows", "将写入的行", count, samples)]
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
