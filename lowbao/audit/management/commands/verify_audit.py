"""``manage.py verify_audit``: recompute the audit hash chain; exit 1 at the first broken link."""

from typing import Any

from django.core.management.base import BaseCommand

from lowbao.audit.selectors import ChainProblem, ChainVerification, audit_chain_verify

_MESSAGES = {
    ChainProblem.MISSING: "审计链缺失：第 {seq} 条记录缺失",
    ChainProblem.PREV_HASH_MISMATCH: "审计链断裂：第 {seq} 条记录的前序哈希不符",
    ChainProblem.HASH_MISMATCH: "审计链断裂：第 {seq} 条记录的哈希不符",
}


def verification_message(result: ChainVerification) -> str:
    if result.ok or result.problem is None:
        return f"审计链完整：{result.count} 条记录"
    return _MESSAGES[result.problem].format(seq=result.first_bad_seq)


class Command(BaseCommand):
    help = "校验审计链（哈希、前序哈希、序号连续）。Verify the audit hash chain; exit 1 if broken."

    def handle(self, *args: Any, **options: Any) -> None:
        result = audit_chain_verify()
        if result.ok:
            self.stdout.write(verification_message(result))
            return
        self.stderr.write(verification_message(result))
        raise SystemExit(1)
