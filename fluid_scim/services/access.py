"""Who may use Fluid, and with which roles, as the directory says — with a brake on mass removals.

The rule (docs/access-and-audit.md "Access and roles"):

* In ``group`` mode (the default) a user has access while ``active`` is not false and they are a
  direct member of the organisation's access group ("Fluid User" unless configured otherwise).
  In ``all_active`` mode every user whose ``active`` is not false has access. In ``attribute`` mode
  a user has access while ``active`` is not false and the organisation's access filter (a SCIM
  filter, RFC 7644 §3.4.2.2) matches the user.
* A user with access has the union of the Fluid roles mapped from the groups they are a direct
  member of, from their SCIM ``roles`` (Entra app roles: an app role counts when an app-role
  mapping names it, or when its value is itself a Fluid role some mapping grants) and from every
  attribute role mapping whose filter matches the user. Without access, no roles.
* Filters are evaluated in memory (:mod:`fluid_scim.filters`) over the user's canonical document,
  against the organisation's User resource type; they are checked when an admin saves them and
  compiled once per recomputation. A stored filter that no longer compiles (a custom attribute
  it names was removed or retyped) grants no role, and in ``attribute`` mode leaves everyone's
  access as it is, with a warning in the log, until an admin saves a valid one.
* Users created by ``users import`` keep the access and roles the import gave them until SCIM
  adopts them (their first SCIM write); from then on the directory decides.

Nothing here commits: callers run it inside their own transaction, so an access change commits
with the SCIM change that caused it, together with its :class:`AccessEvent`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import inspect

from fluid_scim.errors import InvalidValue
from fluid_scim.filters import (
    And,
    AttributeInfo,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    Present,
    ValuePath,
    compile_predicate,
    parse_filter,
)
from fluid_scim.models import AccessEvent, Organisation, ScimGroup, ScimUser
from fluid_scim.models.scim import new_id
from fluid_scim.models.types import utcnow
from fluid_scim.repositories import access as access_repo
from fluid_scim.repositories import mapping
from fluid_scim.repositories import scim as repo
from fluid_scim.schema import FLUID_URN, ResourceType
from fluid_scim.schema.resolve import UnknownAttribute, attribute_info, resolve
from fluid_scim.services import directory_schema, outbox
from fluid_scim.text import check_text

log = logging.getLogger(__name__)

DEFAULT_ACCESS_GROUP = "Fluid User"
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
REMOVALS = ("suspended", "revoked")

UserPredicate = Callable[[Mapping[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class AttributeRule:
    """An attribute role mapping: users its filter matches get ``role``.

    ``matches`` is the compiled filter, or None when the stored filter no longer compiles
    against the organisation's User resource type (then it matches nobody).
    """

    filter: str
    role: str
    matches: UserPredicate | None


@dataclass(frozen=True, slots=True)
class RoleRules:
    """An organisation's role mappings and access filter, loaded and compiled once per recomputation.

    ``access_filter``: the compiled filter of the ``attribute`` access mode (None in the other modes,
    or when the stored filter no longer compiles: then access stays as it is).
    """

    by_group: dict[str, str]
    by_app_role: dict[str, str]
    by_attribute: tuple[AttributeRule, ...] = ()
    access_filter: UserPredicate | None = None

    @property
    def known_roles(self) -> frozenset[str]:
        by_attribute = frozenset(rule.role for rule in self.by_attribute)
        return frozenset(self.by_group.values()) | frozenset(self.by_app_role.values()) | by_attribute

    def attribute_roles(self, document: Mapping[str, Any]) -> set[str]:
        return {rule.role for rule in self.by_attribute if rule.matches is not None and rule.matches(document)}

    def app_roles(self, entries: Sequence[dict[str, object]]) -> set[str]:
        roles: set[str] = set()
        for entry in entries:
            for key in ("value", "display"):
                raw = entry.get(key)
                if not isinstance(raw, str):
                    continue
                name = raw.strip().lower()
                if name in self.by_app_role:
                    roles.add(self.by_app_role[name])
                    break
                if name in self.known_roles:
                    roles.add(name)
                    break
        return roles


def role_rules(organisation: Organisation) -> RoleRules:
    return _rules_of(organisation, _role_mappings(organisation))


# The role mappings (group or app role -> role) per organisation, by its ``schema_version``, which every
# change of them sets: a SCIM change of one user then reads none, nor its memberships when authentication
# read the user with its groups (one statement fewer a PATCH, a round trip on PostgreSQL).
_mappings: dict[object, tuple[int, tuple[Sequence[str], ...]]] = {}


def _role_mappings(organisation: Organisation) -> tuple[Sequence[str], ...]:
    version = organisation.schema_version or 1
    cached = _mappings.get(organisation.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    rows = tuple(tuple(row) for row in access_repo.role_mappings(organisation.id))
    if len(_mappings) >= _COMPILED_SIZE:
        _mappings.clear()
    _mappings[organisation.id] = (version, rows)
    return rows


def _rules_of(organisation: Organisation, rows: Iterable[Sequence[str]]) -> RoleRules:
    by_group: dict[str, str] = {}
    by_app_role: dict[str, str] = {}
    for kind, source, role in rows:
        (by_group if kind == "group" else by_app_role)[source] = role
    by_attribute, access_filter = _attribute_rules(organisation)
    return RoleRules(by_group, by_app_role, by_attribute, access_filter)


# (attribute rules, compiled access filter) per organisation, by the state they were built from:
# every SCIM write recomputes access, and neither reading the mappings nor compiling their filters
# should be part of it while nothing changed. Attribute mapping and declaration changes bump
# ``schema_version``; the mode and filter are on the organisation row itself.
_AttributeRules = tuple[tuple[AttributeRule, ...], UserPredicate | None]
_compiled: dict[object, tuple[tuple[int, str, str | None], _AttributeRules]] = {}
_COMPILED_SIZE = 4096


def _attribute_rules(organisation: Organisation) -> _AttributeRules:
    key = (organisation.schema_version or 1, organisation.access_mode, organisation.access_filter)
    cached = _compiled.get(organisation.id)
    if cached is not None and cached[0] == key:
        return cached[1]
    mappings = access_repo.attribute_role_mappings(organisation.id)
    rules: _AttributeRules = ((), None)
    if mappings or organisation.access_mode == "attribute":
        resource_type = _user_resource(organisation)
        by_attribute = tuple(
            AttributeRule(row.filter, row.role, _stored_filter(organisation, resource_type, row.filter, f"role {row.role}"))
            for row in mappings
        )
        access_filter = None
        if organisation.access_mode == "attribute":
            access_filter = _stored_filter(organisation, resource_type, organisation.access_filter or "", "access")
        rules = (by_attribute, access_filter)
    if len(_compiled) >= _COMPILED_SIZE:
        _compiled.clear()
    _compiled[organisation.id] = (key, rules)
    return rules


# -- filters over users --------------------------------------------------------------------------


def _user_resource(organisation: Organisation) -> ResourceType:
    """The organisation's User resource type (its declared custom attributes included), which attribute
    filters are checked and evaluated against."""
    return directory_schema.user_resource(organisation)


def check_user_filter(organisation: Organisation, text: str) -> UserPredicate:
    """Parse and type-check a filter over the organisation's users; :class:`FilterError` says what is wrong."""
    return compile_user_filter(_user_resource(organisation), text)


