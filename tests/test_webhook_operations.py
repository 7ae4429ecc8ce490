"""Operating webhooks through the admin API: pause and resume, redeliver a dead letter, health, retention.

A real HTTP receiver on loopback, the worker's own pass (``webhooks.run_once``) with a clock moved
forward instead of sleeping through back-off, Vault-held secrets, both database backends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import func, select

from fluid_scim.extensions import db
from fluid_scim.models import OutboxEvent, WebhookDelivery
from fluid_scim.services import organisations, outbox, webhooks
from tests.support.graphql import claims_for, data, execute
from tests.support.provisioning import new_user
from tests.support.services import Vault
from tests.support.tenants import Tenant
from tests.support.webhook_receiver import Clock, Receiver

HEALTH = "health { lastSuccessAt lastFailureAt lastFailure consecutiveFailures pending deadLetters waitingEvents }"
ANSWER = "__typename ... on Failure { message }"


@pytest.fixture
def settings(database_url: str, vault: Vault) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "vault_addr": vault.addr,
        "vault_token": vault.token,
        "vault_timeout": 1.0,
        "record_flush_seconds": 0,
        "webhook_allowed_hosts": ("127.0.0.1",),
        "webhook_max_attempts": 2,
        "webhook_timeout": 2.0,
    }



def gql(app: Flask, tenant: Tenant, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    return data(execute(app, query, claims_for(tenant.slug), variables))


def create_endpoint(app: Flask, tenant: Tenant, url: str, types: list[str] | None = None) -> str:
    created = gql(app, tenant, "mutation($url: String!, $types: [String!]) { createWebhookEndpoint(url: $url, eventTypes: $types)"
                  f" {{ {ANSWER} ... on WebhookEndpointCreated {{ endpoint {{ id }} }} }} }}", {"url": url, "types": types})
    assert created["createWebhookEndpoint"]["__typename"] == "WebhookEndpointCreated", created
    return str(created["createWebhookEndpoint"]["endpoint"]["id"])


def work(app: Flask, clock: Any) -> webhooks.PassResult:
    with app.app_context():
        return webhooks.run_once(app.extensions["fluid_settings"], app.extensions["fluid_secret_store"], now=clock)


def endpoint(app: Flask, tenant: Tenant) -> dict[str, Any]:
    [found] = gql(app, tenant, f"{{ webhookEndpoints {{ id enabled pausedAt {HEALTH} }} }}")["webhookEndpoints"]
    return found


def deliveries(app: Flask, tenant: Tenant, status: str | None = None) -> list[dict[str, Any]]:
    query = ("query($status: WebhookDeliveryStatus) { webhookDeliveries(first: 100, status: $status) { edges { node {"
             " id eventId eventType subjectId status attempts lastStatusCode lastError } } } }")
    return [edge["node"] for edge in gql(app, tenant, query, {"status": status})["webhookDeliveries"]["edges"]]


def pause(app: Flask, tenant: Tenant, endpoint_id: str, paused: bool = True) -> dict[str, Any]:
    name = "pauseWebhookEndpoint" if paused else "resumeWebhookEndpoint"
    query = f"mutation($id: ID!) {{ {name}(id: $id) {{ {ANSWER} ... on WebhookEndpoint {{ enabled pausedAt }} }} }}"
    answer = gql(app, tenant, query, {"id": endpoint_id})[name]
    assert answer["__typename"] == "WebhookEndpoint", answer
    return dict(answer)


def admin_events(app: Flask, tenant: Tenant) -> list[tuple[str, str | None, str | None]]:
    query = "{ provisioningEvents(first: 50, operation: \"webhook.\") { edges { node { operation actor resourceName } } } }"
    return [(e["node"]["operation"], e["node"]["actor"], e["node"]["resourceName"])
            for e in gql(app, tenant, query)["provisioningEvents"]["edges"]]


def test_a_paused_endpoint_keeps_its_events_and_delivers_them_in_order_on_resume(
    app: Flask, client: FlaskClient, tenant: Tenant, receiver: Receiver
) -> None:
    endpoint_id = create_endpoint(app, tenant, receiver.url, ["user.provisioned"])
    receiver.statuses = [503]  # the first user's delivery fails once: it is queued, pending, when the pause comes
    clock = Clock()
    first = new_user(client, tenant, "first@contoso.com")
    assert work(app, clock).failed == 1

    paused = pause(app, tenant, endpoint_id)
    assert paused["enabled"] is False and paused["pausedAt"]
    later = [new_user(client, tenant, f"later{n}@contoso.com") for n in range(3)]
    for _ in range(3):
        clock.advance(hours=2)
        result = work(app, clock)
        assert (result.dispatched, result.attempted) == (0, 0)  # neither fanned out nor sent while paused
    assert len(receiver.requests) == 1
    health = endpoint(app, tenant)["health"]
    assert health["pending"] == 1 and health["waitingEvents"] == 3  # the queued delivery, and three events in the outbox
    assert health["consecutiveFailures"] == 1 and health["lastFailure"] == "HTTP 503 Service Unavailable"

    resumed = pause(app, tenant, endpoint_id, paused=False)
    assert resumed == {"__typename": "WebhookEndpoint", "enabled": True, "pausedAt": None}
    clock.advance(hours=2)
    result = work(app, clock)
    assert (result.dispatched, result.delivered) == (3, 4)
    accepted = receiver.accepted()
    assert [event["subject"] for event in accepted] == [first, *later]  # nothing lost, in commit order
    assert [event["sequence"] for event in accepted] == sorted(event["sequence"] for event in accepted)
    health = endpoint(app, tenant)["health"]
    assert health["pending"] == health["waitingEvents"] == health["consecutiveFailures"] == 0
    assert health["lastSuccessAt"] and health["lastFailureAt"]
    assert admin_events(app, tenant)[:2] == [("webhook.resumed", "admin:ada@example.com", receiver.url),
                                             ("webhook.paused", "admin:ada@example.com", receiver.url)]


def test_pausing_twice_changes_nothing_the_second_time(app: Flask, tenant: Tenant, receiver: Receiver) -> None:
    endpoint_id = create_endpoint(app, tenant, receiver.url)
    first = pause(app, tenant, endpoint_id)
    again = pause(app, tenant, endpoint_id)
    assert again["pausedAt"] == first["pausedAt"]
    assert [operation for operation, _, _ in admin_events(app, tenant)] == ["webhook.paused", "webhook.created"]
    missing = gql(app, tenant, f'mutation {{ pauseWebhookEndpoint(id: "no-such-endpoint") {{ {ANSWER} }} }}')
    assert missing["pauseWebhookEndpoint"]["__typename"] == "NotFound"


def test_a_dead_letter_is_redelivered_with_its_original_webhook_id(
    app: Flask, client: FlaskClient, tenant: Tenant, receiver: Receiver
) -> None:
    create_endpoint(app, tenant, receiver.url, ["user.provisioned"])
    receiver.statuses = [500, 500]
    clock = Clock()
    user_id = new_user(client, tenant, "dead@contoso.com")
    for _ in range(3):
        work(app, clock)
        clock.advance(hours=2)
    [dead] = deliveries(app, tenant, "DEAD")
    assert dead["attempts"] == 2 and dead["subjectId"] == user_id
    health = endpoint(app, tenant)["health"]
    assert (health["deadLetters"], health["pending"], health["consecutiveFailures"]) == (1, 0, 2)
    assert health["lastFailure"] == "HTTP 500 Internal Server Error" and health["lastSuccessAt"] is None

    redelivered = gql(app, tenant, f"mutation($id: ID!) {{ redeliverWebhookDelivery(id: $id) {{ {ANSWER}"
                      " ... on WebhookDelivery { id eventId status attempts } } }", {"id": dead["id"]})
    assert redelivered["redeliverWebhookDelivery"] == {
        "__typename": "WebhookDelivery", "id": dead["id"], "eventId": dead["eventId"], "status": "PENDING", "attempts": 0,
    }
    assert work(app, clock).delivered == 1
    ids = {headers["webhook-id"] for headers, _, _ in receiver.requests}
    assert ids == {dead["eventId"]} and len(receiver.requests) == 3  # the same webhook-id on every attempt, before and after
    assert receiver.accepted()[0]["id"] == dead["eventId"]
    [done] = deliveries(app, tenant)
    assert done["status"] == "DELIVERED" and done["attempts"] == 1
    health = endpoint(app, tenant)["health"]
    assert (health["deadLetters"], health["pending"], health["consecutiveFailures"]) == (0, 0, 0)
    assert health["lastSuccessAt"]

    again = gql(app, tenant, f"mutation($id: ID!) {{ redeliverWebhookDelivery(id: $id) {{ {ANSWER} }} }}", {"id": dead["id"]})
    assert again["redeliverWebhookDelivery"]["__typename"] == "Conflict"
    assert "only a dead delivery" in again["redeliverWebhookDelivery"]["message"]
    for bogus in (f"{dead['id']}0", "nonsense", "x:1"):
        missing = gql(app, tenant, f"mutation($id: ID!) {{ redeliverWebhookDelivery(id: $id) {{ {ANSWER} }} }}", {"id": bogus})
        assert missing["redeliverWebhookDelivery"]["__typename"] == "NotFound", bogus
    assert admin_events(app, tenant)[0][:2] == ("webhook.redelivered", "admin:ada@example.com")


def test_redeliver_all_dead_letters_of_an_endpoint(app: Flask, client: FlaskClient, tenant: Tenant, receiver: Receiver) -> None:
    endpoint_id = create_endpoint(app, tenant, receiver.url, ["user.provisioned"])
    receiver.statuses = [500] * 6
    clock = Clock()
    users = [new_user(client, tenant, f"u{n}@contoso.com") for n in range(3)]
    for _ in range(3):
        work(app, clock)
        clock.advance(hours=2)
    assert len(deliveries(app, tenant, "DEAD")) == 3
    query = (f"mutation($id: ID!) {{ redeliverDeadLetters(endpointId: $id) {{ {ANSWER}"
             f" ... on DeadLettersRedelivered {{ redelivered more endpoint {{ {HEALTH} }} }} }} }}")
    answer = gql(app, tenant, query, {"id": endpoint_id})["redeliverDeadLetters"]
    assert (answer["redelivered"], answer["more"]) == (3, False)
    assert (answer["endpoint"]["health"]["deadLetters"], answer["endpoint"]["health"]["pending"]) == (0, 3)
    assert work(app, clock).delivered == 3
    assert sorted(event["subject"] for event in receiver.accepted()) == sorted(users)
    assert gql(app, tenant, query, {"id": endpoint_id})["redeliverDeadLetters"]["redelivered"] == 0


def _age(app: Flask, tenant: Tenant, days: int) -> None:
    """Move the organisation's outbox events and deliveries ``days`` into the past."""
    past = timedelta(days=days)
    with app.app_context():
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
        for event in db.session.execute(select(OutboxEvent).where(OutboxEvent.organisation_id == organisation_id)).scalars():
            event.created_at -= past
        rows = db.session.execute(select(WebhookDelivery).where(WebhookDelivery.organisation_id == organisation_id)).scalars()
        for row in rows:
            row.created_at -= past
            row.next_attempt_at -= past
            if row.delivered_at is not None:
                row.delivered_at -= past
        db.session.commit()


