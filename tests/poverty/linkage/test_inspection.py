"""The inspection report (排查): each section with a case that is listed and one that is not;
scope; the export with one sheet per section."""

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from cases.choices import ApplicationStatus, HouseholdStatus, LabourCapacity, Relation
from cases.models import Application, CountyVisit, GuaranteeStandard, Investigation
from lowbao.areas.roles import Role
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import PovertyStatus, VerificationItem
from poverty.models import CloseRelativeFiling, VerificationReport
from poverty.services.inspection import (
    INSPECTION_HEADERS,
    export_inspection_xlsx,
    inspection_report,
)
from tests.poverty.linkage.conftest import RegistryPerson, person, registry_persons

pytestmark = pytest.mark.django_db

ON = date(2026, 11, 2)


@pytest.fixture
def report(case_users, areas, county_standard):
    def _report(on: date = ON, actor=None):
        return inspection_report(
            actor=actor or case_users.civil_affairs, county=areas.county, on=on
        )

    return _report


def _numbers(report, code: str) -> list[str]:
    return [
        row.household_number or row.registry_household_number for row in report.section(code).rows
    ]


def _application(household, users, *, status=ApplicationStatus.APPROVED, **extra) -> Application:
    approved = status == ApplicationStatus.APPROVED
    return Application.objects.create(
        household=household,
        area=household.area,
        programme=household.programme,
        profile="2021",
        status=status,
        applied_on=extra.pop("applied_on", date(2026, 9, 1)),
        applicant_name="申请人",
        submitted_by=users.caseworker,
        approved_amount=Decimal("300") if approved else None,
        payment_start_month=date(2026, 11, 1) if approved else None,
        decided_on=extra.pop("decided_on", date(2026, 10, 10) if approved else None),
        **extra,
    )


def _investigate(application, users) -> None:
    Investigation.objects.create(
        application=application,
        investigators=["王一", "李二"],
        visited_on=date(2026, 9, 5),
        home_visit_record="入户",
        recorded_by=users.caseworker,
    )


def _report_for(p, item, found, on, detail=""):
    return VerificationReport.objects.create(
        person=p,
        id_number_hash=p.id_number_hash,
        name=p.name,
        item=item,
        found=found,
        detail=detail,
        checked_on=on,
        source="manual",
    )


# --- close-relative cases ---------------------------------------------------------------------


def test_close_relative_cases_are_listed_with_their_county_visit(make_paid, case_users, report):
    filed = _application(make_paid(number="DB-1"), case_users, status=ApplicationStatus.ACCEPTED)
    CloseRelativeFiling.objects.create(application=filed, source="declared", filed_on=ON)
    flagged = _application(make_paid(number="DB-2", is_close_relative_case=True), case_users)
    CountyVisit.objects.create(
        application=flagged,
        visited_on=ON,
        visitors=["甲", "乙"],
        record="核查",
        recorded_by=case_users.civil_affairs,
    )
    _application(make_paid(number="DB-3"), case_users)

    section = report().section("close_relative")

    assert [(r.household_number, r.status_label, r.detail) for r in section.rows] == [
        ("DB-1", "已受理（待调查）", "近亲属备案（申请人申报）；未见县级入户核查记录"),
        ("DB-2", "已批准", "近亲属备案户；已完成县级入户核查"),
    ]
    assert section.count == 2


def test_applications_after_the_date_are_not_in_the_report(make_paid, case_users, report):
    later = _application(make_paid(number="DB-1"), case_users, applied_on=ON + timedelta(days=1))
    CloseRelativeFiling.objects.create(application=later, source="matched", filed_on=ON)

    assert _numbers(report(), "close_relative") == []