def compile_user_filter(resource_type: ResourceType, text: str) -> UserPredicate:
    """``text`` (RFC 7644 §3.4.2.2) as a predicate over users' canonical documents (see :func:`user_document`)."""
    if not text.strip():
        raise FilterError("the filter is empty")
    node = _qualified(parse_filter(text), resource_type)
    return compile_predicate(node, attribute=_attribute_lookup(resource_type))


def user_document(user: ScimUser) -> dict[str, Any]:
    """What filters see of a user: the canonical document (extensions under their URN) and its id."""
    return {**mapping.read_user(user), "id": user.id}


def _attribute_lookup(resource_type: ResourceType) -> Callable[[AttrPath], AttributeInfo]:
    def lookup(path: AttrPath) -> AttributeInfo:
        try:
            resolved = resolve(resource_type, path.schema, path.attr, path.sub_attr)
        except UnknownAttribute as error:
            raise FilterError(str(error)) from None
        if resolved.schema is not None and resolved.schema.id.lower() != resource_type.schema.id.lower():
            if resolved.schema.id.lower() == FLUID_URN.lower():
                raise FilterError("Fluid's access and roles come from these rules, so a rule cannot test them")
        elif resolved.attribute.name in _UNUSABLE:
            raise FilterError(f"'{resolved.attribute.name}' cannot be used here: {_UNUSABLE[resolved.attribute.name]}")
        return attribute_info(resolved.target)

    return lookup


