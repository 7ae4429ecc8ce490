"""Who may use Fluid, and with which roles, as the directory says — with a brake on mass removals.

The rule (docs/access-and-audit.md "Access and roles"):

* In ``group`` mode (the default) a user has access while ``active`` is not false and they are a
  direct member of the organisation's access group ("Fluid User" unless configured otherwise).
  In ``all_active`` mode every user whose ``active`` is not false has access.
* A user with access has the union of the Fluid roles mapped from the groups they are a direct
  member of and from their SCIM ``roles`` (Entra app roles): an app role counts when an app-role
  mapping names it, or when its value is itself a Fluid role some mapping grants. Without access, no
  roles.
* Users created by ``users import`` keep the access and roles the import gave them until SCIM
  adopts them (their first SCIM write); from then on the directory decides.

Nothing here commits: callers run it inside their own transaction, so an access change commits
with the SCIM change that caused it, together with its :class:`AccessEvent`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, inspect, select
from sqlalchemy.orm.util import identity_key

from fluid_scim.extensions import db
from fluid_scim.models import (
    AccessEvent,
    HeldAccessChange,
    Organisation,
    RoleMapping,
    ScimGroup,
    ScimGroupMember,
    ScimUser,
    ScimUserValue,
)
from fluid_scim.models.types import utcnow
from fluid_scim.repositories.mapping import FLUID_ROLES_ROWS
from fluid_scim.services import outbox

DEFAULT_ACCESS_GROUP = "Fluid User"
ROLE_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
REMOVALS = ("suspended", "revoked")


@dataclass(frozen=True, slots=True)
class RoleRules:
    """An organisation's role mappings, loaded once per recomputation."""

    by_group: dict[str, str]
    by_app_role: dict[str, str]

    @property
    def known_roles(self) -> frozenset[str]:
        return frozenset(self.by_group.values()) | frozenset(self.by_app_role.values())

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
    rows = db.session.execute(select(RoleMapping).where(RoleMapping.organisation_id == organisation.id)).scalars()
    by_group: dict[str, str] = {}
    by_app_role: dict[str, str] = {}
    for row in rows:
        (by_group if row.kind == "group" else by_app_role)[row.source] = row.role
    return RoleRules(by_group, by_app_role)


def protected_group_ids(organisation: Organisation, rules: RoleRules | None = None) -> set[str]:
    """The access group and every group mapped to a role: the groups whose members access depends on.

    SCIM may change their members, not delete them. ``rules``: the role rules already read, if any.
    """
    ids = set((role_rules(organisation) if rules is None else rules).by_group)
    if organisation.access_group_id:
        ids.add(organisation.access_group_id)
    return ids


def recompute(
    organisation: Organisation,
    user_ids: Iterable[str],
    *,
    reason: str,
    bypass_brake: bool = False,
    rules: RoleRules | None = None,
) -> list[AccessEvent]:
    """Bring the stored access of these users in line with the rule; return the events written.

    ``rules``: the organisation's role rules when the caller has read them already.
    """
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return []
    rules = role_rules(organisation) if rules is None else rules
    events: list[AccessEvent] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        users = _users(organisation, chunk)
        memberships = _memberships(organisation, chunk, protected_group_ids(organisation, rules))
        position = {user_id: index for index, user_id in enumerate(chunk)}
        # In the order the request named them, so that which removals the brake holds is predictable.
        for user in sorted(users, key=lambda item: position[item.id]):
            if user.origin == "import" and user.linked_at is None:
                continue  # the import's access holds until SCIM adopts the user
            granted, roles = _decide(organisation, rules, user, memberships.get(user.id, set()))
            event = _apply(organisation, user, granted, roles, reason=reason, bypass_brake=bypass_brake)
            if event is not None:
                events.append(event)
    return events


