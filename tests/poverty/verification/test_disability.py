"""残疾人信息 from the federation: person-level, applied to every member row of the person,
kept for persons not yet known and applied when they appear."""

import json
from dataclasses import replace

import pytest
from django.test import Client

from cases.choices import ApplicationAction as A
from cases.choices import Health, Programme, Relation
from cases.models import HouseholdMember
from cases.services.applications import application_transition
from lowbao.audit.models import AuditEvent
from lowbao.core.errors import DomainError
from lowbao.people.protection import decrypt
from poverty.models import DisabilityRecord
from poverty.services.disability import disability_link_new_person, disability_records_apply
from poverty.verification_validation import validate_disability_rows
from tests.fixtures.cases import member
from tests.lowbao.people.factories import make_id_number

pytestmark = pytest.mark.django_db

URL = "/api/v1/disability/records/"


def _row(id_number: str, *, kind: str = "肢体", digit: str = "4", grade: str = "2", **extra):
    return {
        "姓名": extra.pop("name", "张三"),
        "身份证号": id_number,
        "残疾证号": f"{id_number}{digit}{grade}",
        "残疾类别": kind,
        "残疾等级": f"{grade}级",
        **extra,
    }


def _post(client: Client, body: object):
    return client.post(URL, data=json.dumps(body), content_type="application/json")


@pytest.fixture
def person_in_two_households(new_application, areas):
    shared = member(income="100", name="郑十")
    first = new_application(members=[shared])
    new_application(
        members=[member(income="50", name="钱一"), replace(shared, relation=Relation.SON)],
        village=areas.sibling_village,
        programme=Programme.TEKUN,
    )
    return shared.id_number, first.household.members.get().person


def test_push_updates_every_member_row_of_the_person(person_in_two_households, federation):
    id_number, person = person_in_two_households
    other = make_id_number()

    response = _post(
        federation,
        {"records": [_row(id_number, name="郑十"), _row(other, kind="视力", digit="1", grade="1")]},
    )

    assert response.status_code == 200
    assert response.json() == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "linked": 1,
        "members_updated": 2,
        "warnings": [],
    }
    rows = HouseholdMember.objects.filter(person=person)
    assert rows.count() == 2
    assert set(
        rows.values_list("disability_type", "disability_grade", "disability_certificate", "health")
    ) == {("physical", 2, f"{id_number}42", Health.DISABLED)}
    assert DisabilityRecord.objects.get(person=person).name == "郑十"


def test_push_is_idempotent_and_a_change_updates_the_members(person_in_two_households, federation):
    id_number, person = person_in_two_households
    body = {"records": [_row(id_number, name="郑十")]}
    _post(federation, body)

    again = _post(federation, body).json()
    changed = _post(federation, {"records": [_row(id_number, name="郑十", grade="1")]}).json()

    assert (again["unchanged"], again["members_updated"]) == (1, 0)
    assert (changed["updated"], changed["members_updated"]) == (1, 2)
    assert set(HouseholdMember.objects.filter(person=person).values_list("disability_grade")) == {
        (1,)
    }
    assert DisabilityRecord.objects.count() == 1
    events = AuditEvent.objects.filter(action="disability.records_apply").order_by("seq")
    assert [e.changes["members_updated"] for e in events] == [2, 0, 2]
    assert id_number not in json.dumps([e.changes for e in events])


def test_unknown_persons_are_stored_and_applied_when_they_appear(
    federation, new_application, case_users
):
    newcomer = member(income="100", name="冯二")
    _post(federation, {"records": [_row(newcomer.id_number, name="冯二", kind="智力", digit="5")]})

    record = DisabilityRecord.objects.get()
    assert record.person is None
    assert decrypt(record.id_number_ciphertext) == newcomer.id_number
    assert newcomer.id_number not in record.id_number_ciphertext

    application = new_application(members=[newcomer])  # the AFTER_PERSON_JOINED hook links it
    row = application.household.members.get()
    application_transition(
        application_id=application.pk, action=A.ACCEPT, actor=case_users.caseworker
    )  # and AFTER_ACCEPT finds nothing left to do

    row.refresh_from_db()
    assert (row.disability_type, row.disability_grade, row.health) == (
        "intellectual",
        2,
        "disabled",
    )
    record.refresh_from_db()
    assert record.person_id == row.person_id
    assert disability_link_new_person(row.person) == 0  # nothing left to change


def test_link_new_person_applies_the_record_directly(federation, new_application):
    newcomer = member(income="100", name="陈三")
    _post(federation, {"records": [_row(newcomer.id_number, name="陈三")]})
    application = new_application(members=[newcomer])  # registration runs the link already
    row = application.household.members.get()

    assert row.disability_certificate == f"{newcomer.id_number}42"
    assert disability_link_new_person(row.person) == 0  # idempotent: nothing left to change


def test_invalid_records_give_422_and_write_nothing(federation, person_in_two_households):
    id_number, person = person_in_two_households
    body = {"records": [_row(id_number), {**_row(make_id_number()), "残疾证号": f"{id_number}42"}]}

    response = _post(federation, body)

    assert response.status_code == 422
    assert [(e["row"], e["code"]) for e in response.json()["fields"]["errors"]] == [
        (2, "disability_certificate_mismatch")
    ]
    assert DisabilityRecord.objects.count() == 0
    assert not HouseholdMember.objects.filter(person=person).exclude(disability_type="").exists()


@pytest.mark.parametrize("who", ["anonymous", "caseworker", "platform"])
def test_only_the_federation_may_push(who, case_users, login_client, platform, areas):
    client = {
        "anonymous": Client(),
        "caseworker": login_client(case_users.caseworker) if who == "caseworker" else None,
        "platform": platform,
    }[who]

    response = _post(client, {"records": [_row(make_id_number())]})

    assert response.status_code == (401 if who == "anonymous" else 403)
    assert DisabilityRecord.objects.count() == 0


def test_the_service_refuses_a_caller_without_the_capability(case_users):
    rows = validate_disability_rows([_row(make_id_number())]).rows

    with pytest.raises(DomainError) as refused:
        disability_records_apply(actor=case_users.caseworker, rows=rows)

    assert refused.value.code == "permission_denied"
    assert DisabilityRecord.objects.count() == 0
