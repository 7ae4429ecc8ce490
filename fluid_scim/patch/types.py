"""Inputs and outputs of the PATCH engine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from fluid_scim.schema.coerce import MemberRef

OpName = Literal["add", "replace", "remove"]


@dataclass(frozen=True, slots=True)
class Operation:
    """One validated PATCH operation; ``index`` is its 0-based position in ``Operations``."""

    op: OpName
    path: str | None = None
    value: Any = None
    index: int = 0


@dataclass(frozen=True, slots=True)
class MemberDelta:
    """The net change to a Group's membership, to apply in this order:

    1. ``replace`` is not None: the membership becomes exactly ``replace`` (``add``/``remove`` are empty);
    2. otherwise ``remove_all``: every current member is removed;
    3. the ids in ``remove`` are removed (disjoint from ``add``);
    4. the refs in ``add`` are added (ids already members are left alone).
    """

    add: tuple[MemberRef, ...] = ()
    remove: frozenset[str] = field(default_factory=frozenset)
    replace: tuple[MemberRef, ...] | None = None
    remove_all: bool = False

    def __bool__(self) -> bool:
        return bool(self.add or self.remove or self.remove_all or self.replace is not None)


@dataclass(frozen=True, slots=True)
class PatchResult:
    """The patched canonical document, the membership delta and the canonical paths that changed."""

    document: dict[str, Any]
    members: MemberDelta
    changed: tuple[str, ...]


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
