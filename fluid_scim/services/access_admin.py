"""What an admin decides about access: the access group, the mode, role mappings, the brake, held changes.

Filters (the ``attribute`` mode's access filter, attribute role mappings) are parsed and
type-checked against the organisation's User resource type when saved: a filter naming an
unknown attribute or comparing a wrong type is refused with :class:`InvalidFilter` and nothing changes.

Each function ends its transaction; every access change it causes is an :class:`AccessEvent`.
The GraphQL admin API and the CLI call these; neither has access logic of its own.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from fluid_scim.errors import InvalidFilter, InvalidValue, NotFound, Uniqueness
from fluid_scim.filters import FilterError
from fluid_scim.models import AccessEvent, HeldAccessChange, Organisation, ScimGroup
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import access as access_repo
from fluid_scim.repositories import directory as directory_repo
from fluid_scim.repositories import mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.services import access, audit, request_context, transaction
from fluid_scim.text import check_text

ACCESS_MODES = ("group", "all_active", "attribute")
MAX_ATTRIBUTE_RULES = 100
MAX_ROLE_MAPPINGS = 100  # group mappings, and app-role mappings, each
MAX_FILTER_LENGTH = 1024  # the column's size


@dataclass(frozen=True, slots=True)
class AccessEntry:
    user_id: str
    user_name: str
    roles: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AccessPage:
    entries: tuple[AccessEntry, ...]
    next_after: str | None


def access_group(*, organisation: Organisation) -> ScimGroup:
    group = repo.get_group(organisation.id, organisation.access_group_id) if organisation.access_group_id else None
    if group is None:
        group = access.ensure_access_group(organisation)
        transaction.commit()
    return group


def set_access_group_name(*, organisation: Organisation, name: str) -> ScimGroup:
    """Rename the access group itself: its id, and so its members and Entra's link to it, stay."""
    name = check_text(name.strip(), "the access group name", one_line=True)
    if not name or len(name) > 255:
        raise InvalidValue("the access group name must be 1 to 255 characters")
    group = access_group(organisation=organisation)
    if repo.group_exists_with_key(organisation.id, mapping.fold(name), except_id=group.id):
        raise Uniqueness(f"another group is already named '{name}'")
    before = group.display_name
    mapping.write_group(group, {**mapping.read_group(group), "displayName": name})
    group.updated_at = utcnow()
    _admin_event(organisation, "access.group_renamed", "accessGroup", before, name)
    transaction.commit()
    return group


def set_access_mode(*, organisation: Organisation, mode: str, access_filter: str | None = None) -> list[AccessEvent]:
    """Switch the access rule; ``access_filter`` (a SCIM filter over users) is required by, and only
    allowed with, the ``attribute`` mode. Everyone's access is recomputed (the brake applies)."""
    if mode not in ACCESS_MODES:
        raise InvalidValue(f"the access mode must be one of {', '.join(ACCESS_MODES)}; got {mode!r}")
    text = (access_filter or "").strip()
    if mode == "attribute":
        if not text:
            raise InvalidValue('the attribute access mode needs a filter over users, such as userType eq "Employee"')
        _checked_filter(organisation, text, "the access filter")
    elif text:
        raise InvalidValue("an access filter applies only to the attribute access mode")
    before_mode, before_filter = organisation.access_mode, organisation.access_filter
    organisation.access_mode = mode
    organisation.access_filter = text or None
    events = _recompute_everyone(organisation, reason=f"organisation.access_mode:{mode}")
    changes: list[dict[str, object]] = [{"path": "accessMode", "before": before_mode, "after": mode}]
    if before_filter != organisation.access_filter:
        changes.append({"path": "accessFilter", "before": before_filter, "after": organisation.access_filter})
    audit.record(organisation, operation="access.mode_changed", resource_type="Organisation", changes=changes)
    transaction.commit()
    return events


def set_role_mappings(
    *, organisation: Organisation, groups: Mapping[str, str], app_roles: Mapping[str, str] | None = None
) -> list[AccessEvent]:
    """Replace the role mappings. Mapped groups are found by displayName, or created (like the access group)."""
    cleaned_groups = {check_text(name.strip(), "a group name", one_line=True): _role(role) for name, role in groups.items()}
    cleaned_apps = {
        check_text(value.strip(), "an app role value", one_line=True).lower(): _role(role)
        for value, role in (app_roles or {}).items()
    }
    before = role_mappings(organisation=organisation)
    if any(not name for name in cleaned_groups) or any(not value for value in cleaned_apps):
        raise InvalidValue("group names and app role values must not be empty")
    for what, cleaned in (("group", cleaned_groups), ("app role", cleaned_apps)):
        if len(cleaned) > MAX_ROLE_MAPPINGS:
            raise InvalidValue(f"at most {MAX_ROLE_MAPPINGS} {what} mappings; got {len(cleaned)}")
    by_group = [(access.group_named(organisation, name).id, role) for name, role in cleaned_groups.items()]
    access_repo.replace_role_mappings(organisation.id, groups=by_group, app_roles=cleaned_apps)
    directory_repo.bump_schema_version(organisation)  # the mappings every worker caches are read again
    events = _recompute_everyone(organisation, reason="organisation.role_mappings")
    _admin_event(
        organisation,
        "access.role_mappings_changed",
        "roleMappings",
        _mappings_json(*before),
        _mappings_json(cleaned_groups, cleaned_apps),
    )
    transaction.commit()
    return events


