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