def grant_on_creation(organisation: Organisation, user: ScimUser, *, reason: str) -> AccessEvent | None:
    """:func:`recompute` for a user created just now: in no group yet, so only ``all_active`` can grant."""
    if organisation.access_mode != "all_active":
        return None
    granted, roles = _decide(organisation, role_rules(organisation), user, set())
    return _apply(organisation, user, granted, roles, reason=reason, bypass_brake=False)


def _users(organisation: Organisation, user_ids: Sequence[str]) -> list[ScimUser]:
    """These users: those this transaction has loaded already from the session, the rest in one query."""
    found: list[ScimUser] = []
    missing: list[str] = []
    for user_id in user_ids:
        loaded = db.session.identity_map.get(identity_key(ScimUser, (organisation.id, user_id)))
        state = inspect(loaded) if isinstance(loaded, ScimUser) else None
        if state is not None and state.persistent and not state.expired_attributes and loaded not in db.session.deleted:
            found.append(loaded)  # type: ignore[arg-type]
        else:
            missing.append(user_id)
    if missing:
        query = select(ScimUser).where(ScimUser.organisation_id == organisation.id, ScimUser.id.in_(missing))
        found.extend(db.session.execute(query).scalars())
    return found


def revoke_for_deletion(organisation: Organisation, user: ScimUser, *, reason: str) -> AccessEvent | None:
    """A deleted user loses access at once (the brake cannot hold what no longer exists)."""
    if not user.access_granted:
        return None
    return _record(organisation, user, "revoked", reason, list(user.fluid_roles), [])


def _memberships(organisation: Organisation, user_ids: Sequence[str], group_ids: set[str]) -> dict[str, set[str]]:
    if not group_ids:
        return {}
    rows = db.session.execute(
        select(ScimGroupMember.member_id, ScimGroupMember.group_id).where(
            ScimGroupMember.organisation_id == organisation.id,
            ScimGroupMember.member_id.in_(list(user_ids)),
            ScimGroupMember.group_id.in_(sorted(group_ids)),
        )
    )
    found: dict[str, set[str]] = {}
    for member_id, group_id in rows:
        found.setdefault(member_id, set()).add(group_id)
    return found


def _decide(organisation: Organisation, rules: RoleRules, user: ScimUser, groups: set[str]) -> tuple[bool, list[str]]:
    active = user.active is not False
    if organisation.access_mode == "all_active":
        granted = active
    else:
        granted = active and organisation.access_group_id in groups
    if not granted:
        return False, []
    roles = {rules.by_group[group_id] for group_id in groups if group_id in rules.by_group}
    roles |= rules.app_roles(user.multi_valued.get("roles") or [])
    return True, sorted(roles)


def _apply(
    organisation: Organisation, user: ScimUser, granted: bool, roles: list[str], *, reason: str, bypass_brake: bool
) -> AccessEvent | None:
    before = list(user.fluid_roles or [])
    if granted == user.access_granted and roles == before:
        return None
    if user.access_granted and not granted:
        kind = "suspended" if user.active is False else "revoked"
        if not bypass_brake and _brake_holds(organisation):
            return _hold(organisation, user, f"{kind}: {reason}")
        return _record(organisation, user, kind, reason, before, [])
    kind = "granted" if granted and not user.access_granted else "roles_changed"
    return _record(organisation, user, kind, reason, before, roles)


def _record(
    organisation: Organisation, user: ScimUser, kind: str, reason: str, before: list[str], after: list[str]
) -> AccessEvent:
    now = utcnow()
    user.access_granted = kind in ("granted", "roles_changed")
    if after != before:
        _write_role_rows(user, after)
    user.fluid_roles = after
    user.access_changed_at = now
    event = _access_event(organisation, user, kind, reason, before, after, now)
    outbox.emit(
        organisation,
        f"access.{kind}",
        user.id,
        {"userId": user.id, "userName": user.user_name, "rolesBefore": list(before), "rolesAfter": list(after), "reason": reason},
    )
    return event


