"""Queries on access: role mappings (by group, app role and attribute filter), access events, held access
changes (the brake) and tombstones.

Every function takes ``organisation_id`` (the tombstone purge says :func:`across_organisations`
instead: it is a platform job); none commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    String,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    union_all,
)

from fluid_scim.extensions import db
from fluid_scim.models import (
    AccessEvent,
    AttributeRoleMapping,
    HeldAccessChange,
    Organisation,
    RoleMapping,
    ScimGroupMember,
    ScimUser,
    UserTombstone,
)
from fluid_scim.repositories import connections
from fluid_scim.repositories.prepared import PreparedQuery
from fluid_scim.repositories.scoping import across_organisations

_Timed = TypeVar("_Timed", AccessEvent, HeldAccessChange)

# Every SCIM change of a user or of a protected group's members recomputes access: its statements
# are built once, with bound parameters (see repositories.scim).
_ORGANISATION: BindParameter[Any] = bindparam("organisation_id")
# Read by every change that recomputes access: a prepared statement of three columns, not ORM objects.
_ROLE_MAPPINGS = PreparedQuery(
    select(RoleMapping.kind, RoleMapping.source, RoleMapping.role).where(RoleMapping.organisation_id == _ORGANISATION)
)
_ATTRIBUTE_ROLE_MAPPINGS = (
    select(AttributeRoleMapping)
    .where(AttributeRoleMapping.organisation_id == _ORGANISATION)
    .order_by(AttributeRoleMapping.position, AttributeRoleMapping.id)
)
_ORGANISATION_ROW_LOCK = select(Organisation.id).where(Organisation.id == _ORGANISATION).with_for_update()
_REMOVALS_SINCE = (
    select(func.count())
    .select_from(AccessEvent)
    .where(
        AccessEvent.organisation_id == _ORGANISATION,
        AccessEvent.kind.in_(bindparam("kinds", expanding=True)),
        AccessEvent.created_at >= bindparam("since"),
    )
)
# Many rows at once are inserted into the tables themselves (no ORM object per row).
_ACCESS_EVENTS = cast(Table, AccessEvent.__table__)
_HELD_CHANGES = cast(Table, HeldAccessChange.__table__)
_WITH_ACCESS = (
    select(func.count()).select_from(ScimUser).where(ScimUser.organisation_id == _ORGANISATION, ScimUser.access_granted.is_(True))
)


# -- role mappings -------------------------------------------------------------------------------


def role_mappings(organisation_id: object) -> Sequence[Sequence[str]]:
    """(kind, source, role) of each of the organisation's role mappings by group or app role."""
    return _ROLE_MAPPINGS.rows(connections.current(), {"organisation_id": organisation_id})


# A change of one user reads the role mappings and that user's memberships of the protected groups (the
# access group, the groups mapped to a role) in one statement, not two: a mapping is a row (kind, source,
# role), a membership a row ("member", group id, NULL).
_MEMBER = "member"
_MAPPINGS_AND_MEMBERSHIPS = PreparedQuery(
    union_all(
        select(RoleMapping.kind, RoleMapping.source, RoleMapping.role).where(RoleMapping.organisation_id == _ORGANISATION),
        select(literal(_MEMBER, String), ScimGroupMember.group_id, null()).where(
            ScimGroupMember.organisation_id == _ORGANISATION,
            ScimGroupMember.member_id == bindparam("member_id"),
            or_(
                ScimGroupMember.group_id == bindparam("access_group_id", type_=String),
                ScimGroupMember.group_id.in_(
                    select(RoleMapping.source).where(RoleMapping.organisation_id == _ORGANISATION, RoleMapping.kind == "group")
                ),
            ),
        ),
    )
)