def _counts(app: Flask, tenant: Tenant) -> tuple[int, dict[str, int]]:
    """The organisation's numbered events (what is pending numbered first, as every reader does) and
    its deliveries by status."""
    with app.app_context():
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
        outbox.publish(organisation_id)
        events = db.session.execute(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.organisation_id == organisation_id)
        ).scalar_one()
        rows = db.session.execute(
            select(WebhookDelivery.status, func.count())
            .where(WebhookDelivery.organisation_id == organisation_id)
            .group_by(WebhookDelivery.status)
        ).all()
        return int(events), {status: int(count) for status, count in rows}


def test_audit_purge_removes_delivered_rows_past_retention_and_keeps_what_is_still_needed(
    app: Flask, client: FlaskClient, tenant: Tenant, receiver: Receiver, runner: FlaskCliRunner
) -> None:
    endpoint_id = create_endpoint(app, tenant, receiver.url, ["user.provisioned"])
    receiver.statuses = [200, 500, 500]  # the first user's event is delivered, the second's dies
    clock = Clock()
    new_user(client, tenant, "delivered@contoso.com")
    work(app, clock)
    new_user(client, tenant, "dead@contoso.com")
    for _ in range(3):
        clock.advance(hours=2)
        work(app, clock)
    pause(app, tenant, endpoint_id)
    new_user(client, tenant, "waiting@contoso.com")  # not fanned out: the endpoint is paused
    events_before, statuses = _counts(app, tenant)
    assert statuses == {"delivered": 1, "dead": 1}
    _age(app, tenant, 400)

    result = runner.invoke(args=["audit", "purge", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "1 delivered webhook delivery(ies)" in result.stderr
    events_after, statuses = _counts(app, tenant)
    assert statuses == {"dead": 1}  # the dead letter stays, to be redelivered
    # Only the delivered delivery's event went (other event types were never wanted by this endpoint
    # but were fanned out past, so they go too); the dead letter's and the paused endpoint's stay.
    with app.app_context():
        organisation_id = organisations.get_organisation(slug=tenant.slug).id
        remaining = db.session.execute(
            select(OutboxEvent.type).where(OutboxEvent.organisation_id == organisation_id)
        ).scalars().all()
    assert events_after < events_before
    assert remaining.count("user.provisioned") == 2

    pause(app, tenant, endpoint_id, paused=False)
    [dead] = deliveries(app, tenant, "DEAD")
    gql(app, tenant, "mutation($id: ID!) { redeliverWebhookDelivery(id: $id) { __typename } }", {"id": dead["id"]})
    clock.advance(hours=2)
    assert work(app, clock).delivered == 2  # the redelivered dead letter and the event that waited for the resume
    names = [event["data"]["userName"] for event in receiver.accepted()]
    assert names == ["delivered@contoso.com", "dead@contoso.com", "waiting@contoso.com"]


def test_purge_never_touches_rows_younger_than_the_retention(app: Flask, client: FlaskClient, tenant: Tenant,
                                                             receiver: Receiver) -> None:
    create_endpoint(app, tenant, receiver.url)
    new_user(client, tenant, "young@contoso.com")
    work(app, Clock())
    before = _counts(app, tenant)
    with app.app_context():
        assert webhooks.purge_delivered(older_than_days=1) == (0, 0)
    assert before[1] == {"delivered": 1} and _counts(app, tenant) == before
