"""Syntax tree of SCIM filters (RFC 7644 §3.4.2.2) and PATCH paths (§3.5.2).

Every node is an immutable, hashable dataclass, so trees can be compared,
cached and used as dictionary keys. Attribute names keep the case the client
wrote; normalising them is the translator's job.

The error classes live here too because every module of the package raises
them, and this is the one module all the others already import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeAlias

#: Binary comparison operators, always stored lower-case in the tree.
COMPARE_OPS: frozenset[str] = frozenset({"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"})

#: A comparison value: a JSON string, number, boolean or null.
CompValue: TypeAlias = str | int | float | bool | None


class FilterError(ValueError):
    """A filter or PATCH path is malformed or cannot be evaluated.

    ``str(error)`` is a complete sentence meant for the SCIM client (it goes
    into the ``detail`` of a 400 ``invalidFilter`` / ``invalidPath`` response);
    ``position`` is the 0-based character offset the message refers to, or
    ``None`` when the problem is not tied to one place.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position

    def __str__(self) -> str:
        return self.message

    def __reduce__(self) -> tuple[type[FilterError], tuple[str, int | None]]:
        # Keep ``position`` across pickling (the default only replays ``args``).
        return (type(self), (self.message, self.position))


class FilterTooComplex(FilterError):
    """The filter exceeds a length, nesting-depth or node-count limit."""


@dataclass(frozen=True, slots=True)
class AttrPath:
    """``[schema ":"] attr ["." sub_attr]``; ``schema`` is a full URN such as
    ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User``."""

    schema: str | None
    attr: str
    sub_attr: str | None = None


@dataclass(frozen=True, slots=True)
class ValuePath:
    """``attr[filter]`` or, with ``sub_attr``, ``attr[filter].sub_attr``.

    Without ``sub_attr`` it is a filter on its own ("some value of ``attr``
    matches ``filter``"). With ``sub_attr`` it only appears as the path of a
    :class:`Compare` or :class:`Present` (Entra's
    ``emails[type eq "work"].value eq "x"``) or in a :class:`PatchPath`.
    The paths inside ``filter`` are relative to one value of ``attr``.
    """

    attr: AttrPath
    filter: Filter
    sub_attr: str | None = None


@dataclass(frozen=True, slots=True, eq=False)
class Compare:
    """``path op value`` with ``op`` one of :data:`COMPARE_OPS`."""

    path: AttrPath | ValuePath
    op: str
    value: CompValue

    def __post_init__(self) -> None:
        if self.op not in COMPARE_OPS:
            raise ValueError(f"unknown comparison operator {self.op!r}")

    def _key(self) -> tuple[object, ...]:
        # The type is part of the key because True == 1 == 1.0 in Python, yet
        # `x eq true`, `x eq 1` and `x eq 1.0` are different filters.
        return (self.path, self.op, type(self.value), self.value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Compare):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())


@dataclass(frozen=True, slots=True)
class Present:
    """``path pr``: the attribute has a non-empty value."""

    path: AttrPath | ValuePath


@dataclass(frozen=True, slots=True)
class And:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Or:
    left: Filter
    right: Filter


@dataclass(frozen=True, slots=True)
class Not:
    operand: Filter


#: Any node that can stand as a filter.
Filter: TypeAlias = Compare | Present | And | Or | Not | ValuePath


@dataclass(frozen=True, slots=True)
class PatchPath:
    """A PATCH operation path: ``attrPath`` or ``valuePath [subAttr]``.

    ``attr`` is the targeted attribute, ``value_filter`` selects values of a
    multi-valued attribute (``members[value eq "1"]``) and ``sub_attr`` is
    the sub-attribute after the brackets (``emails[type eq "work"].value``).
    """

    attr: AttrPath
    value_filter: Filter | None = None
    sub_attr: str | None = None