def role_mappings_and_memberships(
    organisation_id: object, user_id: str, access_group_id: str | None
) -> tuple[list[Sequence[str]], set[str]]:
    """:func:`role_mappings`, and the protected groups of the organisation ``user_id`` is a direct member of
    (what ``scim.memberships_in`` answers for the access group and the groups mapped to a role)."""
    mappings: list[Sequence[str]] = []
    member_of: set[str] = set()
    parameters = {"organisation_id": organisation_id, "member_id": user_id, "access_group_id": access_group_id}
    for row in _MAPPINGS_AND_MEMBERSHIPS.rows(connections.current(), parameters):
        if row[0] == _MEMBER:
            member_of.add(row[1])
        else:
            mappings.append(row)
    return mappings, member_of


def replace_role_mappings(organisation_id: Any, *, groups: Iterable[tuple[str, str]], app_roles: Mapping[str, str]) -> None:
    """Replace every mapping with ``groups`` ((group id, role) pairs) and ``app_roles`` (lower-cased value -> role)."""
    db.session.execute(delete(RoleMapping).where(RoleMapping.organisation_id == organisation_id))
    db.session.add_all(
        RoleMapping(organisation_id=organisation_id, kind="group", source=group_id, role=role) for group_id, role in groups
    )
    db.session.add_all(
        RoleMapping(organisation_id=organisation_id, kind="app_role", source=value, role=role)
        for value, role in app_roles.items()
    )
    db.session.flush()


def attribute_role_mappings(organisation_id: object) -> Sequence[AttributeRoleMapping]:
    """The attribute role mappings in the order the admin gave them."""
    return db.session.execute(_ATTRIBUTE_ROLE_MAPPINGS, {"organisation_id": organisation_id}).scalars().all()


def replace_attribute_role_mappings(organisation_id: Any, rules: Sequence[tuple[str, str]]) -> None:
    """Replace every attribute role mapping with ``rules`` ((filter, role) pairs, in order)."""
    db.session.execute(delete(AttributeRoleMapping).where(AttributeRoleMapping.organisation_id == organisation_id))
    db.session.add_all(
        AttributeRoleMapping(organisation_id=organisation_id, filter=text, role=role, position=position)
        for position, (text, role) in enumerate(rules)
    )
    db.session.flush()


# -- access events and the brake -----------------------------------------------------------------


def add_access_event(event: AccessEvent) -> AccessEvent:
    db.session.add(event)
    return event


def add_access_events(events: Sequence[AccessEvent]) -> None:
    """Insert many events in one statement; the objects (every value set) are not added to the session."""
    if events:
        db.session.execute(insert(_ACCESS_EVENTS), [_access_event_row(event) for event in events])


def _access_event_row(event: AccessEvent) -> dict[str, Any]:
    return {
        "organisation_id": event.organisation_id,
        "id": event.id,
        "user_id": event.user_id,
        "user_name": event.user_name,
        "kind": event.kind,
        "reason": event.reason,
        "roles_before": event.roles_before,
        "roles_after": event.roles_after,
        "created_at": event.created_at,
    }


def access_events_of(organisation_id: object, user_id: str) -> Sequence[AccessEvent]:
    """Every access event of one user, oldest first."""
    return _oldest_first(AccessEvent, organisation_id, AccessEvent.user_id == user_id)


def lock_organisation(organisation_id: object) -> None:
    """Serialise the access removals of one organisation (a PostgreSQL row lock; SQLite has one writer)."""
    db.session.execute(_ORGANISATION_ROW_LOCK, {"organisation_id": organisation_id})


def count_events_since(organisation_id: object, kinds: Iterable[str], since: datetime) -> int:
    """How many access events of these kinds the organisation has had since ``since`` (pending ones flushed)."""
    db.session.flush()
    parameters = {"organisation_id": organisation_id, "kinds": list(kinds), "since": since}
    return int(db.session.execute(_REMOVALS_SINCE, parameters).scalar_one())


def count_users_with_access(organisation_id: object) -> int:
    return int(db.session.execute(_WITH_ACCESS, {"organisation_id": organisation_id}).scalar_one())


