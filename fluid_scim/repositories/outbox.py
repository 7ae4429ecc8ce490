"""Outbox queries: the per-organisation event counter and the events. Every function takes ``organisation_id``; none commits."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Integer, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from fluid_scim.database import upsert_insert
from fluid_scim.extensions import db
from fluid_scim.models import OutboxEvent, OutboxSequence

_RESERVE: dict[str, Any] = {}
_EVENTS = cast(Table, OutboxEvent.__table__)
_SEQUENCES = cast(Table, OutboxSequence.__table__)
_INSERT_EVENTS = insert(_EVENTS)


def _reserve_statement(dialect: str) -> Any:
    """The counter upsert, built once per dialect (it runs in the commit of every change that emits)."""
    insert = upsert_insert(dialect)
    count = bindparam("count", type_=Integer)
    counter = _SEQUENCES.c
    _RESERVE[dialect] = (
        insert(_SEQUENCES)
        .values(organisation_id=bindparam("organisation_id", type_=counter.organisation_id.type), last_seq=count)
        .on_conflict_do_update(index_elements=["organisation_id"], set_={"last_seq": counter.last_seq + count})
        .returning(counter.last_seq)
    )
    return _RESERVE[dialect]


def reserve_sequence(session: Session, organisation_id: uuid.UUID, count: int) -> int:
    """Reserve ``count`` numbers for an organisation and return the first; its counter row stays locked until commit.

    Takes the committing ``session`` (this runs in its ``before_commit`` hook). A Core statement on the
    session's connection: through the ORM, the upsert cost an eighth of a create's CPU (measured).
    """
    dialect = session.get_bind().dialect.name
    statement = _RESERVE[dialect] if dialect in _RESERVE else _reserve_statement(dialect)
    last = session.connection().execute(statement, {"organisation_id": organisation_id, "count": count}).scalar_one()
    return int(last) - count + 1


def add_events(session: Session, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert numbered events (one mapping of column values each) in the committing ``session``: one statement."""
    if rows:
        session.connection().execute(_INSERT_EVENTS, list(rows))


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