def note(organisation: Organisation, user: ScimUser, kind: str, reason: str) -> AccessEvent:
    """An event about the user's access that changes nothing by itself (released, discarded)."""
    roles = list(user.fluid_roles or [])
    return _access_event(organisation, user, kind, reason, roles, roles, utcnow())


def _access_event(
    organisation: Organisation, user: ScimUser, kind: str, reason: str, before: list[str], after: list[str], now: datetime
) -> AccessEvent:
    event = AccessEvent(
        organisation_id=organisation.id,
        user_id=user.id,
        user_name=user.user_name,
        kind=kind,
        reason=reason,
        roles_before=before,
        roles_after=after,
        created_at=now,
    )
    db.session.add(event)
    return event


def _write_role_rows(user: ScimUser, roles: list[str]) -> None:
    """Keep the filterable copy of the effective roles (``…:fluid:2.0:User:roles``) in step."""
    db.session.execute(
        delete(ScimUserValue).where(
            ScimUserValue.organisation_id == user.organisation_id,
            ScimUserValue.user_id == user.id,
            ScimUserValue.attribute == FLUID_ROLES_ROWS,
        )
    )
    db.session.add_all(
        ScimUserValue(organisation_id=user.organisation_id, user_id=user.id, attribute=FLUID_ROLES_ROWS, position=i, value=role)
        for i, role in enumerate(roles)
    )


# -- the deprovisioning brake ------------------------------------------------------------------


def _brake_holds(organisation: Organisation) -> bool:
    """Would one more removal exceed both the share and the number allowed in the window?"""
    if not organisation.brake_enabled:
        return False
    db.session.execute(  # serialise removals of one organisation (PostgreSQL row lock; SQLite has one writer)
        select(Organisation.id).where(Organisation.id == organisation.id).with_for_update()
    )
    since = utcnow() - timedelta(minutes=organisation.brake_window_minutes)
    db.session.flush()
    removed = db.session.execute(
        select(func.count())
        .select_from(AccessEvent)
        .where(
            AccessEvent.organisation_id == organisation.id,
            AccessEvent.kind.in_(REMOVALS),
            AccessEvent.created_at >= since,
        )
    ).scalar_one()
    with_access = db.session.execute(
        select(func.count())
        .select_from(ScimUser)
        .where(ScimUser.organisation_id == organisation.id, ScimUser.access_granted.is_(True))
    ).scalar_one()
    baseline = with_access + removed  # roughly who had access when the window opened
    allowed = max(baseline * organisation.brake_percent // 100, organisation.brake_min_removals)
    return removed + 1 > allowed


def _hold(organisation: Organisation, user: ScimUser, reason: str) -> AccessEvent:
    pending = db.session.execute(
        select(HeldAccessChange).where(
            HeldAccessChange.organisation_id == organisation.id,
            HeldAccessChange.user_id == user.id,
            HeldAccessChange.status == "held",
        )
    ).scalar_one_or_none()
    if pending is None:
        db.session.add(
            HeldAccessChange(organisation_id=organisation.id, user_id=user.id, user_name=user.user_name, reason=reason)
        )
    return note(organisation, user, "held", reason)


def ensure_access_group(organisation: Organisation, name: str = DEFAULT_ACCESS_GROUP) -> ScimGroup:
    """Create (or adopt, by name) the organisation's access group; no commit."""
    group = group_named(organisation, name)
    organisation.access_group_id = group.id
    return group


def group_named(organisation: Organisation, name: str) -> ScimGroup:
    """The organisation's group with this displayName (case-insensitively), created if there is none; no commit."""
    from fluid_scim.models.scim import new_id
    from fluid_scim.repositories import scim as repo
    from fluid_scim.repositories.mapping import fold, write_group

    group = repo.find_by_key(ScimGroup, organisation.id, fold(name))
    if group is None:
        now = utcnow()
        group = ScimGroup(organisation_id=organisation.id, id=new_id(), version=1, created_at=now, updated_at=now)
        write_group(group, {"displayName": name})
        db.session.add(group)
        db.session.flush()
    return group  # type: ignore[return-value]