def users_with_access(organisation_id: object, *, after: str | None, limit: int) -> Sequence[tuple[str, str, list[str] | None]]:
    """(id, userName, Fluid roles) of up to ``limit`` users with access whose id is greater than ``after``, in id order."""
    query = select(ScimUser.id, ScimUser.user_name, ScimUser.fluid_roles).where(
        ScimUser.organisation_id == organisation_id, ScimUser.access_granted.is_(True)
    )
    if after:
        query = query.where(ScimUser.id > after)
    return [(row[0], row[1], row[2]) for row in db.session.execute(query.order_by(ScimUser.id).limit(limit))]


# -- held access changes -------------------------------------------------------------------------


def held_changes(
    organisation_id: object, status: str, *, offset: int = 0, limit: int | None = None
) -> Sequence[HeldAccessChange]:
    """The organisation's held changes with this status, oldest first: all, or ``limit`` after ``offset``."""
    return _oldest_first(HeldAccessChange, organisation_id, HeldAccessChange.status == status, offset=offset, limit=limit)


def pending_held_changes(organisation_id: object, ids: Sequence[str] | None) -> Sequence[HeldAccessChange]:
    """The changes still held (all, or those of ``ids`` among them), oldest first."""
    query = select(HeldAccessChange).where(HeldAccessChange.organisation_id == organisation_id, HeldAccessChange.status == "held")
    if ids is not None:
        query = query.where(HeldAccessChange.id.in_(list(ids)))
    return db.session.execute(query.order_by(HeldAccessChange.created_at)).scalars().all()


# Up to 500 ids, written into the statement as constants (see repositories.scim._LISTED_IDS).
_HELD_OF_USERS = select(HeldAccessChange.user_id).where(
    HeldAccessChange.organisation_id == _ORGANISATION,
    HeldAccessChange.user_id.in_(bindparam("user_ids", expanding=True, literal_execute=True)),
    HeldAccessChange.status == "held",
)


def users_with_held_change(organisation_id: object, user_ids: Sequence[str]) -> set[str]:
    """Which of these users have a change still held (one query)."""
    if not user_ids:
        return set()
    parameters = {"organisation_id": organisation_id, "user_ids": list(user_ids)}
    return set(db.session.execute(_HELD_OF_USERS, parameters).scalars())


def add_held_changes(rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert many held changes in one statement.

    Each row: ``organisation_id``, ``id``, ``user_id``, ``user_name``, ``reason``, ``created_at``.
    """
    if rows:
        db.session.execute(insert(_HELD_CHANGES), [{**row, "status": "held"} for row in rows])


def _oldest_first(
    model: type[_Timed], organisation_id: object, condition: ColumnElement[bool], *, offset: int = 0, limit: int | None = None
) -> Sequence[_Timed]:
    """The organisation's rows of ``model`` that meet ``condition``, oldest first (the id breaks ties);
    a page of them (LIMIT/OFFSET in SQL) when ``limit`` is given."""
    query = select(model).where(model.organisation_id == organisation_id, condition).order_by(model.created_at, model.id)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return db.session.execute(query).scalars().all()


# -- tombstones ----------------------------------------------------------------------------------


def add_tombstone(tombstone: UserTombstone) -> None:
    db.session.add(tombstone)


def expired_tombstones(now: datetime, limit: int) -> Sequence[tuple[Any, str]]:
    """(organisation id, user id) of up to ``limit`` tombstones whose retention ended before ``now``.

    Across organisations on purpose: the retention purge is a platform job.
    """
    query = select(UserTombstone.organisation_id, UserTombstone.user_id).where(UserTombstone.purge_after < now).limit(limit)
    return [(row[0], row[1]) for row in db.session.execute(across_organisations(query))]


def delete_tombstone(organisation_id: object, user_id: str) -> None:
    db.session.execute(
        delete(UserTombstone).where(UserTombstone.organisation_id == organisation_id, UserTombstone.user_id == user_id)
    )
