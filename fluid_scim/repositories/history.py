"""Provisioning and access event queries: pages, a user's trail, retention batches, export batches.

Every function takes ``organisation_id`` but two, which span every organisation and say so: the
retention walk's first read and the recorder's batch insert. None commits. Pages and exports follow
``ix_provisioning_event_time`` (``organisation_id, created_at, id``) as a keyset.
"""

from __future__ import annotations

import json
import typing
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Connection,
    Integer,
    RowMapping,
    String,
    Table,
    Text,
    cast,
    delete,
    insert,
    literal,
    null,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from fluid_scim.extensions import db
from fluid_scim.models import AccessEvent, Organisation, ProvisioningEvent
from fluid_scim.models.types import UTCDateTime
from fluid_scim.repositories import at_commit
from fluid_scim.repositories.prepared import PreparedInsert
from fluid_scim.repositories.scoping import across_organisations

EventKey = tuple[datetime, str]  # (created_at, id): a position in an organisation's events
_EVENTS = typing.cast(Table, ProvisioningEvent.__table__)  # a declarative class maps a Table
# The recorder's batches, of every organisation a worker served (one executemany); and a change's own
# event, in its transaction.
_INSERT_EVENTS = PreparedInsert(across_organisations(insert(_EVENTS)))
_INSERT_EVENT = PreparedInsert(insert(_EVENTS))


def add_event(values: dict[str, Any]) -> None:
    """Write an event (its column values) in the current transaction, with the change it records.

    Kept until the commit and inserted with the transaction's other write-only rows
    (:mod:`~fluid_scim.repositories.at_commit`): a Core INSERT, not an ORM object flushed at commit,
    whose flush of one row cost about a tenth of a create's CPU (cProfile).
    """
    at_commit.add(db.session(), _INSERT_EVENT, [values])


def _key(position: EventKey) -> Any:
    created_at, event_id = position
    return tuple_(literal(created_at, UTCDateTime()), literal(event_id, String()))


# -- pages ---------------------------------------------------------------------------------------


def page_of_events(
    organisation_id: uuid.UUID,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    failed: bool | None = None,
    operation: str | None = None,
    operation_prefix: str | None = None,
    resource_id: str | None = None,
    user_id: str | None = None,
    kind: str | None = None,
    before: EventKey | None = None,
    limit: int,
) -> Sequence[ProvisioningEvent]:
    """Up to ``limit`` events, newest first, older than ``before`` when given.

    ``since`` inclusive, ``until`` exclusive; ``failed`` chooses status >= 400 (True) or < 400
    (False); ``user_id`` and ``resource_id`` both compare ``resource_id``.
    """
    E = ProvisioningEvent
    criteria: list[ColumnElement[bool]] = [E.organisation_id == organisation_id]
    if since is not None:
        criteria.append(E.created_at >= since)
    if until is not None:
        criteria.append(E.created_at < until)
    if failed is not None:
        criteria.append(E.status >= 400 if failed else E.status < 400)
    if operation is not None:
        criteria.append(E.operation == operation)
    if operation_prefix is not None:
        criteria.append(E.operation.startswith(operation_prefix, autoescape=True))
    criteria += [E.resource_id == value for value in (resource_id, user_id) if value is not None]
    if kind is not None:
        criteria.append(E.kind == kind)
    if before is not None:
        criteria.append(tuple_(E.created_at, E.id) < _key(before))
    query = select(E).where(*criteria).order_by(E.created_at.desc(), E.id.desc()).limit(limit)
    return db.session.execute(query).scalars().all()


# -- a user's trail ------------------------------------------------------------------------------


