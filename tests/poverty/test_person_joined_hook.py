"""Data received before lowbao knew a person is linked when the person joins a household."""

from datetime import date

import pytest

from cases.choices import Health
from cases.models import HouseholdMember
from lowbao.people.models import Person
from lowbao.people.protection import id_number_blind_index
from poverty.choices import VerificationItem
from poverty.models import DisabilityRecord, VerificationReport
from poverty.services.disability import disability_records_apply
from poverty.services.verification import verification_reports_apply
from poverty.verification_validation import VerificationRow, validate_disability_rows
from tests.fixtures.cases import member
from tests.lowbao.imports.test_import_ledger_command import (
    COUNTY,
    roster,
    run_json,
    two_households,
)

pytestmark = pytest.mark.django_db


def test_disability_record_pushed_earlier_applies_at_registration(new_application):
    head = member(income="100")
    certificate = f"{head.id_number}42"  # 肢体 (4), grade 2
    checked = validate_disability_rows(
        [
            {
                "姓名": head.name,
                "身份证号": head.id_number,
                "残疾证号": certificate,
                "残疾类别": "肢体",
                "残疾等级": "二级",
            }
        ]
    )
    assert checked.errors == []
    disability_records_apply(actor=None, rows=checked.rows)
    assert DisabilityRecord.objects.get().person is None

    application = new_application(members=[head])

    record = DisabilityRecord.objects.get()
    row = HouseholdMember.objects.get(household=application.household)
    assert record.person_id == row.person_id
    assert (row.disability_type, row.disability_grade, row.disability_certificate) == (
        "physical",
        2,
        certificate,
    )


def _disability_row(id_number: str, name: str) -> None:
    checked = validate_disability_rows(
        [
            {
                "姓名": name,
                "身份证号": id_number,
                "残疾证号": f"{id_number}42",
                "残疾类别": "肢体",
                "残疾等级": "二级",
            }
        ]
    )
    assert checked.errors == []
    disability_records_apply(actor=None, rows=checked.rows)


def test_records_and_reports_kept_earlier_are_linked_when_a_roster_import_adds_the_persons(
    areas, tmp_path
):
    rows = two_households()
    spouse, other_head = rows[1]["身份证号"], rows[2]["身份证号"]
    _disability_row(spouse, rows[1]["姓名"])
    verification_reports_apply(
        actor=None,
        rows=[
            VerificationRow(
                row=1,
                id_number=other_head,
                name=rows[2]["姓名"],
                item=VerificationItem.VEHICLE,
                found=False,
                amount=None,
                detail="",
                checked_on=date(2026, 6, 1),
            )
        ],
    )
    assert DisabilityRecord.objects.get().person is None
    assert VerificationReport.objects.get().person is None

    code, report = run_json("dibao", str(roster(tmp_path, rows)), "--county", COUNTY)

    assert (code, report["errors"], report["created"]) == (0, [], 2)
    spouse_person = Person.objects.get(id_number_hash=id_number_blind_index(spouse))
    other_person = Person.objects.get(id_number_hash=id_number_blind_index(other_head))
    assert DisabilityRecord.objects.get().person_id == spouse_person.pk
    assert VerificationReport.objects.get().person_id == other_person.pk
    member_row = HouseholdMember.objects.get(person=spouse_person)
    assert (
        member_row.disability_type,
        member_row.disability_grade,
        member_row.disability_certificate,
        member_row.health,
    ) == ("physical", 2, f"{spouse}42", Health.DISABLED)
    untouched = HouseholdMember.objects.exclude(person=spouse_person)
    assert list(untouched.values_list("disability_grade", flat=True)) == [None, None]


def test_the_bulk_link_is_a_few_statements_whatever_the_number_of_persons(areas, tmp_path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from poverty.services.disability import disability_link_new_persons
    from poverty.services.verification import verification_link_new_persons

    code, _report = run_json("dibao", str(roster(tmp_path, two_households())), "--county", COUNTY)
    assert code == 0
    ids = list(Person.objects.values_list("pk", flat=True))
    assert len(ids) == 3

    with CaptureQueriesContext(connection) as few:
        disability_link_new_persons(ids[:1])
        verification_link_new_persons(ids[:1])
    with CaptureQueriesContext(connection) as many:
        disability_link_new_persons(ids)
        verification_link_new_persons(ids)

    assert len(many) == len(few)
