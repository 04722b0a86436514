"""Production settings refuse to start without real secrets and pass ``check --deploy``."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lowbao.env import parse_key_list

ROOT = Path(__file__).resolve().parents[3]
_KEY = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="
_GOOD_ENV = {
    "DJANGO_SETTINGS_MODULE": "lowbao.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "-production-grade-secret-key-for-the-test-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "lowbao.example.gov.cn",
    "DATABASE_URL": "postgres://lowbao@127.0.0.1:5432/lowbao",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "LOWBAO_FIELD_KEYS": f"k1:{_KEY}",
    "LOWBAO_FIELD_KEY_ID": "k1",
    "LOWBAO_BLIND_INDEX_KEY": _KEY,
}


def _manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT)), **env}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("_case", "missing", "message"),
    [
        ("secret", "DJANGO_SECRET_KEY", "Set the DJANGO_SECRET_KEY environment variable"),
        ("hosts", "DJANGO_ALLOWED_HOSTS", "Set the DJANGO_ALLOWED_HOSTS environment variable"),
        ("database", "DATABASE_URL", "Set the DATABASE_URL environment variable"),
        ("broker", "CELERY_BROKER_URL", "Set the CELERY_BROKER_URL environment variable"),
        ("field_keys", "LOWBAO_FIELD_KEYS", "Set the LOWBAO_FIELD_KEYS environment variable"),
    ],
)
def test_production_refuses_to_start_without(_case, missing, message):
    env = {key: value for key, value in _GOOD_ENV.items() if key != missing}

    result = _manage("check", env=env)

    assert result.returncode == 1
    assert message in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = _manage("check", env={**_GOOD_ENV, "DJANGO_SECRET_KEY": "short"})

    assert result.returncode == 1
    assert "DJANGO_SECRET_KEY must be a real secret of at least 50 characters" in result.stderr


def test_production_passes_check_deploy():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=_GOOD_ENV)

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_key_list_parser_keeps_base64_padding():
    assert parse_key_list(f"a:{_KEY},b:{_KEY}") == {"a": _KEY, "b": _KEY}
    with pytest.raises(ValueError, match="kid:base64key"):
        parse_key_list("nocolon")


@pytest.mark.django_db
@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")),
    reason="PostgreSQL setting",
)
def test_postgresql_connections_compile_no_jit():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


def test_jit_can_be_turned_back_on_from_the_environment():
    script = (
        "from django.conf import settings; "
        "print(repr(settings.DATABASES['default'].get('OPTIONS', {}).get('options')))"
    )
    env = {"DJANGO_SETTINGS_MODULE": "lowbao.settings.test"}
    url = {"DATABASE_URL": "postgres://postgres@127.0.0.1:5432/lowbao"}
    shell = ("shell", "--no-imports", "-c", script)
    off = _manage(*shell, env={**env, **url})
    on = _manage(*shell, env={**env, **url, "LOWBAO_PG_JIT": "true"})
    sqlite = _manage(*shell, env={**env, "DATABASE_URL": "sqlite:////tmp/x.db"})
    assert (off.stdout.strip(), on.stdout.strip(), sqlite.stdout.strip()) == (
        "'-c jit=off'",
        "None",
        "None",
    )
