"""Stored users and groups -> SCIM JSON (RFC 7643 §4), with meta, references and projection."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fluid_scim.models import Organisation, ScimGroup, ScimUser
from fluid_scim.projection import Projection
from fluid_scim.repositories import mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.schema import ENTERPRISE_URN, FLUID_URN, GROUP_URN, USER_URN
from fluid_scim.services.resource_support import etag

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def timestamp(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _meta(resource_type: str, location: str, created: datetime, modified: datetime, version: int) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": timestamp(created),
        "lastModified": timestamp(modified),
        "location": location,
        "version": etag(version),
    }


def render_users(
    organisation: Organisation, users: Sequence[ScimUser], *, base_url: str, projection: Projection, in_no_group: bool = False
) -> list[dict[str, Any]]:
    """Render a page of users with two extra queries at most (groups, manager names), never one per user.

    ``in_no_group``: the caller knows that none of them is a member of a group (a user created just now).
    """
    ids = [user.id for user in users]
    groups = repo.groups_of_users(organisation.id, ids) if projection.wants("groups") and not in_no_group else {}
    managers = {user.manager_id for user in users if user.manager_id}
    manager_names = (
        repo.display_names(organisation.id, managers) if managers and projection.wants("manager", ENTERPRISE_URN) else {}
    )
    return [projection.apply(_user_body(user, base_url, groups.get(user.id, []), manager_names)) for user in users]


def render_user(
    organisation: Organisation, user: ScimUser, *, base_url: str, projection: Projection, in_no_group: bool = False
) -> dict[str, Any]:
    return render_users(organisation, [user], base_url=base_url, projection=projection, in_no_group=in_no_group)[0]


def _user_body(
    user: ScimUser, base_url: str, groups: list[tuple[str, str]], manager_names: dict[str, str | None]
) -> dict[str, Any]:
    document = mapping.read_user(user)
    enterprise = document.get(ENTERPRISE_URN)
    if enterprise and "manager" in enterprise:
        manager_id = enterprise["manager"]["value"]
        manager: dict[str, Any] = {"value": manager_id, "$ref": f"{base_url}/Users/{manager_id}"}
        if manager_names.get(manager_id):
            manager["displayName"] = manager_names[manager_id]
        enterprise["manager"] = manager
    schemas = [USER_URN, ENTERPRISE_URN] if enterprise else [USER_URN]
    body: dict[str, Any] = {"schemas": [*schemas, FLUID_URN] if user.fluid_extension else schemas, "id": user.id}
    body.update(document)
    if groups:
        body["groups"] = [
            {"value": group_id, "$ref": f"{base_url}/Groups/{group_id}", "display": name, "type": "direct"}
            for group_id, name in groups
        ]
    if user.fluid_extension:
        body[FLUID_URN] = _fluid(user)
    body["meta"] = _meta("User", f"{base_url}/Users/{user.id}", user.created_at, user.updated_at, user.version)
    return body


def _fluid(user: ScimUser) -> dict[str, Any]:
    """The derived Fluid extension. Unassigned values are left out: no ``accessGranted`` means none."""
    fluid: dict[str, Any] = {}
    if user.access_granted:
        fluid["accessGranted"] = True
    if user.fluid_roles:
        fluid["roles"] = [{"value": role} for role in user.fluid_roles]
    if user.access_changed_at is not None:
        fluid["accessChangedAt"] = timestamp(user.access_changed_at)
    return fluid


def render_group(organisation: Organisation, group: ScimGroup, *, base_url: str, projection: Projection) -> dict[str, Any]:
    """A group; ``members`` are read only when the projection keeps them (Entra excludes them)."""
    body: dict[str, Any] = {"schemas": [GROUP_URN], "id": group.id}
    body.update(mapping.read_group(group))
    if projection.wants("members"):
        body["members"] = [
            {
                "value": member_id,
                "$ref": f"{base_url}/{'Users' if kind == 'User' else 'Groups'}/{member_id}",
                "display": display,
                "type": kind,
            }
            for member_id, kind, display in repo.members_of(organisation.id, group.id)
        ]
        for member in body["members"]:
            if member["display"] is None:
                del member["display"]
    body["meta"] = _meta("Group", f"{base_url}/Groups/{group.id}", group.created_at, group.updated_at, group.version)
    return projection.apply(body)


def list_response(resources: list[dict[str, Any]], *, total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": resources,
    }
