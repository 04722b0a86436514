"""Referrals both ways: after a county rejection, by hand, and proposals to the registry; the
poverty office's receive/complete transitions; exports and counts."""

import io
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cases.choices import ApplicationAction, HouseholdStatus, Programme, Relation
from cases.models import PovertyLine
from cases.services.applications import StepData, application_transition
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import ReferralDirection, ReferralStatus
from poverty.linkage_selectors import referral_counts
from poverty.models import Referral
from poverty.services.referrals import (
    REFERRAL_HEADERS,
    export_referrals_xlsx,
    referral_after_rejection,
    referral_complete,
    referral_create,
    referral_insert,
    referral_propose_for_county,
    referral_receive,
)
from tests.cases.workflow.test_application_path import walk_to_county_review
from tests.fixtures.cases import member
from tests.poverty.linkage.conftest import RegistryPerson, person, registry_persons

pytestmark = pytest.mark.django_db

TO_OFFICE = ReferralDirection.TO_POVERTY_OFFICE
PROPOSE = ReferralDirection.PROPOSE_REGISTRY
REJECTED_ON = date(2026, 11, 16)


def _reject(application, users, reason="家庭人均收入高于保障标准"):
    walk_to_county_review(application, users)
    return application_transition(
        application_id=application.pk,
        action=ApplicationAction.REJECT,
        actor=users.civil_affairs,
        data=StepData(comment=reason),
        today=REJECTED_ON,
    )


@pytest.fixture
def registry_family(make_registry):
    """Two members (as cases ``MemberData``) and the in-registry household they form."""
    members = [member(income="120"), member(relation=Relation.SPOUSE, income="200")]
    household = make_registry(
        members=[
            RegistryPerson(id_number=members[0].id_number, name=members[0].name),
            RegistryPerson(
                relation=Relation.SPOUSE, id_number=members[1].id_number, name=members[1].name
            ),
        ]
    )
    return members, household


# --- the rejection hook -----------------------------------------------------------------------


def test_a_rejected_registry_household_is_referred_to_the_poverty_office(
    registry_family, new_application, case_users
):
    members, registry_household = registry_family
    application = _reject(new_application(members=members), case_users)

    referral = Referral.objects.get()
    assert (
        referral.direction,
        referral.status,
        referral.household_id,
        referral.registry_household_id,
        referral.application_id,
        referral.reason,
        referral.area_id,
        referral.county_id,
        referral.created_by,
    ) == (
        TO_OFFICE,
        ReferralStatus.PENDING,
        application.household_id,
        registry_household.pk,
        application.pk,
        "家庭人均收入高于保障标准",
        application.area_id,
        registry_household.county_id,
        case_users.civil_affairs,
    )
    assert AuditEvent.objects.filter(action="referral.create", object_id=str(referral.pk)).exists()


def test_a_rejected_household_outside_the_registry_is_not_referred(new_application, case_users):
    _reject(new_application(), case_users)

    assert not Referral.objects.exists()


def test_a_household_that_left_the_registry_is_not_referred(
    make_registry, new_application, case_users
):
    members = [member()]
    make_registry(
        members=[RegistryPerson(id_number=members[0].id_number, name=members[0].name)],
        in_registry=False,
    )

    _reject(new_application(members=members), case_users)

    assert not Referral.objects.exists()


def test_the_rejection_hook_is_idempotent(registry_family, new_application, case_users):
    members, _ = registry_family
    application = _reject(new_application(members=members), case_users)

    referral_after_rejection(application, case_users.civil_affairs, REJECTED_ON)
    second = _reject(_reapply(application, case_users), case_users)

    assert second.status == "rejected"
    assert Referral.objects.count() == 1


def _reapply(application, users):
    from cases.services.applications import application_create

    return application_create(
        actor=users.caseworker,
        household=application.household,
        applied_on=timezone.localdate(),
        applicant_name="申请人",
        authorisation_signed=True,
    )


