"""The admin console (/admin) in real headless Chromium against gunicorn, and its HTTP headers.

Chromium is Debian's ``chromium`` package at /usr/bin/chromium, driven by Playwright's own driver:
nothing is downloaded at run time. A missing binary fails the tests (it does not skip them).
Screenshots of a failing browser test are saved to test-artifacts/. With
``ADMIN_CONSOLE_SCREENSHOT=1`` the filled page is also saved as docs/admin-console.png.
"""

from __future__ import annotations

import os
import re
import uuid
from html.parser import HTMLParser
from typing import Any

import pytest
import requests
from flask import Flask

from tests.support.graphql import credential
from tests.support.services import ROOT, LiveServer, wait_until
from tests.support.tenants import ScimClient, Tenant, make_tenant, wait_until_recorded
from tests.support.urns import USER_URN

pytestmark = pytest.mark.live

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# How long a refused request's history row may take to show: the recorder writes it within
# FLUID_RECORD_FLUSH_SECONDS (1 s); the margin is for a loaded CI machine.
HISTORY_CATCH_UP_S = 20.0


def page_url(server: LiveServer, tenant: Tenant, admin: str | None = None) -> str:
    fragment = f"#token={admin}" if admin else ""
    return f"http://{tenant.host}:{server.port}/admin{fragment}"


# ---- headers and assets (no browser) ----


