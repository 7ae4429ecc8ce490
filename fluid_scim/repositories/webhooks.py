"""Webhook endpoint and delivery queries. Every function takes ``organisation_id``; none commits.

The worker's two platform-wide reads (which endpoints to fan out to, which organisations to claim
in) say :func:`across_organisations`; everything after them runs one organisation at a time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, or_, select, update
from sqlalchemy.orm import aliased

from fluid_scim.extensions import db
from fluid_scim.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from fluid_scim.repositories.scoping import across_organisations


def _skip_locked() -> bool:
    """``FOR UPDATE SKIP LOCKED`` where the database has it (PostgreSQL); SQLite has one writer."""
    return db.session.get_bind().dialect.name == "postgresql"


# -- endpoints ---------------------------------------------------------------------------------


def list_endpoints(organisation_id: uuid.UUID) -> Sequence[WebhookEndpoint]:
    return (
        db.session.execute(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.organisation_id == organisation_id)
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
        .scalars()
        .all()
    )


def count_endpoints(organisation_id: uuid.UUID) -> int:
    return int(
        db.session.execute(
            select(func.count()).select_from(WebhookEndpoint).where(WebhookEndpoint.organisation_id == organisation_id)
        ).scalar_one()
    )


def get_endpoint(organisation_id: uuid.UUID, endpoint_id: str) -> WebhookEndpoint | None:
    return db.session.get(WebhookEndpoint, (organisation_id, endpoint_id))


def lock_endpoint(organisation_id: uuid.UUID, endpoint_id: str) -> WebhookEndpoint | None:
    """The endpoint, locked for this transaction; None when it is gone or (PostgreSQL) another worker holds it."""
    statement = select(WebhookEndpoint).where(
        WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.id == endpoint_id
    )
    if _skip_locked():
        statement = statement.with_for_update(skip_locked=True)
    return db.session.execute(statement).scalar_one_or_none()


def add_endpoint(endpoint: WebhookEndpoint) -> None:
    db.session.add(endpoint)


def delete_endpoint(organisation_id: uuid.UUID, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint and its delivery log."""
    db.session.execute(
        delete(WebhookDelivery).where(
            WebhookDelivery.organisation_id == organisation_id, WebhookDelivery.endpoint_id == endpoint.id
        )
    )
    db.session.delete(endpoint)


def enabled_endpoint_keys() -> Sequence[tuple[uuid.UUID, str]]:
    """(organisation_id, endpoint_id) of every enabled endpoint."""
    # across_organisations: the worker's fan-out serves every organisation; each endpoint is then handled on its own.
    statement = select(WebhookEndpoint.organisation_id, WebhookEndpoint.id).where(WebhookEndpoint.enabled.is_(True))
    return [(row[0], row[1]) for row in db.session.execute(across_organisations(statement))]


def organisations_with_endpoints() -> Sequence[uuid.UUID]:
    # across_organisations: the worker claims deliveries in every organisation, one organisation per query after this.
    return db.session.execute(across_organisations(select(WebhookEndpoint.organisation_id).distinct())).scalars().all()


# -- deliveries --------------------------------------------------------------------------------


def list_deliveries(
    organisation_id: uuid.UUID, *, endpoint_id: str | None, status: str | None, offset: int, limit: int
) -> Sequence[WebhookDelivery]:
    """The delivery log, newest event first (the event's ``seq``, then the endpoint)."""
    statement = select(WebhookDelivery).where(WebhookDelivery.organisation_id == organisation_id)
    if endpoint_id is not None:
        statement = statement.where(WebhookDelivery.endpoint_id == endpoint_id)
    if status is not None:
        statement = statement.where(WebhookDelivery.status == status)
    statement = statement.order_by(WebhookDelivery.event_seq.desc(), WebhookDelivery.endpoint_id).offset(offset).limit(limit)
    return db.session.execute(statement).scalars().all()


