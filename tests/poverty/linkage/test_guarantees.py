"""三保障 for paid households outside the registry: recording checks and the gap report."""

import io
from datetime import date, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from cases.choices import HouseholdStatus, Programme
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from poverty.choices import GuaranteeKind, GuaranteeStatus
from poverty.linkage_selectors import guarantee_cells, guarantee_counts, guarantee_households
from poverty.models import GuaranteeCheck
from poverty.services.guarantees import (
    GUARANTEE_COUNT_HEADERS,
    GUARANTEE_HOUSEHOLD_HEADERS,
    export_guarantee_gaps_xlsx,
    guarantee_record,
)
from tests.poverty.linkage.conftest import person, registry_persons

pytestmark = pytest.mark.django_db

EDU, MED, HOUSE = GuaranteeKind.EDUCATION, GuaranteeKind.MEDICAL, GuaranteeKind.HOUSING
ASSURED, GAP, NA = GuaranteeStatus.ASSURED, GuaranteeStatus.GAP, GuaranteeStatus.NOT_APPLICABLE


def _record(actor, household, kind, status, on=date(2026, 11, 10), evidence="入户核实"):
    return guarantee_record(
        actor=actor,
        household=household,
        kind=kind,
        status=status,
        evidence=evidence,
        checked_on=on,
    )


def test_the_report_lists_paid_households_outside_the_registry(
    make_paid, make_registry, case_users, areas
):
    outside = make_paid(number="DB-1")
    tekun = make_paid(number="TK-1", programme=Programme.TEKUN)
    exiting = make_paid(number="DB-2", status=HouseholdStatus.GRADUAL_EXIT)
    make_paid(number="DB-3", status=HouseholdStatus.STOPPED)
    make_paid(number="DB-4", persons=registry_persons(make_registry()))
    left = make_registry(in_registry=False)
    was_registered = make_paid(number="DB-5", persons=registry_persons(left))

    numbers = list(
        guarantee_households(actor=case_users.poverty_office).values_list("number", flat=True)
    )

    assert numbers == sorted([outside.number, tekun.number, exiting.number, was_registered.number])


def test_the_latest_check_of_each_kind_wins_and_missing_means_not_checked(make_paid, case_users):
    household = make_paid(number="DB-1")
    _record(case_users.caseworker, household, EDU, GAP, on=date(2026, 10, 1), evidence="辍学")
    _record(case_users.caseworker, household, EDU, ASSURED, on=date(2026, 11, 1))
    _record(case_users.caseworker, household, MED, GAP, on=date(2026, 11, 2), evidence="未参保")

    row = guarantee_households(actor=case_users.caseworker).get()

    assert [
        (c.kind, c.status, c.status_label, c.checked_on, c.is_gap) for c in guarantee_cells(row)
    ] == [
        (EDU, ASSURED, "有保障", date(2026, 11, 1), False),
        (MED, GAP, "存在缺口", date(2026, 11, 2), True),
        (HOUSE, "", "未核实", None, True),
    ]


def test_only_gaps_keeps_households_with_a_gap_or_a_missing_check(make_paid, case_users):
    complete = make_paid(number="DB-1")
    for kind in (EDU, MED):
        _record(case_users.caseworker, complete, kind, ASSURED)
    _record(case_users.caseworker, complete, HOUSE, NA)
    missing = make_paid(number="DB-2")

    numbers = list(
        guarantee_households(actor=case_users.caseworker, only_gaps=True).values_list(
            "number", flat=True
        )
    )

    assert numbers == [missing.number]


def test_counts_per_township(make_paid, case_users, areas):
    first = make_paid(number="DB-1")
    make_paid(number="DB-2", village=areas.sibling_village)
    make_paid(number="DB-3", village=areas.other_township_village)
    make_paid(number="DB-9", village=areas.other_county_village)
    for kind in GuaranteeKind.values:
        _record(case_users.caseworker, first, kind, ASSURED)

    rows, total = guarantee_counts(actor=case_users.poverty_office, county=areas.county)

    assert [(r.code, r.households, r.with_gap_or_missing) for r in rows] == [
        (areas.township.code, 2, 1),
        (areas.sibling_township.code, 1, 1),
    ]
    assert rows[0].by_kind[EDU] == {ASSURED: 1, GAP: 0, NA: 0, "missing": 1}
    assert (total.households, total.with_gap_or_missing, total.by_kind[HOUSE]["missing"]) == (
        3,
        2,
        2,
    )


