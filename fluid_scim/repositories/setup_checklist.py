"""The set-up checklist's reads of the provisioning history: few rows, each query one index range.

Every function takes ``organisation_id`` and the checklist's ``since`` (inclusive; None: from the
start) and none commits. Each reads at most ``limit`` rows (or counts at most ``cap``) along one of
``provisioning_event``'s indexes, newest or oldest first, whatever the size of the history:

- by operation: ``ix_provisioning_event_operation`` (``organisation_id, operation, created_at``);
- by resource: ``ix_provisioning_event_resource`` (``organisation_id, resource_id, created_at``);
- by time: ``ix_provisioning_event_time`` (``organisation_id, created_at, id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.sql.elements import ColumnElement

from fluid_scim.extensions import db
from fluid_scim.models import ProvisioningEvent

E = ProvisioningEvent


def _since(organisation_id: uuid.UUID, since: datetime | None) -> list[ColumnElement[bool]]:
    criteria: list[ColumnElement[bool]] = [E.organisation_id == organisation_id]
    if since is not None:
        criteria.append(E.created_at >= since)
    return criteria


def of_operation(
    organisation_id: uuid.UUID,
    operation: str,
    *,
    since: datetime | None,
    limit: int,
    oldest_first: bool = False,
    kind: str = "scim",
) -> Sequence[ProvisioningEvent]:
    """Up to ``limit`` events of one operation and kind (newest first, or oldest first)."""
    order = E.created_at if oldest_first else E.created_at.desc()  # the index's own order
    where = [*_since(organisation_id, since), E.operation == operation, E.kind == kind]
    query = select(E).where(*where).order_by(order).limit(limit)
    return db.session.execute(query).scalars().all()


def count_of_operation(organisation_id: uuid.UUID, operation: str, *, since: datetime | None, cap: int) -> int:
    """How many of the identity provider's events of one operation, counting no further than ``cap``."""
    where = [*_since(organisation_id, since), E.operation == operation, E.kind == "scim"]
    capped = select(E.id).where(*where).limit(cap).subquery()
    return int(db.session.execute(select(func.count()).select_from(capped)).scalar_one())


def about_resource(
    organisation_id: uuid.UUID, resource_id: str, *, since: datetime | None, limit: int
) -> Sequence[ProvisioningEvent]:
    """Up to ``limit`` of the newest events about one resource (its reads, its changes)."""
    query = (
        select(E)
        .where(*_since(organisation_id, since), E.resource_id == resource_id)
        .order_by(E.created_at.desc())  # the index's own order
        .limit(limit)
    )
    return db.session.execute(query).scalars().all()


def requests_in_order(
    organisation_id: uuid.UUID, *, since: datetime | None, limit: int, oldest_first: bool
) -> Sequence[ProvisioningEvent]:
    """Up to ``limit`` of the identity provider's requests (events of kind ``scim``), the first or the latest."""
    order = (E.created_at, E.id) if oldest_first else (E.created_at.desc(), E.id.desc())
    query = select(E).where(*_since(organisation_id, since), E.kind == "scim").order_by(*order).limit(limit)
    return db.session.execute(query).scalars().all()
