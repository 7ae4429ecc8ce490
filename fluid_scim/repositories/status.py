"""Provisioning status queries: the status row, the five-minute counter buckets, the directory's counts.

Every function takes ``organisation_id`` and none commits. The recorder's upserts run on the
connection of its own batch transaction; the bucket purge spans every organisation and says so.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence, Set
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Connection, CursorResult, case, delete, func, select

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


def add_to_bucket(connection: Connection, organisation_id: uuid.UUID, starts_at: datetime, numbers: Sequence[int]) -> None:
    """Add ``numbers`` (in the order of :data:`BUCKET_COUNTERS`) to the bucket starting at ``starts_at``."""
    increments = dict(zip(BUCKET_COUNTERS, numbers, strict=True))
    statement = upsert_insert(connection.dialect.name)(StatusBucket).values(
        organisation_id=organisation_id, starts_at=starts_at, **increments
    )
    connection.execute(
        statement.on_conflict_do_update(
            index_elements=["organisation_id", "starts_at"],
            set_={name: getattr(StatusBucket, name) + value for name, value in increments.items()},
        )
    )


def add_to_status(
    connection: Connection,
    organisation_id: uuid.UUID,
    *,
    last_request_at: datetime | None,
    last_success_at: datetime | None,
    last_error: tuple[datetime, int | None, str | None] | None,
    failures: int,
    failures_reset: bool,
) -> None:
    """Move the status row on: the last request, the last success (when there was one), the last error (when there was one).

    ``failures`` failed requests followed the last success; with ``failures_reset`` (there was a
    success) they are the row's count, else they add to it.
    """
    values: dict[str, Any] = {"last_request_at": last_request_at}
    if last_success_at is not None:
        values["last_success_at"] = last_success_at
    if last_error is not None:
        values |= dict(zip(("last_error_at", "last_error_status", "last_error_detail"), last_error, strict=True))
    update: dict[str, Any] = dict(values)
    update["consecutive_failures"] = failures if failures_reset else ProvisioningStatus.consecutive_failures + failures
    statement = upsert_insert(connection.dialect.name)(ProvisioningStatus).values(
        organisation_id=organisation_id, consecutive_failures=failures, **values
    )
    connection.execute(statement.on_conflict_do_update(index_elements=["organisation_id"], set_=update))
