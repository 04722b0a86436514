"""Data received before lowbao knew a person is linked when the person joins a household."""

import pytest

from cases.models import HouseholdMember
from poverty.models import DisabilityRecord
from poverty.services.disability import disability_records_apply
from poverty.verification_validation import validate_disability_rows
from tests.fixtures.cases import member

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
