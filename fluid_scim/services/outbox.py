"""The transactional outbox: access-relevant changes become events in the transaction that makes them.

Services call :func:`emit` next to ``audit.record``. The event is kept with the session and
written when that transaction commits, as a pending row (with the change's provisioning event, in
one statement on PostgreSQL: ``repositories.at_commit``): no counter and no lock, so the commits of
an organisation's changes never wait for each other here. A rollback (or a retried use case)
forgets the pending events.

:func:`publish` numbers them afterwards, in a short transaction of its own per organisation that
holds the organisation's counter row: the pending rows in the order they were written, from the
last number on, moved to the numbered events. Publishers of one organisation take turns on that
row, so publishing transactions commit in ``seq`` order and a reader paging past a ``seq`` never
misses an event. Every reader of numbered events publishes first (the feed, the webhook worker's
fan-out, a new endpoint's starting point), so nothing committed is left out. The guarantee
consumers get (docs/admin-api.md, "Numbering and order"): in an organisation, ``sequence`` runs
1, 2, 3, … without gaps; two changes to the same user or group are numbered in the order they
committed (the second waited for the first's row locks, so it wrote its pending row after the
first's commit); a transaction's own events keep the order it emitted them in.
"""

from __future__ import annotations

import uuid
from typing import Any

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, OutboxEvent
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import outbox as repo

EVENT_TYPES = (
    "user.provisioned",
    "user.updated",
    "user.deleted",
    "access.granted",
    "access.suspended",
    "access.revoked",
    "access.roles_changed",
    "group.members.changed",
)
PUBLISH_BATCH = 500  # events numbered per publishing transaction
PUBLISH_MAX_BATCHES = 20  # per organisation and call to publish
PUBLISH_MAX_ORGANISATIONS = 20  # per call to publish without an organisation (the worker's, every poll)


def emit(organisation: Organisation, type: str, subject: str, data: dict[str, Any]) -> None:
    """Add an event about ``subject`` (a user or group id) to the current transaction: a pending row,
    written when it commits, in the order of the transaction's calls."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown outbox event type {type!r}")
    row = {
        "organisation_id": organisation.id,
        "event_id": f"evt_{uuid.uuid4().hex}",
        "type": type,
        "subject_id": subject,
        "data": dict(data),
        "created_at": utcnow(),
    }
    repo.add_pending(db.session(), [row])


def publish(organisation_id: uuid.UUID | None = None, *, max_batches: int = PUBLISH_MAX_BATCHES) -> int:
    """Number the pending events of one organisation (or of up to ``PUBLISH_MAX_ORGANISATIONS`` that
    have some); return how many.

    Each batch of at most ``PUBLISH_BATCH`` events is its own transaction on a connection of its own
    (the caller's session and its transaction are left alone), so a publisher holds an organisation's
    counter for one batch at a time; at most ``max_batches`` batches per organisation and call (what
    is left waits for the next call).
    """
    published = 0
    with db.engine.connect() as connection:
        if organisation_id is None:
            organisations = repo.organisations_pending(connection, limit=PUBLISH_MAX_ORGANISATIONS)
            connection.rollback()
        else:
            organisations = [organisation_id]
        for each in sorted(organisations, key=str):
            for _ in range(max_batches):
                with connection.begin():
                    count = repo.number_pending(connection, each, limit=PUBLISH_BATCH)
                published += count
                if count < PUBLISH_BATCH:
                    break
    return published


def feed(*, organisation: Organisation, after: int = 0, limit: int = 100) -> list[OutboxEvent]:
    """The organisation's events after ``seq`` ``after``, oldest first (for consumers that poll); what
    is pending is numbered first."""
    publish(organisation.id)
    return list(repo.events_after(organisation.id, after, limit=limit))


def payload(event_row: OutboxEvent) -> dict[str, Any]:
    """What a consumer receives (webhook body and feed): no secret, only ids, names and roles."""
    return {
        "id": event_row.id,
        "type": event_row.type,
        "timestamp": event_row.created_at.isoformat().replace("+00:00", "Z"),
        "sequence": event_row.seq,
        "subject": event_row.subject_id,
        "data": event_row.data,
    }
