"""``manage.py restore_drill [--dump FILE] [--keep]``: prove that a backup restores.

1. Takes a fresh ``pg_dump -Fc`` of the configured PostgreSQL database (or uses ``--dump FILE``,
   e.g. last night's backup);
2. restores it with ``pg_restore`` into a scratch database ``<name>_drill_<timestamp>``;
3. compares the row count of every table of the project's models (exactly, when the dump was taken
   now; with ``--dump`` the counts are printed, since the live database has moved on);
4. checks the restored audit trail: the append-only triggers exist and ``verify_audit`` passes on
   the restored copy (run in a subprocess pointed at the scratch database);
5. drops the scratch database (unless ``--keep``).

Exit code 0 when everything matched, 1 when a count, a trigger or the audit chain did not, 2 when
the drill could not run (not PostgreSQL, pg_dump missing, bad arguments). See docs/operations.md.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection
from django.utils import timezone
from psycopg import sql

from lowbao.audit.models import AuditEvent

PROJECT_APPS = ("lowbao", "cases", "poverty", "review")


def _project_tables() -> list[str]:
    tables = set()
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if not meta.managed or meta.proxy:
            continue
        module = model.__module__.split(".")[0]
        if module in PROJECT_APPS or meta.app_label in ("auth", "axes", "django_celery_beat"):
            tables.add(meta.db_table)
    return sorted(tables)


def _conninfo(db: dict[str, Any], name: str) -> str:
    user = quote(db.get("USER") or "", safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgresql://{auth}{host}:{port}/{name}"


def _tool_env(db: dict[str, Any]) -> dict[str, str]:
    env = dict(os.environ)
    env["PGHOST"] = str(db.get("HOST") or "127.0.0.1")
    env["PGPORT"] = str(db.get("PORT") or 5432)
    if db.get("USER"):
        env["PGUSER"] = str(db["USER"])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    return env


def _counts(conninfo: str, tables: list[str]) -> dict[str, int]:
    counts = {}
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for table in tables:
            query = sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            row = conn.execute(query).fetchone()
            counts[table] = int(row[0]) if row else 0
    return counts


def _audit_triggers(conninfo: str) -> int:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = %s AND NOT t.tgisinternal",
            [AuditEvent._meta.db_table],
        ).fetchone()
    return int(row[0]) if row else 0


class DrillError(Exception):
    pass


class Command(BaseCommand):
    help = "恢复演练：将备份恢复到临时数据库，核对各表行数与审计链。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dump", help="已有的 pg_dump -Fc 备份文件（默认：现在备份一份）")
        parser.add_argument("--keep", action="store_true", help="保留临时数据库（默认删除）")

    def handle(self, *args: Any, **options: Any) -> None:
        db = connection.settings_dict
        if connection.vendor != "postgresql":
            self.stderr.write("恢复演练需要 PostgreSQL（当前数据库不是 PostgreSQL）")
            raise SystemExit(2)
        for tool in ("pg_dump", "pg_restore"):
            if shutil.which(tool) is None:
                self.stderr.write(f"找不到 {tool}，请安装 PostgreSQL 客户端工具")
                raise SystemExit(2)
        dump = Path(options["dump"]) if options.get("dump") else None
        if dump is not None and not dump.is_file():
            self.stderr.write(f"备份文件不存在：{dump}")
            raise SystemExit(2)
        try:
            ok = self._drill(db, dump, keep=bool(options.get("keep")))
        except DrillError as exc:
            self.stderr.write(str(exc))
            raise SystemExit(2) from exc
        if not ok:
            raise SystemExit(1)

    def _run(self, command: list[str], env: dict[str, str]) -> None:
        # fixed tool names and arguments built here, never user input
        result = subprocess.run(  # noqa: S603
            command, env=env, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise DrillError(f"{command[0]} 失败：{result.stderr.strip()[:500]}")

    def _drill(self, db: dict[str, Any], dump: Path | None, *, keep: bool) -> bool:
        env = _tool_env(db)
        source = db["NAME"]
        scratch = f"{source}_drill_{timezone.now():%Y%m%d%H%M%S}"[:63]
        tables = _project_tables()
        workdir = Path(tempfile.mkdtemp(prefix="lowbao-drill-"))
        os.chmod(workdir, 0o700)
        try:
            source_counts = None
            if dump is None:
                dump = workdir / "backup.dump"
                # Counts first, then the dump in one snapshot; a drill on a busy database should
                # use --dump with a backup taken by the nightly job instead.
                source_counts = _counts(_conninfo(db, source), tables)
                self._run(["pg_dump", "-Fc", "-f", str(dump), source], env)
                self.stdout.write(f"已备份 {source} → {dump.name}（{dump.stat().st_size} 字节）")
            with psycopg.connect(_conninfo(db, "postgres"), autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{scratch}"')
            try:
                restore = ["pg_restore", "--no-owner", "--exit-on-error", "-d", scratch, str(dump)]
                self._run(restore, env)
                return self._verify(db, scratch, tables, source_counts)
            finally:
                if not keep:
                    with psycopg.connect(_conninfo(db, "postgres"), autocommit=True) as conn:
                        conn.execute(f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)')
                else:
                    self.stdout.write(f"临时数据库已保留：{scratch}")
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _verify(
        self,
        db: dict[str, Any],
        scratch: str,
        tables: list[str],
        source_counts: dict[str, int] | None,
    ) -> bool:
        ok = True
        restored = _counts(_conninfo(db, scratch), tables)
        total = sum(restored.values())
        if source_counts is None:
            self.stdout.write(f"已恢复 {len(tables)} 张表，共 {total} 行")
        else:
            differ = [t for t in tables if restored.get(t) != source_counts.get(t)]
            for table in differ:
                self.stderr.write(
                    f"行数不符：{table} 原库 {source_counts.get(table)} 行，"
                    f"恢复后 {restored.get(table)} 行"
                )
            ok = ok and not differ
            if not differ:
                self.stdout.write(f"行数一致：{len(tables)} 张表，共 {total} 行")
        triggers = _audit_triggers(_conninfo(db, scratch))
        if triggers == 0:
            self.stderr.write("恢复后的审计表缺少只追加触发器")
            ok = False
        else:
            self.stdout.write(f"审计表触发器：{triggers} 个")
        env = dict(os.environ)
        env["DATABASE_URL"] = _conninfo(db, scratch)
        env["DJANGO_SETTINGS_MODULE"] = os.environ.get(
            "DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE
        )
        result = subprocess.run(  # noqa: S603 (this interpreter, this project's manage.py)
            [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), "verify_audit"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        message = (result.stdout or result.stderr).strip().splitlines()
        self.stdout.write(f"恢复库审计链：{message[-1] if message else result.returncode}")
        if result.returncode != 0:
            ok = False
        self.stdout.write("恢复演练通过" if ok else "恢复演练未通过")
        return ok
