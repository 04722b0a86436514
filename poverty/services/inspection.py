"""The full inspection of dibao policy implementation (排查, 172号 二(七)): 入保难, 关系保, 人情保,
金钱保, 应保未保, and officials profiting from dibao. One report per county and date, in sections:

1. ``close_relative`` — applications filed as close-relative cases (``CloseRelativeFiling`` or
   ``Household.is_close_relative_case``), with whether the county visited them (关系保);
2. ``asset_findings`` — households in payment where the latest verification report (on or before
   the date) of a current member finds a vehicle, a business registration or real estate;
3. ``no_recent_verification`` — households in payment with no verification report for any current
   member in the ``VERIFICATION_WINDOW_DAYS`` up to the date (逢救必核);
4. ``irregular_approval`` — approvals decided by the date without an investigation record, or
   decided after the overall time limit (``overall_due_on < decided_on``);
5. ``should_protect`` — 应保未保: in-registry households not out of poverty, with no member of
   ordinary or skilled labour capacity, annual income per capita / 12 below the county's dibao
   standard on the date, and no member in payment.

Each section lists households (masked ID numbers) and counts them. Scoped: INSPECTION_VIEW over
the county; outside it the county does not exist (404).
"""

from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO

from django.db.models import Exists, F, OuterRef, Q, Subquery
from openpyxl import Workbook

from cases.choices import PAYING_STATUSES, ApplicationStatus, LabourCapacity
from cases.models import Application, CountyVisit, Household, HouseholdMember, Investigation
from cases.policy import standard_for
from lowbao.areas.models import Area, AreaLevel
from lowbao.areas.roles import Perm
from lowbao.audit.services import record
from lowbao.core.errors import DomainError
from poverty.choices import PovertyStatus, VerificationItem
from poverty.linkage_selectors import (
    household_head,
    masked,
    registry_head,
    registry_household_has_member_in_payment,
)
from poverty.models import (
    CloseRelativeFiling,
    RegistryHousehold,
    RegistryMember,
    VerificationReport,
)
from poverty.services.referrals import LinkageErrorCode, check_area, refuse, write_xlsx_sheet

VERIFICATION_WINDOW_DAYS = 365
ASSET_ITEMS = (VerificationItem.VEHICLE, VerificationItem.BUSINESS, VerificationItem.REAL_ESTATE)
INSPECTION_HEADERS = (
    "苏木乡镇",
    "嘎查村",
    "保障户编号",
    "建档立卡户编号",
    "户主姓名",
    "户主身份证号",
    "状态",
    "问题说明",
)


@dataclass(frozen=True)
class InspectionRow:
    township_name: str
    village_name: str
    household_number: str
    registry_household_number: str
    head_name: str
    head_id_number_masked: str
    status_label: str
    detail: str

    def values(self) -> tuple[str, ...]:
        return (
            self.township_name,
            self.village_name,
            self.household_number,
            self.registry_household_number,
            self.head_name,
            self.head_id_number_masked,
            self.status_label,
            self.detail,
        )


@dataclass(frozen=True)
class InspectionSection:
    code: str
    title: str
    description: str
    rows: list[InspectionRow]
    note: str = ""

    @property
    def count(self) -> int:
        return len(self.rows)

    @property
    def household_count(self) -> int:
        return len({(r.household_number, r.registry_household_number) for r in self.rows})


@dataclass(frozen=True)
class InspectionReport:
    county: Area
    on: date
    sections: list[InspectionSection]

    def section(self, code: str) -> InspectionSection:
        return next(section for section in self.sections if section.code == code)

    @property
    def counts(self) -> dict[str, int]:
        return {section.code: section.household_count for section in self.sections}


def _place(area: Area) -> tuple[str, str]:
    return (area.parent.name if area.parent else "", area.name)


def _case_row(household: Household, status_label: str, detail: str) -> InspectionRow:
    return InspectionRow(
        *_place(household.area),
        household_number=household.number,
        registry_household_number="",
        head_name=getattr(household, "head_name", "") or "",
        head_id_number_masked=masked(getattr(household, "head_id_number_ciphertext", None)),
        status_label=status_label,
        detail=detail,
    )


def _application_row(application: Application, detail: str) -> InspectionRow:
    return InspectionRow(
        *_place(application.area),
        household_number=application.household.number,
        registry_household_number="",
        head_name=application.head_name or "",
        head_id_number_masked=masked(application.head_id_number_ciphertext),
        status_label=application.get_status_display(),
        detail=detail,
    )