def trail_of_user(
    organisation_id: uuid.UUID,
    user_id: str,
    *,
    include_reads: bool,
    membership_operations: Sequence[str],
    offset: int = 0,
    limit: int | None = None,
) -> Sequence[Any]:
    """Rows (time, source, what, detail, status, changes, roles_before, roles_after, id), oldest first;
    a page of them (LIMIT/OFFSET in SQL) when ``limit`` is given.

    One query (UNION ALL) of the provisioning events about the user (``resource_id``), the
    successful group events of ``membership_operations`` whose changes name the user, and the
    user's access events; successful reads are left out unless ``include_reads``.
    """
    E, A = ProvisioningEvent, AccessEvent

    def provisioning(*where: ColumnElement[bool]) -> Any:
        return select(
            E.created_at.label("time"),
            literal("provisioning", String()).label("source"),
            E.operation.label("what"),
            E.detail.label("detail"),
            E.status.label("status"),
            E.changes.label("changes"),
            cast(null(), JSON).label("roles_before"),
            cast(null(), JSON).label("roles_after"),
            E.id.label("id"),
        ).where(E.organisation_id == organisation_id, *where)

    about_user = [E.resource_id == user_id]
    if not include_reads:
        about_user.append(or_(~E.operation.endswith(".read"), E.status >= 400))
    trail = union_all(
        provisioning(*about_user),
        provisioning(
            E.operation.in_(membership_operations),
            E.resource_type == "Group",
            E.status < 400,
            cast(E.changes, Text).contains(json.dumps(user_id), autoescape=True),
        ),
        select(
            A.created_at,
            literal("access", String()),
            A.kind,
            A.reason,
            cast(null(), Integer),
            cast(null(), JSON),
            A.roles_before,
            A.roles_after,
            A.id,
        ).where(A.organisation_id == organisation_id, A.user_id == user_id),
    ).subquery()
    query = select(trail).order_by(trail.c.time, trail.c.source.desc(), trail.c.id)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return db.session.execute(query).all()


# -- retention -----------------------------------------------------------------------------------


def organisation_ids() -> Sequence[uuid.UUID]:
    return db.session.execute(select(Organisation.id).order_by(Organisation.id)).scalars().all()


def expired_provisioning_events(*, cutoff: datetime, limit: int) -> Sequence[tuple[uuid.UUID, str]]:
    """Keys (organisation_id, id) of up to ``limit`` provisioning events older than ``cutoff``."""
    # across_organisations: retention purges every organisation in one walk of ix_provisioning_event_created_at.
    statement = select(ProvisioningEvent.organisation_id, ProvisioningEvent.id).where(ProvisioningEvent.created_at < cutoff)
    return [(row[0], row[1]) for row in db.session.execute(across_organisations(statement.limit(limit)))]


def expired_access_events(
    organisation_id: uuid.UUID, *, kind: str, cutoff: datetime, limit: int
) -> Sequence[tuple[uuid.UUID, str]]:
    """Keys (organisation_id, id) of up to ``limit`` access events of ``kind`` older than ``cutoff`` (ix_access_event_kind)."""
    statement = select(AccessEvent.organisation_id, AccessEvent.id).where(
        AccessEvent.organisation_id == organisation_id, AccessEvent.kind == kind, AccessEvent.created_at < cutoff
    )
    return [(row[0], row[1]) for row in db.session.execute(statement.limit(limit))]


def delete_provisioning_events(organisation_id: uuid.UUID, ids: Sequence[str], *, cutoff: datetime) -> None:
    """Delete these events if they are still older than ``cutoff``."""
    E = ProvisioningEvent
    db.session.execute(delete(E).where(E.organisation_id == organisation_id, E.id.in_(ids), E.created_at < cutoff))


def delete_access_events(organisation_id: uuid.UUID, ids: Sequence[str], *, cutoff: datetime) -> None:
    """Delete these access events if they are still older than ``cutoff``."""
    A = AccessEvent
    db.session.execute(delete(A).where(A.organisation_id == organisation_id, A.id.in_(ids), A.created_at < cutoff))


# -- export --------------------------------------------------------------------------------------


def export_batch(
    organisation_id: uuid.UUID, *, since: datetime, until: datetime | None, after: EventKey | None, limit: int
) -> Sequence[RowMapping]:
    """Up to ``limit`` events (every column), oldest first, from ``since`` or, when given, after ``after``.

    Starting after the last row of the previous batch keeps each batch one index range, not a
    re-scan from ``since``.
    """
    table = _EVENTS
    criteria: list[ColumnElement[bool]] = [table.c.organisation_id == organisation_id]
    if until is not None:
        criteria.append(table.c.created_at < until)
    criteria.append(table.c.created_at >= since if after is None else tuple_(table.c.created_at, table.c.id) > _key(after))
    query = select(*table.columns).where(*criteria).order_by(table.c.created_at, table.c.id).limit(limit)
    return db.session.execute(query).mappings().all()


# -- the recorder's batches ----------------------------------------------------------------------


def insert_events(connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert event rows (column values of :func:`fluid_scim.services.audit.event_values`) on the recorder's connection.

    The batch holds the reads and refusals of every organisation this process served since the last flush.
    A prepared INSERT: ``Connection.execute`` spent on each row of a read's event more than its SQLite INSERT
    (1.4% of a GET by id's instructions, ``python -m bench.instructions``).
    """
    _INSERT_EVENTS.execute(connection, rows)
