"""Webhook delivery end to end: a real HTTP receiver on loopback, the worker, Vault-held secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fluid_scim.config import Settings
from fluid_scim.errors import UrlRefused
from fluid_scim.extensions import db
from fluid_scim.models import WebhookDelivery
from fluid_scim.models.types import utcnow
from fluid_scim.repositories.scoping import across_organisations
from fluid_scim.secrets import Secret
from fluid_scim.services import organisations, webhooks
from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import access_group_id, add_to_group, new_user, set_active
from tests.support.services import ROOT, Vault, wait_until
from tests.support.tenants import Tenant
from tests.support.webhook_receiver import Clock, Receiver


@pytest.fixture
def settings(database_url: str, vault: Vault) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "vault_addr": vault.addr,
        "vault_token": vault.token,
        "vault_timeout": 1.0,
        "webhook_allowed_hosts": ("127.0.0.1",),
        "webhook_max_attempts": 5,
        "webhook_timeout": 2.0,
    }


def create_endpoint(app: Flask, tenant: Tenant, url: str, types: list[str] | None = None) -> tuple[str, Secret]:
    result = execute(app, "mutation($url: String!, $types: [String!]) { createWebhookEndpoint(url: $url, eventTypes: $types) {"
                     " __typename ... on WebhookEndpointCreated { secret endpoint { id url eventTypes } }"
                     " ... on Failure { message } } }", claims_for(tenant.slug), {"url": url, "types": types})
    created = data(result)["createWebhookEndpoint"]
    assert created["__typename"] == "WebhookEndpointCreated", created
    assert created["secret"].startswith("whsec_")
    return created["endpoint"]["id"], Secret(created["secret"])



def work(app: Flask, clock: Any = utcnow) -> webhooks.PassResult:
    with app.app_context():
        return webhooks.run_once(app.extensions["fluid_settings"], app.extensions["fluid_secret_store"], now=clock)


def deliveries(app: Flask, tenant: Tenant) -> list[dict[str, Any]]:
    query = ("{ webhookDeliveries(first: 100) { edges { node {"
             " eventId eventType subjectId status attempts lastStatusCode lastError } } } }")
    return [edge["node"] for edge in data(execute(app, query, claims_for(tenant.slug)))["webhookDeliveries"]["edges"]]


def test_entra_deactivation_produces_one_signed_event(app: Flask, client: FlaskClient, tenant: Tenant, receiver: Receiver,
                                                      vault: Vault) -> None:
    user_id = new_user(client, tenant, "ada@contoso.com")
    add_to_group(client, tenant, access_group_id(client, tenant), user_id)
    endpoint_id, secret = create_endpoint(app, tenant, receiver.url, ["access.suspended"])
    with app.app_context():
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
    stored = vault.read_kv(f"fluid-scim/organisations/{organisation_id}/webhooks/{endpoint_id}")
    assert stored["data"] == {"secret": secret.reveal()}

    set_active(client, tenant, user_id, "False")
    result = work(app)

    assert result.delivered == 1 and len(receiver.requests) == 1
    headers, body, _ = receiver.requests[0]
    assert webhooks.verify(secret, headers, body)
    assert not webhooks.verify(webhooks.new_secret(), headers, body)
    assert headers["webhook-signature"].startswith("v1,")
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
    event = json.loads(body)
    assert headers["webhook-id"] == event["id"]
    assert event["type"] == "access.suspended" and event["subject"] == user_id
    assert event["data"]["userId"] == user_id and event["data"]["userName"] == "ada@contoso.com"
    assert event["data"]["rolesAfter"] == []
    text = body.decode()
    assert secret.reveal() not in text and tenant.token not in text and "whsec_" not in text
    assert work(app).attempted == 0  # nothing more to send
    log = [(d["eventType"], d["status"], d["attempts"]) for d in deliveries(app, tenant)]
    assert log == [("access.suspended", "DELIVERED", 1)]


def test_a_receiver_failing_three_times_then_succeeding_gets_exactly_one_accepted_delivery(
    app: Flask, client: FlaskClient, tenant: Tenant, receiver: Receiver
) -> None:
    receiver.statuses = [500, 503, 502]
    create_endpoint(app, tenant, receiver.url, ["user.provisioned"])
    new_user(client, tenant, "grace@contoso.com")
    clock = Clock()
    assert work(app, clock).failed == 1
    assert work(app, clock).attempted == 0  # backing off: not due yet
    for _ in range(3):
        clock.advance(hours=2)
        work(app, clock)
    assert [status for _, _, status in receiver.requests] == [500, 503, 502, 200]
    assert len({headers["webhook-id"] for headers, _, _ in receiver.requests}) == 1  # the idempotency key is stable
    assert len(receiver.accepted()) == 1
    [log] = deliveries(app, tenant)
    assert log["status"] == "DELIVERED" and log["attempts"] == 4 and log["lastStatusCode"] == 200 and log["lastError"] is None
    clock.advance(hours=2)
    assert work(app, clock).attempted == 0


def test_after_the_configured_attempts_a_delivery_is_dead_lettered(app: Flask, client: FlaskClient, tenant: Tenant,
                                                                   receiver: Receiver) -> None:
    receiver.statuses = [500] * 10
    create_endpoint(app, tenant, receiver.url)
    new_user(client, tenant, "dead@contoso.com")
    clock = Clock()
    for _ in range(7):
        work(app, clock)
        clock.advance(hours=2)
    assert len(receiver.requests) == 5  # FLUID_WEBHOOK_MAX_ATTEMPTS in this module
    [log] = deliveries(app, tenant)
    assert log["status"] == "DEAD" and log["attempts"] == 5 and log["lastError"].startswith("HTTP 500")


def test_events_for_one_user_arrive_in_order_while_other_users_proceed(app: Flask, client: FlaskClient, tenant: Tenant,
                                                                       receiver: Receiver) -> None:
    create_endpoint(app, tenant, receiver.url)
    group = access_group_id(client, tenant)
    slow = new_user(client, tenant, "slow@contoso.com")
    add_to_group(client, tenant, group, slow)
    for value in ("False", "True", "False"):
        set_active(client, tenant, slow, value)
    fast = new_user(client, tenant, "fast@contoso.com")
    receiver.statuses = [500]  # the very first delivery (slow's user.provisioned) fails once
    clock = Clock()
    work(app, clock)
    first_pass = [json.loads(body)["subject"] for _, body, _ in receiver.requests]
    assert first_pass.count(slow) == 1  # slow's later events wait behind its failed first one …
    assert fast in first_pass  # … while another user's events go out
    clock.advance(hours=2)
    work(app, clock)
    accepted = receiver.accepted()
    slow_events = [event for event in accepted if event["subject"] == slow]
    assert [event["type"] for event in slow_events] == [
        "user.provisioned", "access.granted",  # joined the access group (the group's event is about the group)
        "user.updated", "access.suspended", "user.updated", "access.granted", "user.updated", "access.suspended",
    ]
    assert [event["sequence"] for event in slow_events] == sorted(event["sequence"] for event in slow_events)
    assert all(d["status"] == "DELIVERED" for d in deliveries(app, tenant))


def test_a_worker_killed_mid_delivery_redelivers_after_restart(app: Flask, client: FlaskClient, tenant: Tenant,
                                                               receiver: Receiver, database_url: str, vault: Vault) -> None:
    receiver.hang_first = True
    create_endpoint(app, tenant, receiver.url, ["user.provisioned"])
    new_user(client, tenant, "lin@contoso.com")
    env = {key: value for key, value in os.environ.items() if not key.startswith(("FLUID_", "VAULT_"))} | {
        "FLUID_DATABASE_URL": database_url, "VAULT_ADDR": vault.addr, "VAULT_TOKEN": vault.token, "FLUID_DOTENV": "",
        "FLUID_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1", "FLUID_WEBHOOK_TIMEOUT": "1",
    }
    command = [sys.executable, "-m", "flask", "--app", "app", "events", "worker", "--poll-interval", "0.2"]
    first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert receiver.arrived.wait(30), "the worker never called the receiver"
        first.send_signal(signal.SIGKILL)  # killed while the receiver holds its request
        first.wait(10)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait(10)
    assert receiver.requests == []
    second = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: len(receiver.accepted()) == 1, timeout=30, what="redelivery after restart")
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(10)
        except subprocess.TimeoutExpired:
            second.kill()
            second.wait(10)
    assert second.returncode == 0
    [log] = deliveries(app, tenant)
    assert log["status"] == "DELIVERED" and log["attempts"] == 2  # the killed attempt counts


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.0.0.7/hook", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/hook", "http://0.0.0.0/hook", "http://192.168.1.1/", "ftp://example.com/hook", "http://user:pw@127.0.0.1/",
])
def test_internal_or_odd_urls_are_refused_unless_allowed(url: str) -> None:
    with pytest.raises(UrlRefused):
        webhooks.check_url(url, ())


def test_the_allow_list_admits_names_addresses_and_ranges() -> None:
    webhooks.check_url("http://127.0.0.1:9999/hook", ("127.0.0.1",), production=False)
    webhooks.check_url("http://10.1.2.3/hook", ("10.0.0.0/8",), production=False)
    webhooks.check_url("http://localhost/hook", ("localhost",), production=False)
    with pytest.raises(UrlRefused):
        webhooks.check_url("http://10.1.2.3/hook", ("127.0.0.1",), production=False)


def test_endpoint_management_through_graphql(app: Flask, app_factory: Any, tenant: Tenant, receiver: Receiver,
                                             vault: Vault) -> None:
    strict = app_factory(webhook_allowed_hosts=())
    refused = data(execute(strict, f'mutation {{ createWebhookEndpoint(url: "{receiver.url}") {{ __typename'
                                   " ... on Failure { message } } }", claims_for(tenant.slug)))["createWebhookEndpoint"]
    assert refused["__typename"] == "InvalidInput" and "internal address" in refused["message"]
    bad_type = data(execute(app, f'mutation {{ createWebhookEndpoint(url: "{receiver.url}", eventTypes: ["user.exploded"])'
                                 " { __typename } }", claims_for(tenant.slug)))["createWebhookEndpoint"]
    assert bad_type["__typename"] == "InvalidInput"

    endpoint_id, secret = create_endpoint(app, tenant, receiver.url, ["access.revoked", "user.deleted"])
    listed = data(execute(app, "{ webhookEndpoints { id url eventTypes enabled } }", claims_for(tenant.slug)))
    expected = {"id": endpoint_id, "url": receiver.url, "eventTypes": ["access.revoked", "user.deleted"], "enabled": True}
    assert listed == {"webhookEndpoints": [expected]}
    rotated = data(execute(app, "mutation($id: ID!) { rotateWebhookSecret(id: $id) { __typename"
                                " ... on WebhookSecretRotated { secret } } }", claims_for(tenant.slug), {"id": endpoint_id}))
    new_secret = rotated["rotateWebhookSecret"]["secret"]
    assert new_secret.startswith("whsec_") and new_secret != secret.reveal()
    with app.app_context():
        organisation = organisations.get_organisation(slug=tenant.slug)
        path = f"fluid-scim/organisations/{organisation.id}/webhooks/{endpoint_id}"
        assert vault.read_kv(path)["data"] == {"secret": new_secret}
    deleted = data(execute(app, "mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { __typename } }",
                           claims_for(tenant.slug), {"id": endpoint_id}))
    assert deleted["deleteWebhookEndpoint"]["__typename"] == "WebhookEndpointDeleted"
    assert data(execute(app, "{ webhookEndpoints { id } }", claims_for(tenant.slug))) == {"webhookEndpoints": []}
    import requests

    gone = requests.get(f"{vault.addr}/v1/secret/data/{path}", headers={"X-Vault-Token": vault.token}, timeout=5)
    assert gone.status_code == 404


def test_settings_parse_the_allow_list() -> None:
    from fluid_scim.config import ConfigError, load_settings

    parsed = load_settings({"FLUID_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1, Hooks.Internal ,10.0.0.0/8", "FLUID_WEBHOOK_TIMEOUT": "3",
                            "FLUID_WEBHOOK_MAX_ATTEMPTS": "4"})
    assert parsed.webhook_allowed_hosts == ("127.0.0.1", "hooks.internal", "10.0.0.0/8")
    assert (parsed.webhook_timeout, parsed.webhook_max_attempts) == (3.0, 4)
    assert Settings().webhook_allowed_hosts == () and Settings().webhook_max_attempts == 8 and Settings().webhook_timeout == 5.0
    with pytest.raises(ConfigError):
        load_settings({"FLUID_WEBHOOK_ALLOWED_HOSTS": "10.0.0.0/99"})


def test_deliveries_are_per_organisation(app: Flask, tenant: Tenant) -> None:
    with app.app_context():
        assert db.session.execute(across_organisations(select(WebhookDelivery))).scalars().all() == []
