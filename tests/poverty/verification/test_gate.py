"""逢救必核: the county approval needs a recent report on every required item for every counted
member, and a written explanation of every finding that contradicts the declaration."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from cases.choices import ApplicationStatus, AssetKind, ExclusionReason, Relation
from cases.errors import CaseErrorCode
from cases.models import HouseholdAsset, HouseholdMember, PolicySetting
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import VerificationItem
from poverty.models import VerificationExplanation, VerificationReport, VerificationRequest
from poverty.services.verification import (
    CellState,
    ReportSource,
    demo_verify_household,
    verification_explain,
    verification_gate,
    verification_report_record,
    verification_request_create,
    verification_status,
)
from tests.cases.workflow.test_application_path import walk_to_county_review
from tests.fixtures.cases import member
from tests.poverty.verification.conftest import DECISION_DAY, approve

pytestmark = pytest.mark.django_db

ITEMS = ("车辆", "房产", "工商登记", "存款")
BEFORE_FINDINGS = date(2026, 11, 10)


def _person(application, relation=Relation.HEAD):
    return (
        HouseholdMember.objects.select_related("person")
        .get(household=application.household, relation=relation)
        .person
    )


def _record(application, actor, *, relation=Relation.HEAD, item, found=False, on, **extra):
    person = _person(application, relation)
    return verification_report_record(
        actor=actor,
        id_number=person.id_number,
        name=person.name,
        item=item,
        found=found,
        amount=extra.get("amount"),
        detail=extra.get("detail", ""),
        checked_on=on,
    )


@pytest.fixture
def two_person_application(new_application, case_users):
    application = new_application(
        members=[
            member(income="120", name="张三"),
            member(relation=Relation.SPOUSE, income="200", name="李四"),
        ]
    )
    return walk_to_county_review(application, case_users)


def test_gate_blocks_county_approval_listing_every_missing_item(two_person_application, case_users):
    application = two_person_application
    head, spouse = _person(application), _person(application, Relation.SPOUSE)
    _record(application, case_users.caseworker, item="vehicle", on=DECISION_DAY)

    with pytest.raises(DomainError) as refused:
        approve(application, case_users)

    assert refused.value.code == CaseErrorCode.APPROVAL_BLOCKED
    expected = [
        f"张三（{head.id_number_masked}）缺少“{label}”核对结果（须为 180 天内）"
        for label in ITEMS[1:]
    ] + [
        f"李四（{spouse.id_number_masked}）缺少“{label}”核对结果（须为 180 天内）"
        for label in ITEMS
    ]
    assert refused.value.message == "；".join(expected)
    application.refresh_from_db()
    assert application.status == ApplicationStatus.COUNTY_REVIEW


def test_reports_older_than_the_validity_block_and_recent_ones_pass(
    two_person_application, case_users, verified
):
    application = two_person_application
    verified(application, on=DECISION_DAY - timedelta(days=181))
    head = _person(application)

    problems = verification_gate(application, DECISION_DAY)

    assert len(problems) == 8
    assert problems[0] == (
        f"张三（{head.id_number_masked}）的“车辆”核对结果已过期（2026-05-19 核对，须为 180 天内）"
    )
    verified(application, on=DECISION_DAY - timedelta(days=180))  # exactly on the limit
    assert verification_gate(application, DECISION_DAY) == []


def test_validity_and_items_come_from_the_policy(two_person_application, verified):
    application = two_person_application
    verified(application, on=DECISION_DAY - timedelta(days=100))
    PolicySetting.objects.filter(area__code="150000000000").update(
        verification_validity_days=90, verification_required_items=["vehicle", "tax"]
    )

    head, spouse = _person(application), _person(application, Relation.SPOUSE)

    problems = verification_gate(application, DECISION_DAY)

    assert problems == [
        f"张三（{head.id_number_masked}）的“车辆”核对结果已过期（2026-08-08 核对，须为 90 天内）",
        f"张三（{head.id_number_masked}）缺少“纳税”核对结果（须为 90 天内）",
        f"李四（{spouse.id_number_masked}）的“车辆”核对结果已过期（2026-08-08 核对，须为 90 天内）",
        f"李四（{spouse.id_number_masked}）缺少“纳税”核对结果（须为 90 天内）",
    ]


def test_all_reports_present_lets_the_real_workflow_approve(
    two_person_application, case_users, verified
):
    verified(two_person_application)

    application = approve(two_person_application, case_users)

    assert application.status == ApplicationStatus.APPROVED


def test_members_not_counted_or_gone_need_no_report(new_application, case_users, verified):
    application = new_application(
        members=[
            member(income="120", name="张三"),
            member(
                relation=Relation.SON,
                name="王五",
                is_counted=False,
                exclusion_reason=ExclusionReason.PRISON,
            ),
        ]
    )
    application = walk_to_county_review(application, case_users)

    verified(application)

    assert verification_gate(application, DECISION_DAY) == []
    status = verification_status(application=application, on=DECISION_DAY)
    assert [row.member.person.name for row in status.members] == ["张三"]


def test_a_contradicting_finding_blocks_until_explained(
    two_person_application, case_users, verified
):
    application = two_person_application
    verified(application, on=BEFORE_FINDINGS)
    report = _record(
        application,
        case_users.caseworker,
        item="vehicle",
        found=True,
        amount=Decimal("35000"),
        detail="蒙A12345",
        on=date(2026, 11, 20),
    )
    head = _person(application)

    with pytest.raises(DomainError) as refused:
        approve(application, case_users)
    assert refused.value.message == (
        f"须对核对发现作出书面说明：张三（{head.id_number_masked}）“车辆”核对为有（蒙A12345），"
        "金额 35000.00 元，申报无机动车辆"
    )
    status = verification_status(application=application, on=DECISION_DAY)
    assert status.members[0].cells[0].state == CellState.FINDING_UNEXPLAINED

    verification_explain(
        actor=case_users.caseworker,
        application=application,
        report=report,
        explanation="该车辆为亲属借名登记，实际由亲属使用，有借用协议",
    )

    application = approve(application, case_users)
    assert application.status == ApplicationStatus.APPROVED
    event = AuditEvent.objects.get(action="verification.explain")
    assert event.changes["report"] == report.pk


def test_declared_assets_are_not_findings(new_application, case_users, verified):
    application = new_application(members=[member(income="100", name="张三")])
    for kind, quantity, value in (
        (AssetKind.VEHICLE, 1, "20000"),
        (AssetKind.HOUSE, 1, "0"),
        (AssetKind.DEPOSITS, 1, "3000"),
    ):
        HouseholdAsset.objects.create(
            household=application.household, kind=kind, quantity=quantity, value=Decimal(value)
        )
    application = walk_to_county_review(application, case_users)
    verified(application, on=BEFORE_FINDINGS)
    for item, amount in (("vehicle", "20000"), ("real_estate", None), ("deposits", "2500")):
        _record(
            application,
            case_users.caseworker,
            item=item,
            found=True,
            amount=Decimal(amount) if amount else None,
            on=date(2026, 11, 21),
        )

    assert verification_gate(application, DECISION_DAY) == []

    _record(
        application,
        case_users.caseworker,
        item="deposits",
        found=True,
        amount=Decimal("3000.01"),
        on=date(2026, 11, 22),
    )
    (problem,) = verification_gate(application, DECISION_DAY)
    assert problem.startswith("须对核对发现作出书面说明：张三")
    assert problem.endswith(
        "“存款”核对为有，金额 3000.01 元，核对存款合计 3000.01 元，申报存款 3000.00 元"
    )


def test_more_houses_found_than_declared_and_business_found_are_findings(
    two_person_application, case_users, verified
):
    application = two_person_application
    verified(application, on=BEFORE_FINDINGS)
    for relation in (Relation.HEAD, Relation.SPOUSE):
        _record(
            application,
            case_users.caseworker,
            relation=relation,
            item="real_estate",
            found=True,
            on=date(2026, 11, 21),
        )
    _record(
        application,
        case_users.caseworker,
        item="business",
        found=True,
        detail="某某商贸有限公司",
        on=date(2026, 11, 21),
    )

    problems = verification_gate(application, DECISION_DAY)

    assert len(problems) == 3
    assert sum("核对发现 2 人名下有房产，申报房产 0 处" in problem for problem in problems) == 2
    assert any("“工商登记”核对为有（某某商贸有限公司），申报无工商登记" in p for p in problems)


def test_a_later_none_report_supersedes_an_earlier_finding(
    two_person_application, case_users, verified
):
    application = two_person_application
    _record(application, case_users.caseworker, item="vehicle", found=True, on=date(2026, 11, 20))
    verified(application, on=date(2026, 11, 25))

    assert verification_gate(application, DECISION_DAY) == []


def test_explanation_needs_the_capability_and_the_area(
    two_person_application, case_users, make_user, areas, verified
):
    application = two_person_application
    verified(application, on=BEFORE_FINDINGS)
    report = _record(
        application, case_users.caseworker, item="business", found=True, on=date(2026, 11, 21)
    )

    for actor, code in (
        (case_users.township_head, "permission_denied"),  # may view, may not explain
        (case_users.sibling_caseworker, "not_found"),
        (case_users.other_county_civil_affairs, "not_found"),
    ):
        with pytest.raises(DomainError) as refused:
            verification_explain(
                actor=actor, application=application, report=report, explanation="说明"
            )
        assert refused.value.code == code
    with pytest.raises(DomainError) as empty:
        verification_explain(
            actor=case_users.civil_affairs,
            application=application,
            report=report,
            explanation="  ",
        )
    assert empty.value.code == "explanation_missing"
    assert VerificationExplanation.objects.count() == 0

    verification_explain(
        actor=case_users.civil_affairs,
        application=application,
        report=report,
        explanation="个体户已于 2025 年注销，登记信息未更新",
    )
    assert VerificationExplanation.objects.get().written_by == case_users.civil_affairs


def test_explanation_of_a_report_of_another_household_is_refused(
    two_person_application, new_application, case_users
):
    other = new_application(members=[member(income="100", name="赵六")])
    report = _record(
        other, case_users.caseworker, item="vehicle", found=True, on=date(2026, 11, 21)
    )

    with pytest.raises(DomainError) as refused:
        verification_explain(
            actor=case_users.caseworker,
            application=two_person_application,
            report=report,
            explanation="说明",
        )
    assert refused.value.code == "report_not_in_household"


def test_request_without_authorisation_is_refused(new_application, case_users):
    application = new_application(authorisation_signed=False)

    with pytest.raises(DomainError) as refused:
        verification_request_create(
            actor=case_users.caseworker,
            household=application.household,
            application=application,
            authorisation_reference="  ",
            items=["vehicle"],
            requested_on=date(2026, 11, 2),
        )

    assert refused.value.code == "no_authorisation"
    assert refused.value.message.startswith("无委托不核对")
    assert VerificationRequest.objects.count() == 0


def test_request_with_a_signed_application_or_a_reference(new_application, case_users):
    signed = new_application()
    request = verification_request_create(
        actor=case_users.caseworker,
        household=signed.household,
        application=signed,
        authorisation_reference="",
        items=["vehicle", "deposits", "vehicle"],
        requested_on=date(2026, 11, 2),
    )
    assert request.items == ["vehicle", "deposits"]
    assert request.authorisation_reference.startswith("申请书所附家庭经济状况核对授权书")

    unsigned = new_application(
        authorisation_signed=False, members=[member(income="50", name="孙七")]
    )
    request = verification_request_create(
        actor=case_users.civil_affairs,
        household=unsigned.household,
        authorisation_reference="授权书 2026-017",
        items=["tax"],
        requested_on=date(2026, 11, 2),
    )
    assert request.application is None
    assert AuditEvent.objects.filter(action="verification.request").count() == 2


@pytest.mark.parametrize(
    ("items", "user", "code"),
    [
        pytest.param([], "caseworker", "verification_items_invalid", id="no_items"),
        pytest.param(["car"], "caseworker", "verification_items_invalid", id="unknown_item"),
        pytest.param(["vehicle"], "township_head", "permission_denied", id="no_capability"),
        pytest.param(["vehicle"], "sibling_caseworker", "not_found", id="sibling_township"),
    ],
)
def test_request_refusals(new_application, case_users, items, user, code):
    application = new_application()

    with pytest.raises(DomainError) as refused:
        verification_request_create(
            actor=getattr(case_users, user),
            household=application.household,
            application=application,
            authorisation_reference="授权书",
            items=items,
            requested_on=date(2026, 11, 2),
        )

    assert refused.value.code == code
    assert VerificationRequest.objects.count() == 0


def test_manual_report_with_a_request_marks_it_reported_and_is_idempotent(
    new_application, case_users
):
    application = new_application(members=[member(income="100", name="张三")])
    request = verification_request_create(
        actor=case_users.caseworker,
        household=application.household,
        application=application,
        authorisation_reference="",
        items=["vehicle"],
        requested_on=date(2026, 11, 2),
    )
    person = _person(application)
    arguments = {
        "actor": case_users.caseworker,
        "id_number": person.id_number,
        "name": person.name,
        "item": VerificationItem.VEHICLE,
        "found": False,
        "amount": None,
        "detail": "",
        "checked_on": date(2026, 11, 3),
        "request": request,
    }

    first = verification_report_record(**arguments)
    second = verification_report_record(**arguments)

    assert first.pk == second.pk
    assert (second.source, second.person_id, second.request_id) == (
        ReportSource.MANUAL,
        person.pk,
        request.pk,
    )
    request.refresh_from_db()
    assert request.status == "reported"
    events = AuditEvent.objects.filter(action="verification.report_record").order_by("seq")
    assert [(e.changes["created"], e.changes["unchanged"]) for e in events] == [(1, 0), (0, 1)]


def test_manual_report_validates_like_the_ledger(new_application, case_users):
    with pytest.raises(DomainError) as refused:
        verification_report_record(
            actor=case_users.caseworker,
            id_number="150121198001010018",
            name="",
            item="vehicle",
            found=True,
            amount=Decimal("-1"),
            detail="",
            checked_on=date(2026, 11, 3),
        )
    assert refused.value.code == "invalid_rows"
    assert [e["code"] for e in refused.value.fields["errors"]] == [
        "id_checksum",
        "required_missing",
        "negative_amount",
    ]
    assert VerificationReport.objects.count() == 0


def test_demo_hook_records_none_reports_from_the_platform(two_person_application):
    demo_verify_household(two_person_application, DECISION_DAY)

    assert VerificationReport.objects.filter(source="platform", found=False).count() == 8
    assert verification_gate(two_person_application, DECISION_DAY) == []
