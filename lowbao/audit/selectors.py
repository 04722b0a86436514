"""Reading the audit trail.

``audit_chain_verify`` is the one selector not scoped to an area: it checks the integrity of the
whole chain and returns no row data, only where the chain first breaks.
"""

from dataclasses import dataclass
from enum import StrEnum

from lowbao.audit.chain import compute_event_hash
from lowbao.audit.models import GENESIS_HASH, AuditEvent

VERIFY_CHUNK_SIZE = 2000  # rows per fetch; each row is well under 4 KB, so ~8 MB at most


class ChainProblem(StrEnum):
    MISSING = "missing"  # a seq is absent: a row was deleted
    PREV_HASH_MISMATCH = "prev_hash_mismatch"  # the link to the previous row is broken
    HASH_MISMATCH = "hash_mismatch"  # the row's content no longer matches its hash


@dataclass(frozen=True)
class ChainVerification:
    """``count`` is the number of rows found intact before the first problem (all rows if ok)."""

    ok: bool
    count: int
    first_bad_seq: int | None = None
    problem: ChainProblem | None = None


def audit_chain_verify(*, chunk_size: int = VERIFY_CHUNK_SIZE) -> ChainVerification:
    """Walk the chain in ``seq`` order and report the first missing or broken link.

    For each row, in this order: its ``seq`` must follow the previous one (starting at 1), its
    ``prev_hash`` must equal the previous row's ``hash``, and its ``hash`` must match its stored
    values. Rows removed from the end of the chain cannot be detected this way; compare the count
    with an externally kept copy of the last ``seq``/``hash`` for that.
    """
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    rows = (
        AuditEvent.objects.order_by("seq")
        .values(
            "seq",
            "at",
            "actor_id",
            "actor_label",
            "action",
            "object_type",
            "object_id",
            "area_code",
            "changes",
            "ip",
            "user_agent",
            "prev_hash",
            "hash",
        )
        .iterator(chunk_size=chunk_size)
    )
    for row in rows:
        seq = row.pop("seq")
        stored_prev_hash = row.pop("prev_hash")
        stored_hash = row.pop("hash")
        if seq != expected_seq:
            return _broken(count, expected_seq, ChainProblem.MISSING)
        if stored_prev_hash != prev_hash:
            return _broken(count, seq, ChainProblem.PREV_HASH_MISMATCH)
        if compute_event_hash(prev_hash=stored_prev_hash, seq=seq, **row) != stored_hash:
            return _broken(count, seq, ChainProblem.HASH_MISMATCH)
        prev_hash = stored_hash
        expected_seq += 1
        count += 1
    return ChainVerification(ok=True, count=count)


def _broken(count: int, seq: int, problem: ChainProblem) -> ChainVerification:
    return ChainVerification(ok=False, count=count, first_bad_seq=seq, problem=problem)
