"""Organisation and SCIM token queries; none commits.

``organisation`` is not a tenant table: listing every organisation needs no exemption. The
``scim_token`` functions take the organisation's id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, inspect, or_, select, update
from sqlalchemy.orm import make_transient_to_detached

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimToken
from fluid_scim.repositories import connections
from fluid_scim.repositories.prepared import PreparedQuery
from fluid_scim.repositories.scoping import across_organisations


def find_by_slug(slug: str, *, being_removed: bool = False) -> Organisation | None:
    """The organisation with this slug; one whose removal has started only with ``being_removed``."""
    query = select(Organisation).where(Organisation.slug == slug)
    if not being_removed:
        query = query.where(Organisation.removal_started_at.is_(None))
    return db.session.execute(query).scalar_one_or_none()


def find_by_id(organisation_id: uuid.UUID) -> Organisation | None:
    """The organisation with this id, unless its removal has started."""
    organisation = db.session.get(Organisation, organisation_id)
    return organisation if organisation is not None and organisation.removal_started_at is None else None


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What authentication reads of an organisation's token row.

    Plain columns rather than a second ORM object: the lookup runs on every SCIM request, and
    building the token's ORM object cost about a third of it (measured).
    """

    organisation_id: uuid.UUID
    digest: bytes
    key_id: int
    fingerprint: str
    last_used_at: datetime | None


# Built once (the per-request auth lookup): see repositories.scim. A Core statement of plain columns, run
# on the cursor of the session's connection (repositories.prepared): an ORM query of the same row cost
# about twice as much as the Core statement (callgrind), and the Core statement twice the prepared one.
_ORGANISATION_ATTRIBUTES = tuple((attribute.key, attribute.columns[0]) for attribute in inspect(Organisation).column_attrs)
_ORGANISATION_KEYS = tuple(key for key, _ in _ORGANISATION_ATTRIBUTES)
_WITH_TOKEN = (
    select(
        *(column for _, column in _ORGANISATION_ATTRIBUTES),
        ScimToken.digest,
        ScimToken.key_id,
        ScimToken.fingerprint,
        ScimToken.last_used_at,
    )
    .select_from(Organisation)
    .outerjoin(ScimToken, ScimToken.organisation_id == Organisation.id)
    .where(Organisation.slug == bindparam("slug"), Organisation.removal_started_at.is_(None))
)
_WITH_TOKEN_PREPARED = PreparedQuery(_WITH_TOKEN)
_ORGANISATION_MANAGER = inspect(Organisation).class_manager
# The columns of _WITH_TOKEN: a statement that adds columns after them (repositories.scim's lookup of
# the user a GET reads) reads the organisation and token from its rows' first WITH_TOKEN_WIDTH values.
WITH_TOKEN = _WITH_TOKEN
WITH_TOKEN_WIDTH = len(_ORGANISATION_KEYS) + 4


def find_with_token(slug: str) -> tuple[Organisation, TokenCheck | None] | None:
    """The organisation and its current token in one round trip (the per-request auth lookup); None
    when there is no such organisation or its removal has started.

    The organisation is detached, made from the row as the ORM's loader would make it: a SCIM request
    only reads it, and attaching it to the session cost a fifth of the lookup. What changes an
    organisation (the admin API, the CLI) loads it itself, with :func:`find_by_slug` or :func:`find_by_id`.
    """
    row = _WITH_TOKEN_PREPARED.first(connections.current(), {"slug": slug})
    return None if row is None else organisation_and_token_of(row)


def organisation_and_token_of(row: Sequence[Any]) -> tuple[Organisation, TokenCheck | None]:
    """The organisation and token of a row whose first :data:`WITH_TOKEN_WIDTH` values are :data:`WITH_TOKEN`'s."""
    width = len(_ORGANISATION_KEYS)
    organisation: Organisation = _ORGANISATION_MANAGER.new_instance()
    organisation.__dict__.update(zip(_ORGANISATION_KEYS, row[:width], strict=True))
    make_transient_to_detached(organisation)  # its identity set, every attribute loaded and unchanged
    digest, key_id, fingerprint, last_used_at = row[width:WITH_TOKEN_WIDTH]
    token = None if digest is None else TokenCheck(organisation.id, digest, key_id, fingerprint, last_used_at)
    return organisation, token


def add(organisation: Organisation) -> None:
    """Add a new organisation and flush it: its id exists from here on, and a taken slug fails here."""
    db.session.add(organisation)
    db.session.flush()


def list_all(*, offset: int = 0, limit: int | None = None) -> Sequence[Organisation]:
    """Every organisation by slug (those being removed too), or a page of them (LIMIT/OFFSET in SQL) when ``limit`` is given."""
    query = select(Organisation).order_by(Organisation.slug)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return db.session.execute(query).scalars().all()


def token_of(organisation_id: uuid.UUID) -> ScimToken | None:
    return db.session.get(ScimToken, organisation_id)


def save_token(row: ScimToken) -> None:
    """Add the organisation's token row (a replaced one is already in the session: this changes nothing)."""
    db.session.add(row)


def delete_token(row: ScimToken) -> None:
    db.session.delete(row)


def mark_imports_waiting(organisation_id: uuid.UUID) -> None:
    """Set ``imports_waiting``: from now on a SCIM create looks for an imported user to adopt."""
    db.session.execute(
        update(Organisation)
        .where(Organisation.id == organisation_id, Organisation.imports_waiting.is_(False))
        .values(imports_waiting=True)
        .execution_options(synchronize_session=False)
    )


def mark_token_used(organisation_id: uuid.UUID, digest: bytes, now: datetime, stale_before: datetime) -> None:
    """Set ``last_used_at`` unless it was already set after ``stale_before`` (one write a minute at most)."""
    db.session.execute(
        update(ScimToken)
        .where(ScimToken.organisation_id == organisation_id, ScimToken.digest == digest)
        .where(or_(ScimToken.last_used_at.is_(None), ScimToken.last_used_at < stale_before))
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def tokens_under_older_keys(key_id: int, *, after: uuid.UUID | None, limit: int) -> Sequence[tuple[Organisation, ScimToken]]:
    """A batch of tokens whose digest was made with a key older than ``key_id``, by organisation id after ``after``."""
    query = (
        select(Organisation, ScimToken)
        .join(ScimToken, ScimToken.organisation_id == Organisation.id)
        .where(ScimToken.key_id < key_id)
        .order_by(ScimToken.organisation_id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(ScimToken.organisation_id > after)
    return [(row[0], row[1]) for row in db.session.execute(across_organisations(query)).all()]


def count_tokens_by_key() -> dict[int, int]:
    """How many tokens each digest key version has (one grouped count over every organisation)."""
    query = select(ScimToken.key_id, func.count()).group_by(ScimToken.key_id)
    return {int(key_id): int(count) for key_id, count in db.session.execute(across_organisations(query)).all()}


def replace_digest(organisation_id: uuid.UUID, old_digest: bytes, new_digest: bytes, key_id: int) -> bool:
    """Swap the token's digest for one under key ``key_id``, unless the token was replaced meanwhile."""
    result = db.session.execute(
        update(ScimToken)
        .where(ScimToken.organisation_id == organisation_id, ScimToken.digest == old_digest)
        .values(digest=new_digest, key_id=key_id)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(result, "rowcount", 0))