def _applications(county: Area):
    return (
        Application.objects.filter(area__path__startswith=county.path)
        .select_related("household", "area", "area__parent")
        .annotate(
            head_name=household_head("person__name", "household_id"),
            head_id_number_ciphertext=household_head(
                "person__id_number_ciphertext", "household_id"
            ),
        )
    )


def _paid_households(county: Area):
    return (
        Household.objects.filter(county=county, status__in=PAYING_STATUSES)
        .select_related("area", "area__parent")
        .annotate(
            head_name=household_head("person__name"),
            head_id_number_ciphertext=household_head("person__id_number_ciphertext"),
        )
    )


def _close_relative_section(county: Area, on: date) -> InspectionSection:
    filings = CloseRelativeFiling.objects.filter(application_id=OuterRef("pk"))
    applications = (
        _applications(county)
        .filter(applied_on__lte=on)
        .annotate(
            has_filing=Exists(filings),
            filing_source=Subquery(filings.order_by("filed_on", "pk").values("source")[:1]),
            visited=Exists(CountyVisit.objects.filter(application_id=OuterRef("pk"))),
        )
        .filter(Q(has_filing=True) | Q(household__is_close_relative_case=True))
        .order_by("area__code", "household__number", "pk")
    )
    sources = dict(CloseRelativeFiling._meta.get_field("source").choices)
    rows = []
    for application in applications:
        filed = (
            f"近亲属备案（{sources.get(application.filing_source, '')}）"
            if application.has_filing
            else "近亲属备案户"
        )
        visited = "已完成县级入户核查" if application.visited else "未见县级入户核查记录"
        rows.append(_application_row(application, f"{filed}；{visited}"))
    return InspectionSection(
        code="close_relative",
        title="近亲属备案",
        description="经办人员、村干部近亲属的申请（关系保、人情保排查），及县级入户核查情况",
        rows=rows,
    )


def _latest_found(item: str, on: date) -> Subquery:
    reports = VerificationReport.objects.filter(
        id_number_hash=OuterRef("person__id_number_hash"), item=item, checked_on__lte=on
    )
    return Subquery(reports.order_by("-checked_on", "-id").values("found")[:1])


def _asset_findings_section(county: Area, on: date) -> InspectionSection:
    labels = dict(VerificationItem.choices)
    members = (
        HouseholdMember.objects.filter(
            household__county=county,
            household__status__in=PAYING_STATUSES,
            left_at__isnull=True,
        )
        .select_related("person")
        .annotate(**{f"found_{item}": _latest_found(item, on) for item in ASSET_ITEMS})
        .filter(
            Q(found_vehicle=True) | Q(found_business=True) | Q(found_real_estate=True),
        )
        .order_by("household_id", "relation", "pk")
    )
    findings: OrderedDict[int, list[str]] = OrderedDict()
    for member in members:
        items = "、".join(labels[item] for item in ASSET_ITEMS if getattr(member, f"found_{item}"))
        findings.setdefault(member.household_id, []).append(f"{member.person.name}：{items}")
    households = {h.pk: h for h in _paid_households(county).filter(pk__in=list(findings))}
    rows = [
        _case_row(
            households[pk], households[pk].get_status_display(), "核对有" + "；".join(details)
        )
        for pk, details in sorted(
            findings.items(), key=lambda kv: (households[kv[0]].area.code, households[kv[0]].number)
        )
    ]
    return InspectionSection(
        code="asset_findings",
        title="保障中核对有车辆工商房产",
        description="正在保障的户，成员最近一次核对结果为有车辆、工商登记或房产",
        rows=rows,
    )


def _no_recent_verification_section(county: Area, on: date) -> InspectionSection:
    since = on - timedelta(days=VERIFICATION_WINDOW_DAYS)
    member_hashes = HouseholdMember.objects.filter(
        household_id=OuterRef(OuterRef("pk")), left_at__isnull=True
    ).values("person__id_number_hash")
    last_checked = Subquery(
        VerificationReport.objects.filter(id_number_hash__in=member_hashes, checked_on__lte=on)
        .order_by("-checked_on")
        .values("checked_on")[:1]
    )
    households = (
        _paid_households(county)
        .annotate(last_checked_on=last_checked)
        .filter(Q(last_checked_on__isnull=True) | Q(last_checked_on__lt=since))
        .order_by("area__code", "number")
    )
    rows = [
        _case_row(
            household,
            household.get_status_display(),
            f"最近一次核对：{household.last_checked_on:%Y-%m-%d}"
            if household.last_checked_on
            else "从未核对",
        )
        for household in households
    ]
    return InspectionSection(
        code="no_recent_verification",
        title="保障中一年内无核对",
        description=(
            f"正在保障的户，{since:%Y-%m-%d} 至 {on:%Y-%m-%d} 没有任何成员的家庭经济状况核对结果"
        ),
        rows=rows,
    )