def test_a_completed_referral_lets_a_later_rejection_refer_again(
    registry_family, new_application, case_users
):
    members, _ = registry_family
    first = _reject(new_application(members=members), case_users)
    referral = Referral.objects.get()
    referral_receive(actor=case_users.poverty_office, referral_id=referral.pk)
    referral_complete(actor=case_users.poverty_office, referral_id=referral.pk, measure="产业扶贫")

    _reject(_reapply(first, case_users), case_users, reason="第二次：财产超标")

    assert list(Referral.objects.order_by("pk").values_list("status", "reason")) == [
        (ReferralStatus.MEASURES_TAKEN, "家庭人均收入高于保障标准"),
        (ReferralStatus.PENDING, "第二次：财产超标"),
    ]


# --- transitions ------------------------------------------------------------------------------


@pytest.fixture
def pending(make_registry, case_users) -> Referral:
    referral, _ = referral_insert(
        actor=case_users.caseworker,
        direction=TO_OFFICE,
        reason="摸底不符合条件",
        registry_household=make_registry(),
    )
    return referral


def _move(referral: Referral, status: str) -> Referral:
    Referral.objects.filter(pk=referral.pk).update(
        status=status, measure="已帮扶" if status == ReferralStatus.MEASURES_TAKEN else ""
    )
    referral.refresh_from_db()
    return referral


def _act(action: str, actor, referral: Referral):
    if action == "receive":
        return referral_receive(actor=actor, referral_id=referral.pk, today=date(2026, 11, 20))
    return referral_complete(
        actor=actor, referral_id=referral.pk, measure="安排公益岗位", today=date(2026, 11, 25)
    )


@pytest.mark.parametrize(
    ("_case", "start", "action", "user", "outcome"),
    [
        ("poverty office receives", "pending", "receive", "poverty_office", "received"),
        (
            "poverty office completes",
            "received",
            "complete",
            "poverty_office",
            "measures_taken",
        ),
        ("receiving twice does nothing", "received", "receive", "poverty_office", "received"),
        (
            "completing twice does nothing",
            "measures_taken",
            "complete",
            "poverty_office",
            "measures_taken",
        ),
        ("complete before receive", "pending", "complete", "poverty_office", "invalid_transition"),
        (
            "receive after completion",
            "measures_taken",
            "receive",
            "poverty_office",
            "invalid_transition",
        ),
        ("caseworker cannot receive", "pending", "receive", "caseworker", "permission_denied"),
        (
            "civil affairs cannot receive",
            "pending",
            "receive",
            "civil_affairs",
            "permission_denied",
        ),
        (
            "county leader cannot complete",
            "received",
            "complete",
            "county_leader",
            "permission_denied",
        ),
        ("sibling township", "pending", "receive", "sibling_caseworker", "not_found"),
        ("another county", "pending", "receive", "other_county_civil_affairs", "not_found"),
    ],
)
def test_referral_transitions_allowed_and_denied(
    _case, start, action, user, outcome, pending, case_users
):
    referral = _move(pending, start)

    if outcome in ReferralStatus.values:
        result = _act(action, getattr(case_users, user), referral)
        assert result.status == outcome
    else:
        with pytest.raises(DomainError) as refused:
            _act(action, getattr(case_users, user), referral)
        assert refused.value.code == outcome
        referral.refresh_from_db()
        assert referral.status == start


def test_receive_then_complete_records_who_when_and_the_measure(pending, case_users):
    referral_receive(
        actor=case_users.poverty_office, referral_id=pending.pk, today=date(2026, 11, 20)
    )
    referral = referral_complete(
        actor=case_users.poverty_office,
        referral_id=pending.pk,
        measure="  安排公益岗位  ",
        today=date(2026, 11, 25),
    )

    assert (
        referral.status,
        referral.received_by,
        referral.received_on,
        referral.measure,
        referral.done_on,
    ) == (
        ReferralStatus.MEASURES_TAKEN,
        case_users.poverty_office,
        date(2026, 11, 20),
        "安排公益岗位",
        date(2026, 11, 25),
    )
    assert list(
        AuditEvent.objects.filter(object_id=str(referral.pk), action__startswith="referral.")
        .order_by("seq")
        .values_list("action", flat=True)
    ) == ["referral.create", "referral.receive", "referral.complete"]


