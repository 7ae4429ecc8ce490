"""Organisations, users and groups written straight to the database, and their SCIM documents.

For repository tests: call inside ``app.app_context()``. ``user_documents`` / ``group_documents``
rebuild what the in-memory evaluator needs (the canonical document plus id, meta, groups,
manager.displayName, members) from the rows, independently of the filter translator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup, ScimGroupMember, ScimUser, ScimUserValue
from fluid_scim.models.scim import new_id
from fluid_scim.repositories import mapping
from fluid_scim.schema import ResourceType
from fluid_scim.schema.resolve import evaluator_lookup
from tests.support.urns import ENTERPRISE_URN

EPOCH = datetime(2020, 1, 1, tzinfo=UTC)


def make_organisation(slug: str | None = None) -> Organisation:
    organisation = Organisation(slug=slug or "org-" + uuid.uuid4().hex[:12], name="Test organisation")
    db.session.add(organisation)
    db.session.flush()
    return organisation


def add_user(
    organisation: Organisation,
    document: dict[str, Any],
    *,
    user_id: str | None = None,
    created: datetime = EPOCH,
    updated: datetime | None = None,
    password_hash: str | None = None,
) -> ScimUser:
    """A user stored as the services store one (columns and value rows from ``mapping.write_user``)."""
    user = ScimUser(organisation_id=organisation.id, id=user_id or new_id(), created_at=created, updated_at=updated or created)
    rows = mapping.write_user(user, document)
    # A manager named by id is resolved, as the service would resolve it; other text stays unresolved.
    named = user.manager_ref
    user.manager_id = named if named is not None and db.session.get(ScimUser, (organisation.id, named)) else None
    user.password_hash = password_hash
    db.session.add(user)
    db.session.flush()
    db.session.add_all(ScimUserValue(**row) for row in rows)
    db.session.flush()
    return user


def add_many_users(organisation: Organisation, user_names: Iterable[str]) -> list[ScimUser]:
    """Active users with only a userName, added in one flush (thousands, where creating them over HTTP
    would take minutes); their value rows are not needed by what such tests read."""
    users = []
    for user_name in user_names:
        user = ScimUser(organisation_id=organisation.id, id=new_id(), created_at=EPOCH, updated_at=EPOCH)
        mapping.write_user(user, {"userName": user_name, "active": True})
        users.append(user)
    db.session.add_all(users)
    db.session.flush()
    return users


def add_group(
    organisation: Organisation,
    display_name: str,
    *,
    external_id: str | None = None,
    members: Iterable[ScimUser | ScimGroup] = (),
    created: datetime = EPOCH,
    group_id: str | None = None,
) -> ScimGroup:
    group = ScimGroup(organisation_id=organisation.id, id=group_id or new_id(), created_at=created, updated_at=created)
    document: dict[str, Any] = {"displayName": display_name}
    if external_id is not None:
        document["externalId"] = external_id
    mapping.write_group(group, document)
    db.session.add(group)
    db.session.flush()
    add_members(group, members)
    return group


def add_members(group: ScimGroup, members: Iterable[ScimUser | ScimGroup]) -> None:
    for member in members:
        kind = "User" if isinstance(member, ScimUser) else "Group"
        db.session.add(ScimGroupMember(organisation_id=group.organisation_id, group_id=group.id, member_id=member.id,
                                       member_type=kind, created_at=EPOCH))
    db.session.flush()


def _by_id(model: Any, organisation_id: uuid.UUID) -> dict[str, Any]:
    return {row.id: row for row in db.session.scalars(select(model).where(model.organisation_id == organisation_id))}


def _meta(resource_type: str, row: ScimUser | ScimGroup) -> dict[str, Any]:
    return {"resourceType": resource_type, "created": row.created_at.isoformat(), "lastModified": row.updated_at.isoformat()}


def user_documents(organisation_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """id -> the SCIM document of every user of the organisation, as the in-memory evaluator reads it."""
    users, groups = _by_id(ScimUser, organisation_id), _by_id(ScimGroup, organisation_id)
    memberships = db.session.scalars(
        select(ScimGroupMember).where(ScimGroupMember.organisation_id == organisation_id, ScimGroupMember.member_type == "User")
    ).all()
    documents: dict[str, dict[str, Any]] = {}
    for user_id, user in users.items():
        document = mapping.read_user(user)
        document["id"] = user_id
        document["meta"] = _meta("User", user)
        manager = users.get(user.manager_id) if user.manager_id else None
        if manager is not None and manager.display_name is not None:
            document[ENTERPRISE_URN]["manager"]["displayName"] = manager.display_name
        entries = [
            {"value": m.group_id, "display": groups[m.group_id].display_name, "type": "direct"}
            for m in memberships
            if m.member_id == user_id
        ]
        if entries:
            document["groups"] = entries
        documents[user_id] = document
    return documents


def group_documents(organisation_id: uuid.UUID) -> dict[str, dict[str, Any]]:
    """id -> the SCIM document of every group of the organisation, as the in-memory evaluator reads it."""
    users, groups = _by_id(ScimUser, organisation_id), _by_id(ScimGroup, organisation_id)
    memberships = db.session.scalars(select(ScimGroupMember).where(ScimGroupMember.organisation_id == organisation_id)).all()
    documents: dict[str, dict[str, Any]] = {}
    for group_id, group in groups.items():
        document = mapping.read_group(group)
        document["id"] = group_id
        document["meta"] = _meta("Group", group)
        members = []
        for m in memberships:
            if m.group_id != group_id:
                continue
            if m.member_type == "User":
                member = users[m.member_id]
                display = member.display_name if member.display_name is not None else member.user_name
            else:
                display = groups[m.member_id].display_name
            members.append({"value": m.member_id, "type": m.member_type, "display": display})
        if members:
            document["members"] = members
        documents[group_id] = document
    return documents


def attribute_lookup(resource_type: ResourceType) -> Any:
    """The in-memory evaluator's schema callback, answered by the attribute registry."""
    return evaluator_lookup(resource_type)
