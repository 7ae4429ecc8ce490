"""Rotating a webhook endpoint's signing secret with a grace window: both secrets sign meanwhile.

The receiver is a real HTTP server on loopback; the worker runs one pass at a time with a clock
the test moves on; the secrets live in the test OpenBao. The receiver checks each message with
``standardwebhooks``, the reference library of the Standard Webhooks specification
(https://www.standardwebhooks.com/): a message is authentic when any of the space-separated
``v1,<signature>`` entries of ``webhook-signature`` matches the secret.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from standardwebhooks import Webhook, WebhookVerificationError

from fluid_scim.extensions import db
from fluid_scim.models import ProvisioningEvent, WebhookEndpoint
from fluid_scim.models.types import utcnow
from fluid_scim.services import organisations, webhooks
from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import new_user
from tests.support.services import Vault
from tests.support.tenants import Tenant
from tests.support.webhook_receiver import Clock

Received = tuple[dict[str, str], bytes]


def standard_webhooks_verify(secret: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """What a Standard Webhooks receiver does with one message; its JSON when authentic."""
    verified: dict[str, Any] = Webhook(secret).verify(body, headers)
    return verified


@pytest.fixture
def received() -> Iterator[tuple[str, list[Received]]]:
    """A receiver on loopback that answers 200 and keeps each request's headers and body."""
    requests: list[Received] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks", requests
    server.shutdown()
    server.server_close()


@pytest.fixture
def settings(database_url: str, vault: Vault) -> dict[str, Any]:
    return {"database_url": database_url, "vault_addr": vault.addr, "vault_token": vault.token, "vault_timeout": 1.0,
            "webhook_allowed_hosts": ("127.0.0.1",), "webhook_timeout": 2.0}



def deliver(app: Flask, clock: Clock) -> None:
    with app.app_context():
        result = webhooks.run_once(app.extensions["fluid_settings"], app.extensions["fluid_secret_store"], now=clock)
    assert result.failed == 0 and result.dead == 0


def gql(app: Flask, tenant: Tenant, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return data(execute(app, query, claims_for(tenant.slug), variables))


def create(app: Flask, tenant: Tenant, url: str) -> tuple[str, str]:
    created = gql(app, tenant, "mutation($url: String!) { createWebhookEndpoint(url: $url, eventTypes: [\"user.provisioned\"])"
                               " { ... on WebhookEndpointCreated { secret endpoint { id } } } }", {"url": url})
    return created["createWebhookEndpoint"]["endpoint"]["id"], created["createWebhookEndpoint"]["secret"]


ROTATE = ("mutation($id: ID!, $hours: Int!) { rotateWebhookSecret(id: $id, previousSecretHours: $hours) { __typename"
          " ... on WebhookSecretRotated { secret endpoint { previousSecretExpiresAt } } ... on Failure { message } } }")


def rotate(app: Flask, tenant: Tenant, endpoint_id: str, hours: int) -> dict[str, Any]:
    answer: dict[str, Any] = gql(app, tenant, ROTATE, {"id": endpoint_id, "hours": hours})["rotateWebhookSecret"]
    return answer


def verifies(secret: str, message: Received) -> bool:
    try:
        standard_webhooks_verify(secret, *message)
    except WebhookVerificationError:
        return False
    return True


def test_both_secrets_sign_during_the_window_and_only_the_new_one_after(
    app: Flask, client: FlaskClient, tenant: Tenant, received: tuple[str, list[Received]], vault: Vault
) -> None:
    url, messages = received
    endpoint_id, old = create(app, tenant, url)
    clock = Clock()
    new_user(client, tenant, "before@contoso.com")
    deliver(app, clock)
    assert len(messages[-1][0]["webhook-signature"].split(" ")) == 1 and verifies(old, messages[-1])

    rotated = rotate(app, tenant, endpoint_id, 24)
    assert rotated["__typename"] == "WebhookSecretRotated"
    new = rotated["secret"]
    until = datetime.fromisoformat(rotated["endpoint"]["previousSecretExpiresAt"])
    assert abs((until - (utcnow() + timedelta(hours=24))).total_seconds()) < 60

    new_user(client, tenant, "during@contoso.com")
    deliver(app, clock)
    during = messages[-1]
    assert standard_webhooks_verify(old, *during)["data"]["userName"] == "during@contoso.com"  # a receiver not yet switched
    assert standard_webhooks_verify(new, *during)["data"]["userName"] == "during@contoso.com"  # one already switched
    assert not verifies(webhooks.new_secret().reveal(), during)
    signatures = during[0]["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(item.startswith("v1,") for item in signatures)
    assert old not in str(during) and new not in str(during)

    clock.now = until + timedelta(seconds=1)
    new_user(client, tenant, "after@contoso.com")
    deliver(app, clock)
    after = messages[-1]
    assert json.loads(after[1])["data"]["userName"] == "after@contoso.com"
    assert verifies(new, after) and not verifies(old, after)
    assert len(after[0]["webhook-signature"].split(" ")) == 1

    # The previous secret stays in Vault (an older version); the database holds its version number only.
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        row = db.session.execute(select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == organisation.id)).scalar_one()
        assert (row.secret_version, row.previous_secret_version) == (2, 1)
        stored = " ".join(str(getattr(row, column.key)) for column in WebhookEndpoint.__table__.columns)
        assert old not in stored and new not in stored
        events = db.session.execute(select(ProvisioningEvent).where(
            ProvisioningEvent.organisation_id == organisation.id, ProvisioningEvent.operation == "webhook.secret_rotated"
        )).scalars().all()
        assert len(events) == 1 and (events[0].detail or "").startswith("the previous secret signs too until ")
        assert old not in (events[0].detail or "") and new not in (events[0].detail or "")
    path = f"fluid-scim/organisations/{organisation.id}/webhooks/{endpoint_id}"
    assert vault.read_kv(path)["data"] == {"secret": new}


def test_no_window_and_a_second_rotation_within_one(
    app: Flask, client: FlaskClient, tenant: Tenant, received: tuple[str, list[Received]]
) -> None:
    url, messages = received
    endpoint_id, first = create(app, tenant, url)
    clock = Clock()
    second = rotate(app, tenant, endpoint_id, 1)["secret"]
    third = rotate(app, tenant, endpoint_id, 2)["secret"]  # the first secret stops now: at most two sign
    new_user(client, tenant, "twice@contoso.com")
    deliver(app, clock)
    assert [verifies(secret, messages[-1]) for secret in (first, second, third)] == [False, True, True]

    immediate = rotate(app, tenant, endpoint_id, 0)
    assert immediate["endpoint"]["previousSecretExpiresAt"] is None
    new_user(client, tenant, "now@contoso.com")
    deliver(app, clock)
    assert [verifies(secret, messages[-1]) for secret in (second, third, immediate["secret"])] == [False, False, True]
    listed = gql(app, tenant, "{ webhookEndpoints { previousSecretExpiresAt } }")
    assert listed == {"webhookEndpoints": [{"previousSecretExpiresAt": None}]}

    for hours in (-1, 169):
        refused = rotate(app, tenant, endpoint_id, hours)
        assert refused == {"__typename": "InvalidInput", "message": "the previous secret may keep signing for 0 to 168 hours"}