def test_complete_needs_a_measure(pending, case_users):
    referral_receive(actor=case_users.poverty_office, referral_id=pending.pk)

    with pytest.raises(DomainError) as refused:
        referral_complete(actor=case_users.poverty_office, referral_id=pending.pk, measure=" ")

    assert refused.value.code == "reason_missing"
    pending.refresh_from_db()
    assert pending.status == ReferralStatus.RECEIVED


def test_the_refusal_of_an_illegal_jump_is_in_chinese(pending, case_users):
    with pytest.raises(DomainError) as refused:
        referral_complete(actor=case_users.poverty_office, referral_id=pending.pk, measure="x")

    assert refused.value.message == "该移交尚未接收，须先接收再登记帮扶措施"
    assert refused.value.status == 409


# --- by hand ----------------------------------------------------------------------------------


def test_a_caseworker_refers_a_registry_household_by_its_cases_household(
    registry_family, new_application, case_users
):
    members, registry_household = registry_family
    household = new_application(members=members).household

    referral = referral_create(
        actor=case_users.caseworker, direction=TO_OFFICE, household=household, reason="临时救助不符"
    )

    assert (referral.registry_household_id, referral.household_id, referral.area_id) == (
        registry_household.pk,
        household.pk,
        household.area_id,
    )


@pytest.mark.parametrize(
    ("_case", "build", "code"),
    [
        (
            "outside the registry",
            lambda make_paid, reg: {"household": make_paid()},
            "not_in_registry",
        ),
        (
            "registry household that left",
            lambda make_paid, reg: {"registry_household": reg(in_registry=False)},
            "not_in_registry",
        ),
        ("no household at all", lambda make_paid, reg: {}, "invalid"),
    ],
)
def test_referring_to_the_poverty_office_needs_a_registry_household(
    _case, build, code, make_paid, make_registry, case_users
):
    with pytest.raises(DomainError) as refused:
        referral_create(
            actor=case_users.caseworker,
            direction=TO_OFFICE,
            reason="不符合条件",
            **build(make_paid, make_registry),
        )

    assert refused.value.code == code
    assert not Referral.objects.exists()


def test_a_second_open_referral_is_refused(make_registry, case_users):
    registry_household = make_registry()
    referral_create(
        actor=case_users.caseworker,
        direction=TO_OFFICE,
        registry_household=registry_household,
        reason="a",
    )

    with pytest.raises(DomainError) as refused:
        referral_create(
            actor=case_users.civil_affairs,
            direction=TO_OFFICE,
            registry_household=registry_household,
            reason="b",
        )

    assert refused.value.code == "referral_exists"
    assert Referral.objects.count() == 1


@pytest.mark.parametrize(
    ("_case", "user", "code"),
    [
        ("village assistant cannot refer", "village_assistant", "permission_denied"),
        ("poverty office cannot refer", "poverty_office", "permission_denied"),
        ("sibling township", "sibling_caseworker", "not_found"),
    ],
)
def test_referring_by_hand_needs_the_capability_over_the_village(
    _case, user, code, make_registry, case_users
):
    with pytest.raises(DomainError) as refused:
        referral_create(
            actor=getattr(case_users, user),
            direction=TO_OFFICE,
            registry_household=make_registry(),
            reason="不符合条件",
        )

    assert refused.value.code == code


def test_a_reason_is_required(make_registry, case_users):
    with pytest.raises(DomainError) as refused:
        referral_create(
            actor=case_users.caseworker,
            direction=TO_OFFICE,
            registry_household=make_registry(),
            reason="  ",
        )

    assert refused.value.fields == {"reason": ["请填写"]}


def test_proposing_by_hand_needs_a_paid_household_outside_the_registry(
    make_paid, make_registry, case_users
):
    in_registry = make_registry()
    paid_in_registry = make_paid(persons=registry_persons(in_registry))
    stopped = make_paid(status=HouseholdStatus.STOPPED)
    outside = make_paid()

    with pytest.raises(DomainError) as already:
        referral_create(
            actor=case_users.caseworker, direction=PROPOSE, household=paid_in_registry, reason="x"
        )
    with pytest.raises(DomainError) as not_paid:
        referral_create(
            actor=case_users.caseworker, direction=PROPOSE, household=stopped, reason="x"
        )
    referral = referral_create(
        actor=case_users.caseworker, direction=PROPOSE, household=outside, reason="收入低"
    )

    assert (already.value.code, not_paid.value.code) == ("already_in_registry", "not_in_payment")
    assert (referral.direction, referral.household_id, referral.registry_household_id) == (
        PROPOSE,
        outside.pk,
        None,
    )


