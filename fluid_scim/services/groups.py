"""SCIM Group use cases. Membership changes touch only the members named, never the whole list."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from fluid_scim.errors import Forbidden, InvalidValue, NotFound
from fluid_scim.extensions import db
from fluid_scim.models import Organisation, ScimGroup
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.patch import MemberDelta, Operation, apply_patch
from fluid_scim.repositories import filtering, mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.schema import GROUP_RESOURCE
from fluid_scim.schema.coerce import MemberRef, coerce_resource, extract_members
from fluid_scim.services import access, transaction
from fluid_scim.services.resources import (
    ListQuery,
    Page,
    check_if_match,
    commit_unique,
    flush_unique,
    parse_scim_filter,
    retry_on_conflict,
)

MAX_MEMBERS_PER_REQUEST = 10_000


def _taken(document: dict[str, Any]) -> str:
    return f"a group named '{document.get('displayName')}' already exists in this organisation (names are case-insensitive)"


def get_group(*, organisation: Organisation, group_id: str) -> ScimGroup:
    group = repo.get_group(organisation.id, group_id)
    if group is None:
        raise NotFound(f"Group {group_id} not found")
    return group


def create_group(*, organisation: Organisation, body: dict[str, Any], quirks: set[str]) -> ScimGroup:
    document = coerce_resource(GROUP_RESOURCE, body, quirks=quirks)
    members = extract_members(body, quirks=quirks) or []
    now = utcnow()
    group = ScimGroup(organisation_id=organisation.id, id=new_id(), version=1, created_at=now, updated_at=now)
    mapping.write_group(group, document)
    db.session.add(group)
    flush_unique(_taken(document))
    repo.add_members(organisation.id, group.id, _checked(organisation, members, group_id=group.id))
    commit_unique(_taken(document))
    return group


@retry_on_conflict
def replace_group(
    *, organisation: Organisation, group_id: str, body: dict[str, Any], if_match: str | None, quirks: set[str]
) -> ScimGroup:
    """PUT: displayName/externalId replaced; ``members`` replaced when present (absent keeps them).

    Keeping members when a PUT omits them protects against clients that never read members back
    (Entra excludes them); RFC 7644 §3.5.1 lets the server decide for attributes it manages.
    """
    group = get_group(organisation=organisation, group_id=group_id)
    check_if_match(if_match, group.version)
    document = coerce_resource(GROUP_RESOURCE, body, quirks=quirks)
    mapping.write_group(group, document)
    group.updated_at = utcnow()
    flush_unique(_taken(document))
    replacement = extract_members(body, quirks=quirks)
    if replacement is not None:
        members = _checked(organisation, replacement, group_id=group.id)
        affected = _current_members(organisation, group) | {member_id for member_id, _ in members}
        repo.remove_members(organisation.id, group.id, None)
        repo.add_members(organisation.id, group.id, members)
        _recompute_access(organisation, group, affected)
    commit_unique(_taken(document))
    return group


@retry_on_conflict
def patch_group(
    *, organisation: Organisation, group_id: str, operations: list[Operation], if_match: str | None, quirks: set[str]
) -> ScimGroup:
    group = get_group(organisation=organisation, group_id=group_id)
    check_if_match(if_match, group.version)
    result = apply_patch(GROUP_RESOURCE, mapping.read_group(group), operations, resource_id=group.id, quirks=quirks)
    document = result.document
    if mapping.read_group(group) != document:
        mapping.write_group(group, document)
        group.updated_at = utcnow()
        flush_unique(_taken(document))
    if result.members:
        affected = _apply_delta(organisation, group, result.members)
        _recompute_access(organisation, group, affected)
        if if_match is None:
            repo.touch_group(group)
        else:
            group.updated_at = utcnow()  # a version-checked bump: the client pinned a version
    commit_unique(_taken(document))
    return group


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
    db.session.delete(group)
    transaction.commit()


def list_groups(*, organisation: Organisation, query: ListQuery) -> Page[ScimGroup]:
    clause = filtering.filter_clause(GROUP_RESOURCE, parse_scim_filter(query.filter)) if query.filter else None
    total = repo.count(ScimGroup, organisation.id, clause)
    if query.count == 0 or total < query.start_index:
        return Page(total=total, start_index=query.start_index)
    statement = select(ScimGroup).where(ScimGroup.organisation_id == organisation.id)
    if clause is not None:
        statement = statement.where(clause)
    statement = statement.order_by(*filtering.sort_clause(GROUP_RESOURCE, query.sort_by, query.descending))
    return Page(total=total, start_index=query.start_index, items=repo.page(statement, query.start_index, query.count))


class ProtectedGroup(Forbidden):
    """403: the group decides who may use Fluid; only its membership may change through SCIM."""


def _apply_delta(organisation: Organisation, group: ScimGroup, delta: MemberDelta) -> set[str]:
    """Apply a membership delta in SQL; return the member ids whose membership may have changed.

    Only a wholesale change (remove all, replace) of a group that decides access reads the old
    member list; adding or removing named members never does.
    """
    affected: set[str] = set(delta.remove) | {member.value for member in delta.add}
    if delta.remove_all or delta.replace is not None:
        affected |= _current_members(organisation, group)
        repo.remove_members(organisation.id, group.id, None)
    additions = list(delta.replace or ()) + list(delta.add)
    affected |= {member.value for member in delta.replace or ()}
    repo.add_members(organisation.id, group.id, _checked(organisation, additions, group_id=group.id))
    repo.remove_members(organisation.id, group.id, delta.remove)
    return affected


def _current_members(organisation: Organisation, group: ScimGroup) -> set[str]:
    if group.id not in access.protected_group_ids(organisation):
        return set()
    return {member_id for member_id, _, _ in repo.members_of(organisation.id, group.id)}


def _recompute_access(organisation: Organisation, group: ScimGroup, member_ids: set[str]) -> None:
    if member_ids and group.id in access.protected_group_ids(organisation):
        # Sorted: a membership delta carries no order, and the brake's choice must be reproducible.
        access.recompute(organisation, sorted(member_ids), reason=f"group.members:{group.display_name}")


def _checked(organisation: Organisation, members: Sequence[MemberRef], *, group_id: str) -> list[tuple[str, str]]:
    """Members as (id, type), after checking each is a user or group of this organisation."""
    if len(members) > MAX_MEMBERS_PER_REQUEST:
        raise InvalidValue(f"at most {MAX_MEMBERS_PER_REQUEST} members may change in one request")
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
