"""Reading the provisioning history: filtered pages, a user's trail, retention, export.

Writing events is :mod:`fluid_scim.services.audit`'s job; this module only reads and purges them
(the queries are in :mod:`fluid_scim.repositories.history`).
Every query is bounded and follows an index: pages are keyset-paginated on ``(created_at, id)``
(``ix_provisioning_event_time``), never offset-paginated, and never load more than ``limit + 1``
rows; exports walk the same key in batches; purges delete in small committed batches.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from fluid_scim import cursor_codec
from fluid_scim.errors import InvalidValue
from fluid_scim.models import Organisation, ProvisioningEvent
from fluid_scim.models.access import ACCESS_EVENT_KINDS
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import history as repo
from fluid_scim.services import request_context, transaction
from fluid_scim.services.recorder import flush_pending

MAX_PAGE = 500
EXPORT_BATCH = 1000
EXPORT_FORMATS = ("jsonl", "csv")
OUTCOMES = ("success", "failure")
EVENT_KINDS = ("scim", "admin")
# Group operations that can change members (their ``changes`` name the member ids).
MEMBERSHIP_OPERATIONS = (
    "group.created",
    "group.replaced",
    "group.updated",
    "group.members.added",
    "group.members.removed",
    "group.members.changed",
)


@dataclass(frozen=True, slots=True)
class EventPage:
    events: tuple[ProvisioningEvent, ...]
    # Pass as ``after`` for the next (older) page; None on the last page.
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One line of a user's history: a provisioning event or an access event."""

    time: datetime
    source: str  # "provisioning" | "access"
    what: str  # the operation (user.deactivated, group.members.added) or the access kind (suspended)
    detail: str | None  # the event's detail, or the access event's reason
    status: int | None  # the HTTP status of a provisioning event; None for access events
    changes: list[dict[str, Any]] | None  # provisioning events only
    roles_before: list[str] | None  # access events only
    roles_after: list[str] | None  # access events only
    id: str


# -- pages ---------------------------------------------------------------------------------------


def list_events(
    *,
    organisation: Organisation,
    since: datetime | None = None,
    until: datetime | None = None,
    outcome: str | None = None,
    operation: str | None = None,
    resource_id: str | None = None,
    user_id: str | None = None,
    kind: str | None = None,
    after: str | None = None,
    limit: int = 50,
) -> EventPage:
    """One page of an organisation's events, newest first.

    ``since`` is inclusive and ``until`` exclusive; ``operation`` is exact (``user.deactivated``) or,
    ending with ".", a prefix (``user.``); ``user_id`` means events about that user
    (``resource_id == user_id``); ``after`` is the ``next_cursor`` of the previous page.
    """
    flush_pending()
    limit = max(1, min(int(limit), MAX_PAGE))
    since = _aware(since, "since") if since is not None else None
    until = _aware(until, "until") if until is not None else None
    if outcome is not None and outcome not in OUTCOMES:
        raise InvalidValue(f"outcome must be one of {', '.join(OUTCOMES)}; got {outcome!r}")
    exact, prefix = _operation(operation) if operation is not None else (None, None)
    if kind is not None and kind not in EVENT_KINDS:
        raise InvalidValue(f"kind must be one of {', '.join(EVENT_KINDS)}; got {kind!r}")
    rows = repo.page_of_events(
        organisation.id,
        since=since,
        until=until,
        failed=None if outcome is None else outcome == "failure",
        operation=exact,
        operation_prefix=prefix,
        resource_id=resource_id,
        user_id=user_id,
        kind=kind,
        before=decode_cursor(after) if after is not None else None,
        limit=limit + 1,
    )
    events = tuple(rows[:limit])
    return EventPage(events, encode_cursor(events[-1].created_at, events[-1].id) if len(rows) > limit else None)


