"""Stored users and groups -> SCIM JSON (RFC 7643 §4), with meta, references and projection.

Pure rendering: what it shows comes from :mod:`fluid_scim.services.reading` as plain data. It is
here, below the entry points, so that the SCIM views and the organisation export (:mod:`fluid_scim.services.offboarding`)
render a resource alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from fluid_scim.projection import Projection
from fluid_scim.schema import ENTERPRISE_URN, FLUID_URN, GROUP_URN, USER_URN
from fluid_scim.services.reading import FluidAccess, StoredGroup, StoredUser
from fluid_scim.services.resource_support import etag

LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


def timestamp(value: datetime) -> str:
    """RFC 3339 in UTC to the millisecond, as ``isoformat(timespec="milliseconds")`` with ``Z`` writes it.

    orjson writes a UTC time with microseconds as ``"YYYY-MM-DDTHH:MM:SS.ffffffZ"`` (29 bytes, quoted);
    cutting the last three digits truncates to milliseconds as ``isoformat`` does, in a third of its
    time (a page of 100 users renders 200 of them). Any other shape (no fraction, another offset)
    takes ``isoformat``.
    """
    text = orjson.dumps(value, option=orjson.OPT_UTC_Z)
    if len(text) == 29:
        return text[1:24].decode() + "Z"
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _meta(resource_type: str, location: str, created: datetime, modified: datetime, version: int) -> dict[str, Any]:
    created_text = timestamp(created)
    return {
        "resourceType": resource_type,
        "created": created_text,
        "lastModified": created_text if modified == created else timestamp(modified),
        "location": location,
        "version": etag(version),
    }


def render_users(users: Sequence[StoredUser], *, base_url: str, projection: Projection) -> list[dict[str, Any]]:
    return [projection.apply(_user_body(user, base_url), own=True) for user in users]


def render_user(user: StoredUser, *, base_url: str, projection: Projection) -> dict[str, Any]:
    return projection.apply(_user_body(user, base_url), own=True)


def _user_body(user: StoredUser, base_url: str) -> dict[str, Any]:
    document = user.document
    enterprise = document.get(ENTERPRISE_URN)
    if enterprise and "manager" in enterprise:
        enterprise["manager"] = _manager(user, enterprise["manager"], base_url)
    schemas = [USER_URN, ENTERPRISE_URN] if enterprise else [USER_URN]
    schemas += [key for key in document if key.startswith("urn:") and key != ENTERPRISE_URN]  # custom extensions
    body: dict[str, Any] = {"schemas": [*schemas, FLUID_URN] if user.fluid is not None else schemas, "id": user.id}
    body.update(document)
    if user.groups:
        body["groups"] = [
            {"value": group_id, "$ref": f"{base_url}/Groups/{group_id}", "display": name, "type": "direct"}
            for group_id, name in user.groups
        ]
    if user.fluid is not None:
        body[FLUID_URN] = _fluid(user.fluid)
    body["meta"] = _meta("User", f"{base_url}/Users/{user.id}", user.created_at, user.updated_at, user.version)
    return body


def _manager(user: StoredUser, sent: dict[str, Any], base_url: str) -> dict[str, Any]:
    """value as the client sent it; $ref once it resolves to a user, and then that user's name
    (until then, the displayName the client sent with it, if any)."""
    manager: dict[str, Any] = {"value": sent["value"]}
    display = None
    if user.manager_id is not None:
        manager["$ref"] = f"{base_url}/Users/{user.manager_id}"
        display = user.manager_display_name
    if display or sent.get("displayName"):
        manager["displayName"] = display or sent["displayName"]
    return manager


def _fluid(access: FluidAccess) -> dict[str, Any]:
    """The derived Fluid extension. Unassigned values are left out: no ``accessGranted`` means none."""
    fluid: dict[str, Any] = {}
    if access.access_granted:
        fluid["accessGranted"] = True
    if access.roles:
        fluid["roles"] = [{"value": role} for role in access.roles]
    if access.access_changed_at is not None:
        fluid["accessChangedAt"] = timestamp(access.access_changed_at)
    return fluid


def render_group(group: StoredGroup, *, base_url: str, projection: Projection) -> dict[str, Any]:
    document = group.document
    extensions = [key for key in document if key.startswith("urn:")]  # undeclared extensions kept as received
    body: dict[str, Any] = {"schemas": [GROUP_URN, *extensions], "id": group.id}
    body.update(document)
    if group.members is not None:
        body["members"] = [
            {
                "value": member_id,
                "$ref": f"{base_url}/{'Users' if kind == 'User' else 'Groups'}/{member_id}",
                "display": display,
                "type": kind,
            }
            for member_id, kind, display in group.members
        ]
        for member in body["members"]:
            if member["display"] is None:
                del member["display"]
    body["meta"] = _meta("Group", f"{base_url}/Groups/{group.id}", group.created_at, group.updated_at, group.version)
    return projection.apply(body, own=True)


def list_response(resources: list[dict[str, Any]], *, total: int, start_index: int) -> dict[str, Any]:
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": resources,
    }