def _qualified(node: Filter, resource_type: ResourceType) -> Filter:
    """``node`` with each unqualified name that only an extension defines qualified with its URN.

    ``department eq "Finance"`` means the enterprise extension's ``department`` (the User schema has
    none); a name of the User schema itself, or one several extensions define, is left as written.
    """
    if isinstance(node, And | Or):
        return type(node)(_qualified(node.left, resource_type), _qualified(node.right, resource_type))
    if isinstance(node, Not):
        return Not(_qualified(node.operand, resource_type))
    if isinstance(node, ValuePath):
        return ValuePath(_qualified_path(node.attr, resource_type), node.filter, node.sub_attr)
    path = node.path
    if isinstance(path, ValuePath):
        path = ValuePath(_qualified_path(path.attr, resource_type), path.filter, path.sub_attr)
    else:
        path = _qualified_path(path, resource_type)
    return Present(path) if isinstance(node, Present) else Compare(path, node.op, node.value)


def _qualified_path(path: AttrPath, resource_type: ResourceType) -> AttrPath:
    if path.schema is not None:
        return path
    try:
        resolve(resource_type, None, path.attr)
        return path
    except UnknownAttribute:
        pass
    owners = [extension.schema.id for extension in resource_type.extensions if extension.schema.attribute(path.attr)]
    if len(owners) > 1:
        raise FilterError(f"'{path.attr}' is an attribute of several extensions ({', '.join(owners)}); qualify it with one")
    return AttrPath(owners[0], path.attr, path.sub_attr) if owners else path


_UNUSABLE = {
    "groups": "group membership is mapped to roles by group role mappings and the access group",
    "password": "it is write-only",
    "meta": "it describes the stored record, not the person",
}


def filters_broken_by(organisation: Organisation, resource_type: ResourceType) -> list[str]:
    """The organisation's stored access filter and attribute role mappings that would not compile
    against ``resource_type`` (its schema after a declaration change), each named for the admin."""
    stored = [("the access filter", organisation.access_filter)] if organisation.access_filter else []
    mappings = access_repo.attribute_role_mappings(organisation.id)
    stored += [(f"the attribute role mapping to '{row.role}'", row.filter) for row in mappings]
    broken = []
    for what, text in stored:
        try:
            compile_user_filter(resource_type, text)
        except FilterError:
            broken.append(f"{what} ({text})")
    return broken


def _stored_filter(organisation: Organisation, resource_type: ResourceType, text: str, what: str) -> UserPredicate | None:
    try:
        return compile_user_filter(resource_type, text)
    except FilterError as error:
        log.warning(
            "organisation %s: the %s filter %r no longer compiles and is not applied: %s", organisation.slug, what, text, error
        )
        return None


def protected_group_ids(organisation: Organisation, rules: RoleRules | None = None) -> set[str]:
    """The access group and every group mapped to a role: the groups whose members access depends on.

    SCIM may change their members, not delete them. ``rules``: the role rules already read, if any.
    """
    ids = set((role_rules(organisation) if rules is None else rules).by_group)
    if organisation.access_group_id:
        ids.add(organisation.access_group_id)
    return ids


