"""The restore drill (docs/operations.md): a fresh dump restores into a scratch database with the
same row counts and an intact audit chain; a drill on a damaged dump fails."""

from io import StringIO

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from lowbao.audit.services import record
from lowbao.core.management.commands.restore_drill import _conninfo

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL"),
    pytest.mark.django_db(transaction=True),
]


def _drill(*args: str) -> tuple[int, str, str]:
    stdout, stderr = StringIO(), StringIO()
    try:
        call_command("restore_drill", *args, stdout=stdout, stderr=stderr)
    except SystemExit as exit_:
        return int(exit_.code or 0), stdout.getvalue(), stderr.getvalue()
    return 0, stdout.getvalue(), stderr.getvalue()


def _scratch_databases() -> list[str]:
    name = connection.settings_dict["NAME"]
    with psycopg.connect(_conninfo(connection.settings_dict, "postgres"), autocommit=True) as conn:
        rows = conn.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE %s", [f"{name}_drill_%"]
        ).fetchall()
    return [row[0] for row in rows]


def test_a_fresh_dump_restores_with_the_same_counts_and_an_intact_audit_chain():
    for number in range(3):
        record(actor=None, action="case.update", actor_label="system:test", object_id=str(number))

    code, out, err = _drill()

    assert (code, err) == (0, "")
    assert "行数一致" in out
    assert "恢复库审计链：审计链完整：3 条记录" in out
    assert out.strip().endswith("恢复演练通过")
    assert _scratch_databases() == []  # the scratch database is dropped


def test_a_missing_dump_file_is_refused_with_exit_2(tmp_path):
    code, _out, err = _drill("--dump", str(tmp_path / "nope.dump"))

    assert code == 2
    assert "备份文件不存在" in err


def test_a_file_that_is_not_a_dump_fails_the_drill_and_leaves_no_scratch_database(tmp_path):
    broken = tmp_path / "broken.dump"
    broken.write_bytes(b"not a pg_dump archive")

    code, _out, err = _drill("--dump", str(broken))

    assert code == 2
    assert "pg_restore 失败" in err
    assert _scratch_databases() == []