class _Assets(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in ("src", "href", "action", "formaction", "poster", "data"):
            if values.get(name) and not (tag == "a" and values[name].startswith("#")):  # type: ignore[union-attr]
                self.urls.append(values[name])  # type: ignore[arg-type]
        if tag == "script" and not values.get("src"):
            self.inline_scripts += 1
        if tag == "style" or "style" in values or any(name.startswith("on") for name in values):
            self.inline_styles += 1


def test_admin_page_headers_and_same_origin_assets(tenant: Tenant, live_server: LiveServer) -> None:
    response = requests.get(f"{live_server.url}/admin", headers={"Host": tenant.host}, timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers

    parser = _Assets()
    parser.feed(response.text)
    assert parser.inline_scripts == 0 and parser.inline_styles == 0
    assert parser.urls, "the page loads its own stylesheet and scripts"
    for url in parser.urls:
        if url.startswith("data:"):
            continue
        assert url.startswith("/admin/static/"), f"{url} is not served by this service"
        asset = requests.get(f"{live_server.url}{url}", headers={"Host": tenant.host}, timeout=10)
        assert asset.status_code == 200, url
        assert asset.headers["X-Content-Type-Options"] == "nosniff"
        assert "Set-Cookie" not in asset.headers
        assert asset.headers["Content-Type"].split(";")[0] in {"text/css", "text/javascript", "application/javascript"}
        # Nothing in a stylesheet or script points outside the service (no CDN, fonts, analytics).
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import", asset.text, re.IGNORECASE), url
    other = requests.get(f"{live_server.url}/admin/static/..%2Fapp.py", headers={"Host": tenant.host}, timeout=10)
    assert other.status_code == 404


# ---- the browser ----


def open_console(page: Any, server: LiveServer, tenant: Tenant, admin: str) -> None:
    page.goto(page_url(server, tenant, admin))
    page.wait_for_selector("body[data-ready=true]")


def announced(page: Any, pattern: str) -> None:
    """Wait until the ARIA live region says something matching ``pattern``."""
    from playwright.sync_api import expect

    expect(page.locator("#announce")).to_have_text(re.compile(pattern, re.IGNORECASE))


def refresh_until_shown(page: Any, rows: Any, *, within: float = HISTORY_CATCH_UP_S) -> None:
    """Press Refresh, as an admin would, until ``rows`` match at least one history row (at most ``within`` seconds).

    Like Playwright's auto-retrying ``expect``, except that what is retried is a new query, not a second
    look at the same page. The Refresh button is disabled while status and history load, so once it is
    enabled again the table shows what the server answered."""
    from playwright.sync_api import expect

    refresh = page.get_by_role("button", name="Refresh", exact=True)

    def refreshed_and_shown() -> bool:
        refresh.click()
        expect(refresh).to_be_enabled()
        return rows.count() > 0

    wait_until(refreshed_and_shown, timeout=within, what="a refreshed history showing the row")


def test_console_drives_sync_and_token(app: Flask, tenant: Tenant, live_server: LiveServer, browser_page: Any) -> None:
    """Sync switch, history and token, driven in the browser against gunicorn with two workers.

    A refused request changes nothing, so its history row is not written with a change: the recorder
    of whichever worker refused it writes it in its next batch (``FLUID_RECORD_FLUSH_SECONDS``, 1 s by
    default; see fluid_scim/services/recorder.py), and the worker that answers the history query can
    only write its own pending rows first. One Refresh straight after the request may therefore come
    too early. The test presses Refresh until the row is there, within a generous deadline, which is
    what the service promises (the row shows within an interval) and what an admin does. Making every
    read wait for every worker's batch would put cross-process coordination on the request path, which
    the batching exists to avoid."""
    from playwright.sync_api import expect

    page = browser_page
    admin = credential(app, tenant.slug)
    open_console(page, live_server, tenant, admin)

    # Signed in from the fragment: kept in sessionStorage, gone from the address bar, no cookie.
    assert page.url == page_url(live_server, tenant)
    assert page.evaluate("sessionStorage.getItem('fluid-admin-credential')") == admin
    assert page.context.cookies() == []
    expect(page.get_by_label("Tenant URL")).to_have_value(f"http://{tenant.host}/scim/v2")
    expect(page.get_by_label("Access group name")).to_have_value("Fluid User")

    # "Disable SCIM User Sync" on (by keyboard): the IdP is refused; off again: accepted.
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning/1.0")
    switch = page.get_by_role("switch", name="Disable SCIM User Sync")
    expect(switch).not_to_be_checked()
    switch.focus()
    page.keyboard.press("Space")
    announced(page, "sync disabled")
    expect(switch).to_be_checked()
    refused = entra.post("/Users", {"schemas": [USER_URN], "userName": "refused@example.com"})
    assert refused.status_code == 403
    switch.click()
    announced(page, "sync enabled")
    expect(switch).not_to_be_checked()
    user_name = f"grace-{uuid.uuid4().hex[:6]}@example.com"
    created = entra.post("/Users", {"schemas": [USER_URN], "userName": user_name, "name": {"familyName": "Hopper"}})
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]

    # The change is in the history table; the refused request is highlighted; a row opens its diff.
    refused_row = page.locator("#history-rows tr.event[data-operation='user.create'][data-status='403']")
    refresh_until_shown(page, refused_row)
    announced(page, "refreshed")
    created_row = page.locator("#history-rows tr.event[data-operation='user.created']")
    expect(created_row).to_have_count(1)
    expect(created_row).to_contain_text(user_id)
    expect(refused_row).to_have_class(re.compile(r"\bfailed\b"))
    expect(refused_row).to_contain_text("Failed 403")
    toggle = created_row.get_by_role("button", name=re.compile("Show changes"))
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    diff = page.locator(f"#{toggle.get_attribute('aria-controls')}")
    expect(diff).to_be_visible()
    expect(diff).to_contain_text(user_name)
    expect(diff).to_contain_text("name.familyName")

    # Filters: failures only.
    page.get_by_label("Outcome").select_option("FAILURE")
    page.get_by_role("button", name="Apply filters", exact=True).click()
    announced(page, "history shows")
    expect(page.locator("#history-rows tr.event:not(.failed)")).to_have_count(0)
    expect(page.locator("#history-rows tr.event.failed")).not_to_have_count(0)
    page.get_by_role("button", name="Clear", exact=True).click()
    expect(page.locator("#history-rows tr.event[data-operation='user.created']")).to_have_count(1)

    # Generate: the old token stops at once, the new one works; Copy Token copies it, then it is gone.
    page.get_by_role("button", name="Generate", exact=True).click()
    announced(page, "new token generated")
    token_field = page.get_by_label("Secret token")
    new_token = token_field.input_value()
    assert new_token.startswith("fscim_") and new_token != tenant.token
    assert entra.get('/Users?filter=userName eq "probe"').status_code == 401
    copied = ScimClient(live_server.url, Tenant(tenant.slug, new_token))
    assert copied.get('/Users?filter=userName eq "probe"').status_code == 200
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=f"http://{tenant.host}:{live_server.port}")
    page.get_by_role("button", name="Copy Token", exact=True).click()
    announced(page, "token copied")
    assert page.evaluate("navigator.clipboard.readText()") == new_token
    expect(token_field).to_have_value("")
    expect(page.get_by_role("button", name="Copy Token", exact=True)).to_be_disabled()
    fingerprint = page.locator("#token-fingerprint").inner_text()
    assert re.fullmatch(r"[0-9a-f]{8}", fingerprint)
    assert new_token not in page.content()

    # A weak entered token: the strength rule is shown, announced, and nothing changes.
    token_field.fill("password123")
    page.get_by_role("button", name="Save", exact=True).click()
    error = page.locator("#token-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("too weak")
    expect(token_field).to_have_attribute("aria-invalid", "true")
    announced(page, "too weak")
    assert copied.get('/Users?filter=userName eq "probe"').status_code == 200

    # Everything came from this service, under the CSP, without a violation.
    origin = f"http://{tenant.host}:{live_server.port}/"
    assert all(url.startswith((origin, "data:")) for url in page.seen["requests"]), page.seen["requests"]
    problems = [line for line in page.seen["console"] if "Content Security Policy" in line or "pageerror" in line]
    assert not problems, page.seen["console"]


def test_console_sections_and_screenshot(app: Flask, live_server: LiveServer, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    tenant = make_tenant(app, "acme")  # the demo organisation's name, for the README's screenshot
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning/1.0")
    for name in ("ada", "linus"):
        assert entra.post("/Users", {"schemas": [USER_URN], "userName": f"{name}@example.com"}).status_code == 201
    assert entra.get("/Users/does-not-exist").status_code == 404
    open_console(page, live_server, tenant, credential(app, tenant.slug))

    # Role mappings and the brake, saved through the API and shown back.
    page.get_by_role("button", name="Add group mapping", exact=True).click()
    page.get_by_label("Directory group 1").fill("Fluid Admin")
    page.get_by_label("Fluid role 1").fill("admin")
    page.get_by_role("button", name="Save role mappings", exact=True).click()
    announced(page, "role mappings saved")
    page.get_by_role("switch", name="Hold mass access removals").check()
    page.get_by_label("Share of users (%)").fill("20")
    page.get_by_role("button", name="Save brake", exact=True).click()
    announced(page, "brake on: 20%")
    page.get_by_label("Access group name").fill("Staff")
    page.get_by_role("button", name="Save access group", exact=True).click()
    announced(page, "renamed to Staff")
    page.get_by_role("button", name="Refresh", exact=True).click()
    announced(page, "refreshed")
    expect(page.locator("#status-list")).to_contain_text("2 total")
    expect(page.locator("#verdict")).not_to_be_empty()
    expect(page.locator("#history-rows tr.event[data-operation='access.role_mappings_changed']")).to_have_count(1)
    expect(page.locator("#history-rows tr.event[data-operation='access.group_renamed']")).to_have_count(1)

    # Reloading keeps the session (sessionStorage); signing out forgets it.
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.get_by_label("Directory group 1")).to_have_value("Fluid Admin")

    page.screenshot(path=str(ROOT / "test-artifacts" / "admin-console.png"), full_page=True)
    if os.environ.get("ADMIN_CONSOLE_SCREENSHOT") == "1":
        (ROOT / "docs").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "docs" / "admin-console.png"), full_page=True)

    page.get_by_role("button", name="Sign out", exact=True).click()
    expect(page.locator("#signed-out")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('fluid-admin-credential')") is None


def test_console_sets_attribute_rules_and_the_attribute_access_mode(
    app: Flask, tenant: Tenant, live_server: LiveServer, browser_page: Any
) -> None:
    from playwright.sync_api import expect

    page = browser_page
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning/1.0")
    body = {"schemas": [USER_URN], "userName": "eve@example.com", "userType": "Employee", "title": "Analyst"}
    user = entra.post("/Users", body).json()
    open_console(page, live_server, tenant, credential(app, tenant.slug))
    expect(page.locator("#precedence")).to_contain_text("union")
    expect(page.get_by_role("radio", name="Active members of the access group")).to_be_checked()
    expect(page.get_by_label("Access filter", exact=True)).to_be_disabled()

    # A rule naming an unknown attribute is refused, said aloud, and nothing is saved.
    page.get_by_role("button", name="Add attribute rule", exact=True).click()
    page.get_by_label("Attribute filter 1").fill('titel eq "Analyst"')
    page.get_by_label("Fluid role of attribute rule 1").fill("analyst")
    page.get_by_role("button", name="Save attribute rules", exact=True).click()
    expect(page.locator("#attribute-rules-error")).to_contain_text("User has no attribute 'titel'")
    announced(page, "has no attribute")
    page.get_by_label("Attribute filter 1").fill('title eq "analyst"')
    page.get_by_role("button", name="Save attribute rules", exact=True).click()
    announced(page, "attribute rules saved")

    # The attribute access mode, chosen with the keyboard.
    page.get_by_role("radio", name="Every active user the access filter matches").press("Space")
    expect(page.get_by_label("Access filter", exact=True)).to_be_enabled()
    page.get_by_label("Access filter", exact=True).fill('userType eq "Employee"')
    page.get_by_role("button", name="Save access rule", exact=True).click()
    announced(page, "access rule saved; 1 user")
    fluid = entra.get(f"/Users/{user['id']}").json()["urn:fluid:params:scim:schemas:extension:fluid:2.0:User"]
    assert fluid["accessGranted"] is True and [role["value"] for role in fluid["roles"]] == ["analyst"]

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.get_by_role("radio", name="Every active user the access filter matches")).to_be_checked()
    expect(page.get_by_label("Access filter", exact=True)).to_have_value('userType eq "Employee"')
    expect(page.get_by_label("Attribute filter 1")).to_have_value('title eq "analyst"')


