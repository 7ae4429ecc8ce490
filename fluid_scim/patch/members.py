"""Group membership in a PATCH: operations on ``members`` fold into one :class:`MemberDelta`."""

from __future__ import annotations

from typing import Any

from fluid_scim.errors import InvalidPath
from fluid_scim.patch.targets import Target, member_filter_ids
from fluid_scim.patch.types import MemberDelta
from fluid_scim.schema.coerce import MemberRef, coerce_members


class MemberAccumulator:
    """Folds member operations, in request order, into one :class:`MemberDelta`."""

    def __init__(self) -> None:
        self._add: dict[str, MemberRef] = {}
        self._remove: set[str] = set()
        self._replace: dict[str, MemberRef] | None = None
        self._remove_all = False

    def add(self, refs: list[MemberRef]) -> None:
        for ref in refs:
            if self._replace is not None:
                self._replace.setdefault(ref.value, ref)
                continue
            self._remove.discard(ref.value)
            self._add.setdefault(ref.value, ref)

    def remove(self, ids: list[str]) -> None:
        for member_id in ids:
            if self._replace is not None:
                self._replace.pop(member_id, None)
                continue
            self._add.pop(member_id, None)
            if not self._remove_all:
                self._remove.add(member_id)

    def remove_all(self) -> None:
        self._add, self._remove, self._replace, self._remove_all = {}, set(), None, True

    def replace(self, refs: list[MemberRef]) -> None:
        self._add, self._remove, self._remove_all = {}, set(), False
        self._replace = {}
        for ref in refs:
            self._replace.setdefault(ref.value, ref)

    def delta(self) -> MemberDelta:
        return MemberDelta(
            add=tuple(self._add.values()),
            remove=frozenset(self._remove),
            replace=None if self._replace is None else tuple(self._replace.values()),
            remove_all=self._remove_all,
        )


def apply_member_operation(members: MemberAccumulator, op: str, target: Target, value: Any, *, quirks: set[str]) -> None:
    """add / replace / remove on ``members`` (RFC 7644 §3.5.2; Entra's remove-by-value and Okta's member forms: docs/scim.md)."""
    if target.sub is not None:
        raise InvalidPath(f"path '{target.label}': members can only be added or removed as whole entries")
    if op == "remove":
        if target.value_filter is not None:
            members.remove(member_filter_ids(target))
        elif value is None:
            members.remove_all()
        else:
            quirks.add("remove-by-value")  # Entra: remove exactly the listed members, never all
            members.remove([ref.value for ref in coerce_members(value, quirks=quirks)])
        return
    if target.value_filter is not None:
        raise InvalidPath(f"path '{target.label}': {op} cannot take a members filter; {op} to 'members' instead")
    refs = coerce_members(value, quirks=quirks)
    if op == "add":
        members.add(refs)
    else:
        members.replace(refs)
