"""Guarantees for dibao and 特困 households outside the registry (172号 二(一), last sentences):
they must also have compulsory education, basic medical care and safe housing assured (三保障).

``guarantee_record`` appends a check of one guarantee; the latest check per kind wins (older rows
stay as history). The gap report (``poverty.linkage_selectors.guarantee_households`` and
``guarantee_counts``) shows, for every paid household not in the registry, the latest status of
each guarantee, "not yet checked" when there is none.
"""

from datetime import date
from typing import IO

from django.db import transaction
from django.utils import timezone
from openpyxl import Workbook

from cases.choices import PAYING_STATUSES, Programme
from cases.models import Household
from lowbao.areas.models import Area
from lowbao.areas.roles import Perm
from lowbao.audit.services import record
from poverty.choices import GuaranteeKind, GuaranteeStatus
from poverty.linkage_selectors import (
    GUARANTEE_COUNT_STATUSES,
    guarantee_cells,
    guarantee_counts,
    guarantee_households,
    masked,
    registry_households_of,
)
from poverty.models import GuaranteeCheck
from poverty.services.referrals import LinkageErrorCode, check_area, refuse, write_xlsx_sheet

KIND_SHORT_LABELS = {
    GuaranteeKind.EDUCATION: "义务教育",
    GuaranteeKind.MEDICAL: "基本医疗",
    GuaranteeKind.HOUSING: "住房安全",
}
COUNT_STATUS_LABELS = {
    GuaranteeStatus.ASSURED: "有保障",
    GuaranteeStatus.GAP: "存在缺口",
    GuaranteeStatus.NOT_APPLICABLE: "不适用",
    "missing": "未核实",
}


@transaction.atomic
def guarantee_record(
    *,
    actor: object,
    household: Household,
    kind: str,
    status: str,
    evidence: str,
    checked_on: date,
    today: date | None = None,
) -> GuaranteeCheck:
    """Record one guarantee check (GUARANTEE_RECORD over the household's village).

    Only for paid dibao/特困 households outside the registry (inside it, the poverty office keeps
    两不愁三保障 in its own records). A gap needs a description; the date cannot be in the future.
    """
    today = today or timezone.localdate()
    check_area(actor, household.area, perm=Perm.GUARANTEE_RECORD, doing="登记三保障核实情况")
    problems: dict[str, list[str]] = {}
    if kind not in GuaranteeKind.values:
        problems["kind"] = ["请选择保障内容"]
    if status not in GuaranteeStatus.values:
        problems["status"] = ["请选择核实结果"]
    evidence = (evidence or "").strip()
    if status == GuaranteeStatus.GAP and not evidence:
        problems["evidence"] = ["存在缺口时须说明具体情况"]
    if checked_on is None or checked_on > today:
        problems["checked_on"] = ["核实日期不能晚于今天"]
    if problems:
        raise refuse(
            LinkageErrorCode.INVALID, "；".join(p[0] for p in problems.values()), **problems
        )
    if household.status not in PAYING_STATUSES or household.programme not in (
        Programme.DIBAO,
        Programme.TEKUN,
    ):
        raise refuse(LinkageErrorCode.NOT_IN_PAYMENT, "只登记正在保障中的低保、特困户")
    if registry_households_of(household).exists():
        raise refuse(
            LinkageErrorCode.ALREADY_IN_REGISTRY,
            "该户在建档立卡台账中，“三保障”由扶贫部门按建档立卡户跟踪",
        )
    check = GuaranteeCheck.objects.create(
        household=household,
        kind=kind,
        status=status,
        evidence=evidence,
        checked_on=checked_on,
        checked_by=actor,
    )
    record(
        actor=actor,
        action="guarantee.record",
        obj=check,
        area=household.area,
        changes={
            "household": household.number,
            "kind": kind,
            "status": status,
            "checked_on": checked_on,
        },
    )
    return check


GUARANTEE_COUNT_HEADERS = (
    "苏木乡镇",
    "户数",
    "有缺口或未核实户数",
    *(
        f"{KIND_SHORT_LABELS[kind]}{COUNT_STATUS_LABELS[status]}"
        for kind in GuaranteeKind.values
        for status in GUARANTEE_COUNT_STATUSES
    ),
)
GUARANTEE_HOUSEHOLD_HEADERS = (
    "苏木乡镇",
    "嘎查村",
    "保障户编号",
    "救助类型",
    "户主姓名",
    "户主身份证号",
    *(
        header
        for kind in GuaranteeKind.values
        for header in (KIND_SHORT_LABELS[kind], f"{KIND_SHORT_LABELS[kind]}核实日期")
    ),
)


def export_guarantee_gaps_xlsx(
    *,
    actor: object,
    stream: IO[bytes],
    county: Area | None = None,
    township_code: str = "",
    only_gaps: bool = False,
) -> int:
    """The gap report as ``.xlsx``: counts per township, then the households (masked ID
    numbers). Returns the households written; records an ``export.guarantee_gaps`` audit row."""
    rows, total = guarantee_counts(actor=actor, county=county)
    workbook = Workbook(write_only=True)
    write_xlsx_sheet(
        workbook,
        title="按苏木乡镇汇总",
        headers=GUARANTEE_COUNT_HEADERS,
        rows=(
            (row.name, row.households, row.with_gap_or_missing, *row.cells)
            for row in [*rows, total]
        ),
    )

    def household_rows():
        households = guarantee_households(
            actor=actor, county=county, township_code=township_code, only_gaps=only_gaps
        )
        for household in households.iterator(chunk_size=500):
            cells = guarantee_cells(household)
            yield (
                household.area.parent.name if household.area.parent else "",
                household.area.name,
                household.number,
                household.get_programme_display(),
                household.head_name or "",
                masked(household.head_id_number_ciphertext),
                *(value for cell in cells for value in (cell.status_label, cell.checked_on)),
            )

    count = write_xlsx_sheet(
        workbook, title="保障户", headers=GUARANTEE_HOUSEHOLD_HEADERS, rows=household_rows()
    )
    workbook.save(stream)
    record(
        actor=actor,
        action="export.guarantee_gaps",
        object_type="poverty.guaranteecheck",
        area=county,
        changes={
            "format": "xlsx",
            "township": township_code,
            "only_gaps": only_gaps,
            "rows": count,
            "masked": True,
        },
    )
    return count
