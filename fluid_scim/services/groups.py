"""SCIM Group use cases. Membership changes touch only the members named, never the whole list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fluid_scim.errors import InvalidValue, ProtectedGroup
from fluid_scim.models import Organisation, ScimGroup
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.patch import MemberDelta, Operation, apply_patch
from fluid_scim.repositories import mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.schema.coerce import MemberRef, coerce_resource, extract_members
from fluid_scim.services import access, audit, directory_schema, outbox, request_context, transaction
from fluid_scim.services.resource_support import (
    ListQuery,
    Page,
    check_if_match,
    commit_unique,
    existing,
    flush_unique,
    list_resources,
    retry_on_conflict,
    unique,
)

MAX_MEMBERS_PER_REQUEST = 5_000


def _taken(document: dict[str, Any]) -> str:
    return f"a group named '{document.get('displayName')}' already exists in this organisation (names are case-insensitive)"


def get_group(*, organisation: Organisation, group_id: str) -> ScimGroup:
    return existing(repo.get_group(organisation.id, group_id), f"Group {group_id} not found")


def create_group(*, organisation: Organisation, body: dict[str, Any]) -> ScimGroup:
    quirks = request_context.current().quirks
    resource_type = directory_schema.group_resource(organisation)
    document = coerce_resource(resource_type, body, quirks=quirks)
    directory_schema.trim_undeclared(organisation, resource_type, document)
    members = extract_members(body, quirks=quirks) or []
    now = utcnow()
    group = ScimGroup(organisation_id=organisation.id, id=new_id(), version=1, created_at=now, updated_at=now)
    mapping.write_group(group, document)
    with unique(_taken(document)):
        repo.add_group(group)
    directory_schema.note_undeclared(organisation, resource_type, document, resource_id=group.id)
    added = _checked(organisation, members, group_id=group.id)
    repo.add_members(organisation.id, group.id, added)
    changes = audit.diff({}, document) + audit.membership([member_id for member_id, _ in added], [])
    audit.record(
        organisation, operation="group.created", resource_type="Group", resource_id=group.id,
        resource_name=group.display_name, changes=changes, status=201,
    )
    _emit_membership(organisation, group, [member_id for member_id, _ in added], [])
    commit_unique(_taken(document))
    return group


@retry_on_conflict
def replace_group(
    *, organisation: Organisation, group_id: str, body: dict[str, Any], if_match: str | None
) -> ScimGroup:
    """PUT: displayName/externalId replaced; ``members`` replaced when present (absent keeps them).

    Keeping members when a PUT omits them protects against clients that never read members back
    (Entra excludes them); RFC 7644 §3.5.1 lets the server decide for attributes it manages.
    """
    group = get_group(organisation=organisation, group_id=group_id)
    check_if_match(if_match, group.version)
    quirks = request_context.current().quirks
    resource_type = directory_schema.group_resource(organisation)
    document = coerce_resource(resource_type, body, quirks=quirks)
    before = mapping.read_group(group)
    directory_schema.trim_undeclared(organisation, resource_type, document, before=before)
    changes = audit.diff(before, document)
    mapping.write_group(group, document)
    group.updated_at = utcnow()
    flush_unique(_taken(document))
    directory_schema.note_undeclared(organisation, resource_type, document, resource_id=group.id, before=before)
    replacement = extract_members(body, quirks=quirks)
    if replacement is not None:
        members = _checked(organisation, replacement, group_id=group.id)
        old = {member_id for member_id, _, _ in repo.members_of(organisation.id, group.id)}
        repo.remove_members(organisation.id, group.id, None)
        repo.add_members(organisation.id, group.id, members)
        new = {member_id for member_id, _ in members}
        affected = old ^ new  # the members who stay keep the access they had
        changes += audit.membership(sorted(new - old), sorted(old - new))
        _emit_membership(organisation, group, sorted(new - old), sorted(old - new))
    else:
        affected = set()
    audit.record(
        organisation, operation="group.replaced", resource_type="Group", resource_id=group.id,
        resource_name=group.display_name, changes=changes,
    )
    _recompute_access(organisation, group, affected)
    commit_unique(_taken(document))
    return group


@retry_on_conflict
def patch_group(
    *,
    organisation: Organisation,
    group_id: str,
    operations: list[Operation],
    if_match: str | None,
    respond_with_body: bool,
) -> ScimGroup:
    """PATCH; ``respond_with_body`` says whether the client is answered 200 with the group or 204 (the event records which)."""
    group = get_group(organisation=organisation, group_id=group_id)
    check_if_match(if_match, group.version)
    quirks = request_context.current().quirks
    resource_type = directory_schema.group_resource(organisation)
    result = apply_patch(
        resource_type, mapping.read_group(group), operations, resource_id=group.id, quirks=quirks,
        budget=request_context.current().work,
    )
    document = result.document
    before = mapping.read_group(group)
    directory_schema.trim_undeclared(organisation, resource_type, document, before=before)
    changes = audit.diff(before, document)
    if before != document:
        mapping.write_group(group, document)
        group.updated_at = utcnow()
        flush_unique(_taken(document))
        directory_schema.note_undeclared(organisation, resource_type, document, resource_id=group.id, before=before)
    membership: list[dict[str, Any]] = []
    affected: set[str] = set()
    if result.members:
        affected, membership = _apply_delta(organisation, group, result.members)
        if if_match is None:
            repo.touch_group(group)
        else:
            group.updated_at = utcnow()  # a version-checked bump: the client pinned a version
    audit.record(
        organisation,
        operation=_patch_operation(changes, membership),
        resource_type="Group",
        resource_id=group.id,
        resource_name=group.display_name,
        changes=changes + membership,
        status=200 if respond_with_body else 204,
    )
    if membership:
        _emit_membership(organisation, group, membership[0]["added"], membership[0]["removed"])
    _recompute_access(organisation, group, affected)  # access events after the change that caused them
    commit_unique(_taken(document))
    return group


def _patch_operation(changes: list[dict[str, Any]], membership: list[dict[str, Any]]) -> str:
    if changes and membership:
        return "group.updated"
    if changes:
        return "group.renamed" if [c["path"] for c in changes] == ["displayName"] else "group.updated"
    if not membership:
        return "group.unchanged"
    added, removed = membership[0]["added"], membership[0]["removed"]
    if added and removed:
        return "group.members.changed"
    return "group.members.added" if added else "group.members.removed"


@retry_on_conflict
def delete_group(*, organisation: Organisation, group_id: str, if_match: str | None) -> None:
    group = get_group(organisation=organisation, group_id=group_id)
    check_if_match(if_match, group.version)
    if group.id in access.protected_group_ids(organisation):
        raise ProtectedGroup(
            f"'{group.display_name}' decides access to Fluid (the access group or a group mapped to a Fluid role),"
            " so it cannot be deleted through SCIM; change its members instead, or change the organisation's"
            " access settings in Fluid first"
        )
    repo.forget_member_everywhere(organisation.id, group.id)
    audit.record(
        organisation,
        operation="group.deleted",
        resource_type="Group",
        resource_id=group.id,
        resource_name=group.display_name,
        changes=[{"path": "displayName", "before": group.display_name, "after": None}],
        status=204,
    )
    repo.delete_group(group)
    transaction.commit()


def list_groups(*, organisation: Organisation, query: ListQuery) -> Page[ScimGroup]:
    """Filter, count, sort and page in the database (RFC 7644 §3.4.2)."""
    return list_resources(ScimGroup, directory_schema.group_resource(organisation), organisation_id=organisation.id, query=query)


def _apply_delta(organisation: Organisation, group: ScimGroup, delta: MemberDelta) -> tuple[set[str], list[dict[str, Any]]]:
    """Apply a membership delta in SQL; return the member ids it touched and its audit record.

    Adding or removing named members never reads the member list; a wholesale change (remove all,
    replace) reads it once, to know whom it removed.
    """
    removed: set[str] = set(delta.remove)
    if delta.remove_all or delta.replace is not None:
        removed |= {member_id for member_id, _, _ in repo.members_of(organisation.id, group.id)}
        repo.remove_members(organisation.id, group.id, None)
    additions = _checked(organisation, list(delta.replace or ()) + list(delta.add), group_id=group.id)
    repo.add_members(organisation.id, group.id, additions)
    repo.remove_members(organisation.id, group.id, delta.remove)
    added = {member_id for member_id, _ in additions}
    return added | removed, audit.membership(sorted(added), sorted(removed - added))


def _emit_membership(organisation: Organisation, group: ScimGroup, added: list[str], removed: list[str]) -> None:
    if added or removed:
        data = {"groupId": group.id, "displayName": group.display_name, "added": list(added), "removed": list(removed)}
        outbox.emit(organisation, "group.members.changed", group.id, data)


def _recompute_access(organisation: Organisation, group: ScimGroup, member_ids: set[str]) -> None:
    if not member_ids:
        return
    rules = access.role_rules(organisation)  # read once for both questions
    if group.id in access.protected_group_ids(organisation, rules):
        request_context.current().work.spend_access(len(member_ids), f"changing the members of '{group.display_name}'")
        # Sorted: a membership delta carries no order, and the brake's choice must be reproducible.
        access.recompute(organisation, sorted(member_ids), reason=f"group.members:{group.display_name}", rules=rules)


def _checked(organisation: Organisation, members: Sequence[MemberRef], *, group_id: str) -> list[tuple[str, str]]:
    """Members as (id, type), after checking each is a user or group of this organisation."""
    if len(members) > MAX_MEMBERS_PER_REQUEST:
        raise InvalidValue(
            f"{len(members):,} members given; at most {MAX_MEMBERS_PER_REQUEST:,} may change in one request (a group "
            "may hold more: add them over several requests)"
        )
    ids = list(dict.fromkeys(member.value for member in members))
    if group_id in ids:
        raise InvalidValue("a group cannot be a member of itself")
    found = repo.existing_member_types(organisation.id, ids)
    unknown = [member_id for member_id in ids if member_id not in found]
    if unknown:
        listed = ", ".join(repr(member_id) for member_id in unknown[:5])
        raise InvalidValue(f"no user or group of this organisation has the id {listed}; no member was changed")
    for member in members:
        if member.type is not None and member.type != found[member.value]:
            raise InvalidValue(f"member '{member.value}' is a {found[member.value]}, not a {member.type}")
    return [(member_id, found[member_id]) for member_id in ids]
