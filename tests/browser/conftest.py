"""Browser fixtures: real Chromium through Playwright against a live server.

The canvas must have been built (`make frontend`, i.e. `npm run build --prefix
frontend`): these tests drive the production bundle in static/canvas/.

Set BATON_BROWSER_BASE_URL to point the tests at an already running server
(`make run`) instead of pytest-django's live server; its demo users must exist.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("BATON_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
BUNDLE = Path(__file__).resolve().parents[2] / "static" / "canvas" / "canvas.js"
DEMO_PASSWORD = "baton-demo"
IN_CI = os.environ.get("CI") == "true"


def _missing(reason: str) -> None:
    if IN_CI:
        pytest.fail(reason)
    pytest.skip(reason)


@contextmanager
def chromium_browser() -> Iterator[Any]:
    """Chromium under Playwright's sync API, for one test module at most.

    The sync API runs an event loop in this thread: Django's async-safety
    check is relaxed while it runs, and both end with the module, because
    other modules' tests use async_to_sync, which refuses a running loop."""
    from playwright.sync_api import sync_playwright

    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@contextmanager
def open_page(browser: Any, width: int = 1360) -> Iterator[Any]:
    """A page in a fresh context, with generous waits (a loaded CI machine
    can take seconds to serve a page) and the page's JavaScript errors kept
    in ``page.js_errors``; for browser tests outside this package."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(30_000)
    context.set_default_navigation_timeout(60_000)
    page = context.new_page()
    page.js_errors = []
    page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()


def require_chromium() -> None:
    """Skip (fail in CI) when Playwright or Chromium is missing."""
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        _missing(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    require_chromium()
    if not BUNDLE.exists():
        _missing("the canvas is not built: run `npm ci && npm run build` in frontend/")
    with chromium_browser() as chromium:
        yield chromium


@pytest.fixture
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    external = os.environ.get("BATON_BROWSER_BASE_URL")
    if external:
        yield external.rstrip("/")
        return
    live_server = request.getfixturevalue("live_server")
    from django.core.management import call_command

    from config.celery import app

    call_command("seed_demo", verbosity=0)
    # No worker runs beside the live server: steps run when their dispatching
    # transaction commits, on the same on_commit -> execute_step path.
    app.conf.task_always_eager = True
    yield live_server.url
    app.conf.task_always_eager = False


@pytest.fixture
def context(browser: Any, base_url: str, tmp_path: Path) -> Iterator[Any]:
    # After base_url, so it closes first: an open page goes on polling and
    # reconnecting its socket, and a request served while the test database
    # is flushed fails the flush ("couldn't be flushed", seen in CI).
    ctx = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    # Generous: CI machines and busy laptops are slow; a wait ends as soon as it succeeds.
    ctx.set_default_timeout(20_000)
    ctx.set_default_navigation_timeout(45_000)
    yield ctx
    ctx.close()


def login(context: Any, base_url: str, username: str) -> Any:
    """A page signed in as `username` (a demo user), showing the workflow list."""
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors  # checked by the tests: the canvas must not throw
    api_calls: list[str] = []
    page.on(
        "response",
        lambda r: (
            api_calls.append(f"{r.request.method} {r.url.split('/api/v1/')[-1]} {r.status}")
            if "/api/v1/" in r.url
            else None
        ),
    )
    page.api_calls = api_calls  # shown when a test fails, to tell UI from API problems
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page
