from io import StringIO

import pytest
from django.core.management import call_command

from lowbao.audit.chain import compute_event_hash
from lowbao.audit.models import AuditEvent
from lowbao.audit.selectors import ChainProblem, ChainVerification, audit_chain_verify
from lowbao.audit.services import record

pytestmark = pytest.mark.django_db


def _record_events(count: int) -> None:
    for number in range(count):
        record(
            actor=None,
            action="case.update",
            actor_label="system:test",
            object_type="cases.case",
            object_id=str(number),
            changes={"status": ["draft", "submitted"], "amount": [1.5, 2]},
        )


def _run_verify_audit() -> tuple[int, str, str]:
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("verify_audit", stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        return int(exit_.code or 0), stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


def test_intact_chain_verifies():
    _record_events(5)

    assert audit_chain_verify(chunk_size=2) == ChainVerification(ok=True, count=5)


def test_empty_chain_verifies():
    assert audit_chain_verify() == ChainVerification(ok=True, count=0)


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_changed_row_is_reported_by_its_seq():
    _record_events(5)
    AuditEvent.objects.filter(seq=3).update(action="case.approve")

    assert audit_chain_verify(chunk_size=2) == ChainVerification(
        ok=False, count=2, first_bad_seq=3, problem=ChainProblem.HASH_MISMATCH
    )


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_rewritten_row_with_a_recomputed_hash_breaks_the_next_link():
    _record_events(5)
    event = AuditEvent.objects.get(seq=3)
    rewritten_hash = compute_event_hash(
        prev_hash=event.prev_hash,
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        actor_label=event.actor_label,
        action="case.approve",
        object_type=event.object_type,
        object_id=event.object_id,
        area_code=event.area_code,
        changes=event.changes,
        ip=event.ip,
        user_agent=event.user_agent,
    )
    AuditEvent.objects.filter(seq=3).update(action="case.approve", hash=rewritten_hash)

    assert audit_chain_verify() == ChainVerification(
        ok=False, count=3, first_bad_seq=4, problem=ChainProblem.PREV_HASH_MISMATCH
    )


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_changed_changes_json_is_detected():
    _record_events(3)
    AuditEvent.objects.filter(seq=2).update(changes={"status": ["draft", "approved"]})

    assert audit_chain_verify() == ChainVerification(
        ok=False, count=1, first_bad_seq=2, problem=ChainProblem.HASH_MISMATCH
    )


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_broken_prev_hash_link_is_reported():
    _record_events(4)
    AuditEvent.objects.filter(seq=2).update(prev_hash="0" * 64)

    assert audit_chain_verify() == ChainVerification(
        ok=False, count=1, first_bad_seq=2, problem=ChainProblem.PREV_HASH_MISMATCH
    )


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_deleted_middle_row_is_reported_as_missing():
    _record_events(5)
    AuditEvent.objects.filter(seq=3).delete()

    assert audit_chain_verify() == ChainVerification(
        ok=False, count=2, first_bad_seq=3, problem=ChainProblem.MISSING
    )


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_deleted_first_row_is_reported_as_missing():
    _record_events(2)
    AuditEvent.objects.filter(seq=1).delete()

    assert audit_chain_verify() == ChainVerification(
        ok=False, count=0, first_bad_seq=1, problem=ChainProblem.MISSING
    )


def test_verify_audit_command_reports_an_intact_chain():
    _record_events(3)

    assert _run_verify_audit() == (0, "审计链完整：3 条记录\n", "")


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_verify_audit_command_names_the_changed_row_and_exits_1():
    _record_events(3)
    AuditEvent.objects.filter(seq=2).update(object_id="999")

    assert _run_verify_audit() == (1, "", "审计链断裂：第 2 条记录的哈希不符\n")


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_verify_audit_command_names_the_broken_link_and_exits_1():
    _record_events(3)
    AuditEvent.objects.filter(seq=3).update(prev_hash="a" * 64)

    assert _run_verify_audit() == (1, "", "审计链断裂：第 3 条记录的前序哈希不符\n")


@pytest.mark.usefixtures("audit_triggers_disabled")
def test_verify_audit_command_names_the_missing_row_and_exits_1():
    _record_events(4)
    AuditEvent.objects.filter(seq=2).delete()

    assert _run_verify_audit() == (1, "", "审计链缺失：第 2 条记录缺失\n")
