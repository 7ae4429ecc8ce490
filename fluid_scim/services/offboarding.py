"""Offboarding: removing an organisation for good, and exporting its data for the customer.

Removal runs in steps, each committed before the next, so that a removal stopped anywhere (Vault
or the database down, the process killed) is finished by running it again:

1. **Mark.** The platform record (:class:`~fluid_scim.models.OrganisationRemoval`: who, which
   organisation, when) is written and the organisation marked ``removal_started_at``, in one
   commit. From then on SCIM answers 404 for it, its admin credentials are refused, the other
   commands no longer find it, and its webhook endpoints are disabled.
2. **Vault.** Every secret stored under the organisation (its SCIM token, its webhook signing
   secrets) is destroyed: metadata and every version.
3. **Database.** Each tenant table is emptied of the organisation's rows in batches of
   :data:`BATCH_ROWS`, one commit per batch, so that no statement holds its locks for long; then
   the organisation row goes.
4. **Vault again**, for a secret written by a request that was under way when the organisation
   was marked; then the record is completed (``completed_at``, ``completed_by``).

A run finds the removal to continue by the record (step 1 is not repeated), so a run after the
organisation row is gone still completes steps 3 and 4. The record outlives the organisation: it
is the trace of who removed it. The organisation's own history goes with it; export it first
(:func:`export_organisation`) if the customer wants it.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from fluid_scim.errors import OrganisationNotFound, RemovalInterrupted, SecretStoreError
from fluid_scim.models import Organisation, OrganisationRemoval
from fluid_scim.models.types import utcnow
from fluid_scim.projection import Projection
from fluid_scim.repositories import offboarding as repo
from fluid_scim.repositories import organisations as organisations_repo
from fluid_scim.secrets import SecretStore
from fluid_scim.services import directory_schema, history, reading, representation, request_context, transaction

log = logging.getLogger(__name__)
BATCH_ROWS = 1000
EXPORT_BATCH = 500
EXPORT_TYPES = ("user", "group", "event")
# (step, count): "secrets" (destroyed), a table's name (rows deleted by one batch), "organisation" (the row)
Progress = Callable[[str, int], None]


@dataclass
class RemovalReport:
    """Where a removal stands after one run, and what this run did."""

    slug: str
    organisation_id: uuid.UUID
    requested_by: str
    requested_at: datetime
    completed_by: str | None = None
    completed_at: datetime | None = None
    secrets_destroyed: int = 0
    rows_deleted: dict[str, int] = field(default_factory=dict)

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    @classmethod
    def of(cls, removal: OrganisationRemoval) -> RemovalReport:
        return cls(
            slug=removal.slug,
            organisation_id=removal.removed_organisation_id,
            requested_by=removal.requested_by,
            requested_at=removal.requested_at,
            completed_by=removal.completed_by,
            completed_at=removal.completed_at,
        )


def _ignore(step: str, count: int) -> None:
    return None


def remove_organisation(
    *,
    slug: str,
    store: SecretStore,
    batch_rows: int = BATCH_ROWS,
    max_batches: int | None = None,
    progress: Progress = _ignore,
) -> RemovalReport:
    """Remove organisation ``slug`` with everything it owns, in the database and in Vault.

    Starts the removal, or continues the one started before. With ``max_batches``, stops after
    that many database batches (the report is then not ``completed``: call again). Raises
    :class:`RemovalInterrupted` when Vault or the database fails; running again goes on from there.
    """
    try:
        removal = _start(slug)
    except SQLAlchemyError:
        transaction.rollback()
        detail = f"removing organisation {slug!r} could not start: the database failed; nothing was changed"
        raise RemovalInterrupted(detail) from None
    report = RemovalReport.of(removal)
    organisation_id = removal.removed_organisation_id
    _destroy_secrets(report, store, progress)
    if not _delete_rows(report, batch_rows=max(1, batch_rows), max_batches=max_batches, progress=progress):
        return report
    _destroy_secrets(report, store, progress)
    actor = request_context.current().actor or "system"
    try:
        removal.completed_at, removal.completed_by = utcnow(), actor
        transaction.commit()
    except SQLAlchemyError:
        transaction.rollback()
        raise _interrupted(report, "the database failed") from None
    report.completed_at, report.completed_by = removal.completed_at, removal.completed_by
    log.info("organisation removed", extra={"organisation_slug": slug, "organisation_id": str(organisation_id)})
    return report


def _start(slug: str) -> OrganisationRemoval:
    """The removal to continue, or a new one: the record written and the organisation marked, in one commit."""
    pending = repo.pending_removal(slug)
    if pending is not None:
        return pending
    organisation = organisations_repo.find_by_slug(slug, being_removed=True)
    if organisation is None:
        raise OrganisationNotFound(_not_found(slug))
    removal = OrganisationRemoval(
        removed_organisation_id=organisation.id,
        slug=organisation.slug,
        name=organisation.name,
        requested_by=request_context.current().actor or "system",
        requested_at=utcnow(),
    )
    organisation.removal_started_at = removal.requested_at
    try:
        repo.add_removal(removal)
        repo.disable_webhook_endpoints(organisation.id)
        transaction.commit()
    except IntegrityError:
        # Another run started the same removal a moment ago: continue that one.
        transaction.rollback()
        pending = repo.pending_removal(slug)
        if pending is None:
            raise
        return pending
    log.info("organisation removal started", extra={"organisation_slug": slug, "organisation_id": str(organisation.id)})
    return removal


def _not_found(slug: str) -> str:
    removed = repo.last_completed_removal(slug)
    if removed is None or removed.completed_at is None:
        return f"no organisation {slug!r}"
    return (
        f"no organisation {slug!r}: it was removed on {removed.completed_at:%Y-%m-%d %H:%M} UTC"
        f" (removal requested by {removed.requested_by})"
    )


def _destroy_secrets(report: RemovalReport, store: SecretStore, progress: Progress) -> None:
    try:
        destroyed = store.destroy_organisation_secrets(report.organisation_id)
    except SecretStoreError as exc:
        log.warning("removing an organisation: Vault failed", extra={"organisation_slug": report.slug, "reason": exc.detail})
        raise _interrupted(report, "the key vault is unavailable") from None
    report.secrets_destroyed += destroyed
    progress("secrets", destroyed)


def _delete_rows(report: RemovalReport, *, batch_rows: int, max_batches: int | None, progress: Progress) -> bool:
    """Empty every tenant table of the organisation's rows, then delete the organisation; False when
    ``max_batches`` ran out first."""
    budget = max_batches
    try:
        for table in repo.tenant_tables():
            deleted = batch_rows
            while deleted == batch_rows:
                if budget is not None and budget <= 0:
                    return False
                deleted = repo.delete_batch(table, report.organisation_id, batch_rows)
                transaction.commit()
                if deleted:
                    # Only a batch that deleted something counts: a run after a partial one goes past the
                    # tables emptied already (one cheap statement each) and makes progress.
                    budget = None if budget is None else budget - 1
                    report.rows_deleted[table.name] = report.rows_deleted.get(table.name, 0) + deleted
                    progress(table.name, deleted)
        deleted = repo.delete_organisation_row(report.organisation_id)
        transaction.commit()
    except SQLAlchemyError as exc:
        transaction.rollback()
        reason = type(exc).__name__
        log.warning("removing an organisation: the database failed", extra={"organisation_slug": report.slug, "reason": reason})
        raise _interrupted(report, "the database failed") from None
    progress("organisation", deleted)
    return True


def _interrupted(report: RemovalReport, reason: str) -> RemovalInterrupted:
    deleted = sum(report.rows_deleted.values())
    return RemovalInterrupted(
        f"removing organisation {report.slug!r} stopped: {reason} ({report.secrets_destroyed} secret(s) destroyed and"
        f" {deleted} row(s) deleted by this run); the organisation stays refused everywhere, and running the"
        " removal again finishes it"
    )


# -- export --------------------------------------------------------------------------------------


def export_organisation(*, organisation: Organisation, base_url: str) -> Iterator[tuple[str, str]]:
    """The organisation's users, groups and provisioning history as JSON lines, for the customer.

    One object per line: ``{"type": "user" | "group", "data": <its SCIM representation>}`` (as a
    GET of it answers, ``base_url`` in its references) and ``{"type": "event", "data": <the event,
    every column>}``. Users and groups are walked by id and events by time in batches, so memory
    stays flat whatever the organisation's size. Yields (type, line), the line ending with a newline.
    """
    for user in _users(organisation, base_url):
        yield _line("user", user)
    for group in _groups(organisation, base_url):
        yield _line("group", group)
    for event in history.event_documents(organisation=organisation):
        yield _line("event", event)


def _line(kind: str, data: dict[str, Any]) -> tuple[str, str]:
    return kind, json.dumps({"type": kind, "data": data}, ensure_ascii=False, separators=(",", ":")) + "\n"


def _users(organisation: Organisation, base_url: str) -> Iterator[dict[str, Any]]:
    view = Projection.parse(directory_schema.user_resource(organisation), None, None)
    after: str | None = None
    while True:
        batch = repo.users_after(organisation.id, after, EXPORT_BATCH)
        stored = reading.stored_users(organisation=organisation, users=batch, projection=view)
        yield from representation.render_users(stored, base_url=base_url, projection=view)
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].id


def _groups(organisation: Organisation, base_url: str) -> Iterator[dict[str, Any]]:
    view = Projection.parse(directory_schema.group_resource(organisation), None, None)
    after: str | None = None
    while True:
        batch = repo.groups_after(organisation.id, after, EXPORT_BATCH)
        for group in batch:
            stored = reading.stored_group(organisation=organisation, group=group, projection=view)
            yield representation.render_group(stored, base_url=base_url, projection=view)
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].id
