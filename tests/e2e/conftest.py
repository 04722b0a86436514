"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Chromium missing → the tests skip locally, but fail in CI (``LOWBAO_REQUIRE_E2E=1``).
"""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.accounts import PASSWORD as ACCOUNTS_PASSWORD

CHROMIUM = os.environ.get("LOWBAO_CHROMIUM", "/usr/bin/chromium")
SCREENSHOT_DIR = Path(__file__).resolve().parents[2] / "var" / "screenshots"

# Playwright's sync API runs an event loop in this thread; the live server and the ORM calls of
# the test itself are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not _chromium_available():
        if os.environ.get("LOWBAO_REQUIRE_E2E"):
            pytest.fail(f"Chromium not found at {CHROMIUM}; CI must run the browser tests")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser) -> Iterator[object]:
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(request):
    """``screenshot(name, page=None)``: a full-page PNG under var/screenshots/ (README images)."""

    def _take(name: str, target=None) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{name}.png"
        (target or request.getfixturevalue("page")).screenshot(path=str(path), full_page=True)
        return path

    return _take


@pytest.fixture
def open_as(browser, live_server):
    contexts = []

    def _open(username: str):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1366, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", ACCOUNTS_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("#my-assignments")
        return page

    yield _open
    for context in contexts:
        context.close()
