"""``manage.py rotate_field_keys [--batch-size N] [--dry-run]``: move protected values to the
current encryption key (quality.md S4).

Rotating the AES key of the protected columns (ID numbers, phone numbers, bank accounts — every
``*_ciphertext`` column):

1. Add the new key to ``LOWBAO_FIELD_KEYS`` (keep the old ones) and make it
   ``LOWBAO_FIELD_KEY_ID``; restart every web and worker process. New writes use the new key,
   old tokens still decrypt because their key id names the old key.
2. Run this command. It re-encrypts in batches with conditional updates, so it can run while the
   system is in use, be interrupted, and be re-run: it continues with what is left, and a run
   after a complete one changes nothing. Each column is audited (``protection.key_rotate``, rows
   per key id before the run, rows rotated).
3. ``--dry-run`` must then report every row under the current key; only then remove the old key
   from ``LOWBAO_FIELD_KEYS``. Rows whose key is not configured are reported and make the command
   exit 1.

There is deliberately no ``--rotate-blind-index``. The blind index (``*_hash`` columns, an HMAC
of the plain value under ``LOWBAO_BLIND_INDEX_KEY``) is what lookups, uniqueness constraints,
joins between the ledgers and the imports match on, so it cannot change row by row under a
running system: a row re-hashed under the new key would stop matching every row and every
incoming file still hashed under the old one. Rotating it needs its own migration project:
(a) add a ``*_hash_next`` column per blind index and a ``BLIND_INDEX_NEXT_KEY`` setting;
(b) a dual-write window: every writer fills both columns; (c) a batched, idempotent backfill of
``*_hash_next`` from the decrypted values (this command's batching, with ``decrypt`` + HMAC);
(d) a dual-read window: lookups and joins match on either column while the unique constraints
are rebuilt on ``*_hash_next`` (``CONCURRENTLY``); (e) switch reads to the new column, swap the
columns and keys in one release, and drop the old column. Until then a leaked blind-index key
is contained by the fact that the values stay AES-encrypted.
"""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from lowbao.people.key_rotation import DEFAULT_BATCH_SIZE, field_keys_rotate


def _counts(counts: dict[str, int]) -> str:
    return "、".join(f"{key_id}={rows}" for key_id, rows in counts.items()) or "无数据"


class Command(BaseCommand):
    help = "把受保护字段（身份证号、电话、银行账号等密文列）改用当前密钥重新加密；可中断、可重跑。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"每批处理的行数（默认 {DEFAULT_BATCH_SIZE}）",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="只统计各密钥的行数并试解密，不写入"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch_size = options["batch_size"]
        if batch_size < 1:
            raise CommandError("--batch-size 至少为 1")
        report = field_keys_rotate(batch_size=batch_size, dry_run=options["dry_run"])
        mode = "（试运行，未写入）" if report.dry_run else ""
        self.stdout.write(f"当前密钥：{report.current_key_id}{mode}")
        for column in report.columns:
            line = f"{column.label}：轮换前 {_counts(column.before)}"
            if not report.dry_run:
                line += f"；已改用 {report.current_key_id} 加密 {column.rotated} 行"
                if column.skipped:
                    line += f"，{column.skipped} 行在处理中被改写，请重跑"
            if column.unreadable:
                line += f"；无法解密 {_counts(column.unreadable)}"
            self.stdout.write(line)
        self.stdout.write(
            f"合计：已轮换 {report.rotated} 行" if not report.dry_run else "合计：未写入"
        )
        if report.unreadable:
            raise CommandError(
                f"{report.unreadable} 行无法解密（密钥未配置或密文损坏），请检查 LOWBAO_FIELD_KEYS"
            )