# --- proposals to the registry ----------------------------------------------------------------


def _line(year: int, amount: str) -> None:
    PovertyLine.objects.update_or_create(
        year=year, defaults={"annual_amount": Decimal(amount), "source": "tests"}
    )


@pytest.mark.parametrize(
    ("_case", "line", "income", "proposed"),
    [
        ("3000 a year: 249.99 × 12 = 2999.88 is below", "3000", "249.99", True),
        ("3000 a year: 250.00 × 12 = 3000 is not below", "3000", "250.00", False),
        ("2855 a year: 237.91 × 12 = 2854.92 is below", "2855", "237.91", True),
        ("2855 a year: 237.92 × 12 = 2855.04 is not below", "2855", "237.92", False),
        ("2952 a year: 245.99 is below", "2952", "245.99", True),
        ("2952 a year: 246.00 is not below", "2952", "246.00", False),
    ],
)
def test_proposals_at_the_poverty_line_boundary(
    _case, line, income, proposed, make_paid, policy_defaults, case_users, areas
):
    _line(2026, line)
    household = make_paid(income=income)

    created = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 11, 2)
    )

    assert [r.household_id for r in created] == ([household.pk] if proposed else [])


def test_proposals_use_the_line_of_the_year_of_the_date(
    make_paid, policy_defaults, case_users, areas
):
    _line(2025, "2000")
    _line(2026, "3000")
    household = make_paid(income="200")  # 2400 a year: below 2026's line, above 2025's

    in_2025 = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2025, 12, 1)
    )
    in_2026 = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 1, 5)
    )

    assert ([r.household_id for r in in_2025], [r.household_id for r in in_2026]) == (
        [],
        [household.pk],
    )
    assert in_2026[0].reason == (
        "月人均收入 200.00 元 × 12 = 2400.00 元，低于 2026 年扶贫标准 3000.00 元，"
        "且不在建档立卡台账中"
    )


def test_proposals_skip_registry_tekun_unpaid_and_other_county_households(
    make_paid, make_registry, poverty_line_2026, case_users, areas
):
    in_registry = make_registry()
    make_paid(persons=registry_persons(in_registry)[:1], income="100")
    make_paid(programme=Programme.TEKUN, income="100")
    make_paid(status=HouseholdStatus.STOPPED, income="100")
    make_paid(village=areas.other_county_village, income="100")
    left_registry = make_registry(in_registry=False)
    counted = make_paid(persons=registry_persons(left_registry), income="100")
    exiting = make_paid(status=HouseholdStatus.GRADUAL_EXIT, income="100")

    created = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 11, 2)
    )

    assert sorted(r.household_id for r in created) == sorted([counted.pk, exiting.pk])
    assert {r.area_id for r in created} == {areas.village.pk}


def test_proposals_are_idempotent_within_a_year(make_paid, poverty_line_2026, case_users, areas):
    household = make_paid(income="100")
    first = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 11, 2)
    )
    again = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 11, 3)
    )
    referral_receive(actor=case_users.poverty_office, referral_id=first[0].pk)
    referral_complete(actor=case_users.poverty_office, referral_id=first[0].pk, measure="已识别")
    after_completion = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 11, 30)
    )
    Referral.objects.filter(pk=first[0].pk).update(done_on=date(2025, 12, 31))
    next_year = referral_propose_for_county(
        actor=case_users.civil_affairs, county=areas.county, on=date(2026, 12, 1)
    )

    assert (len(first), len(again), len(after_completion)) == (1, 0, 0)
    assert [r.household_id for r in next_year] == [household.pk]
    event = AuditEvent.objects.filter(action="referral.propose_for_county").order_by("seq").first()
    assert event.changes["households"] == [household.number]


