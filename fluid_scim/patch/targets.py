"""Resolving a PATCH ``path`` (or a key of a path-less value) to a :class:`Target` of the schema."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fluid_scim.errors import InvalidFilter, InvalidPath, Mutability, UnkeptValue
from fluid_scim.filters import (
    And,
    AttributeInfo,
    AttrPath,
    Compare,
    Filter,
    FilterError,
    Not,
    Or,
    PatchPath,
    ValuePath,
    compile_predicate,
    parse_path,
)
from fluid_scim.schema.attributes import Attribute, ResourceType, Schema
from fluid_scim.schema.coerce import coerce_sub, dropped, tolerates_unknown, unknown_sub_attribute
from fluid_scim.schema.definitions import CORE_URN_PREFIX, ENTERPRISE_URN, GROUP_RESOURCE, USER_RESOURCE
from fluid_scim.schema.resolve import UnknownAttribute, evaluator_lookup, resolve

Predicate = Callable[[dict[str, Any]], bool]


@dataclass(frozen=True, slots=True)
class Target:
    """Where an operation points.

    ``extension`` alone: the whole extension object (path = the extension URN). Otherwise
    ``attribute`` (of ``schema``; None for the common attributes), an optional ``sub`` attribute and an
    optional value filter with its compiled ``predicate`` over one entry, and ``terms``: the filter's
    nodes (comparisons and the and/or/not joining them; 1 without a filter), what one entry costs it.
    """

    label: str
    schema: Schema | None = None
    attribute: Attribute | None = None
    sub: Attribute | None = None
    value_filter: Filter | None = None
    predicate: Predicate | None = None
    extension: Schema | None = None
    read_only: bool = False
    terms: int = 1

    @property
    def container(self) -> str | None:
        """The document key holding the attribute: the extension URN, or None for top-level."""
        schema = self.extension or self.schema
        if schema is None or schema.id.lower().startswith(CORE_URN_PREFIX.lower()):
            return None
        return schema.id

    @property
    def is_members(self) -> bool:
        return self.attribute is not None and self.schema is not None and self.schema.id == GROUP_RESOURCE.schema.id and (
            self.attribute.name == "members"
        )


def parse_target(resource_type: ResourceType, text: Any, *, quirks: set[str], label: str | None = None) -> Target | None:
    """Parse and resolve ``text``; readOnly targets come back with ``read_only=True`` (the caller decides).

    A path to something no schema defines that the undeclared-attribute policy cannot keep, a
    sub-attribute a standard attribute does not have (``name.nick``) or a value filter on an
    undeclared attribute, is refused under ``reject`` and otherwise dropped: None, and noted in ``quirks``.
    """
    if not isinstance(text, str):
        raise InvalidPath("'path' must be a string")
    label = label or text
    extension = resource_type.extension(text.strip())
    if extension is not None:
        return Target(label=label, extension=extension)
    patch_path = _parse(text, label)
    attr_path = patch_path.attr
    schema_urn = _schema_urn(resource_type, attr_path, quirks)
    if schema_urn is None and attr_path.attr.lower() == "schemas":
        return Target(label=label, read_only=True)
    try:
        resolved = resolve(
            resource_type, schema_urn, attr_path.attr, attr_path.sub_attr or patch_path.sub_attr,
            undeclared=patch_path.value_filter is None,
        )
    except UnknownAttribute as error:
        if not tolerates_unknown(resource_type):
            raise InvalidPath(f"path '{label}': {error}") from None
        _dropped_path(resource_type, schema_urn, attr_path.attr, label, quirks)
        return None
    target = Target(label=label, schema=resolved.schema, attribute=resolved.attribute, sub=resolved.sub_attribute)
    if patch_path.value_filter is not None:
        target = _filtered(resource_type, target, patch_path.value_filter, quirks)
    return _marked_read_only(target)


def _dropped_path(resource_type: ResourceType, schema_urn: str | None, attr: str, label: str, quirks: set[str]) -> None:
    try:
        resolve(resource_type, schema_urn, attr)
    except UnknownAttribute:
        dropped(UnkeptValue(f"'{label}': a value filter or sub-attribute of an undeclared attribute"), quirks=quirks)
        return
    unknown_sub_attribute(label, quirks=quirks)


def _parse(text: str, label: str) -> PatchPath:
    """The parsed path; a syntax error inside ``[...]`` is invalidFilter, anywhere else invalidPath."""
    try:
        return parse_path(text)
    except FilterError as error:
        bracket = text.find("[")
        if bracket >= 0 and (error.position is None or error.position > bracket):
            raise InvalidFilter(f"the filter in path '{label}' is invalid: {error}") from None
        raise InvalidPath(f"path '{label}' is invalid: {error}") from None


def _schema_urn(resource_type: ResourceType, attr_path: AttrPath, quirks: set[str]) -> str | None:
    if resource_type.id == USER_RESOURCE.id and attr_path.schema is None and attr_path.attr.lower() == "manager":
        quirks.add("manager-unqualified")  # Entra's old narrative form: "path": "manager"
        return ENTERPRISE_URN
    return attr_path.schema


def _filtered(resource_type: ResourceType, target: Target, value_filter: Filter, quirks: set[str]) -> Target:
    """``target`` with a value filter (``emails[type eq "work"]``) and its compiled predicate."""
    attribute = target.attribute
    assert attribute is not None
    if attribute.type != "complex" and not attribute.multi_valued:
        raise InvalidPath(f"path '{target.label}': '{attribute.name}' is not a complex attribute, so it cannot take a filter")
    if attribute.type != "complex":
        if target.sub is not None:
            raise InvalidPath(f"path '{target.label}': '{attribute.name}' has no sub-attributes")
        return Target(label=target.label, schema=target.schema, attribute=attribute, value_filter=value_filter,
                      predicate=_scalar_predicate(target, attribute, value_filter), terms=filter_terms(value_filter))
    predicate = _predicate(resource_type, target, value_filter)
    if _string_boolean_literal(attribute, value_filter):
        quirks.add("string-boolean")  # Entra: roles[primary eq "True"]
    return Target(label=target.label, schema=target.schema, attribute=attribute, sub=target.sub,
                  value_filter=value_filter, predicate=predicate, terms=filter_terms(value_filter))


def filter_terms(value_filter: Filter) -> int:
    """The nodes of a filter: what evaluating it on one entry costs, roughly."""
    count = 0
    pending: list[Filter] = [value_filter]
    while pending:
        node = pending.pop()
        count += 1
        if isinstance(node, And | Or):
            pending.extend((node.left, node.right))
        elif isinstance(node, Not):
            pending.append(node.operand)
        elif isinstance(node, ValuePath):
            pending.append(node.filter)
    return count


def _marked_read_only(target: Target) -> Target:
    if target.is_members:
        return target  # members are a relation: their read-only sub-attributes are the caller's concern
    attribute, sub = target.attribute, target.sub
    assert attribute is not None
    if attribute.read_only or (sub is not None and sub.read_only):
        return Target(label=target.label, schema=target.schema, attribute=attribute, sub=sub, read_only=True)
    return target


def reject_read_only(target: Target) -> None:
    if target.read_only:
        raise Mutability(f"path '{target.label}' names a read-only attribute")


def _predicate(resource_type: ResourceType, target: Target, value_filter: Filter) -> Predicate:
    attribute = target.attribute
    assert attribute is not None
    container = target.container

    node = ValuePath(AttrPath(container, attribute.name), value_filter)
    try:
        compiled = compile_predicate(node, attribute=evaluator_lookup(resource_type))
    except FilterError as error:
        raise InvalidFilter(f"the filter in path '{target.label}' is invalid: {error}") from None
    name = attribute.name

    def predicate(entry: dict[str, Any]) -> bool:
        wrapped: dict[str, Any] = {name: [entry]}
        return compiled({container: wrapped} if container else wrapped)

    return predicate


def _scalar_predicate(target: Target, attribute: Attribute, value_filter: Filter) -> Predicate:
    """A filter over the elements of a multi-valued simple attribute, ``value`` naming the element."""
    element = AttributeInfo(attribute.type, case_exact=attribute.case_exact)

    def lookup(path: AttrPath) -> AttributeInfo:
        own = path.attr.lower() == attribute.name.lower()
        if own and path.sub_attr is None:
            return AttributeInfo("complex", multi_valued=True)
        if (own and (path.sub_attr or "").lower() == "value") or (path.attr.lower() == "value" and path.sub_attr is None):
            return element
        raise FilterError(f"inside '{attribute.name}[...]' only 'value' (the element itself) can be compared")

    try:
        compiled = compile_predicate(ValuePath(AttrPath(None, attribute.name), value_filter), attribute=lookup)
    except FilterError as error:
        raise InvalidFilter(f"the filter in path '{target.label}' is invalid: {error}") from None
    name = attribute.name
    return lambda entry: compiled({name: [entry]})


def _string_boolean_literal(attribute: Attribute, value_filter: Filter) -> bool:
    pending: list[Filter] = [value_filter]
    while pending:
        node = pending.pop()
        if isinstance(node, And | Or):
            pending.extend((node.left, node.right))
        elif isinstance(node, Not):
            pending.append(node.operand)
        elif isinstance(node, Compare) and isinstance(node.value, str) and isinstance(node.path, AttrPath):
            sub = attribute.sub(node.path.attr)
            if sub is not None and sub.type == "boolean":
                return True
    return False


def eq_constraints(target: Target, *, quirks: set[str]) -> dict[str, Any] | None:
    """The entry a filter of ``eq`` comparisons joined by ``and`` describes; None for any other filter."""
    attribute = target.attribute
    assert attribute is not None and target.value_filter is not None
    constraints: dict[str, Any] = {}
    pending: list[Filter] = [target.value_filter]
    while pending:
        node = pending.pop()
        if isinstance(node, And):
            pending.extend((node.right, node.left))
            continue
        if not (isinstance(node, Compare) and node.op == "eq" and isinstance(node.path, AttrPath)):
            return None
        path = node.path
        sub = attribute.sub(path.attr) if path.schema is None and path.sub_attr is None else None
        if sub is None or sub.read_only or node.value is None:
            return None
        value = coerce_sub(attribute, sub, node.value, quirks=quirks, label=f"{target.label} ({sub.name})")
        if value is None or constraints.setdefault(sub.name, value) != value:
            return None
    return constraints


def member_filter_ids(target: Target) -> list[str]:
    """``members[value eq "a" or value eq "b"]`` -> ["a", "b"]; any other filter is :class:`InvalidFilter`."""
    assert target.value_filter is not None
    ids: list[str] = []
    pending: list[Filter] = [target.value_filter]
    while pending:
        node = pending.pop()
        if isinstance(node, Or):
            pending.extend((node.right, node.left))
            continue
        if not (
            isinstance(node, Compare)
            and node.op == "eq"
            and isinstance(node.path, AttrPath)
            and node.path.schema is None
            and node.path.sub_attr is None
            and node.path.attr.lower() == "value"
            and isinstance(node.value, str)
        ):
            raise InvalidFilter(
                f"path '{target.label}': a members filter can only compare 'value' with eq, "
                'optionally joined by or (members[value eq "id1" or value eq "id2"])'
            )
        if node.value not in ids:
            ids.append(node.value)
    return ids