def add_deliveries(deliveries: Iterable[WebhookDelivery]) -> None:
    db.session.add_all(deliveries)


def get_delivery(organisation_id: uuid.UUID, endpoint_id: str, seq: int) -> WebhookDelivery | None:
    return db.session.get(WebhookDelivery, (organisation_id, endpoint_id, seq))


def lock_due_deliveries(organisation_id: uuid.UUID, *, now: datetime, limit: int) -> Sequence[WebhookDelivery]:
    """The organisation's due, unleased deliveries that no earlier pending delivery of the same subject holds back.

    Oldest due first; locked for this transaction (PostgreSQL: rows another worker holds are skipped).
    """
    statement = (
        select(WebhookDelivery)
        .where(
            WebhookDelivery.organisation_id == organisation_id,
            WebhookDelivery.status == "pending",
            WebhookDelivery.next_attempt_at <= now,
            or_(WebhookDelivery.lease_until.is_(None), WebhookDelivery.lease_until < now),
            ~_held_back(),
            _endpoint_enabled(),
        )
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.event_seq)
        .limit(limit)
    )
    if _skip_locked():
        statement = statement.with_for_update(of=WebhookDelivery, skip_locked=True)
    return db.session.execute(statement).scalars().all()


def _held_back() -> Any:
    """An earlier delivery of the same endpoint and subject is still pending (a dead one no longer holds back)."""
    earlier = aliased(WebhookDelivery)
    return exists().where(
        earlier.organisation_id == WebhookDelivery.organisation_id,
        earlier.endpoint_id == WebhookDelivery.endpoint_id,
        earlier.subject_id == WebhookDelivery.subject_id,
        earlier.status == "pending",
        earlier.event_seq < WebhookDelivery.event_seq,
    )


def _endpoint_enabled() -> Any:
    """The delivery's endpoint is not paused (a paused endpoint's deliveries wait, in order, for it to resume)."""
    return exists().where(
        WebhookEndpoint.organisation_id == WebhookDelivery.organisation_id,
        WebhookEndpoint.id == WebhookDelivery.endpoint_id,
        WebhookEndpoint.enabled.is_(True),
    )


def finish_delivery(organisation_id: uuid.UUID, endpoint_id: str, seq: int, values: dict[str, Any]) -> None:
    """Set the outcome of an attempt on the delivery, if it is still pending (deleting the endpoint removes it)."""
    db.session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.organisation_id == organisation_id,
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.event_seq == seq,
            WebhookDelivery.status == "pending",
        )
        .values(**values)
    )



def note_outcome(organisation_id: uuid.UUID, endpoint_id: str, *, at: datetime, failure: str | None) -> None:
    """The endpoint's health after an attempt: its last success, or its last failure and one more in a row.

    One UPDATE with the counter computed in SQL, so that workers finishing attempts at once each count theirs.
    """
    values: dict[str, Any] = (
        {"last_success_at": at, "consecutive_failures": 0}
        if failure is None
        else {"last_failure_at": at, "last_failure": failure, "consecutive_failures": WebhookEndpoint.consecutive_failures + 1}
    )
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id, WebhookEndpoint.id == endpoint_id)
        .values(**values)
    )


def delivery_counts(organisation_id: uuid.UUID) -> dict[tuple[str, str], int]:
    """(endpoint_id, status) -> how many pending and dead deliveries each endpoint has (ix_webhook_delivery_endpoint_status)."""
    D = WebhookDelivery
    statement = (
        select(D.endpoint_id, D.status, func.count())
        .where(D.organisation_id == organisation_id, D.status.in_(("pending", "dead")))
        .group_by(D.endpoint_id, D.status)
    )
    return {(row[0], row[1]): int(row[2]) for row in db.session.execute(statement)}


