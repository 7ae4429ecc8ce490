"""The admin console's set-up checklist in real headless Chromium against gunicorn (two workers).

Chromium is Debian's ``chromium`` package at /usr/bin/chromium, driven by Playwright's own driver,
as in tests/test_admin_console.py (the browser fixtures are tests/support/browser.py's).
A missing binary fails the tests. A failing test leaves a screenshot in test-artifacts/.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from flask import Flask

from tests.support.graphql import credential
from tests.support.services import LiveServer, wait_until
from tests.support.tenants import ScimClient, Tenant

pytestmark = pytest.mark.live

# A read's event reaches the history with the recorder's next batch (FLUID_RECORD_FLUSH_SECONDS, 1 s) of
# whichever worker served it; the margin is for a loaded machine.
CATCH_UP_S = 20.0
ENTRA = "Microsoft.Identity.Provisioning/1.0"
KEYS = [
    "sync_enabled",
    "token_set",
    "test_connection",
    "group_create_unchecked",
    "group_delete_unchecked",
    "attributes_understood",
    "access_group_matched",
    "users_provisioned",
]


@pytest.fixture
def page(browser_page: Any) -> Any:
    return browser_page


def step(page: Any, key: str) -> Any:
    return page.locator(f"#checklist-steps li[data-key='{key}']")


def refresh_until(page: Any, key: str, state: str) -> None:
    """Press Refresh, as an admin would, until the step shows ``state`` (the checklist is refreshed with the status)."""
    from playwright.sync_api import expect

    refresh = page.get_by_role("button", name="Refresh", exact=True)

    def shown() -> bool:
        refresh.click()
        expect(refresh).to_be_enabled()
        return bool(step(page, key).get_attribute("data-state") == state)

    wait_until(shown, timeout=CATCH_UP_S, what=f"the step {key} shown as {state}")


def test_checklist_panel_follows_entra_and_restarts_by_keyboard(
    app: Flask, tenant: Tenant, live_server: LiveServer, page: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"http://{tenant.host}:{live_server.port}/admin#token={credential(app, tenant.slug)}")
    page.wait_for_selector("body[data-ready=true]")

    # Above the SCIM section, the article's steps in order, each with its state in words.
    order = page.evaluate(
        "() => [...document.querySelectorAll('#console > section h2')].map(h => h.textContent)"
    )
    assert order[:2] == ["Set-up checklist", "SCIM"], order
    steps = page.get_by_role("list", name="Set-up checklist").get_by_role("listitem")
    expect(steps).to_have_count(len(KEYS))
    assert [item.get_attribute("data-key") for item in steps.all()] == KEYS
    expect(step(page, "sync_enabled")).to_contain_text("Done")
    expect(step(page, "test_connection")).to_have_attribute("data-state", "PENDING")
    expect(step(page, "test_connection")).to_contain_text("Not yet")
    expect(page.locator("#checklist-summary")).to_have_text("2 of 8 steps done.")

    # Entra's Test Connection with a wrong token: a problem, with its fix.
    wrong = ScimClient(live_server.url, Tenant(tenant.slug, "not-the-saved-" + uuid.uuid4().hex), user_agent=ENTRA)
    assert wrong.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'}).status_code == 401
    refresh_until(page, "test_connection", "PROBLEM")
    problem = step(page, "test_connection")
    expect(problem).to_contain_text("Problem")
    expect(problem).to_contain_text("does not match the saved one")
    expect(problem).to_contain_text("Entra's Secret Token")
    expect(problem).to_contain_text("Last observed")
    expect(page.locator("#checklist-summary")).to_contain_text("1 problem to fix")

    # The right token, and a lookup of a group named differently from the access group.
    entra = ScimClient(live_server.url, tenant, user_agent=ENTRA)
    assert entra.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'}).status_code == 200
    assert entra.get("/Groups", params={"filter": 'displayName eq "Fluid Users"'}).json()["totalResults"] == 0
    refresh_until(page, "access_group_matched", "PROBLEM")
    expect(step(page, "test_connection")).to_have_attribute("data-state", "DONE")
    expect(step(page, "access_group_matched")).to_contain_text('looked for groups named "Fluid Users"')
    expect(step(page, "access_group_matched")).to_contain_text('Fluid\'s access group is named "Fluid User"')

    # Restart, by keyboard: focus lands on the checklist's heading, the change is announced, steps start over.
    restart = page.get_by_role("button", name="Restart checklist", exact=True)
    page.locator("#checklist-title").focus()
    page.keyboard.press("Tab")
    expect(restart).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#announce")).to_have_text(re.compile("checklist restarted", re.IGNORECASE))
    expect(page.locator("#checklist-title")).to_be_focused()
    expect(step(page, "test_connection")).to_have_attribute("data-state", "PENDING")
    expect(step(page, "access_group_matched")).to_have_attribute("data-state", "PENDING")
    expect(page.locator("#checklist-since")).to_contain_text("Counting what happened since")
    # The history keeps what came before, the restart included.
    expect(page.locator("#history-rows tr.event[data-operation='setup_checklist.restarted']")).to_have_count(1)

    assert not page.errors, page.errors