_CHUNK = 500  # users decided, then written, together


def recompute(
    organisation: Organisation,
    user_ids: Iterable[str],
    *,
    reason: str,
    bypass_brake: bool = False,
    rules: RoleRules | None = None,
) -> list[AccessEvent]:
    """Bring the stored access of these users in line with the rule; return the events written.

    ``rules``: the organisation's role rules when the caller has read them already. Users are taken
    in chunks: each chunk's users are read together, decided one by one in the order given (so that
    which removals the brake holds is predictable), then written together, in a number of statements
    that does not grow with the chunk.
    """
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    read: dict[str, set[str]] | None = None  # the memberships, when read with the rules or the user
    if rules is None and len(ids) == 1:
        rules, read = _one_users_rules_and_memberships(organisation, ids[0])
    rules = role_rules(organisation) if rules is None else rules
    protected = protected_group_ids(organisation, rules)
    brake = None if bypass_brake or not organisation.brake_enabled else _Brake(organisation)
    events: list[AccessEvent] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        users = repo.users_by_ids(organisation.id, chunk)
        memberships = read if read is not None else repo.memberships_in(organisation.id, chunk, protected)
        position = {user_id: index for index, user_id in enumerate(chunk)}
        changes = _Changes(organisation, reason, brake)
        # In the order the request named them, so that which removals the brake holds is predictable.
        for user in sorted(users, key=lambda item: position[item.id]):
            if user.origin == "import" and user.linked_at is None:
                continue  # the import's access holds until SCIM adopts the user
            granted, roles = _decide(organisation, rules, user, memberships.get(user.id, set()))
            changes.apply(user, granted, roles)
        events += changes.write()
    return events


def _one_users_rules_and_memberships(organisation: Organisation, user_id: str) -> tuple[RoleRules, dict[str, set[str]]]:
    """The rules and the memberships of the protected groups for the change of one user (a PATCH, a PUT).

    Taken from the groups authentication read with the user when it did (the rules kept by the
    worker), else read with the rules in one statement.
    """
    carried = repo.groups_read_with_the_user(organisation.id, user_id)
    if carried is not None:
        rules = role_rules(organisation)
        protected = protected_group_ids(organisation, rules)
        member_of = {group_id for group_id, _ in carried if group_id in protected}
    else:
        rows, member_of = access_repo.role_mappings_and_memberships(organisation.id, user_id, organisation.access_group_id)
        rules = _rules_of(organisation, rows)
    return rules, ({user_id: member_of} if member_of else {})


def grant_on_creation(organisation: Organisation, user: ScimUser, *, reason: str) -> AccessEvent | None:
    """:func:`recompute` for a user created just now: in no group yet, so only ``all_active`` or
    ``attribute`` mode can grant (with the app-role and attribute roles the user has)."""
    if organisation.access_mode not in ("all_active", "attribute"):
        return None
    granted, roles = _decide(organisation, role_rules(organisation), user, set())
    changes = _Changes(organisation, reason, None)  # a new user has no access the brake could keep
    changes.apply(user, granted, roles)
    return next(iter(changes.write()), None)


def revoke_for_deletion(organisation: Organisation, user: ScimUser, *, reason: str) -> AccessEvent | None:
    """A deleted user loses access at once (the brake cannot hold what no longer exists)."""
    if not user.access_granted:
        return None
    changes = _Changes(organisation, reason, None)
    changes.record(user, "revoked", [])
    return changes.write()[0]