def test_console_refuses_a_bad_credential(app: Flask, tenant: Tenant, live_server: LiveServer, browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    page.goto(page_url(live_server, tenant, "not-a-jwt"))
    expect(page.locator("#signed-out")).to_be_visible()
    expect(page.locator("#signed-out-text")).to_contain_text("expired or is not valid")
    expect(page.locator("#console")).to_be_hidden()
    assert page.evaluate("sessionStorage.getItem('fluid-admin-credential')") is None


def test_console_declares_an_attribute_the_directory_sends(
    app: Flask, tenant: Tenant, live_server: LiveServer, browser_page: Any
) -> None:
    """The "Directory attributes" section: an unknown attribute listed, declared with "Declare…", then removed."""
    from playwright.sync_api import expect

    page = browser_page
    urn = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
    path = f"{urn}:CustomAttribute"
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning/1.0")
    sent = entra.post("/Users", {"schemas": [USER_URN, urn], "userName": "ada@example.com", urn: {"CustomAttribute": "701984"}})
    assert sent.status_code == 201, sent.text
    wait_until_recorded(app, tenant)  # the serving worker writes the sighting with the request's event
    open_console(page, live_server, tenant, credential(app, tenant.slug))

    expect(page.get_by_role("heading", name="Directory attributes")).to_be_visible()
    expect(page.locator("#declared-empty")).to_be_visible()
    unknown = page.locator("#undeclared-rows tr", has_text=path)
    expect(unknown).to_contain_text("ada@example.com")
    page.get_by_role("button", name=f"Declare {path}", exact=True).click()
    announced(page, "form is filled")
    expect(page.get_by_label("Attribute path")).to_have_value(path)
    expect(page.get_by_label("Type", exact=True)).to_be_focused()
    page.get_by_label("Description").fill("Cost centre")
    page.get_by_role("button", name="Declare attribute", exact=True).click()
    announced(page, "declared as string; 1 stored value")
    declared = page.locator("#declared-rows tr", has_text=path)
    expect(declared).to_contain_text("Cost centre")
    expect(page.locator("#undeclared-empty")).to_be_visible()
    schemas = entra.get(f"/Schemas/{urn}")
    assert schemas.status_code == 200 and [a["name"] for a in schemas.json()["attributes"]] == ["CustomAttribute"]

    # The undeclared policy, by keyboard.
    policy = page.get_by_label("Attributes that are not declared")
    policy.select_option("REJECT")
    announced(page, "refused")
    refused = entra.post("/Users", {"schemas": [USER_URN], "userName": "linus@example.com", "shoeSize": "44"})
    assert refused.status_code == 400

    # Removing asks what becomes of the stored values.
    page.get_by_role("button", name=f"Remove {path}", exact=True).click()
    keep = page.get_by_role("button", name=f"Remove {path} and keep its values", exact=True)
    expect(keep).to_be_focused()
    page.keyboard.press("Enter")
    announced(page, "1 stored value\\(s\\) kept as undeclared")
    expect(page.locator("#declared-empty")).to_be_visible()
    expect(page.locator("#undeclared-rows tr", has_text=path)).to_have_count(1)
    problems = [line for line in page.seen["console"] if "Content Security Policy" in line or "pageerror" in line]
    assert not problems, page.seen["console"]
