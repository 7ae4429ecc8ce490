"""Outbound events in the admin API: webhook endpoints, their delivery log, and the polling feed.

Queries ``webhookEndpoints`` (each with its ``health``), ``webhookDeliveries`` and ``provisioningFeed``;
mutations ``createWebhookEndpoint`` and ``rotateWebhookSecret`` (each returns the signing secret, the
only time it is shown), ``deleteWebhookEndpoint``, ``pauseWebhookEndpoint`` / ``resumeWebhookEndpoint``,
``redeliverWebhookDelivery`` (one dead letter) and ``redeliverDeadLetters`` (an endpoint's, a batch at a
time). All scoped to the caller's organisation.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.permission import BasePermission
from strawberry.scalars import JSON

from fluid_scim.models import Organisation as OrganisationModel
from fluid_scim.models import OutboxEvent
from fluid_scim.models import WebhookDelivery as DeliveryModel
from fluid_scim.models import WebhookEndpoint as EndpointModel
from fluid_scim.models.types import utcnow
from fluid_scim.services import outbox, webhooks
from graphql_admin.context import Info
from graphql_admin.copying import copied
from graphql_admin.errors import Conflict, InvalidInput, NotAllowed, NotFound, Unavailable
from graphql_admin.pagination import (
    Connection,
    connection,
    decode_feed_cursor,
    decode_offset,
    encode_feed_cursor,
    offset_connection,
    page_size,
)
from graphql_admin.permissions import IsOrganisationAdmin, as_admin, own_organisation

_ADMIN: list[type[BasePermission]] = [IsOrganisationAdmin]


@strawberry.enum
class WebhookDeliveryStatus(Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


@strawberry.type(description="How an endpoint is doing.")
class WebhookHealth:
    last_success_at: datetime | None = strawberry.field(description="When a delivery was last accepted (2xx).")
    last_failure_at: datetime | None = strawberry.field(description="When an attempt last failed.")
    last_failure: str | None = strawberry.field(description="Its status line or kind of failure (never the receiver's body).")
    consecutive_failures: int = strawberry.field(description="Failed attempts since the last success.")
    pending: int = strawberry.field(description="Deliveries waiting to be sent or retried.")
    dead_letters: int = strawberry.field(description="Deliveries given up on after the last attempt: redeliver them.")
    waiting_events: int = strawberry.field(
        description="Events committed since the endpoint last took its share (every type, before its filter): while"
        " paused, what waits in the outbox for it."
    )

    @classmethod
    def of(cls, health: webhooks.Health) -> WebhookHealth:
        return copied(cls, health, dead_letters=health.dead, waiting_events=health.waiting)


@strawberry.type(description="Where the organisation's provisioning events are posted (signed, Standard Webhooks).")
class WebhookEndpoint:
    id: strawberry.ID
    url: str
    event_types: list[str] = strawberry.field(description="The event types sent; empty means every type.")
    enabled: bool = strawberry.field(description="False while paused: events wait in the outbox and go out, in order, on resume.")
    paused_at: datetime | None
    created_at: datetime
    previous_secret_expires_at: datetime | None = strawberry.field(
        description="After a rotation: until then deliveries are signed with the previous secret too; null: the new one alone."
    )
    health: WebhookHealth

    @classmethod
    def of(cls, endpoint: EndpointModel, health: webhooks.Health) -> WebhookEndpoint:
        signing = webhooks.signing_versions(endpoint, utcnow())
        until = endpoint.previous_secret_until if len(signing) > 1 else None
        return copied(
            cls,
            endpoint,
            event_types=list(endpoint.event_types or []),
            health=WebhookHealth.of(health),
            previous_secret_expires_at=until,
        )

    @classmethod
    def listed(cls, organisation: OrganisationModel, endpoints: list[EndpointModel]) -> list[WebhookEndpoint]:
        healths = webhooks.health(organisation=organisation, endpoints=endpoints)
        return [cls.of(endpoint, healths[endpoint.id]) for endpoint in endpoints]


@strawberry.type(description="One event for one endpoint: its attempts and outcome.")
class WebhookDelivery:
    id: strawberry.ID
    endpoint_id: strawberry.ID
    event_id: str = strawberry.field(description="The webhook-id header: the same on every attempt (idempotency key).")
    event_type: str
    subject_id: str
    status: WebhookDeliveryStatus
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def of(cls, row: DeliveryModel) -> WebhookDelivery:
        return copied(
            cls,
            row,
            id=strawberry.ID(f"{row.endpoint_id}:{row.event_seq}"),
            status=WebhookDeliveryStatus(row.status),
            next_attempt_at=row.next_attempt_at if row.status == "pending" else None,
        )


@strawberry.type(description="An access-relevant change, in commit order (the body a webhook receives).")
class FeedEvent:
    id: str
    sequence: int
    type: str
    subject_id: str
    occurred_at: datetime
    data: JSON

    @classmethod
    def of(cls, row: OutboxEvent) -> FeedEvent:
        return copied(cls, row, sequence=row.seq, occurred_at=row.created_at, data=JSON(row.data))


@strawberry.type(description="The new endpoint and its signing secret: shown this once, store it in the receiver now.")
class WebhookEndpointCreated:
    endpoint: WebhookEndpoint
    secret: str


@strawberry.type(
    description="The endpoint's new signing secret: shown this once. The old one signs as well until"
    " the endpoint's previousSecretExpiresAt, then stops."
)
class WebhookSecretRotated:
    endpoint: WebhookEndpoint
    secret: str


@strawberry.type
class WebhookEndpointDeleted:
    id: strawberry.ID


@strawberry.type(description="The endpoint's dead deliveries queued again (oldest first, a batch at a time).")
class DeadLettersRedelivered:
    endpoint: WebhookEndpoint
    redelivered: int
    more: bool = strawberry.field(description="Dead deliveries remain: call again to queue the next batch.")


CreateWebhookEndpointResult = Annotated[
    WebhookEndpointCreated | InvalidInput | NotAllowed | Unavailable, strawberry.union("CreateWebhookEndpointResult")
]
RotateWebhookSecretResult = Annotated[
    WebhookSecretRotated | InvalidInput | NotFound | NotAllowed | Unavailable, strawberry.union("RotateWebhookSecretResult")
]
DeleteWebhookEndpointResult = Annotated[
    WebhookEndpointDeleted | NotFound | NotAllowed | Unavailable, strawberry.union("DeleteWebhookEndpointResult")
]
PauseWebhookEndpointResult = Annotated[WebhookEndpoint | NotFound | NotAllowed, strawberry.union("PauseWebhookEndpointResult")]
RedeliverWebhookDeliveryResult = Annotated[
    WebhookDelivery | NotFound | Conflict | NotAllowed, strawberry.union("RedeliverWebhookDeliveryResult")
]
RedeliverDeadLettersResult = Annotated[
    DeadLettersRedelivered | NotFound | NotAllowed, strawberry.union("RedeliverDeadLettersResult")
]


@strawberry.type
class WebhookQueries:
    @strawberry.field(permission_classes=_ADMIN, description="The organisation's webhook endpoints (never their secrets).")
    def webhook_endpoints(self, info: Info) -> list[WebhookEndpoint]:
        organisation = own_organisation(info)
        return WebhookEndpoint.listed(organisation, webhooks.list_endpoints(organisation=organisation))

    @strawberry.field(permission_classes=_ADMIN, description="The webhook delivery log, newest event first.")
    def webhook_deliveries(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        endpoint_id: strawberry.ID | None = None,
        status: WebhookDeliveryStatus | None = None,
    ) -> Connection[WebhookDelivery]:
        organisation = own_organisation(info)
        size, offset = page_size(first, info.context.settings), decode_offset(after)
        rows, more = webhooks.list_deliveries(
            organisation=organisation,
            endpoint_id=str(endpoint_id) if endpoint_id is not None else None,
            status=status.value if status else None,
            offset=offset,
            limit=size,
        )
        return offset_connection([WebhookDelivery.of(row) for row in rows], offset=offset, has_next=more)

    @strawberry.field(
        permission_classes=_ADMIN,
        description="Provisioning events in commit order, for consumers that poll: pass the last endCursor as after.",
    )
    def provisioning_feed(self, info: Info, after: str | None = None, first: int | None = None) -> Connection[FeedEvent]:
        organisation = own_organisation(info)
        size, start = page_size(first, info.context.settings), decode_feed_cursor(after)
        rows = outbox.feed(organisation=organisation, after=start, limit=size + 1)
        page = rows[:size]
        return connection(
            [FeedEvent.of(row) for row in page],
            [encode_feed_cursor(row.seq) for row in page],
            has_next=len(rows) > size,
            has_previous=start > 0,
        )


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Add a webhook endpoint; the answer carries its signing secret, shown this once.")
    def create_webhook_endpoint(
        self, info: Info, url: str, event_types: list[str] | None = None
    ) -> CreateWebhookEndpointResult:
        def change(organisation: OrganisationModel) -> WebhookEndpointCreated:
            endpoint, secret = webhooks.create_endpoint(
                organisation=organisation, url=url, event_types=event_types, store=info.context.store,
                settings=info.context.settings,
            )
            return WebhookEndpointCreated(endpoint=_one(organisation, endpoint), secret=secret.reveal())

        return as_admin(info, change, InvalidInput, Unavailable)

    @strawberry.mutation(
        description="Replace an endpoint's signing secret; the new one is shown this once. Deliveries carry a"
        " signature with the previous secret as well for previousSecretHours (0 to 168; 0: none)."
    )
    def rotate_webhook_secret(
        self, info: Info, id: strawberry.ID, previous_secret_hours: int = webhooks.DEFAULT_PREVIOUS_SECRET_HOURS
    ) -> RotateWebhookSecretResult:
        def change(organisation: OrganisationModel) -> WebhookSecretRotated:
            endpoint, secret = webhooks.rotate_secret(
                organisation=organisation, endpoint_id=str(id), store=info.context.store,
                previous_secret_hours=previous_secret_hours,
            )
            return WebhookSecretRotated(endpoint=_one(organisation, endpoint), secret=secret.reveal())

        return as_admin(info, change, InvalidInput, NotFound, Unavailable)

    @strawberry.mutation(description="Delete a webhook endpoint, its delivery log and its secret.")
    def delete_webhook_endpoint(self, info: Info, id: strawberry.ID) -> DeleteWebhookEndpointResult:
        def change(organisation: OrganisationModel) -> WebhookEndpointDeleted:
            webhooks.delete_endpoint(organisation=organisation, endpoint_id=str(id), store=info.context.store)
            return WebhookEndpointDeleted(id=id)

        return as_admin(info, change, NotFound, Unavailable)

    @strawberry.mutation(
        description="Pause an endpoint: nothing is sent to it, its events wait in the outbox (nothing is lost)."
    )
    def pause_webhook_endpoint(self, info: Info, id: strawberry.ID) -> PauseWebhookEndpointResult:
        return _set_paused(info, id, paused=True)

    @strawberry.mutation(description="Resume a paused endpoint: the events that waited go out in order.")
    def resume_webhook_endpoint(self, info: Info, id: strawberry.ID) -> PauseWebhookEndpointResult:
        return _set_paused(info, id, paused=False)

    @strawberry.mutation(
        description="Queue a dead delivery again: the same event and webhook-id (receivers deduplicate), fresh attempts."
    )
    def redeliver_webhook_delivery(self, info: Info, id: strawberry.ID) -> RedeliverWebhookDeliveryResult:
        def change(organisation: OrganisationModel) -> WebhookDelivery:
            return WebhookDelivery.of(webhooks.redeliver(organisation=organisation, delivery_id=str(id)))

        return as_admin(info, change, NotFound, Conflict)

    @strawberry.mutation(description="Queue an endpoint's dead deliveries again, oldest first, up to 500 per call.")
    def redeliver_dead_letters(self, info: Info, endpoint_id: strawberry.ID) -> RedeliverDeadLettersResult:
        def change(organisation: OrganisationModel) -> DeadLettersRedelivered:
            count, more = webhooks.redeliver_dead_letters(organisation=organisation, endpoint_id=str(endpoint_id))
            endpoint = webhooks.get_endpoint(organisation=organisation, endpoint_id=str(endpoint_id))
            return DeadLettersRedelivered(endpoint=_one(organisation, endpoint), redelivered=count, more=more)

        return as_admin(info, change, NotFound)


def _one(organisation: OrganisationModel, endpoint: EndpointModel) -> WebhookEndpoint:
    return WebhookEndpoint.listed(organisation, [endpoint])[0]


def _set_paused(info: Info, id: strawberry.ID, *, paused: bool) -> PauseWebhookEndpointResult:
    def change(organisation: OrganisationModel) -> WebhookEndpoint:
        return _one(organisation, webhooks.set_paused(organisation=organisation, endpoint_id=str(id), paused=paused))

    return as_admin(info, change, NotFound)