@pytest.mark.parametrize(
    ("_case", "user", "code"),
    [
        ("caseworker does not cover the county", "caseworker", "not_found"),
        ("poverty office may see but not propose", "poverty_office", "permission_denied"),
        ("another county", "other_county_civil_affairs", "not_found"),
    ],
)
def test_proposals_are_made_by_the_county_civil_affairs(
    _case, user, code, make_paid, poverty_line_2026, case_users, areas
):
    make_paid(income="100")

    with pytest.raises(DomainError) as refused:
        referral_propose_for_county(actor=getattr(case_users, user), county=areas.county)

    assert refused.value.code == code
    assert not Referral.objects.exists()


# --- exports and counts -----------------------------------------------------------------------


def _masked(p) -> str:
    return p.id_number[:6] + "********" + p.id_number[-4:]


def test_both_lists_export_with_exact_headers_and_masked_id_numbers(
    make_registry, make_paid, poverty_line_2026, case_users, areas
):
    head = person(name="=HYPERLINK(1)")
    registry_household = make_registry(
        members=[RegistryPerson(id_number=head.id_number, name=head.name)], number="PK-9"
    )
    referral_create(
        actor=case_users.caseworker,
        direction=TO_OFFICE,
        registry_household=registry_household,
        reason="-不符合",
    )
    proposed_head = person(name="赵三")
    make_paid(persons=[proposed_head], income="100.50", number="DB-77")
    referral_propose_for_county(actor=case_users.civil_affairs, county=areas.county)
    today = f"{timezone.localdate():%Y-%m-%d}"

    sheets = {}
    for direction in (TO_OFFICE, PROPOSE):
        stream = io.BytesIO()
        export_referrals_xlsx(actor=case_users.poverty_office, direction=direction, stream=stream)
        sheets[direction] = list(
            load_workbook(io.BytesIO(stream.getvalue())).active.iter_rows(values_only=True)
        )

    assert sheets[TO_OFFICE] == [
        REFERRAL_HEADERS[TO_OFFICE],
        (
            today,
            "察素齐镇",
            "察素齐一村",
            "PK-9",
            None,
            " =HYPERLINK(1)",
            _masked(head),
            " -不符合",
            "待接收",
            None,
            None,
            None,
        ),
    ]
    assert sheets[PROPOSE][0] == REFERRAL_HEADERS[PROPOSE]
    assert sheets[PROPOSE][1][:7] == (
        today,
        "察素齐镇",
        "察素齐一村",
        "DB-77",
        "赵三",
        _masked(proposed_head),
        100.5,
    )
    assert AuditEvent.objects.filter(action="export.referrals").count() == 2


def test_a_township_exports_only_its_referrals(make_registry, case_users, areas):
    for village in (areas.village, areas.other_township_village):
        referral_insert(
            actor=case_users.civil_affairs,
            direction=TO_OFFICE,
            reason="x",
            registry_household=make_registry(village=village),
        )
    stream = io.BytesIO()

    written = export_referrals_xlsx(
        actor=case_users.sibling_caseworker, direction=TO_OFFICE, stream=stream
    )

    assert written == 1


def test_counts_by_direction_status_and_township(make_registry, make_paid, case_users, areas):
    for village in (areas.village, areas.village, areas.other_township_village):
        referral_insert(
            actor=case_users.civil_affairs,
            direction=TO_OFFICE,
            reason="x",
            registry_household=make_registry(village=village),
        )
    proposal, _ = referral_insert(
        actor=case_users.civil_affairs, direction=PROPOSE, reason="y", household=make_paid()
    )
    referral_receive(actor=case_users.poverty_office, referral_id=proposal.pk)
    referral_insert(
        actor=case_users.other_county_civil_affairs,
        direction=TO_OFFICE,
        reason="z",
        registry_household=make_registry(village=areas.other_county_village),
    )

    counts = referral_counts(actor=case_users.poverty_office, county=areas.county)

    assert [(row.code, row.counts) for row in counts.rows] == [
        (areas.township.code, {(TO_OFFICE, "pending"): 2, (PROPOSE, "received"): 1}),
        (areas.sibling_township.code, {(TO_OFFICE, "pending"): 1}),
    ]
    assert counts.total.cells == [3, 0, 0, 0, 1, 0]
    assert counts.total.total == 4