def _decide(organisation: Organisation, rules: RoleRules, user: ScimUser, groups: set[str]) -> tuple[bool, list[str]]:
    active = user.active is not False
    document = user_document(user) if rules.by_attribute or organisation.access_mode == "attribute" else {}
    if organisation.access_mode == "all_active":
        granted = active
    elif organisation.access_mode == "attribute":
        if rules.access_filter is None:
            granted = active and user.access_granted  # the stored filter no longer compiles: grant and revoke nobody
        else:
            granted = active and rules.access_filter(document)
    else:
        granted = active and organisation.access_group_id in groups
    if not granted:
        return False, []
    roles = {rules.by_group[group_id] for group_id in groups if group_id in rules.by_group}
    roles |= rules.app_roles(user.multi_valued.get("roles") or [])
    roles |= rules.attribute_roles(document)
    return True, sorted(roles)


@dataclass(slots=True)
class _Change:
    """One user's access change, decided and not yet written (``kind`` "held": a removal the brake holds)."""

    user: ScimUser
    kind: str
    reason: str
    before: list[str]
    after: list[str]
    at: datetime


class _Changes:
    """The access changes of one chunk of users: decided one at a time, in order, then written together.

    What the database holds is the same as when each change was written as it was decided: the roles
    rows, the user's access columns (and version), the access events and outbox events in the order
    decided, and the brake's held changes.
    """

    def __init__(self, organisation: Organisation, reason: str, brake: _Brake | None) -> None:
        self.organisation = organisation
        self.reason = reason
        self.brake = brake
        self.decided: list[_Change] = []
        self.grants = 0  # access granted by changes not yet written (the brake counts users with access)

    def apply(self, user: ScimUser, granted: bool, roles: list[str]) -> None:
        """Decide what changes for a user who should now have (or not have) access with these roles."""
        before = list(user.fluid_roles or [])
        if granted == user.access_granted and roles == before:
            return
        if user.access_granted and not granted:
            kind = "suspended" if user.active is False else "revoked"
            if self.brake is not None and self.brake.holds(unwritten_grants=self.grants):
                self.decided.append(_Change(user, "held", f"{kind}: {self.reason}", before, before, utcnow()))
                return
            self.record(user, kind, [])
            return
        kind = "granted" if granted and not user.access_granted else "roles_changed"
        self.record(user, kind, roles)

    def record(self, user: ScimUser, kind: str, after: list[str]) -> None:
        self.decided.append(_Change(user, kind, self.reason, list(user.fluid_roles or []), after, utcnow()))
        if kind == "granted":
            self.grants += 1
        if self.brake is not None:
            self.brake.note(kind)

    def write(self) -> list[AccessEvent]:
        """Write what was decided (a few statements, however many users) and return the access events."""
        if not self.decided:
            return []
        organisation_id = self.organisation.id
        changed = [change for change in self.decided if change.kind != "held"]
        clean: list[repo.AccessWrite] = []
        for change in changed:
            granted = change.kind in ("granted", "roles_changed")
            if _has_unwritten_changes(change.user):  # written with its other changes, in one UPDATE
                change.user.access_granted = granted
                change.user.fluid_roles = change.after
                change.user.access_changed_at = change.at
            else:
                clean.append((change.user, granted, change.after, change.at))
        repo.set_access(organisation_id, clean)
        # Keep the filterable copy of the effective roles in step.
        repo.replace_fluid_roles(organisation_id, {c.user.id: c.after for c in changed if c.after != c.before})
        self._hold([change for change in self.decided if change.kind == "held"])
        events = [_new_event(self.organisation, c.user, c.kind, c.reason, c.before, c.after, c.at) for c in self.decided]
        access_repo.add_access_events(events)
        for change in changed:
            outbox.emit(
                self.organisation,
                f"access.{change.kind}",
                change.user.id,
                {
                    "userId": change.user.id,
                    "userName": change.user.user_name,
                    "rolesBefore": list(change.before),
                    "rolesAfter": list(change.after),
                    "reason": change.reason,
                },
            )
        self.decided = []
        self.grants = 0
        return events

    def _hold(self, held: list[_Change]) -> None:
        """A held change for each user the brake holds back, unless one is held already."""
        organisation_id = self.organisation.id
        already = access_repo.users_with_held_change(organisation_id, [change.user.id for change in held])
        access_repo.add_held_changes(
            [
                {
                    "organisation_id": organisation_id,
                    "id": new_id(),
                    "user_id": change.user.id,
                    "user_name": change.user.user_name,
                    "reason": change.reason,
                    "created_at": change.at,
                }
                for change in held
                if change.user.id not in already
            ]
        )


