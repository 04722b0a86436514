import pytest
from django.db import DatabaseError, connection, transaction

from lowbao.audit.models import AuditEvent
from lowbao.audit.selectors import audit_chain_verify
from lowbao.audit.services import record

postgresql_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


@pytest.fixture
def event(db):
    return record(actor=None, action="import.apply", actor_label="system:test")


def test_database_refuses_to_update_an_audit_row(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="case.approve")

    assert AuditEvent.objects.get().action == "import.apply"


def test_database_refuses_to_save_changes_to_an_audit_row(event):
    event.action = "case.approve"

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save(update_fields=["action"])

    assert AuditEvent.objects.get().action == "import.apply"


def test_database_refuses_to_delete_an_audit_row(event):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.count() == 1


def test_database_refuses_raw_sql_delete(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM audit_auditevent")

    assert audit_chain_verify().count == 1


@postgresql_only
def test_postgresql_refuses_to_truncate_a_non_empty_audit_table(event):
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.count() == 1


@postgresql_only
@pytest.mark.django_db
def test_postgresql_allows_truncating_an_empty_audit_table():
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")

    assert AuditEvent.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_transactional_test_marker_leaves_a_flushable_audit_table():
    record(actor=None, action="import.apply", actor_label="system:test")

    assert AuditEvent.objects.count() == 1  # the flush after this test must not be refused


def test_transactional_db_fixture_leaves_a_flushable_audit_table(transactional_db):
    record(actor=None, action="import.apply", actor_label="system:test")

    assert AuditEvent.objects.count() == 1  # the flush after this test must not be refused