def test_recording_a_check_is_audited(make_paid, case_users):
    household = make_paid()

    check = _record(case_users.village_assistant, household, HOUSE, GAP, evidence="危房C级")

    assert (check.status, check.evidence, check.checked_by) == (
        GAP,
        "危房C级",
        case_users.village_assistant,
    )
    assert AuditEvent.objects.filter(action="guarantee.record", object_id=str(check.pk)).exists()


@pytest.mark.parametrize(
    ("_case", "changes", "field"),
    [
        ("a gap needs a description", {"status": GAP, "evidence": " "}, "evidence"),
        ("no date in the future", {"on": timezone.localdate() + timedelta(days=1)}, "checked_on"),
        ("unknown kind", {"kind": "food"}, "kind"),
        ("unknown status", {"status": "maybe"}, "status"),
    ],
)
def test_incomplete_checks_are_refused(_case, changes, field, make_paid, case_users):
    arguments = {"kind": EDU, "status": ASSURED, **changes}

    with pytest.raises(DomainError) as refused:
        _record(case_users.caseworker, make_paid(), **arguments)

    assert field in refused.value.fields
    assert not GuaranteeCheck.objects.exists()


def test_checks_are_refused_for_registry_and_unpaid_households(
    make_paid, make_registry, case_users
):
    in_registry = make_paid(persons=registry_persons(make_registry()))
    stopped = make_paid(status=HouseholdStatus.STOPPED)

    with pytest.raises(DomainError) as registered:
        _record(case_users.caseworker, in_registry, EDU, ASSURED)
    with pytest.raises(DomainError) as unpaid:
        _record(case_users.caseworker, stopped, EDU, ASSURED)

    assert (registered.value.code, unpaid.value.code) == ("already_in_registry", "not_in_payment")


@pytest.mark.parametrize(
    ("_case", "user", "code"),
    [
        ("sibling township", "sibling_caseworker", "not_found"),
        ("another county", "other_county_civil_affairs", "not_found"),
        ("county leader may see but not record", "county_leader", "permission_denied"),
        ("civil affairs may see but not record", "civil_affairs", "permission_denied"),
    ],
)
def test_recording_needs_the_capability_over_the_village(_case, user, code, make_paid, case_users):
    with pytest.raises(DomainError) as refused:
        _record(getattr(case_users, user), make_paid(), EDU, ASSURED)

    assert refused.value.code == code
    assert not GuaranteeCheck.objects.exists()


def test_the_gap_report_exports_with_exact_headers_and_masked_id_numbers(make_paid, case_users):
    head = person(name="钱四")
    household = make_paid(persons=[head], number="DB-1")
    _record(case_users.caseworker, household, MED, GAP, on=date(2026, 11, 2), evidence="未参保")
    stream = io.BytesIO()

    written = export_guarantee_gaps_xlsx(actor=case_users.poverty_office, stream=stream)

    workbook = load_workbook(io.BytesIO(stream.getvalue()))
    assert workbook.sheetnames == ["按苏木乡镇汇总", "保障户"]
    counts = list(workbook["按苏木乡镇汇总"].iter_rows(values_only=True))
    assert counts[0] == GUARANTEE_COUNT_HEADERS
    assert counts[0][:5] == (
        "苏木乡镇",
        "户数",
        "有缺口或未核实户数",
        "义务教育有保障",
        "义务教育存在缺口",
    )
    assert counts[1] == ("察素齐镇", 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1)
    assert counts[2][0] == "合计"
    households = list(workbook["保障户"].iter_rows(values_only=True))
    assert households == [
        GUARANTEE_HOUSEHOLD_HEADERS,
        (
            "察素齐镇",
            "察素齐一村",
            "DB-1",
            "低保",
            "钱四",
            head.id_number[:6] + "********" + head.id_number[-4:],
            "未核实",
            None,
            "存在缺口",
            "2026-11-02",
            "未核实",
            None,
        ),
    ]
    assert written == 1
    assert AuditEvent.objects.filter(action="export.guarantee_gaps").count() == 1
