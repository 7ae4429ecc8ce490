"""Stored users and groups as plain data for their SCIM representation (RFC 7643 §4).

What a representation needs beyond the resource's own row (its groups, its manager's name, a
group's members) is read here for a whole page at once, and only when the requested attributes
keep it. From here on the request only reads: the answer of a change is read after its commit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fluid_scim.models import Organisation, ScimGroup, ScimUser, UserRecord
from fluid_scim.projection import Projection
from fluid_scim.repositories import mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.repositories.scim import MemberRow
from fluid_scim.schema import ENTERPRISE_URN
from fluid_scim.services import transaction

# The classes below are not frozen: a frozen dataclass costs about 2.5 times as much to build, and
# one is built for every user of a page.


@dataclass(slots=True)
class FluidAccess:
    """The derived Fluid extension of a user."""

    access_granted: bool
    roles: tuple[str, ...]
    access_changed_at: datetime | None


@dataclass(slots=True)
class StoredUser:
    """A user as its representation shows it: the canonical document plus what Fluid adds."""

    id: str
    version: int
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any]  # canonical (no id, meta, groups or password); the caller may change it
    groups: list[tuple[str, str]]  # direct groups: (id, displayName)
    manager_id: str | None  # the user the manager's value resolves to; None: none, or unresolved
    manager_display_name: str | None
    fluid: FluidAccess | None  # None: the user does not show the Fluid extension


@dataclass(slots=True)
class StoredGroup:
    id: str
    version: int
    created_at: datetime
    updated_at: datetime
    document: dict[str, Any]  # canonical (no id, meta or members); the caller may change it
    # (id, User or Group, display name), as the repository read them: a group may have 100,000 members.
    # None: not read, because the projection leaves them out.
    members: list[MemberRow] | None


def stored_users(
    *, organisation: Organisation, users: Sequence[ScimUser | UserRecord], projection: Projection, in_no_group: bool = False,
    manager_names: Mapping[str, str | None] | None = None,
) -> list[StoredUser]:
    """These users with their groups and managers' names: two queries at most, never one per user.

    ``in_no_group``: the caller knows that none of them is a member of a group (a user created just now).
    ``manager_names``: their managers' names, when the caller has read them (:func:`managers_named`).
    """
    transaction.reads_only_from_here()
    groups = _groups_of(organisation, users) if projection.wants("groups") and not in_no_group else {}
    if manager_names is None:
        manager_names = managers_named(organisation, users, projection)
    return [
        StoredUser(
            id=user.id,
            version=user.version,
            created_at=user.created_at,
            updated_at=user.updated_at,
            document=mapping.read_user(user),
            groups=groups.get(user.id, []),
            manager_id=user.manager_id,
            manager_display_name=manager_names.get(user.manager_id) if user.manager_id else None,
            fluid=_fluid(user) if user.fluid_extension else None,
        )
        for user in users
    ]


def managers_named(
    organisation: Organisation, users: Sequence[ScimUser | UserRecord], projection: Projection
) -> Mapping[str, str | None]:
    """The display names of these users' resolved managers, by id; none read when the projection does not
    show ``manager.displayName`` (``returned: request``: the default view leaves it out)."""
    managers = {user.manager_id for user in users if user.manager_id}
    shown = projection.wants("manager", ENTERPRISE_URN) and projection.keeps_sub(ENTERPRISE_URN, "manager", "displayName")
    if not managers or not shown:
        return {}
    return repo.display_names(organisation.id, managers)


def _groups_of(organisation: Organisation, users: Sequence[ScimUser | UserRecord]) -> dict[str, list[tuple[str, str]]]:
    """The users' direct groups: carried by records read with them (``repo.user_record``), else one query."""
    carried = [getattr(user, "groups", None) for user in users]
    if all(pairs is not None for pairs in carried):
        return {user.id: pairs for user, pairs in zip(users, carried, strict=True) if pairs is not None}
    return repo.groups_of_users(organisation.id, [user.id for user in users])


def _fluid(user: ScimUser | UserRecord) -> FluidAccess:
    return FluidAccess(bool(user.access_granted), tuple(user.fluid_roles or ()), user.access_changed_at)


def stored_group(*, organisation: Organisation, group: ScimGroup, projection: Projection) -> StoredGroup:
    """A group; its members are read only when the projection keeps them (Entra excludes them)."""
    transaction.reads_only_from_here()
    members = repo.members_of(organisation.id, group.id) if projection.wants("members") else None
    return StoredGroup(
        id=group.id,
        version=group.version,
        created_at=group.created_at,
        updated_at=group.updated_at,
        document=mapping.read_group(group),
        members=members,
    )