def role_mappings(*, organisation: Organisation) -> tuple[dict[str, str], dict[str, str]]:
    """(group displayName -> role, app role value -> role), as an admin would read them."""
    rules = access.role_rules(organisation)
    names = repo.group_display_names(organisation.id, rules.by_group)
    return {names[group_id]: role for group_id, role in rules.by_group.items() if group_id in names}, dict(rules.by_app_role)


def set_attribute_role_mappings(*, organisation: Organisation, rules: Sequence[tuple[str, str]]) -> list[AccessEvent]:
    """Replace the attribute role mappings: (SCIM filter over users, Fluid role) pairs, in order.

    Every filter is checked before anything changes; then everyone's roles are recomputed.
    """
    if len(rules) > MAX_ATTRIBUTE_RULES:
        raise InvalidValue(f"at most {MAX_ATTRIBUTE_RULES} attribute role mappings; got {len(rules)}")
    cleaned: list[tuple[str, str]] = []
    for index, (text, role) in enumerate(rules, start=1):
        text = text.strip()
        if not text:
            raise InvalidValue(f"attribute role mapping {index}: the filter must not be empty")
        _checked_filter(organisation, text, f"attribute role mapping {index}: the filter")
        pair = (text, _role(role))
        if pair not in cleaned:
            cleaned.append(pair)
    before = attribute_role_mappings(organisation=organisation)
    access_repo.replace_attribute_role_mappings(organisation.id, cleaned)
    directory_repo.bump_schema_version(organisation)  # the compiled rules every worker caches are rebuilt
    events = _recompute_everyone(organisation, reason="organisation.attribute_role_mappings")
    _admin_event(
        organisation,
        "access.attribute_role_mappings_changed",
        "attributeRoleMappings",
        _attribute_rules_json(before),
        _attribute_rules_json(cleaned),
    )
    transaction.commit()
    return events


def attribute_role_mappings(*, organisation: Organisation) -> list[tuple[str, str]]:
    """(filter, role) pairs, in the order they were saved."""
    return [(row.filter, row.role) for row in access_repo.attribute_role_mappings(organisation.id)]


def _checked_filter(organisation: Organisation, text: str, label: str) -> None:
    if len(text) > MAX_FILTER_LENGTH:
        raise InvalidFilter(f"{label} is longer than {MAX_FILTER_LENGTH} characters")
    try:
        access.check_user_filter(organisation, text)
    except FilterError as error:
        raise InvalidFilter(f"{label} '{text}' cannot be used: {error}") from None


def set_brake(
    *,
    organisation: Organisation,
    enabled: bool,
    percent: int | None = None,
    min_removals: int | None = None,
    window_minutes: int | None = None,
) -> Organisation:
    if percent is not None and not 1 <= percent <= 100:
        raise InvalidValue("the brake share must be between 1 and 100 percent")
    if min_removals is not None and not 0 <= min_removals <= 1_000_000:
        raise InvalidValue("the brake number must be between 0 and 1,000,000")
    if window_minutes is not None and not 1 <= window_minutes <= 7 * 24 * 60:
        raise InvalidValue("the brake window must be between 1 minute and 7 days")
    before = _brake_json(organisation)
    organisation.brake_enabled = enabled
    organisation.brake_percent = percent if percent is not None else organisation.brake_percent
    organisation.brake_min_removals = min_removals if min_removals is not None else organisation.brake_min_removals
    organisation.brake_window_minutes = window_minutes if window_minutes is not None else organisation.brake_window_minutes
    _admin_event(organisation, "brake.settings_changed", "brake", before, _brake_json(organisation))
    transaction.commit()
    return organisation


def held_changes(
    *, organisation: Organisation, status: str = "held", offset: int = 0, limit: int | None = None
) -> Sequence[HeldAccessChange]:
    """The held (or decided) changes, oldest first: all, or ``limit`` of them after ``offset``."""
    return access_repo.held_changes(organisation.id, status, offset=offset, limit=limit)