def encode_cursor(created_at: datetime, event_id: str) -> str:
    """The cursor of the position after this event (a :mod:`fluid_scim.cursor_codec` JSON ``[created_at, id]``)."""
    return cursor_codec.encode_json([created_at.astimezone(UTC).isoformat(), event_id])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, id) a cursor points after; :class:`InvalidValue` for anything else."""
    try:
        position = cursor_codec.decode_json(cursor)
        if not isinstance(position, list):
            raise ValueError("not a cursor")
        stamp, event_id = position
        created_at = datetime.fromisoformat(stamp)
        if created_at.tzinfo is None or not isinstance(event_id, str) or not 0 < len(event_id) <= 36:
            raise ValueError("not a cursor")
        created_at = created_at.astimezone(UTC)
    except (ValueError, TypeError, OverflowError):
        raise InvalidValue("the cursor is not valid: pass the next_cursor of a previous page, or none to start again") from None
    return created_at, event_id


def _operation(operation: str) -> tuple[str | None, str | None]:
    """(exact operation, None) or, for a name ending with ".", (None, prefix)."""
    operation = operation.strip()
    if not operation or len(operation) > 64:
        raise InvalidValue("operation must be 1 to 64 characters, such as user.deactivated or the prefix user.")
    return (None, operation) if operation.endswith(".") else (operation, None)


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidValue(f"{name} must be an aware datetime (with a time zone, such as UTC)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # year 1 east of UTC, or year 9999 west of it
        raise InvalidValue(f"{name} is out of range: in UTC it falls before year 1 or after year 9999") from None


# -- naming a row ---------------------------------------------------------------------------------

_NAME_PATHS = {"User": "userName", "Group": "displayName", "WebhookEndpoint": "url"}


def subject_name(event: ProvisioningEvent) -> str | None:
    """What the row's subject was called when the row was written: its ``resource_name``, or on older rows
    the name its changes carry (the value after the change, or before a deletion); None when neither says."""
    if event.resource_name:
        return event.resource_name
    wanted = _NAME_PATHS.get(event.resource_type or "")
    for change in event.changes or ():
        if wanted is not None and isinstance(change, dict) and change.get("path") == wanted:
            value = change.get("after") if change.get("after") is not None else change.get("before")
            return value if isinstance(value, str) else None
    return None


def actor_of(event: ProvisioningEvent) -> str | None:
    """Who acted; on SCIM rows older than the SCIM actor, the dialect and token fingerprint they recorded."""
    if event.actor or event.kind != "scim" or not (event.dialect or event.token_fingerprint):
        return event.actor
    return request_context.scim_actor(event.dialect, event.token_fingerprint)


# -- a user's trail ------------------------------------------------------------------------------


def access_trail(
    *, organisation: Organisation, user_id: str, include_reads: bool = False, offset: int = 0, limit: int | None = None
) -> list[TrailEntry]:
    """Everything that happened to one user, oldest first: "why was this person deactivated?".

    One query (UNION ALL) of the provisioning events about the user (``resource_id``), the group
    events whose membership changes name the user, and the user's access events. Successful reads
    are left out unless ``include_reads``. A change's access events are written after it in the same
    transaction, so time order puts every effect after its cause. With ``limit``, only that many
    entries after the first ``offset`` are read (the admin API's pages).
    """
    flush_pending()
    rows = repo.trail_of_user(
        organisation.id,
        user_id,
        include_reads=include_reads,
        membership_operations=MEMBERSHIP_OPERATIONS,
        offset=offset,
        limit=limit,
    )
    # The repository labels its columns with the entry's field names (one UNION ALL of both event kinds).
    entries = [TrailEntry(**row._mapping) for row in rows]
    return entries


# -- retention -----------------------------------------------------------------------------------


def purge_events(*, older_than_days: int, batch_size: int = 1000, max_batches: int = 100_000) -> int:
    """Delete provisioning and access events older than the cut-off, in all organisations.

    Small batches: select at most ``batch_size`` keys, delete them by primary key, commit; writers
    (who only insert new rows) are never locked out. Returns how many events were deleted.
    """
    if older_than_days < 1:
        raise InvalidValue("events younger than a day are never purged")
    cutoff = utcnow() - timedelta(days=older_than_days)
    batch_size = max(1, batch_size)
    budget = [max_batches]
    removed = _purge(
        partial(repo.expired_provisioning_events, cutoff=cutoff),
        partial(repo.delete_provisioning_events, cutoff=cutoff),
        batch_size,
        budget,
    )
    # access_event has no index on created_at alone: walk ix_access_event_kind per organisation.
    for organisation_id in repo.organisation_ids():
        for kind in ACCESS_EVENT_KINDS:
            removed += _purge(
                partial(repo.expired_access_events, organisation_id, kind=kind, cutoff=cutoff),
                partial(repo.delete_access_events, cutoff=cutoff),
                batch_size,
                budget,
            )
    return removed


def _purge(
    expired: Callable[..., Sequence[tuple[uuid.UUID, str]]],
    remove: Callable[[uuid.UUID, list[str]], None],
    batch_size: int,
    budget: list[int],
) -> int:
    """Remove what ``expired(limit=...)`` finds, ``batch_size`` keys per committed batch, while ``budget`` lasts."""
    removed = 0
    while budget[0] > 0:
        budget[0] -= 1
        batch = expired(limit=batch_size)
        if not batch:
            break
        by_organisation: dict[uuid.UUID, list[str]] = {}
        for organisation_id, event_id in batch:
            by_organisation.setdefault(organisation_id, []).append(event_id)
        for organisation_id, ids in by_organisation.items():
            remove(organisation_id, ids)
        transaction.commit()
        removed += len(batch)
        if len(batch) < batch_size:
            break
    return removed


# -- export --------------------------------------------------------------------------------------

EXPORT_COLUMNS: tuple[str, ...] = tuple(column.name for column in ProvisioningEvent.__table__.columns)
_JSON_COLUMNS = ("quirks", "changes")


def export_events(
    *, organisation: Organisation, since: datetime, until: datetime | None = None, fmt: str = "jsonl"
) -> Iterator[str]:
    """An organisation's events from ``since`` (inclusive) to ``until`` (exclusive), oldest first.

    Yields text chunks: one JSON object per line (every column), or CSV with a header line and
    JSON-encoded ``quirks``/``changes``. Rows are read in keyset batches of :data:`EXPORT_BATCH`,
    so memory stays flat whatever the range.
    """
    if fmt not in EXPORT_FORMATS:
        raise InvalidValue(f"the export format must be one of {', '.join(EXPORT_FORMATS)}; got {fmt!r}")
    start = _aware(since, "since")
    end = _aware(until, "until") if until is not None else None
    if end is not None and end <= start:
        raise InvalidValue("until must be later than since")
    flush_pending()
    rows = _export_rows(organisation.id, start, end)
    return _jsonl(rows) if fmt == "jsonl" else _csv(rows)


def event_documents(*, organisation: Organisation) -> Iterator[dict[str, Any]]:
    """Every event of the organisation, oldest first, as the JSON lines export writes each (every
    column, times in ISO 8601 UTC), read in keyset batches (the organisation export)."""
    flush_pending()
    for row in _export_rows(organisation.id, datetime.min.replace(tzinfo=UTC), None):
        yield {name: _plain(row[name]) for name in EXPORT_COLUMNS}


def _export_rows(organisation_id: uuid.UUID, since: datetime, until: datetime | None) -> Iterator[dict[str, Any]]:
    after: tuple[datetime, str] | None = None
    while True:
        batch = repo.export_batch(organisation_id, since=since, until=until, after=after, limit=EXPORT_BATCH)
        for row in batch:
            yield dict(row)
        if len(batch) < EXPORT_BATCH:
            return
        after = (batch[-1]["created_at"], batch[-1]["id"])


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _jsonl(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    for row in rows:
        yield json.dumps({name: _plain(row[name]) for name in EXPORT_COLUMNS}, ensure_ascii=False, separators=(",", ":")) + "\n"


#: Cell starts a spreadsheet reads as a formula (OWASP, "CSV Injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutral_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` so that it is shown as text
    (OWASP's CSV injection guidance). Callers can put any text there: a User-Agent sent with a 401."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")

    def line(values: Sequence[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(EXPORT_COLUMNS)
    for row in rows:
        yield line(
            [
                json.dumps(row[name], ensure_ascii=False, separators=(",", ":"))
                if name in _JSON_COLUMNS
                else ("" if row[name] is None else neutral_cell(_plain(row[name])))
                for name in EXPORT_COLUMNS
            ]
        )
