"""``manage.py rotate_field_keys``: protected values move to the current key, in batches,
idempotently, audited (quality.md S4)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from cases.choices import Programme
from cases.models import Household
from lowbao.audit.models import AuditEvent
from lowbao.people import key_rotation
from lowbao.people.key_rotation import field_keys_rotate, protected_columns
from lowbao.people.models import Person
from lowbao.people.protection import decrypt, encrypt, key_id_of
from poverty.models import DisabilityRecord
from tests.lowbao.people.factories import PersonFactory, make_id_number

pytestmark = pytest.mark.django_db

UNDER_TEST2 = override_settings(FIELD_ENCRYPTION_CURRENT_KEY_ID="test2")


def _run(*args: str) -> str:
    out = StringIO()
    call_command("rotate_field_keys", *args, stdout=out)
    return out.getvalue()


def _rows(areas):
    """Three persons, one household and one disability record written under key test2, and one
    person under the current key test1."""
    with UNDER_TEST2:
        people = [
            PersonFactory(phone="13800000001"),
            PersonFactory(phone="13800000002"),
            PersonFactory(),
        ]
        household = Household.objects.create(
            area=areas.village,
            county=areas.county,
            programme=Programme.DIBAO,
            number="150121-0001",
            bank_account_ciphertext=encrypt("6228480000000000001"),
            phone_ciphertext=encrypt("13900000001"),
        )
        id_number = make_id_number()
        disability = DisabilityRecord.objects.create(
            id_number_hash="d" * 64,
            id_number_ciphertext=encrypt(id_number),
            name="乌云",
            certificate_number="15012119800101123X41",
            disability_type="肢体",
            grade=2,
        )
    current = PersonFactory(phone="13800000009")
    plain = {
        "people": [(p.pk, p.id_number, p.phone) for p in people],
        "household": ("6228480000000000001", "13900000001"),
        "disability": id_number,
        "current": (current.pk, current.id_number_ciphertext, current.phone_ciphertext),
    }
    return people, household, disability, current, plain


def _key_ids(model, field: str) -> set[str]:
    return {key_id_of(token) for token in model.objects.values_list(field, flat=True) if token}


def test_every_known_protected_column_is_found():
    labels = {column.label for column in protected_columns()}

    assert {
        "people.person.id_number_ciphertext",
        "people.person.phone_ciphertext",
        "cases.household.bank_account_ciphertext",
        "cases.household.phone_ciphertext",
        "poverty.disabilityrecord.id_number_ciphertext",
    } <= labels
    assert all(label.endswith("_ciphertext") for label in labels)


def test_rows_under_an_old_key_move_to_the_current_key_and_still_decrypt(areas):
    _people, household, disability, current, plain = _rows(areas)

    output = _run("--batch-size", "2")

    assert _key_ids(Person, "id_number_ciphertext") == {"test1"}
    assert _key_ids(Person, "phone_ciphertext") == {"test1"}
    assert _key_ids(Household, "bank_account_ciphertext") == {"test1"}
    assert _key_ids(Household, "phone_ciphertext") == {"test1"}
    assert _key_ids(DisabilityRecord, "id_number_ciphertext") == {"test1"}
    for pk, id_number, phone in plain["people"]:
        person = Person.objects.get(pk=pk)
        assert (person.id_number, person.phone) == (id_number, phone)
    household.refresh_from_db()
    assert decrypt(household.bank_account_ciphertext) == "6228480000000000001"
    assert decrypt(household.phone_ciphertext) == "13900000001"
    disability.refresh_from_db()
    assert decrypt(disability.id_number_ciphertext) == plain["disability"]
    untouched = Person.objects.get(pk=current.pk)
    assert (untouched.id_number_ciphertext, untouched.phone_ciphertext) == plain["current"][1:]
    assert "当前密钥：test1" in output
    assert (
        "people.person.id_number_ciphertext：轮换前 test1=1、test2=3；已改用 test1 加密 3 行"
        in output
    )
    assert (
        "people.person.phone_ciphertext：轮换前 test1=1、test2=2；已改用 test1 加密 2 行" in output
    )
    assert (
        "cases.household.bank_account_ciphertext：轮换前 test2=1；已改用 test1 加密 1 行" in output
    )
    assert "合计：已轮换 8 行" in output


def test_the_run_is_audited_per_column_with_counts_per_key_id(areas):
    _rows(areas)

    _run()

    events = {
        (event.object_type, event.object_id): event
        for event in AuditEvent.objects.filter(action="protection.key_rotate")
    }
    assert set(events) == {
        ("people.person", "id_number_ciphertext"),
        ("people.person", "phone_ciphertext"),
        ("cases.household", "bank_account_ciphertext"),
        ("cases.household", "phone_ciphertext"),
        ("poverty.disabilityrecord", "id_number_ciphertext"),
    }
    event = events[("people.person", "id_number_ciphertext")]
    assert event.actor_id is None
    assert event.actor_label == "system:rotate_field_keys"
    assert event.changes == {
        "current_key_id": "test1",
        "before": {"test1": 1, "test2": 3},
        "rotated": 3,
        "skipped": 0,
        "unreadable": {},
    }


def test_a_second_run_changes_nothing(areas):
    _rows(areas)
    _run()
    snapshot = list(
        Person.objects.order_by("pk").values_list("id_number_ciphertext", "phone_ciphertext")
    )
    events = AuditEvent.objects.count()

    output = _run()

    assert (
        list(Person.objects.order_by("pk").values_list("id_number_ciphertext", "phone_ciphertext"))
        == snapshot
    )
    assert AuditEvent.objects.count() == events
    assert "合计：已轮换 0 行" in output
    assert "people.person.id_number_ciphertext：轮换前 test1=4；已改用 test1 加密 0 行" in output


def test_an_interrupted_run_is_finished_by_the_next_one(areas, monkeypatch):
    _rows(areas)

    real_update = key_rotation._conditional_update
    calls = {"n": 0}

    def failing_update(column, changes):
        if column.label == "people.person.id_number_ciphertext":
            calls["n"] += 1
            if calls["n"] == 2:  # the second batch of that column
                raise KeyboardInterrupt
        return real_update(column, changes)

    monkeypatch.setattr(key_rotation, "_conditional_update", failing_update)
    with pytest.raises(KeyboardInterrupt):
        field_keys_rotate(batch_size=2)
    assert _key_ids(Person, "id_number_ciphertext") == {"test1", "test2"}
    monkeypatch.setattr(key_rotation, "_conditional_update", real_update)

    report = field_keys_rotate(batch_size=2)

    assert _key_ids(Person, "id_number_ciphertext") == {"test1"}
    by_label = {column.label: column for column in report.columns}
    assert by_label["people.person.id_number_ciphertext"].rotated == 1
    assert report.unreadable == 0


def test_a_row_rewritten_during_the_run_keeps_the_newer_value(areas, monkeypatch):
    people, *_ = _rows(areas)

    real_update = key_rotation._conditional_update
    newer = encrypt("13700000000")

    def concurrent_writer_first(column, changes):
        if column.label == "people.person.phone_ciphertext":
            Person.objects.filter(pk=people[0].pk).update(phone_ciphertext=newer)
        return real_update(column, changes)

    monkeypatch.setattr(key_rotation, "_conditional_update", concurrent_writer_first)

    report = field_keys_rotate()

    assert Person.objects.get(pk=people[0].pk).phone_ciphertext == newer
    phone = {column.label: column for column in report.columns}["people.person.phone_ciphertext"]
    assert (phone.rotated, phone.skipped) == (1, 1)


def test_dry_run_counts_and_writes_nothing(areas):
    _rows(areas)
    snapshot = list(Person.objects.order_by("pk").values_list("id_number_ciphertext", flat=True))

    output = _run("--dry-run")

    assert (
        list(Person.objects.order_by("pk").values_list("id_number_ciphertext", flat=True))
        == snapshot
    )
    assert "当前密钥：test1（试运行，未写入）" in output
    assert "people.person.id_number_ciphertext：轮换前 test1=1、test2=3" in output
    assert "合计：未写入" in output
    assert not AuditEvent.objects.filter(action="protection.key_rotate").exists()


def test_rows_under_an_unconfigured_key_are_reported_and_fail_the_command(areas, settings):
    _rows(areas)
    settings.FIELD_ENCRYPTION_KEYS = {"test1": settings.FIELD_ENCRYPTION_KEYS["test1"]}
    out = StringIO()

    with pytest.raises(CommandError, match="8 行无法解密（密钥未配置或密文损坏）"):
        call_command("rotate_field_keys", stdout=out)

    assert (
        "people.person.id_number_ciphertext：轮换前 test1=1、test2=3；已改用 test1 加密 0 行；"
        "无法解密 test2=3" in out.getvalue()
    )
    assert _key_ids(Person, "id_number_ciphertext") == {"test1", "test2"}


def test_batches_cost_a_fixed_number_of_queries(areas):
    with UNDER_TEST2:
        PersonFactory.create_batch(6)

    with CaptureQueriesContext(connection) as queries:
        field_keys_rotate(batch_size=3)

    person_queries = [q["sql"] for q in queries.captured_queries if '"people_person"' in q["sql"]]
    # id_number: count, 2 full batches x (select, update, count) + the empty select;
    # phone: count + the empty select.
    assert len(person_queries) == 1 + 2 * 3 + 1 + 2


def test_a_batch_size_below_one_is_refused():
    with pytest.raises(CommandError, match="--batch-size 至少为 1"):
        _run("--batch-size", "0")
