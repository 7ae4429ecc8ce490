"""The admin console in real headless Chromium against gunicorn: Generate touches only the token's fields,
the history names whom a row is about and who acted, and the webhook card pauses, resumes and redelivers.
"""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask

from fluid_scim.services import organisations, scim_tokens, webhooks
from tests.support.graphql import claims_for, credential, data, execute
from tests.support.services import LiveServer
from tests.support.tenants import ScimClient, Tenant
from tests.support.urns import USER_URN

pytestmark = pytest.mark.live


def open_console(page: Any, server: LiveServer, tenant: Tenant, admin: str) -> None:
    page.goto(f"http://{tenant.host}:{server.port}/admin#token={admin}")
    page.wait_for_selector("body[data-ready=true]")


def announced(page: Any, pattern: str) -> None:
    from playwright.sync_api import expect

    expect(page.locator("#announce")).to_have_text(re.compile(pattern, re.IGNORECASE))


def token_fingerprint(app: Flask, tenant: Tenant) -> str:
    with app.app_context():
        meta = scim_tokens.token_metadata(organisation=organisations.get_organisation(slug=tenant.slug))
        assert meta is not None
        return str(meta.fingerprint)


def test_generate_keeps_unsaved_edits_elsewhere_on_the_page(app: Flask, tenant: Tenant, live_server: LiveServer,
                                                            browser_page: Any) -> None:
    from playwright.sync_api import expect

    page = browser_page
    open_console(page, live_server, tenant, credential(app, tenant.slug))
    old_fingerprint = page.locator("#token-fingerprint").inner_text()

    # Edits the admin has not saved yet, in three other forms.
    page.get_by_label("Access group name").fill("Unsaved Access Group")
    page.get_by_role("button", name="Add group mapping").click()
    page.get_by_label("Directory group 1").fill("Finance Team")
    page.get_by_label("Fluid role 1").fill("editor")
    page.get_by_label("Every active user", exact=True).check()
    page.get_by_label("Share of users (%)").fill("37")

    page.get_by_role("button", name="Generate", exact=True).click()
    announced(page, "new token generated")

    # The token's fields are the new token's …
    new_token = page.get_by_label("Secret token").input_value()
    assert new_token.startswith("fscim_") and new_token != tenant.token
    new_fingerprint = token_fingerprint(app, tenant)
    expect(page.locator("#token-fingerprint")).to_have_text(new_fingerprint)
    assert new_fingerprint != old_fingerprint
    # … and every unsaved edit is still on the page, as typed.
    expect(page.get_by_label("Access group name")).to_have_value("Unsaved Access Group")
    expect(page.get_by_label("Directory group 1")).to_have_value("Finance Team")
    expect(page.get_by_label("Fluid role 1")).to_have_value("editor")
    expect(page.get_by_label("Every active user", exact=True)).to_be_checked()
    expect(page.get_by_label("Share of users (%)")).to_have_value("37")
    # Nothing of them was saved by Generate.
    saved = data(execute(app, "{ organisation { accessMode accessGroup { displayName } roleMappings { groups { groupName } }"
                              " deprovisioningBrake { percent } } }", claims_for(tenant.slug)))["organisation"]
    assert saved["accessGroup"]["displayName"] == "Fluid User" and saved["roleMappings"]["groups"] == []
    assert saved["accessMode"] == "group" and saved["deprovisioningBrake"]["percent"] != 37
    # Saving one of them afterwards still works, with the others left as typed.
    page.get_by_role("button", name="Save access group").click()
    announced(page, "access group renamed to Unsaved Access Group")
    expect(page.get_by_label("Directory group 1")).to_have_value("Finance Team")
    assert page.errors == []  # type: ignore[attr-defined]


def test_history_rows_name_the_person_and_the_identity_provider(app: Flask, tenant: Tenant, live_server: LiveServer,
                                                               browser_page: Any) -> None:
    from playwright.sync_api import expect

    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning/1.0")
    user_name = f"named-{uuid.uuid4().hex[:6]}@example.com"
    created = entra.post("/Users", {"schemas": [USER_URN], "userName": user_name})
    assert created.status_code == 201, created.text
    page = browser_page
    open_console(page, live_server, tenant, credential(app, tenant.slug))
    row = page.locator("#history-rows tr.event[data-operation='user.created']")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(user_name)
    expect(row).to_contain_text(created.json()["id"])
    expect(row.locator("td.actor")).to_have_text(f"Microsoft Entra ID · token {token_fingerprint(app, tenant)}")


class _Receiver:
    """A webhook receiver on loopback that refuses (500) until told to accept."""

    def __init__(self) -> None:
        self.accepting = False
        self.ids: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", "0")))
                receiver.ids.append(self.headers["webhook-id"])
                self.send_response(200 if receiver.accepting else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"


@pytest.fixture
def receiver() -> Iterator[_Receiver]:
    state = _Receiver()
    thread = threading.Thread(target=state.server.serve_forever, daemon=True)
    thread.start()
    yield state
    state.server.shutdown()
    state.server.server_close()


def test_the_webhook_card_pauses_resumes_and_redelivers(app_factory: Any, tenant: Tenant, live_server: LiveServer,
                                                        browser_page: Any, receiver: _Receiver) -> None:
    from playwright.sync_api import expect

    worker = app_factory(webhook_allowed_hosts=("127.0.0.1",), webhook_max_attempts=1)
    store, settings = worker.extensions["fluid_secret_store"], worker.extensions["fluid_settings"]
    with worker.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        endpoint, _ = webhooks.create_endpoint(organisation=organisation, url=receiver.url, event_types=["user.provisioned"],
                                               store=store, settings=settings)
    entra = ScimClient(live_server.url, tenant, user_agent="Microsoft.Identity.Provisioning/1.0")
    assert entra.post("/Users", {"schemas": [USER_URN], "userName": "hooked@example.com"}).status_code == 201
    with worker.app_context():
        assert webhooks.run_once(settings, store).dead == 1  # one attempt allowed here: refused, dead-lettered

    page = browser_page
    open_console(page, live_server, tenant, credential(worker, tenant.slug))
    row = page.locator(f"#webhook-rows tr[data-endpoint='{endpoint.id}']")
    expect(row).to_contain_text(receiver.url)
    expect(row).to_contain_text("HTTP 500 Internal Server Error")
    dead = page.locator("#dead-rows tr")
    expect(dead).to_have_count(1)
    expect(dead).to_contain_text("user.provisioned")

    row.get_by_role("button", name=f"Pause {receiver.url}").click()
    announced(page, "paused")
    expect(row.locator("td.state")).to_contain_text("Paused since")
    receiver.accepting = True
    page.get_by_role("button", name=re.compile("^Redeliver event evt_")).click()
    announced(page, "queued again, with the same webhook-id")
    expect(page.locator("#dead-rows tr")).to_have_count(0)
    expect(page.locator("#dead-empty")).to_be_visible()
    with worker.app_context():
        assert webhooks.run_once(settings, store).attempted == 0  # paused: the redelivery waits
    row.get_by_role("button", name=f"Resume {receiver.url}").click()
    announced(page, "resumed")
    expect(row.locator("td.state")).to_have_text("Active")
    with worker.app_context():
        assert webhooks.run_once(settings, store).delivered == 1
    assert len(receiver.ids) == 2 and receiver.ids[0] == receiver.ids[1]  # the same webhook-id, refused then accepted
    page.get_by_role("button", name="Refresh webhooks").click()
    announced(page, "webhooks refreshed")
    expect(row.locator("td").nth(4)).to_have_text("0")  # failures in a row, after the success
    assert page.errors == []  # type: ignore[attr-defined]
