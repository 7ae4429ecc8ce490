"""Outbox queries: pending events, the per-organisation counter and the numbered events.

Every function takes ``organisation_id`` (but :func:`organisations_pending`, which lists them); none commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Connection, Integer, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from fluid_scim.database import upsert_insert
from fluid_scim.extensions import db
from fluid_scim.models import OutboxEvent, OutboxPending, OutboxSequence
from fluid_scim.repositories import at_commit
from fluid_scim.repositories.prepared import PreparedInsert

_LOCK: dict[str, Any] = {}
_EVENTS = cast(Table, OutboxEvent.__table__)
_PENDING = cast(Table, OutboxPending.__table__)
_SEQUENCES = cast(Table, OutboxSequence.__table__)
_INSERT_PENDING = PreparedInsert(insert(_PENDING))
_INSERT_EVENTS = insert(_EVENTS)
_PENDING_OF = (
    select(_PENDING.c.id, _PENDING.c.event_id, _PENDING.c.type, _PENDING.c.subject_id, _PENDING.c.data, _PENDING.c.created_at)
    .where(_PENDING.c.organisation_id == bindparam("organisation_id"))
    .order_by(_PENDING.c.id)
    .limit(bindparam("limit", type_=Integer))
)
_SET_LAST = (
    update(_SEQUENCES)
    .where(_SEQUENCES.c.organisation_id == bindparam("counter_of"))
    .values(last_seq=bindparam("new_last"))
)


def add_pending(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert unnumbered events (one mapping of column values each) when ``session`` commits, with its
    other write-only rows (:mod:`~fluid_scim.repositories.at_commit`): no lock beyond their own rows."""
    at_commit.add(session, _INSERT_PENDING, rows)


def _lock_statement(dialect: str) -> Any:
    """The counter's upsert that changes nothing and returns ``last_seq``: it creates the row on first use
    and locks it until the publishing transaction ends (built once per dialect)."""
    counter = _SEQUENCES.c
    _LOCK[dialect] = (
        upsert_insert(dialect)(_SEQUENCES)
        .values(organisation_id=bindparam("organisation_id", type_=counter.organisation_id.type), last_seq=0)
        .on_conflict_do_update(index_elements=["organisation_id"], set_={"last_seq": counter.last_seq})
        .returning(counter.last_seq)
    )
    return _LOCK[dialect]


def number_pending(connection: Connection, organisation_id: uuid.UUID, *, limit: int) -> int:
    """Number up to ``limit`` of the organisation's pending events, oldest first, after its last ``seq``;
    move them to the events and return how many. Runs in ``connection``'s transaction, which holds the
    organisation's counter row from its first statement until it ends (publishers of one organisation
    take turns; the caller commits)."""
    dialect = connection.dialect.name
    lock = _LOCK[dialect] if dialect in _LOCK else _lock_statement(dialect)
    last = int(connection.execute(lock, {"organisation_id": organisation_id}).scalar_one())
    rows = connection.execute(_PENDING_OF, {"organisation_id": organisation_id, "limit": limit}).all()
    if not rows:
        return 0
    connection.execute(
        _INSERT_EVENTS,
        [
            {
                "organisation_id": organisation_id,
                "seq": last + offset,
                "id": row.event_id,
                "type": row.type,
                "subject_id": row.subject_id,
                "data": row.data,
                "created_at": row.created_at,
            }
            for offset, row in enumerate(rows, start=1)
        ],
    )
    connection.execute(delete(_PENDING).where(_PENDING.c.id.in_([row.id for row in rows])))
    connection.execute(_SET_LAST, {"counter_of": organisation_id, "new_last": last + len(rows)})
    return len(rows)


def organisations_pending(connection: Connection, *, limit: int) -> list[uuid.UUID]:
    """Organisations with events waiting to be numbered (at most ``limit``; from the pending index)."""
    return list(connection.execute(select(_PENDING.c.organisation_id).distinct().limit(limit)).scalars())


def count_pending(organisation_id: uuid.UUID) -> int:
    """The organisation's events committed and not numbered yet."""
    return int(
        db.session.execute(
            select(func.count()).select_from(_PENDING).where(_PENDING.c.organisation_id == organisation_id)
        ).scalar_one()
    )


def last_sequence(organisation_id: uuid.UUID) -> int:
    """The last number handed out in the organisation (0 before its first event)."""
    last = db.session.execute(
        select(OutboxSequence.last_seq).where(OutboxSequence.organisation_id == organisation_id)
    ).scalar_one_or_none()
    return last or 0


def events_after(organisation_id: uuid.UUID, seq: int, *, limit: int) -> Sequence[OutboxEvent]:
    """The organisation's events numbered after ``seq``, oldest first, at most ``limit``."""
    return (
        db.session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.organisation_id == organisation_id, OutboxEvent.seq > seq)
            .order_by(OutboxEvent.seq)
            .limit(limit)
        )
        .scalars()
        .all()
    )


def get_event(organisation_id: uuid.UUID, seq: int) -> OutboxEvent | None:
    return db.session.get(OutboxEvent, (organisation_id, seq))