def release_held(*, organisation: Organisation, ids: Sequence[str] | None) -> list[AccessEvent]:
    """Apply the held removals (all, or the given ones): the directory's word now counts."""
    actor = _deciding_actor()
    events: list[AccessEvent] = []
    rules = access.role_rules(organisation)
    for held in _pending(organisation, ids):
        held.status, held.decided_at, held.decided_by = "released", utcnow(), actor
        user = repo.get_user(organisation.id, held.user_id)
        if user is None:
            continue
        events += access.recompute(organisation, [user.id], reason=f"brake.released by {actor}", bypass_brake=True, rules=rules)
        events.append(access.note(organisation, user, "released", f"brake.released by {actor}"))
        _admin_event(organisation, "brake.released", "heldChange", held.id, "released", resource_id=user.id)
    transaction.commit()
    return events


def discard_held(*, organisation: Organisation, ids: Sequence[str] | None) -> int:
    """Drop held removals: the users keep access until the directory changes them again."""
    actor = _deciding_actor()
    count = 0
    for held in _pending(organisation, ids):
        held.status, held.decided_at, held.decided_by = "discarded", utcnow(), actor
        user = repo.get_user(organisation.id, held.user_id)
        if user is not None:
            access.note(organisation, user, "discarded", f"brake.discarded by {actor}")
        _admin_event(organisation, "brake.discarded", "heldChange", held.id, "discarded", resource_id=held.user_id)
        count += 1
    transaction.commit()
    return count


def _deciding_actor() -> str:
    """Who releases or discards held changes: the acting admin (``admin:<subject>``) or operator (``cli:<login>``)."""
    return request_context.current().actor or "admin"


def who_has_access(*, organisation: Organisation, after: str | None = None, limit: int = 100) -> AccessPage:
    """Users with access and their roles, in id order, ``limit`` at a time (keyset pagination)."""
    limit = max(1, min(limit, 1000))
    rows = access_repo.users_with_access(organisation.id, after=after, limit=limit + 1)
    entries = tuple(AccessEntry(user_id, user_name, tuple(roles or ())) for user_id, user_name, roles in rows[:limit])
    return AccessPage(entries, entries[-1].user_id if len(rows) > limit else None)


def access_trail(*, organisation: Organisation, user_id: str) -> Sequence[AccessEvent]:
    """Every access change of one user, oldest first: "why was this person deactivated?"."""
    return access_repo.access_events_of(organisation.id, user_id)


def _admin_event(
    organisation: Organisation, operation: str, path: str, before: object, after: object, *, resource_id: str | None = None
) -> None:
    audit.record(
        organisation,
        operation=operation,
        resource_type="User" if resource_id else "Organisation",
        resource_id=resource_id,
        changes=[{"path": path, "before": before, "after": after}],
    )


def _mappings_json(groups: Mapping[str, str], apps: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {"groups": dict(sorted(groups.items())), "appRoles": dict(sorted(apps.items()))}


def _attribute_rules_json(rules: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"filter": text, "role": role} for text, role in rules]


def _brake_json(organisation: Organisation) -> dict[str, object]:
    return {
        "enabled": organisation.brake_enabled,
        "percent": organisation.brake_percent,
        "minRemovals": organisation.brake_min_removals,
        "windowMinutes": organisation.brake_window_minutes,
    }


def _role(role: str) -> str:
    cleaned = role.strip().lower()
    if not access.ROLE_NAME.match(cleaned):
        raise InvalidValue(f"'{role}' is not a Fluid role name (a letter, then letters, digits, '.', '_' or '-')")
    return cleaned


def _pending(organisation: Organisation, ids: Sequence[str] | None) -> Iterator[HeldAccessChange]:
    found = access_repo.pending_held_changes(organisation.id, ids)
    if ids is not None and len(found) != len(set(ids)):
        raise NotFound("some of these held changes do not exist or were already decided")
    yield from found


def _recompute_everyone(organisation: Organisation, *, reason: str) -> list[AccessEvent]:
    events: list[AccessEvent] = []
    rules = access.role_rules(organisation)
    after = ""
    while True:
        ids = repo.user_ids_after(organisation.id, after, 1000)
        if not ids:
            return events
        events += access.recompute(organisation, ids, reason=reason, rules=rules)
        after = ids[-1]


def purge_tombstones(*, batch_size: int = 1000, max_batches: int = 10_000) -> int:
    """Delete tombstones whose retention has ended, in small batches so writers are never held up."""
    removed = 0
    for _ in range(max_batches):
        batch = access_repo.expired_tombstones(utcnow(), batch_size)
        if not batch:
            break
        for organisation_id, user_id in batch:
            access_repo.delete_tombstone(organisation_id, user_id)
        transaction.commit()
        removed += len(batch)
    return removed
