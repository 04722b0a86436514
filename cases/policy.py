"""Policy lookups: the most specific effective-dated row for an area on a date.

A village inherits from its township, county, league and region, in that order; the first area
on that path with a row in force on the date wins (``ledgers.md`` §6: a county without its own
standard uses its league's, then the region's).
"""

from datetime import date

from cases.errors import CaseErrorCode
from cases.models import GuaranteeStandard, PolicySetting, PovertyLine
from lowbao.areas.models import Area
from lowbao.core.errors import DomainError


def _area_chain(area: Area) -> list[str]:
    """Codes from the area itself up to the region (the path holds them all)."""
    return list(reversed([code for code in area.path.split("/") if code]))


def _most_specific(rows: list, chain: list[str]):
    by_code: dict[str, object] = {}
    for row in rows:  # ordered newest first
        by_code.setdefault(row.area.code, row)
    for code in chain:
        if code in by_code:
            return by_code[code]
    return None


def policy_for(area: Area, on: date) -> PolicySetting:
    chain = _area_chain(area)
    rows = list(
        PolicySetting.objects.filter(area__code__in=chain, effective_from__lte=on)
        .select_related("area")
        .prefetch_related("uplifts")
        .order_by("-effective_from")
    )
    policy = _most_specific(rows, chain)
    if policy is None:
        raise DomainError(
            code=CaseErrorCode.POLICY_MISSING,
            message=f"{area.name}在 {on:%Y-%m-%d} 没有适用的政策参数，请数据管理员先录入",
        )
    return policy


def standard_for(area: Area, on: date) -> GuaranteeStandard:
    chain = _area_chain(area)
    rows = list(
        GuaranteeStandard.objects.filter(area__code__in=chain, effective_from__lte=on)
        .select_related("area")
        .order_by("-effective_from")
    )
    standard = _most_specific(rows, chain)
    if standard is None:
        raise DomainError(
            code=CaseErrorCode.STANDARD_MISSING,
            message=f"{area.name}在 {on:%Y-%m-%d} 没有适用的保障标准，请先导入保障标准",
        )
    return standard


def poverty_line_for(year: int) -> PovertyLine:
    """The line of ``year``, or of the latest earlier year on record."""
    line = PovertyLine.objects.filter(year__lte=year).order_by("-year").first()
    if line is None:
        raise DomainError(
            code=CaseErrorCode.POVERTY_LINE_MISSING, message=f"没有 {year} 年及以前的扶贫标准"
        )
    return line