def dead_sequences(organisation_id: uuid.UUID, endpoint_id: str, *, limit: int) -> Sequence[int]:
    """The ``event_seq`` of up to ``limit`` dead deliveries of the endpoint, oldest event first."""
    D = WebhookDelivery
    statement = (
        select(D.event_seq)
        .where(D.organisation_id == organisation_id, D.endpoint_id == endpoint_id, D.status == "dead")
        .order_by(D.event_seq)
        .limit(limit)
    )
    return db.session.execute(statement).scalars().all()


def requeue_dead(organisation_id: uuid.UUID, endpoint_id: str, seqs: Sequence[int], *, at: datetime) -> int:
    """Make these dead deliveries pending again, due at ``at``, with a fresh count of attempts; how many were dead."""
    if not seqs:
        return 0
    D = WebhookDelivery
    result = db.session.execute(
        update(D)
        .where(D.organisation_id == organisation_id, D.endpoint_id == endpoint_id, D.status == "dead")
        .where(D.event_seq.in_(list(seqs)))
        .values(status="pending", attempts=0, next_attempt_at=at, lease_until=None, delivered_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- retention ---------------------------------------------------------------------------------


def expired_delivered(organisation_id: uuid.UUID, *, cutoff: datetime, limit: int) -> Sequence[tuple[str, int]]:
    """(endpoint_id, event_seq) of up to ``limit`` deliveries delivered before ``cutoff`` (ix_webhook_delivery_due)."""
    D = WebhookDelivery
    statement = (
        select(D.endpoint_id, D.event_seq)
        .where(D.organisation_id == organisation_id, D.status == "delivered", D.next_attempt_at < cutoff, D.delivered_at < cutoff)
        .limit(limit)
    )
    return [(row[0], row[1]) for row in db.session.execute(statement)]


def delete_deliveries(organisation_id: uuid.UUID, keys: Sequence[tuple[str, int]]) -> None:
    """Delete these delivered deliveries (by key; one statement per endpoint)."""
    by_endpoint: dict[str, list[int]] = {}
    for endpoint_id, seq in keys:
        by_endpoint.setdefault(endpoint_id, []).append(seq)
    D = WebhookDelivery
    for endpoint_id, seqs in by_endpoint.items():
        db.session.execute(
            delete(D)
            .where(D.organisation_id == organisation_id, D.endpoint_id == endpoint_id, D.status == "delivered")
            .where(D.event_seq.in_(seqs))
            .execution_options(synchronize_session=False)
        )


def lowest_dispatched(organisation_id: uuid.UUID) -> int | None:
    """The smallest ``dispatched_seq`` of the organisation's endpoints (paused ones included); None without endpoints."""
    return db.session.execute(
        select(func.min(WebhookEndpoint.dispatched_seq)).where(WebhookEndpoint.organisation_id == organisation_id)
    ).scalar_one_or_none()


def expired_events(organisation_id: uuid.UUID, *, cutoff: datetime, up_to: int | None, limit: int) -> Sequence[int]:
    """``seq`` of up to ``limit`` outbox events created before ``cutoff`` that every endpoint has fanned out
    (``seq <= up_to``) and no pending or dead delivery still needs; oldest first (the primary key)."""
    E, D = OutboxEvent, WebhookDelivery
    criteria = [E.organisation_id == organisation_id, E.created_at < cutoff]
    if up_to is not None:
        criteria.append(E.seq <= up_to)
    # ix_webhook_delivery_event: at most one delivery per endpoint for each event.
    waiting = exists().where(D.organisation_id == E.organisation_id, D.event_seq == E.seq, D.status != "delivered")
    statement = select(E.seq).where(*criteria, ~waiting).order_by(E.seq).limit(limit)
    return db.session.execute(statement).scalars().all()


def delete_events(organisation_id: uuid.UUID, seqs: Sequence[int]) -> None:
    db.session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.organisation_id == organisation_id, OutboxEvent.seq.in_(list(seqs)))
        .execution_options(synchronize_session=False)
    )