def _has_unwritten_changes(user: ScimUser) -> bool:
    """Whether the session holds changes of this user not yet written (or has not written it at all)."""
    state = inspect(user)
    return not state.persistent or state.modified


def note(organisation: Organisation, user: ScimUser, kind: str, reason: str) -> AccessEvent:
    """An event about the user's access that changes nothing by itself (released, discarded)."""
    roles = list(user.fluid_roles or [])
    return access_repo.add_access_event(_new_event(organisation, user, kind, reason, roles, roles, utcnow()))


def _new_event(
    organisation: Organisation, user: ScimUser, kind: str, reason: str, before: list[str], after: list[str], now: datetime
) -> AccessEvent:
    return AccessEvent(
        organisation_id=organisation.id,
        id=new_id(),
        user_id=user.id,
        user_name=user.user_name,
        kind=kind,
        reason=reason,
        roles_before=before,
        roles_after=after,
        created_at=now,
    )


# -- the deprovisioning brake ------------------------------------------------------------------


class _Brake:
    """The deprovisioning brake over one recomputation: would one more removal exceed both the share
    and the number allowed in the window?

    At the first removal it decides, it takes the organisation's lock (one removal decision at a time
    per organisation, until the transaction ends) and counts the removals in the window and the users
    with access; from then on it keeps both counts itself as it decides, so each removal is judged
    as if the changes decided before it had been written and counted again.
    """

    def __init__(self, organisation: Organisation) -> None:
        self.organisation = organisation
        self.removed: int | None = None  # removals in the window, once counted
        self.with_access = 0

    def holds(self, *, unwritten_grants: int) -> bool:
        organisation = self.organisation
        if self.removed is None:
            access_repo.lock_organisation(organisation.id)
            since = utcnow() - timedelta(minutes=organisation.brake_window_minutes)
            self.removed = access_repo.count_events_since(organisation.id, REMOVALS, since)
            self.with_access = access_repo.count_users_with_access(organisation.id) + unwritten_grants
        baseline = self.with_access + self.removed  # roughly who had access when the window opened
        allowed = max(baseline * organisation.brake_percent // 100, organisation.brake_min_removals)
        return self.removed + 1 > allowed

    def note(self, kind: str) -> None:
        """A change was decided: keep the counts (once taken) as the database will have them."""
        if self.removed is None:
            return
        if kind == "granted":
            self.with_access += 1
        elif kind in REMOVALS:
            self.removed += 1
            self.with_access -= 1


def ensure_access_group(organisation: Organisation, name: str = DEFAULT_ACCESS_GROUP) -> ScimGroup:
    """Create (or adopt, by name) the organisation's access group; no commit."""
    group = group_named(organisation, name)
    organisation.access_group_id = group.id
    return group


def group_named(organisation: Organisation, name: str) -> ScimGroup:
    """The organisation's group with this displayName (case-insensitively), created if there is none; no commit.

    ``name`` is held to a SCIM displayName's rules: one line of 1 to 255 characters (also once normalised).
    """
    check_text(name, "a group name", one_line=True)
    key = mapping.fold(name)
    if not name or len(name) > 255 or len(key) > 255:
        raise InvalidValue("a group name must be 1 to 255 characters")
    group = repo.find_by_key(ScimGroup, organisation.id, key)
    if group is None:
        now = utcnow()
        group = ScimGroup(organisation_id=organisation.id, id=new_id(), version=1, created_at=now, updated_at=now)
        mapping.write_group(group, {"displayName": name})
        repo.add_group(group)
    return group