# --- asset findings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "reports", "listed"),
    [
        ("a vehicle found", [(VerificationItem.VEHICLE, True, 10)], True),
        ("real estate found", [(VerificationItem.REAL_ESTATE, True, 10)], True),
        ("a business found", [(VerificationItem.BUSINESS, True, 10)], True),
        (
            "the vehicle was sold: the latest report finds none",
            [(VerificationItem.VEHICLE, True, 100), (VerificationItem.VEHICLE, False, 10)],
            False,
        ),
        ("deposits are not in this section", [(VerificationItem.DEPOSITS, True, 10)], False),
        ("nothing found", [(VerificationItem.VEHICLE, False, 10)], False),
        ("found after the date", [(VerificationItem.VEHICLE, True, -1)], False),
    ],
)
def test_paid_households_with_vehicle_business_or_real_estate_findings(
    _case, reports, listed, make_paid, report
):
    head = person()
    make_paid(persons=[head], number="DB-1")
    for item, found, days_before in reports:
        _report_for(head, item, found, ON - timedelta(days=days_before))

    assert _numbers(report(), "asset_findings") == (["DB-1"] if listed else [])


def test_findings_of_members_are_named_and_unpaid_households_ignored(make_paid, report):
    head, spouse = person(name="张一"), person(name="张二")
    make_paid(persons=[head, spouse], number="DB-1")
    stopped = person()
    make_paid(persons=[stopped], number="DB-2", status=HouseholdStatus.STOPPED)
    _report_for(spouse, VerificationItem.VEHICLE, True, ON)
    _report_for(spouse, VerificationItem.REAL_ESTATE, True, ON)
    _report_for(stopped, VerificationItem.VEHICLE, True, ON)

    rows = report().section("asset_findings").rows

    assert [(r.household_number, r.detail, r.head_name) for r in rows] == [
        ("DB-1", "核对有张二：车辆、房产", "张一")
    ]


# --- no recent verification -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "days_before", "listed", "detail"),
    [
        ("checked 365 days before", 365, False, None),
        ("checked 366 days before", 366, True, "最近一次核对：2025-11-01"),
        ("never checked", None, True, "从未核对"),
        ("checked after the date only", -3, True, "从未核对"),
    ],
)
def test_paid_households_without_a_verification_in_the_last_365_days(
    _case, days_before, listed, detail, make_paid, report
):
    head = person()
    make_paid(persons=[head], number="DB-1")
    if days_before is not None:
        _report_for(head, VerificationItem.DEPOSITS, False, ON - timedelta(days=days_before))

    rows = report().section("no_recent_verification").rows

    assert [(r.household_number, r.detail) for r in rows] == ([("DB-1", detail)] if listed else [])


def test_a_report_on_any_current_member_counts_and_unpaid_households_are_ignored(make_paid, report):
    spouse = person()
    make_paid(persons=[person(), spouse], number="DB-1")
    make_paid(number="DB-2", status=HouseholdStatus.SUSPENDED)
    _report_for(spouse, VerificationItem.TAX, False, ON - timedelta(days=30))

    assert _numbers(report(), "no_recent_verification") == []


# --- irregular approvals ----------------------------------------------------------------------


def test_approvals_without_investigation_or_after_the_time_limit(make_paid, case_users, report):
    _application(make_paid(number="DB-1"), case_users)
    late = _application(
        make_paid(number="DB-2"),
        case_users,
        overall_due_on=date(2026, 10, 5),
        decided_on=date(2026, 10, 10),
    )
    _investigate(late, case_users)
    on_time = _application(
        make_paid(number="DB-3"),
        case_users,
        overall_due_on=date(2026, 10, 10),
        decided_on=date(2026, 10, 10),
    )
    _investigate(on_time, case_users)
    _application(
        make_paid(number="DB-4"),
        case_users,
        status=ApplicationStatus.REJECTED,
        rejection_reason="x",
        decided_on=date(2026, 10, 1),
    )

    rows = report().section("irregular_approval").rows

    assert [(r.household_number, r.detail) for r in rows] == [
        ("DB-1", "无入户调查记录"),
        ("DB-2", "审批日期 2026-10-10 超过总时限 2026-10-05（5 天）"),
    ]


# --- 应保未保 ------------------------------------------------------------------------------------

LOST = LabourCapacity.LOST


