"""``manage.py rotate_import_file_keys [--dry-run]``: move the stored upload files to the current
encryption key (quality.md S4), like ``rotate_field_keys`` does for the protected columns.

Each stored file names its key id in its header. After a new key was added to
``LOWBAO_FIELD_KEYS`` and made ``LOWBAO_FIELD_KEY_ID`` (old keys kept), this command re-encrypts
every file under another key — and any file still stored plain — under the current one, each
replaced atomically. It can run while the system is in use, be interrupted and be re-run; a run
after a complete one rewrites nothing. ``--dry-run`` counts the files per key id and checks that
each decrypts; only when it reports every file under the current key may the old key be removed.
Files that cannot be decrypted make the command exit 1.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.audit.services import record
from lowbao.imports.storage import current_key_id, import_files_rotate

ACTOR_LABEL = "system:rotate_import_file_keys"


def _counts(counts: dict[str, int]) -> str:
    return "、".join(f"{key_id}={files}" for key_id, files in sorted(counts.items())) or "无文件"


class Command(BaseCommand):
    help = "把服务器上保存的导入原文件改用当前密钥重新加密（含尚未加密的旧文件）；可中断、可重跑。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="只统计各密钥的文件数并试解密，不写入"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run = options["dry_run"]
        current = current_key_id()
        result = import_files_rotate(dry_run=dry_run)
        mode = "（试运行，未写入）" if dry_run else ""
        self.stdout.write(f"当前密钥：{current}{mode}")
        self.stdout.write(f"导入原文件：轮换前 {_counts(result.before)}")
        if not dry_run:
            self.stdout.write(f"已改用 {current} 加密 {result.rotated} 个文件")
            if result.rotated:
                record(
                    actor=None,
                    action="protection.import_files_rotate",
                    object_type="imports.storedfile",
                    changes={
                        "key_id": current,
                        "before": result.before,
                        "rotated": result.rotated,
                    },
                    actor_label=ACTOR_LABEL,
                )
        if result.missing:
            self.stdout.write(f"{result.missing} 个文件已不存在（批次仍指向它们），已跳过")
        if result.unreadable:
            count = sum(result.unreadable.values())
            raise CommandError(
                f"{count} 个文件无法解密（{_counts(result.unreadable)}），请检查 LOWBAO_FIELD_KEYS"
            )