def _irregular_approval_section(county: Area, on: date) -> InspectionSection:
    applications = (
        _applications(county)
        .filter(status=ApplicationStatus.APPROVED, decided_on__lte=on)
        .annotate(investigated=Exists(Investigation.objects.filter(application_id=OuterRef("pk"))))
        .filter(Q(investigated=False) | Q(overall_due_on__lt=F("decided_on")))
        .order_by("area__code", "household__number", "pk")
    )
    rows = []
    for application in applications:
        problems = []
        if not application.investigated:
            problems.append("无入户调查记录")
        if application.overall_due_on and application.overall_due_on < application.decided_on:
            late = (application.decided_on - application.overall_due_on).days
            problems.append(
                f"审批日期 {application.decided_on:%Y-%m-%d} 超过总时限 "
                f"{application.overall_due_on:%Y-%m-%d}（{late} 天）"
            )
        rows.append(_application_row(application, "；".join(problems)))
    return InspectionSection(
        code="irregular_approval",
        title="无入户调查或超时限审批",
        description="已批准的申请中，没有入户调查记录或在总时限之后才审批的",
        rows=rows,
    )


def _should_protect_section(county: Area, on: date) -> InspectionSection:
    title, description = "应保未保", "建档立卡户疑似符合低保条件但未纳入保障"
    try:
        standard = standard_for(county, on).rural_dibao_monthly
    except DomainError as exc:
        return InspectionSection(
            code="should_protect", title=title, description=description, rows=[], note=exc.message
        )
    able = RegistryMember.objects.filter(
        household_id=OuterRef("pk"),
        labour_capacity__in=[LabourCapacity.ORDINARY, LabourCapacity.SKILLED],
    )
    households = (
        RegistryHousehold.objects.filter(
            county=county, in_registry=True, annual_income_per_capita__lt=standard * 12
        )
        .exclude(poverty_status=PovertyStatus.OUT)
        .exclude(Exists(able))
        .exclude(registry_household_has_member_in_payment())
        .select_related("area", "area__parent")
        .annotate(
            head_name=registry_head("person__name"),
            head_id_number_ciphertext=registry_head("person__id_number_ciphertext"),
        )
        .order_by("area__code", "number")
    )
    rows = [
        InspectionRow(
            *_place(household.area),
            household_number="",
            registry_household_number=household.number,
            head_name=household.head_name or "",
            head_id_number_masked=masked(household.head_id_number_ciphertext),
            status_label=household.get_poverty_status_display(),
            detail=(
                f"年人均纯收入 {household.annual_income_per_capita} 元，低于保障标准 "
                f"{standard} 元/月 × 12；无普通或技能劳动力；无成员在保"
            ),
        )
        for household in households
    ]
    return InspectionSection(code="should_protect", title=title, description=description, rows=rows)


def inspection_report(*, actor: object, county: Area, on: date) -> InspectionReport:
    """The county's inspection report on ``on`` (see module doc)."""
    if county.level != AreaLevel.COUNTY:
        raise refuse(LinkageErrorCode.INVALID, "排查以旗县为单位，请选择旗县")
    check_area(actor, county, perm=Perm.INSPECTION_VIEW, doing="查看排查报告")
    return InspectionReport(
        county=county,
        on=on,
        sections=[
            _close_relative_section(county, on),
            _asset_findings_section(county, on),
            _no_recent_verification_section(county, on),
            _irregular_approval_section(county, on),
            _should_protect_section(county, on),
        ],
    )


def export_inspection_xlsx(*, actor: object, report: InspectionReport, stream: IO[bytes]) -> int:
    """One sheet per section (``INSPECTION_HEADERS``, masked ID numbers); returns the rows
    written and records an ``export.inspection`` audit row."""
    check_area(actor, report.county, perm=Perm.INSPECTION_VIEW, doing="导出排查报告")
    workbook = Workbook(write_only=True)
    total = 0
    for section in report.sections:
        total += write_xlsx_sheet(
            workbook,
            title=section.title,
            headers=INSPECTION_HEADERS,
            rows=(row.values() for row in section.rows),
        )
    workbook.save(stream)
    record(
        actor=actor,
        action="export.inspection",
        area=report.county,
        object_type="poverty.inspection",
        object_id=report.county.code,
        changes={"format": "xlsx", "on": report.on, "counts": report.counts, "masked": True},
    )
    return total