@pytest.mark.parametrize(
    ("_case", "build", "listed"),
    [
        ("all lost labour, income below 460 × 12", {"income": "5519.99"}, True),
        ("income exactly 460 × 12", {"income": "5520.00"}, False),
        (
            "a member with ordinary labour",
            {
                "members": [
                    RegistryPerson(labour_capacity=LOST),
                    RegistryPerson(relation=Relation.SON, labour_capacity=LabourCapacity.ORDINARY),
                ]
            },
            False,
        ),
        (
            "a member with skilled labour",
            {"members": [RegistryPerson(labour_capacity=LabourCapacity.SKILLED)]},
            False,
        ),
        ("out of poverty", {"poverty_status": PovertyStatus.OUT}, False),
        ("fell back into poverty", {"poverty_status": PovertyStatus.RETURNED}, True),
        ("left the registry", {"in_registry": False}, False),
    ],
)
def test_should_protect_registry_households(_case, build, listed, make_registry, report):
    household = make_registry(**{"income": "3000", **build})

    assert _numbers(report(), "should_protect") == ([household.number] if listed else [])


def test_should_protect_excludes_households_with_a_member_in_payment(
    make_registry, make_paid, report
):
    household = make_registry(income="1000")
    make_paid(persons=registry_persons(household))

    assert _numbers(report(), "should_protect") == []


def test_should_protect_uses_the_standard_on_the_date(make_registry, report, areas):
    GuaranteeStandard.objects.create(
        area=areas.county,
        effective_from=date(2026, 12, 1),
        rural_dibao_monthly=Decimal("500.00"),
        source="tests",
    )
    household = make_registry(income="5800")  # 483.33 a month

    assert _numbers(report(on=ON), "should_protect") == []
    assert _numbers(report(on=date(2026, 12, 1)), "should_protect") == [household.number]


def test_should_protect_without_a_standard_says_so(make_registry, report, areas):
    make_registry(income="100")
    GuaranteeStandard.objects.all().delete()

    section = report().section("should_protect")

    assert section.rows == []
    assert "没有适用的保障标准" in section.note


# --- scope and export -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("_case", "user", "code"),
    [
        ("township caseworker", "caseworker", "not_found"),
        ("another county", "other_county_civil_affairs", "not_found"),
    ],
)
def test_the_report_is_refused_outside_the_county(_case, user, code, case_users, report):
    with pytest.raises(DomainError) as refused:
        report(actor=getattr(case_users, user))

    assert refused.value.code == code


@pytest.mark.parametrize("role", [Role.COUNTY_LEADER, Role.COUNTY_POVERTY_OFFICE])
def test_county_leader_and_poverty_office_see_the_report(role, make_user, areas, report):
    assert report(actor=make_user(role=role, area=areas.county)).county == areas.county


def test_a_league_officer_sees_the_report_of_a_county_below(make_user, areas, report):
    officer = make_user(role=Role.LEAGUE_OFFICER, area=areas.league)

    assert len(report(actor=officer).sections) == 5


def test_the_export_has_one_sheet_per_section_with_masked_id_numbers(
    make_paid, make_registry, case_users, report
):
    head = person(name="孙五")
    make_paid(persons=[head], number="DB-1")
    registry = make_registry(income="1000", number="PK-1")
    registry_head = registry_persons(registry)[0]
    built = report()
    stream = io.BytesIO()

    written = export_inspection_xlsx(actor=case_users.civil_affairs, report=built, stream=stream)

    workbook = load_workbook(io.BytesIO(stream.getvalue()))
    assert workbook.sheetnames == [
        "近亲属备案",
        "保障中核对有车辆工商房产",
        "保障中一年内无核对",
        "无入户调查或超时限审批",
        "应保未保",
    ]
    for sheet in workbook.worksheets:
        assert next(sheet.iter_rows(values_only=True)) == INSPECTION_HEADERS
    assert list(workbook["保障中一年内无核对"].iter_rows(values_only=True))[1] == (
        "察素齐镇",
        "察素齐一村",
        "DB-1",
        None,
        "孙五",
        head.id_number[:6] + "********" + head.id_number[-4:],
        "保障中",
        "从未核对",
    )
    should_protect = list(workbook["应保未保"].iter_rows(values_only=True))[1]
    assert should_protect[2:6] == (
        None,
        "PK-1",
        registry_head.name,
        registry_head.id_number[:6] + "********" + registry_head.id_number[-4:],
    )
    assert written == 2
    event = AuditEvent.objects.get(action="export.inspection")
    assert event.changes["counts"] == {
        "close_relative": 0,
        "asset_findings": 0,
        "no_recent_verification": 1,
        "irregular_approval": 0,
        "should_protect": 1,
    }
