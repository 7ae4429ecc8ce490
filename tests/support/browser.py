"""Headless Chromium for the admin console tests: Debian's ``chromium`` at /usr/bin/chromium, driven by
Playwright's own driver (nothing is downloaded at run time). A missing binary fails the tests, never skips them.

tests/conftest.py imports the fixtures, so every test module has them by name and the whole run shares
one Chromium (Playwright's sync API allows one driver at a time).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WAIT_MS = 10_000


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the admin console tests need Debian's chromium package "
                    "(apt-get install chromium; make test installs it)", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def browser_page(chromium: Any, request: pytest.FixtureRequest, artifacts_dir: Path) -> Iterator[Any]:
    """A fresh context (no storage, no cookies); a screenshot lands in test-artifacts/ if the test fails.

    What the page reported: ``page.errors``, its console errors and uncaught exceptions;
    ``page.seen["requests"]``, every URL it requested; ``page.seen["console"]``, its console errors and
    warnings and uncaught exceptions.
    """
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    seen: dict[str, list[str]] = {"requests": [], "console": []}
    page.on("request", lambda req: seen["requests"].append(req.url))

    def console(msg: Any) -> None:
        if msg.type == "error":
            errors.append(f"{msg.type}: {msg.text}")
        if msg.type in {"error", "warning"}:
            seen["console"].append(f"{msg.type}: {msg.text}")

    def page_error(exc: Any) -> None:
        errors.append(f"pageerror: {exc}")
        seen["console"].append(f"pageerror: {exc}")

    page.on("console", console)
    page.on("pageerror", page_error)
    page.errors = errors
    page.seen = seen
    failed_before = request.session.testsfailed
    try:
        yield page
    finally:
        if request.session.testsfailed > failed_before:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            page.screenshot(path=str(artifacts_dir / f"admin-console-{name}.png"), full_page=True)
        context.close()
