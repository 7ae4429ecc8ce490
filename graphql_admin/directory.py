"""What the directory put in Fluid, and what happened to it: users, groups, events, held removals.

Listing goes through :mod:`fluid_scim.services.search`, which matches the admin console's search
boxes as SCIM filters would, so the admin API and SCIM filter in the same way.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON

from fluid_scim.models import HeldAccessChange, ScimGroup, ScimUser
from fluid_scim.models import ProvisioningEvent as EventModel
from fluid_scim.schema.custom import declared_attributes, path_key
from fluid_scim.services import history
from graphql_admin.context import Info
from graphql_admin.copying import copied
from graphql_admin.errors import BadInputError
from graphql_admin.pagination import Connection, decode_offset, page_connection, page_size
from graphql_admin.permissions import own_organisation

MAX_SEARCH = 200


@strawberry.enum
class EventOutcome(Enum):
    SUCCESS = "success"
    FAILURE = "failure"


@strawberry.enum(description="scim: a request of the identity provider; admin: an admin's or operator's action.")
class EventKind(Enum):
    SCIM = "scim"
    ADMIN = "admin"


@strawberry.enum
class HeldChangeStatus(Enum):
    HELD = "held"
    RELEASED = "released"
    DISCARDED = "discarded"


@strawberry.type(description="One line of a user's history: a provisioning event or an access change.")
class TrailEntry:
    id: strawberry.ID
    time: datetime
    source: str = strawberry.field(description="provisioning or access.")
    what: str = strawberry.field(description="The operation (user.deactivated) or access change (suspended).")
    detail: str | None
    status: int | None
    changes: JSON | None
    roles_before: list[str] | None
    roles_after: list[str] | None


@strawberry.type(description="A user's enterprise manager: the value the directory sent, and the user it names once one matches.")
class UserManager:
    value: str = strawberry.field(description="As the directory sent it: a user's id, or free text such as Okta's managerId.")
    resolved: bool = strawberry.field(
        description="Whether a user of the organisation matches the value (by id, else externalId, else employeeNumber)."
    )
    id: strawberry.ID | None = strawberry.field(description="The id of the user the value resolves to; null while unresolved.")
    user_name: str | None = strawberry.field(description="The userName of the user the value resolves to; null while unresolved.")


@strawberry.type(description="A custom attribute a user holds, as the directory sent it.")
class CustomAttribute:
    path: str = strawberry.field(description="'<extension URN>:<name>', or a plain top-level name.")
    value: JSON
    declared: bool = strawberry.field(description="Whether the organisation declared it (else it is kept as received).")


@strawberry.type(description="A person the directory provisioned (or an import created) in Fluid.")
class User:
    model: strawberry.Private[ScimUser]
    id: strawberry.ID
    user_name: str
    display_name: str | None
    external_id: str | None
    email: str | None = strawberry.field(description="The primary (else the first) e-mail address.")
    active: bool = strawberry.field(description="False when the directory deactivated the user.")
    has_access: bool = strawberry.field(description="Whether the user may use Fluid now.")
    roles: list[str] = strawberry.field(description="Effective Fluid roles, from mapped groups and app roles.")
    origin: str = strawberry.field(description="scim, or import (not yet adopted by the directory).")
    access_changed_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, user: ScimUser) -> User:
        return copied(
            cls,
            user,
            model=user,
            email=_email(user),
            active=user.active is not False,
            has_access=user.access_granted,
            roles=list(user.fluid_roles or ()),
        )

    @strawberry.field(description="The enterprise manager the directory sent; null when it sent none.")
    def manager(self, info: Info) -> UserManager | None:
        from fluid_scim.services import managers

        manager = managers.manager_of(own_organisation(info), self.model)
        if manager is None:
            return None
        user_id = None if manager.user_id is None else strawberry.ID(manager.user_id)
        return UserManager(value=manager.value, resolved=user_id is not None, id=user_id, user_name=manager.user_name)

    @strawberry.field(description="Why this person has (or lost) access: their history, oldest first.")
    def access_trail(self, info: Info, first: int | None = None, after: str | None = None) -> Connection[TrailEntry]:
        from fluid_scim.services import history

        size, offset = page_size(first, info.context.settings), decode_offset(after)
        entries = history.access_trail(organisation=own_organisation(info), user_id=self.id, offset=offset, limit=size + 1)
        nodes = [
            copied(TrailEntry, entry, changes=None if entry.changes is None else JSON(entry.changes)) for entry in entries
        ]
        return page_connection(nodes, offset=offset, size=size)

    @strawberry.field(description="Custom attributes, declared and undeclared, as stored (at most 132: 100 declared, 32 not).")
    def custom_attributes(self, info: Info) -> list[CustomAttribute]:
        from fluid_scim.services import directory_schema

        resource_type = directory_schema.user_resource(own_organisation(info))
        declared = {path_key(urn or "", attribute.name) for urn, attribute in declared_attributes(resource_type)}
        return [
            CustomAttribute(path=path, value=JSON(value), declared=path.lower() in declared)
            for path, value in custom_values(self.model.custom)
        ]


@strawberry.type
class Group:
    id: strawberry.ID
    display_name: str
    external_id: str | None
    is_access_group: bool = strawberry.field(description="Whether membership of this group gives access to Fluid.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, group: ScimGroup, access_group_id: str | None) -> Group:
        return copied(cls, group, is_access_group=group.id == access_group_id)


@strawberry.type(description="One SCIM request or admin action: who, what, when, and how it ended.")
class ProvisioningEvent:
    id: strawberry.ID
    created_at: datetime
    kind: EventKind
    actor: str | None = strawberry.field(
        description="Who acted: scim:<dialect>:<token fingerprint> (the identity provider as detected; scim:<dialect> before"
        " its token was verified), admin:<who>, cli:<login> or system."
    )
    operation: str
    status: int
    succeeded: bool
    resource_type: str | None
    resource_id: str | None
    resource_name: str | None = strawberry.field(
        description="The userName or displayName of the user or group the row is about, as it was then (on rows"
        " written before names were kept: the name its changes carry, if any)."
    )
    method: str | None
    path: str | None
    scim_type: str | None
    detail: str | None
    dialect: str | None
    quirks: list[str]
    user_agent: str | None
    token_fingerprint: str | None
    request_id: str | None
    latency_ms: int | None
    changes: JSON = strawberry.field(description="Attribute by attribute; secrets are redacted.")

    @classmethod
    def of(cls, event: EventModel) -> ProvisioningEvent:
        return copied(
            cls, event, kind=EventKind(event.kind), quirks=list(event.quirks or ()), changes=JSON(list(event.changes or ())),
            actor=history.actor_of(event), resource_name=history.subject_name(event),
        )


@strawberry.type(description="An access removal the deprovisioning brake is holding back.")
class HeldDeprovisioning:
    id: strawberry.ID
    user_id: strawberry.ID
    user_name: str
    reason: str
    status: HeldChangeStatus
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None

    @classmethod
    def of(cls, held: HeldAccessChange) -> HeldDeprovisioning:
        return copied(cls, held, status=HeldChangeStatus(held.status))


def search_text(search: str | None) -> str | None:
    """The console's search box: the text to look for, or None when there is none."""
    if search is None or not search.strip():
        return None
    text = search.strip()
    if len(text) > MAX_SEARCH:
        raise BadInputError(f"search must be at most {MAX_SEARCH} characters", argument="search")
    return text


def custom_values(custom: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(path, value) of a stored custom document: ``{"<extension URN>": {name: value}, "<name>": value}``."""
    found: list[tuple[str, Any]] = []
    for key, value in (custom or {}).items():
        if key.lower().startswith("urn:") and isinstance(value, dict):
            found.extend((f"{key}:{name}", item) for name, item in value.items())
        else:
            found.append((key, value))
    return found


def _email(user: ScimUser) -> str | None:
    entries: list[dict[str, Any]] = [e for e in (user.multi_valued or {}).get("emails") or [] if isinstance(e, dict)]
    chosen = next((e for e in entries if e.get("primary") is True), entries[0] if entries else None)
    value = chosen.get("value") if chosen else None
    return value if isinstance(value, str) else None
