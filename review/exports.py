"""The ``.xlsx`` export of reconciliation items, one category per file (reconciliation.md).

- Streams: items are read with ``iterator()`` and their persons in one query per chunk, into a
  write-only workbook, so memory stays flat in the number of rows (quality.md P7).
- Every text cell goes through ``cases.exports.text_cell`` (formula triggers neutralised, always a
  string cell; ID numbers never become numbers) via ``write_xlsx_sheet``.
- ID numbers are masked (first 6, last 4). Full numbers need ``SENSITIVE_REVEAL`` over the
  items' areas *and* a reason; the items outside those areas are left out, and the audit row says
  the file was unmasked and why (quality.md S4). Every export writes one audit row.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from django.utils import timezone
from openpyxl import Workbook

from lowbao.areas.roles import Perm
from lowbao.areas.scoping import actor_has_perm
from lowbao.audit.services import record
from lowbao.core.errors import CoreErrorCode, DomainError
from poverty.services.referrals import XLSX_CONTENT_TYPE, write_xlsx_sheet
from review.models import ReconciliationCategory, ReconciliationItem
from review.selectors import (
    TASK_CATEGORIES,
    ItemFilters,
    apply_item_filters,
    detail_rows,
    item_person_ids,
    item_queryset,
    persons_by_id,
)

CHUNK = 500
REASON_MAX_LENGTH = 200
ITEM_HEADERS = (
    "问题编号",
    "类别",
    "旗县",
    "苏木乡镇",
    "低保/特困户编号",
    "建档立卡户编号",
    "涉及人员",
    "身份证号",
    "明细",
    "首次发现",
    "最近发现",
    "处理状态",
    "处理人",
    "处理时间",
    "处理说明",
)

__all__ = ["ITEM_HEADERS", "XLSX_CONTENT_TYPE", "ItemExport", "export_items_xlsx"]


@dataclass(frozen=True)
class ItemExport:
    rows: int
    masked: bool
    filename: str


def _run_label(run: object) -> str:
    return f"{run.period}（{run.as_of:%Y-%m-%d}）" if run is not None else ""


def _rows(items: Iterator[ReconciliationItem], *, reveal: bool) -> Iterator[list[object]]:
    chunk: list[ReconciliationItem] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= CHUNK:
            yield from _chunk_rows(chunk, reveal=reveal)
            chunk = []
    if chunk:
        yield from _chunk_rows(chunk, reveal=reveal)


def _chunk_rows(items: list[ReconciliationItem], *, reveal: bool) -> Iterator[list[object]]:
    ids: list[int] = []
    for item in items:
        ids.extend(item_person_ids(item))
    persons = persons_by_id(ids, reveal=reveal)
    for item in items:
        involved = [persons[pk] for pk in item.person_ids or [] if pk in persons]
        details = "；".join(
            f"{row.label}：{row.text or '、'.join(p.name for p in row.persons)}"
            for row in detail_rows(item.details, persons)
        )
        values: list[object] = [
            item.pk,
            item.get_category_display(),
            item.county.name,
            item.township.name if item.township_id else "",
            "、".join(item.dibao_numbers or [])
            or (item.dibao_household.number if item.dibao_household_id else ""),
            "、".join(item.registry_numbers or [])
            or (item.registry_household.number if item.registry_household_id else ""),
            "、".join(person.name for person in involved),
            "、".join(person.id_number_masked for person in involved),
            details,
            _run_label(item.first_run),
            _run_label(item.last_run),
            item.get_state_display(),
            item.resolved_by.get_username() if item.resolved_by_id else "",
            f"{timezone.localtime(item.resolved_at):%Y-%m-%d %H:%M}" if item.resolved_at else "",
            item.resolution_note,
        ]
        yield [None if value == "" else value for value in values]  # empty cells, not ""


def export_items_xlsx(
    *, actor: object, filters: ItemFilters, stream: IO[bytes], reveal_reason: str = ""
) -> ItemExport:
    """Write the items of ``filters.category`` the actor may export (and see) to ``stream``.

    ``reveal_reason`` non-empty asks for full ID numbers: refused (403) without
    ``SENSITIVE_REVEAL``; with it, only the items in the areas where the actor holds it are
    written. The caller fetched the filter areas through ``access_*`` helpers.
    """
    if filters.category not in TASK_CATEGORIES:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message="请选择要导出的问题类别",
            fields={"category": ["请选择类别"]},
        )
    reason = (reveal_reason or "").strip()
    reveal = bool(reason)
    if len(reason) > REASON_MAX_LENGTH:
        raise DomainError(
            code=CoreErrorCode.INVALID,
            message=f"导出原因不能超过 {REASON_MAX_LENGTH} 个字",
            fields={"reason": ["过长"]},
        )
    if reveal and not actor_has_perm(actor, Perm.SENSITIVE_REVEAL):
        raise DomainError(
            code=CoreErrorCode.PERMISSION_DENIED, message="您的角色不能导出完整身份证号"
        )
    queryset = item_queryset(actor=actor) & item_queryset(actor=actor, perm=Perm.EXPORT_RUN)
    if reveal:
        queryset = queryset & item_queryset(actor=actor, perm=Perm.SENSITIVE_REVEAL)
    queryset = apply_item_filters(queryset, filters)
    items = queryset.order_by("township__code", "key", "id").iterator(chunk_size=CHUNK)

    label = ReconciliationCategory(filters.category).label
    place = (
        (filters.township or filters.county).name if (filters.township or filters.county) else ""
    )
    caption = f"{place}台账比对问题清单：{label}" + (
        f"（含完整身份证号，导出原因：{reason}）" if reveal else "（身份证号已脱敏）"
    )
    workbook = Workbook(write_only=True)
    count = write_xlsx_sheet(
        workbook,
        title=label[:31].replace("（", "(").replace("）", ")"),
        headers=ITEM_HEADERS,
        rows=_rows(items, reveal=reveal),
        caption=caption,
    )
    workbook.save(stream)
    area = filters.township or filters.county
    record(
        actor=actor,
        action="export.reconciliation_items",
        object_type="review.reconciliationitem",
        area=area,
        changes={
            "format": "xlsx",
            "category": filters.category,
            "state": filters.state,
            "county": filters.county.code if filters.county else "",
            "township": filters.township.code if filters.township else "",
            "period": filters.period,
            "rows": count,
            "masked": not reveal,
            **({"reveal_reason": reason} if reveal else {}),
        },
    )
    today = timezone.localdate()
    filename = f"台账比对-{place + '-' if place else ''}{label}-{today:%Y%m%d}.xlsx"
    return ItemExport(rows=count, masked=not reveal, filename=filename)
