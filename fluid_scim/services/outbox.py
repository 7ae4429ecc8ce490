"""The transactional outbox: access-relevant changes become events in the transaction that makes them.

Services call :func:`emit` next to ``audit.record``. The event is kept with the session and
written when that transaction commits (a ``before_commit`` hook): the organisation's counter row
is locked, sequence numbers are handed out, the rows are inserted, and all of it commits with the
change or not at all. Numbering at commit means the counter is the last lock a transaction takes
(no lock-order deadlock with user or group rows) and ``seq`` order is commit order, so the feed
and the delivery worker, which read past a ``seq``, never skip an event that committed late.
A rollback (or a retried use case) forgets the pending events.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

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
_PENDING = "fluid_outbox_pending"


@dataclass(frozen=True, slots=True)
class _Pending:
    organisation_id: uuid.UUID
    type: str
    subject_id: str
    data: dict[str, Any]


def emit(organisation: Organisation, type: str, subject: str, data: dict[str, Any]) -> None:
    """Add an event about ``subject`` (a user or group id) to the current transaction."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown outbox event type {type!r}")
    db.session().info.setdefault(_PENDING, []).append(_Pending(organisation.id, type, subject, dict(data)))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    if session.in_nested_transaction():
        return  # a savepoint: the outer commit writes them
    pending: list[_Pending] = session.info.pop(_PENDING, [])
    if not pending:
        return
    now = utcnow()
    by_organisation: dict[uuid.UUID, list[_Pending]] = {}
    for item in pending:
        by_organisation.setdefault(item.organisation_id, []).append(item)
    for organisation_id in sorted(by_organisation, key=str):  # one order for every transaction
        items = by_organisation[organisation_id]
        first = repo.reserve_sequence(session, organisation_id, len(items))
        repo.add_events(session, _numbered(organisation_id, first, items, now))


def _numbered(organisation_id: uuid.UUID, first: int, items: list[_Pending], now: datetime) -> list[dict[str, Any]]:
    """The rows of the outbox_event table for ``items``, numbered from ``first`` in the order they were emitted."""
    return [
        {
            "organisation_id": organisation_id,
            "seq": first + offset,
            "id": f"evt_{uuid.uuid4().hex}",
            "type": item.type,
            "subject_id": item.subject_id,
            "data": item.data,
            "created_at": now,
        }
        for offset, item in enumerate(items)
    ]


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def feed(*, organisation: Organisation, after: int = 0, limit: int = 100) -> list[OutboxEvent]:
    """The organisation's events after ``seq`` ``after``, oldest first (for consumers that poll)."""
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
