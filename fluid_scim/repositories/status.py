"""Provisioning status queries: the status row, the five-minute counter buckets, the directory's counts.

Every function takes ``organisation_id`` and none commits. The recorder's upserts run on the
connection of its own batch transaction; the bucket purge spans every organisation and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence, Set
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Boolean, Connection, CursorResult, Integer, Table, bindparam, case, delete, func, select

from fluid_scim.database import upsert_insert
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ProvisioningStatus, ScimGroup, ScimUser, StatusBucket
from fluid_scim.repositories.scoping import across_organisations

BUCKET_COUNTERS = ("requests", "errors", "unauthorized", "query_not_found", "without_token")


# -- reads ---------------------------------------------------------------------------------------


def status_row(organisation_id: uuid.UUID) -> ProvisioningStatus | None:
    return db.session.get(ProvisioningStatus, organisation_id)


def bucket_totals(organisation_id: uuid.UUID, *, since: datetime) -> tuple[int, ...]:
    """Sums of :data:`BUCKET_COUNTERS` (in their order) over the buckets that start at or after ``since``."""
    totals = db.session.execute(
        select(*(func.coalesce(func.sum(getattr(StatusBucket, name)), 0) for name in BUCKET_COUNTERS)).where(
            StatusBucket.organisation_id == organisation_id, StatusBucket.starts_at >= since
        )
    ).one()
    return tuple(int(value) for value in totals)


def directory_counts(organisation_id: uuid.UUID) -> dict[str, int]:
    """``users_total``, ``users_active``, ``users_with_access`` and ``groups_total`` (through indexes, no scan of events)."""
    total, active, with_access = db.session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(case((ScimUser.active.is_not(False), 1), else_=0)), 0),
            func.coalesce(func.sum(case((ScimUser.access_granted.is_(True), 1), else_=0)), 0),
        ).where(ScimUser.organisation_id == organisation_id)
    ).one()
    groups = db.session.execute(select(func.count()).where(ScimGroup.organisation_id == organisation_id)).scalar_one()
    return {
        "users_total": int(total),
        "users_active": int(active),
        "users_with_access": int(with_access),
        "groups_total": int(groups),
    }


# -- retention -----------------------------------------------------------------------------------


def delete_buckets_before(cutoff: datetime) -> int:
    """Delete every organisation's buckets that start before ``cutoff``; how many were deleted."""
    # across_organisations: retention of the counters is one platform-wide job.
    statement = across_organisations(delete(StatusBucket).where(StatusBucket.starts_at < cutoff))
    return int(cast("CursorResult[Any]", db.session.execute(statement)).rowcount or 0)


# -- the recorder's batches (on its own connection) ----------------------------------------------


def existing_organisations(connection: Connection, organisation_ids: Collection[uuid.UUID]) -> Set[uuid.UUID]:
    """Which of these organisations still exist (one deleted since its requests were counted takes its counts with it)."""
    return set(connection.execute(select(Organisation.id).where(Organisation.id.in_(organisation_ids))).scalars())


# The recorder's two upserts, built once per dialect and run as one executemany per flush: built per
# organisation, 200 organisations with requests in one second cost a worker 400 statements to build.
_UPSERTS: dict[tuple[str, str], Any] = {}
_BUCKETS = cast(Table, StatusBucket.__table__)
_STATUS = cast(Table, ProvisioningStatus.__table__)
_STATUS_COLUMNS = (
    "organisation_id",
    "last_request_at",
    "last_success_at",
    "last_error_at",
    "last_error_status",
    "last_error_detail",
    "consecutive_failures",
)


def _bucket_upsert(dialect: str) -> Any:
    insert = upsert_insert(dialect)(_BUCKETS).values(
        organisation_id=bindparam("organisation_id", type_=_BUCKETS.c.organisation_id.type),
        starts_at=bindparam("starts_at", type_=_BUCKETS.c.starts_at.type),
        **{name: bindparam(name, type_=Integer()) for name in BUCKET_COUNTERS},
    )
    return insert.on_conflict_do_update(
        index_elements=["organisation_id", "starts_at"],
        set_={name: _BUCKETS.c[name] + insert.excluded[name] for name in BUCKET_COUNTERS},
    )


def _status_upsert(dialect: str) -> Any:
    column = _STATUS.c
    insert = upsert_insert(dialect)(_STATUS).values({name: bindparam(name, type_=column[name].type) for name in _STATUS_COLUMNS})
    new = insert.excluded
    error = new.last_error_at.is_not(None)
    return insert.on_conflict_do_update(
        index_elements=["organisation_id"],
        set_={
            "last_request_at": new.last_request_at,
            "last_success_at": func.coalesce(new.last_success_at, column.last_success_at),
            "last_error_at": case((error, new.last_error_at), else_=column.last_error_at),
            "last_error_status": case((error, new.last_error_status), else_=column.last_error_status),
            "last_error_detail": case((error, new.last_error_detail), else_=column.last_error_detail),
            "consecutive_failures": case(
                (bindparam("failures_reset", type_=Boolean()), new.consecutive_failures),
                else_=column.consecutive_failures + new.consecutive_failures,
            ),
        },
    )


def _upsert(connection: Connection, which: str) -> Any:
    key = (which, connection.dialect.name)
    if key not in _UPSERTS:
        _UPSERTS[key] = (_bucket_upsert if which == "bucket" else _status_upsert)(key[1])
    return _UPSERTS[key]


def add_to_buckets(connection: Connection, rows: Sequence[tuple[uuid.UUID, datetime, Sequence[int]]]) -> None:
    """Add each row's numbers (in the order of :data:`BUCKET_COUNTERS`) to that organisation's bucket starting
    at that time: one executemany, in the order given (the caller's lock order)."""
    if rows:
        parameters = [
            {"organisation_id": organisation_id, "starts_at": starts_at, **dict(zip(BUCKET_COUNTERS, numbers, strict=True))}
            for organisation_id, starts_at, numbers in rows
        ]
        connection.execute(_upsert(connection, "bucket"), parameters)


@dataclass(frozen=True, slots=True)
class StatusChange:
    """One organisation's requests since the last flush, as its status row takes them.

    The last request; the last success, when there was one; the last error ``(at, status, detail)``,
    when there was one; ``failures`` failed requests followed the last success: with
    ``failures_reset`` (there was a success) they are the row's count, else they add to it.
    """

    organisation_id: uuid.UUID
    last_request_at: datetime | None
    last_success_at: datetime | None
    last_error: tuple[datetime, int | None, str | None] | None
    failures: int
    failures_reset: bool


def add_to_status(connection: Connection, changes: Sequence[StatusChange]) -> None:
    """Move the status rows on: one executemany, in the order given."""
    parameters = []
    for change in changes:
        at, status, detail = change.last_error or (None, None, None)
        parameters.append(
            {
                "organisation_id": change.organisation_id,
                "last_request_at": change.last_request_at,
                "last_success_at": change.last_success_at,
                "last_error_at": at,
                "last_error_status": status,
                "last_error_detail": detail,
                "consecutive_failures": change.failures,
                "failures_reset": change.failures_reset,
            }
        )
    if parameters:
        connection.execute(_upsert(connection, "status"), parameters)

