import datetime
import decimal
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.test import RequestFactory

from lowbao.audit.chain import compute_event_hash
from lowbao.audit.models import GENESIS_HASH, AuditEvent
from lowbao.audit.services import record

pytestmark = pytest.mark.django_db

VALID_ID_NUMBER = "34052419800101001X"
MASKED_ID_NUMBER = "340524********001X"


@pytest.fixture
def user():
    return get_user_model().objects.create_user(username="zhangsan", password="x")


class _Area:
    def __init__(self, code: str = "150121000000") -> None:
        self.code = code


def test_record_links_each_event_to_the_previous_one(user):
    for number in range(3):
        record(actor=user, action="case.approve", object_type="cases.case", object_id=str(number))

    events = list(AuditEvent.objects.order_by("seq"))
    assert [event.seq for event in events] == [1, 2, 3]
    assert events[0].prev_hash == GENESIS_HASH
    assert events[1].prev_hash == events[0].hash
    assert events[2].prev_hash == events[1].hash
    assert len({event.hash for event in events}) == 3


def test_stored_hash_is_reproducible_from_the_stored_row(user):
    request = RequestFactory().post("/", REMOTE_ADDR="::ffff:10.0.0.7", HTTP_USER_AGENT="Firefox")
    record(
        actor=user,
        action="case.update",
        obj=user,
        area=_Area(),
        request=request,
        changes={"income": [decimal.Decimal("12.50"), 1e20], "on": datetime.date(2024, 5, 1)},
    )

    event = AuditEvent.objects.get()
    assert event.hash == compute_event_hash(
        prev_hash=event.prev_hash,
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action=event.action,
        object_type=event.object_type,
        object_id=event.object_id,
        area_code=event.area_code,
        changes=event.changes,
        ip=event.ip,
        user_agent=event.user_agent,
    )


def test_record_stores_who_what_where_and_from_where(user):
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.7", HTTP_USER_AGENT="Firefox/128")

    event = record(actor=user, action="user.update", obj=user, area=_Area(), request=request)

    event.refresh_from_db()
    assert event.actor_id == user.pk
    assert event.actor_label == "zhangsan"
    assert event.action == "user.update"
    assert event.object_type == "accounts.user"
    assert event.object_id == str(user.pk)
    assert event.area_code == "150121000000"
    assert event.ip == "10.0.0.7"
    assert event.user_agent == "Firefox/128"
    assert event.changes == {}


def test_record_accepts_an_area_code_string(user):
    event = record(actor=user, action="export.run", area="150121001000")

    assert event.area_code == "150121001000"


@pytest.mark.parametrize(
    ("_case", "area"),
    [("too_short", "1501"), ("letters", "15012100100A"), ("area_with_bad_code", _Area("15"))],
)
def test_record_refuses_a_malformed_area_code(user, _case, area):
    with pytest.raises(ValueError, match="12 digits"):
        record(actor=user, action="export.run", area=area)

    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("_case", "actor", "actor_label", "expected_label"),
    [
        ("no_actor_defaults_to_system", None, "", "system"),
        ("named_task", None, "system:nightly_import", "system:nightly_import"),
        ("anonymous_user_is_no_actor", AnonymousUser(), "", "system"),
    ],
)
def test_record_labels_system_actors(_case, actor, actor_label, expected_label):
    event = record(actor=actor, action="import.apply", actor_label=actor_label)

    assert event.actor_id is None
    assert event.actor_label == expected_label


def test_record_coerces_dates_decimals_and_uuids_to_strings(user):
    identifier = uuid.UUID("12345678-1234-5678-1234-567812345678")

    record(
        actor=user,
        action="case.update",
        changes={
            "amount": [decimal.Decimal("100.00"), decimal.Decimal("120.50")],
            "decided_on": [None, datetime.date(2024, 5, 1)],
            "batch": identifier,
        },
    )

    assert AuditEvent.objects.get().changes == {
        "amount": ["100.00", "120.50"],
        "decided_on": [None, "2024-05-01"],
        "batch": "12345678-1234-5678-1234-567812345678",
    }


def test_record_masks_id_numbers_in_changes_and_labels():
    record(
        actor=None,
        action="person.update",
        actor_label=VALID_ID_NUMBER,
        changes={
            "id_number": [VALID_ID_NUMBER, "150121198001010011"],
            "note": f"证件号 {VALID_ID_NUMBER} 已核对",
            "nested": {"list": [VALID_ID_NUMBER]},
        },
    )

    event = AuditEvent.objects.get()
    assert event.actor_label == MASKED_ID_NUMBER
    assert event.changes == {
        "id_number": [MASKED_ID_NUMBER, "150121********0011"],
        "note": f"证件号 {MASKED_ID_NUMBER} 已核对",
        "nested": {"list": [MASKED_ID_NUMBER]},
    }


def _approve_then_fail(user) -> None:
    with transaction.atomic():
        record(actor=user, action="case.approve")
        raise RuntimeError("the change failed")


def test_record_rolled_back_with_the_callers_transaction_leaves_no_row_and_no_gap(user):
    record(actor=user, action="case.create")
    with pytest.raises(RuntimeError, match="the change failed"):
        _approve_then_fail(user)

    second = record(actor=user, action="case.reject")

    assert list(AuditEvent.objects.values_list("seq", "action")) == [
        (1, "case.create"),
        (2, "case.reject"),
    ]
    assert second.prev_hash == AuditEvent.objects.get(seq=1).hash


@pytest.mark.parametrize(
    ("_case", "remote_addr", "expected_ip"),
    [
        ("ipv4", "192.168.1.20", "192.168.1.20"),
        ("ipv6_compressed", "2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        ("ipv4_mapped_ipv6", "::ffff:192.168.1.20", "192.168.1.20"),
        ("not_an_address", "unknown", None),
        ("missing", "", None),
    ],
)
def test_record_stores_the_client_address_in_one_spelling(user, _case, remote_addr, expected_ip):
    request = RequestFactory().get("/", REMOTE_ADDR=remote_addr)

    record(actor=user, action="auth.login", request=request)

    assert AuditEvent.objects.get().ip == expected_ip


def test_record_truncates_a_long_user_agent(user):
    request = RequestFactory().get("/", HTTP_USER_AGENT="A" * 1000)

    event = record(actor=user, action="auth.login", request=request)

    assert AuditEvent.objects.get(pk=event.pk).user_agent == "A" * 255


def test_deleting_the_actor_keeps_the_audit_rows(user):
    record(actor=user, action="case.create")

    user.delete()

    event = AuditEvent.objects.get()
    assert event.actor_label == "zhangsan"
    assert event.actor_id is not None
