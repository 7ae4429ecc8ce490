"""Removing and exporting an organisation: its removal records, batched deletes, keyset walks. None commits.

Every statement on a tenant table names the organisation (``organisation_id = :id``, in the
subquery of a batch too), so the tenant guard checks them like any other. ``organisation_removal``
is a platform table: it names the removed organisation by ``removed_organisation_id``, with no
foreign key, and outlives it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Table, delete, select, tuple_, update

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, OrganisationRemoval, ScimGroup, ScimUser, WebhookEndpoint

_TENANT_COLUMN = "organisation_id"


def pending_removal(slug: str) -> OrganisationRemoval | None:
    """The removal of an organisation with this slug that has started and not completed, if any."""
    query = select(OrganisationRemoval).where(OrganisationRemoval.slug == slug, OrganisationRemoval.completed_at.is_(None))
    return db.session.execute(query).scalars().first()


def last_completed_removal(slug: str) -> OrganisationRemoval | None:
    query = (
        select(OrganisationRemoval)
        .where(OrganisationRemoval.slug == slug, OrganisationRemoval.completed_at.is_not(None))
        .order_by(OrganisationRemoval.completed_at.desc())
        .limit(1)
    )
    return db.session.execute(query).scalars().first()


def add_removal(removal: OrganisationRemoval) -> None:
    """Add a removal record and flush it: a second record for the same organisation fails here."""
    db.session.add(removal)
    db.session.flush()


def disable_webhook_endpoints(organisation_id: uuid.UUID) -> None:
    """Stop the webhook worker from fanning out or delivering more of the organisation's events."""
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.organisation_id == organisation_id)
        .values(enabled=False)
        .execution_options(synchronize_session=False)
    )


def tenant_tables() -> list[Table]:
    """Every table holding an organisation's rows (an ``organisation_id`` column), those that refer to
    others first, so that no delete cascades into a table not yet emptied."""
    return [table for table in reversed(db.metadata.sorted_tables) if _TENANT_COLUMN in table.c]


def delete_batch(table: Table, organisation_id: uuid.UUID, limit: int) -> int:
    """Delete up to ``limit`` of the organisation's rows of ``table`` (chosen by primary key); how many went.

    ``DELETE … WHERE organisation_id = :id AND (key) IN (SELECT key … WHERE organisation_id = :id
    LIMIT n)``: PostgreSQL has no ``DELETE … LIMIT``, and row values work on both backends.
    """
    owner = table.c[_TENANT_COLUMN]
    rest = [column for column in table.primary_key.columns if column.name != _TENANT_COLUMN]
    statement = delete(table).where(owner == organisation_id)
    if rest:
        chosen = select(*rest).where(owner == organisation_id).limit(limit)
        key = rest[0] if len(rest) == 1 else tuple_(*rest)
        statement = statement.where(key.in_(chosen))
    result = db.session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)


def delete_organisation_row(organisation_id: uuid.UUID) -> int:
    result = db.session.execute(
        delete(Organisation).where(Organisation.id == organisation_id), execution_options={"synchronize_session": False}
    )
    return int(getattr(result, "rowcount", 0) or 0)


def users_after(organisation_id: uuid.UUID, after: str | None, limit: int) -> Sequence[ScimUser]:
    """Up to ``limit`` users by id, after ``after`` (a keyset walk of the primary key)."""
    query = select(ScimUser).where(ScimUser.organisation_id == organisation_id)
    if after is not None:
        query = query.where(ScimUser.id > after)
    return db.session.execute(query.order_by(ScimUser.id).limit(limit)).scalars().all()


def groups_after(organisation_id: uuid.UUID, after: str | None, limit: int) -> Sequence[ScimGroup]:
    """Up to ``limit`` groups by id, after ``after``."""
    query = select(ScimGroup).where(ScimGroup.organisation_id == organisation_id)
    if after is not None:
        query = query.where(ScimGroup.id > after)
    return db.session.execute(query.order_by(ScimGroup.id).limit(limit)).scalars().all()
