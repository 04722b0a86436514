"""Security headers on every page (quality.md S7): CSP, framing, referrer, sniffing, HSTS."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from lowbao.areas.roles import Role

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[3]
CSP = {
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
}


def _directives(header: str) -> set[str]:
    """django-csp does not keep the directives' order: compare them as a set."""
    return {part.strip() for part in header.split(";")}


def _assert_hardened(response) -> None:
    assert _directives(response["Content-Security-Policy"]) == CSP
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_login_page_carries_the_security_headers(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    _assert_hardened(response)


def test_a_signed_in_page_carries_the_security_headers(areas, make_user, login_client):
    client = login_client(make_user(role=Role.TOWNSHIP_CASEWORKER, area=areas.township))

    response = client.get("/")

    assert response.status_code == 200
    _assert_hardened(response)
    assert '<script src="/static/js/lowbao.js"></script>' in response.content.decode()


def test_the_api_carries_the_security_headers(areas, make_user, login_client):
    client = login_client(make_user(role=Role.REGION_OFFICER, area=areas.region))

    _assert_hardened(client.get("/api/v1/areas/"))


_INLINE = [
    ("inline script", re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE)),
    ("style element", re.compile(r"<style\b", re.IGNORECASE)),
    ("style attribute", re.compile(r"\sstyle\s*=", re.IGNORECASE)),
    ("event handler attribute", re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)),
    ("javascript: URL", re.compile(r"javascript:", re.IGNORECASE)),
]


def test_no_template_has_inline_script_or_style():
    """The policy allows nothing inline: behaviour goes to static/js/lowbao.js (data-*
    attributes), styling to static/css/lowbao.css."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for what, pattern in _INLINE:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")

    assert found == []


_PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "lowbao.settings.production",
    "DJANGO_SECRET_KEY": "x" * 20 + "-production-grade-secret-key-for-the-test-only-0123456789",
    "DJANGO_ALLOWED_HOSTS": "lowbao.example.gov.cn",
    "DATABASE_URL": "postgres://lowbao@127.0.0.1:5432/lowbao",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "LOWBAO_FIELD_KEYS": "k1:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
    "LOWBAO_FIELD_KEY_ID": "k1",
    "LOWBAO_BLIND_INDEX_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
}
_PROBE = """
from django.test import Client
client = Client(HTTP_HOST="lowbao.example.gov.cn")
plain = client.get("/accounts/login/")
print("REDIRECT", plain.status_code, plain.headers.get("Location"))
page = client.get("/accounts/login/", secure=True)
print("STATUS", page.status_code)
for name in ("Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
             "Referrer-Policy", "X-Content-Type-Options"):
    print(name, "=", page.headers.get(name))
for name, morsel in sorted(page.cookies.items()):
    print("COOKIE", name, morsel["secure"], morsel["httponly"], morsel["samesite"])
"""


def test_production_sends_hsts_secure_cookies_and_redirects_to_https():
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", str(ROOT)), **_PRODUCTION_ENV}
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "REDIRECT 301 https://lowbao.example.gov.cn/accounts/login/" in lines
    assert "STATUS 200" in lines
    assert "Strict-Transport-Security = max-age=31536000; includeSubDomains; preload" in lines
    csp = next(line for line in lines if line.startswith("Content-Security-Policy = "))
    assert _directives(csp.removeprefix("Content-Security-Policy = ")) == {
        *CSP,
        "upgrade-insecure-requests",
    }
    assert "X-Frame-Options = DENY" in lines
    assert "Referrer-Policy = same-origin" in lines
    assert "X-Content-Type-Options = nosniff" in lines
    assert "COOKIE __Host-csrftoken True True Lax" in lines
