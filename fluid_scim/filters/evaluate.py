"""Evaluation of filter ASTs over SCIM JSON dicts, in memory and obviously correct.

The PATCH engine evaluates value-path filters (``emails[type eq "work"]``) with
it, and the property tests compare the SQL translation with it, so every rule
below is one the translator must mirror:

* Resources are shaped like SCIM JSON. Unqualified paths and paths qualified
  with a core schema (``urn:ietf:params:scim:schemas:core:...``) read
  top-level keys; any other schema URN reads the object stored under that
  URN key. Keys (attribute names and URNs) match case-insensitively.
* Strings, references and binaries compare with ``str.lower()`` on both
  sides unless the attribute is ``case_exact`` (the SQL side uses
  ``LOWER()``); ``gt``/``ge``/``lt``/``le`` on strings compare code points.
  ``co``/``sw``/``ew`` only apply to strings; binaries do not order.
* Numbers compare numerically (int/float/Decimal mixed). dateTimes compare
  instants: both sides are read with ``datetime.fromisoformat`` and a naive
  value is taken as UTC. Booleans support only ``eq``/``ne``; the strings
  "true"/"false" in any case count as booleans there (Entra sends
  ``roles[primary eq "True"]``). Any other type mismatch, an operator the
  attribute type does not support, or comparing a complex attribute is a
  :class:`FilterError`, raised before any data is looked at, so the result
  does not depend on the resource.
* ``pr`` is false for a missing attribute, None, "", [] and {}; on a
  multi-valued attribute it is true when any value is present.
* A comparison on a multi-valued attribute is true when ANY value matches.
  A multi-valued complex attribute compared without a sub-attribute
  (``emails co "x"``) compares its ``value`` sub-attribute (not for ``pr``).
* ``x ne v`` is exactly ``not (x eq v)``: true when no value equals ``v``,
  including when ``x`` is missing. Every other operator is false on a
  missing attribute. ``x eq null`` is ``not (x pr)`` and ``x ne null`` is
  ``x pr``; other operators with null are errors.
* ``attr[f]`` is true when some value of ``attr`` (which must be complex)
  satisfies ``f``; paths in ``f`` name sub-attributes of ``attr``.
  ``attr[f].sub op v`` compares ``sub`` of the values satisfying ``f``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeAlias

from fluid_scim.filters.ast import (
    And,
    AttrPath,
    Compare,
    CompValue,
    Filter,
    FilterError,
    Not,
    Or,
    Present,
    ValuePath,
)
from fluid_scim.filters.canonical import render, render_value
from fluid_scim.text import name_key

AttrType: TypeAlias = Literal["string", "boolean", "integer", "decimal", "dateTime", "reference", "binary", "complex"]

#: Schema URNs with this prefix qualify top-level (core) attributes.
CORE_SCHEMA_PREFIX = "urn:ietf:params:scim:schemas:core:"


@dataclass(frozen=True, slots=True)
class AttributeInfo:
    """What the evaluator needs to know about one attribute's schema."""

    type: AttrType
    case_exact: bool = False
    multi_valued: bool = False
    # A unique case-insensitive name (userName, a Group's displayName): ``eq`` compares the names' keys
    # (fluid_scim.text.name_key), as the database does through the unique key column.
    keyed: bool = False


#: Schema lookup; should raise FilterError for an unknown attribute.
AttributeLookup: TypeAlias = Callable[[AttrPath], AttributeInfo]
Predicate: TypeAlias = Callable[[Mapping[str, Any]], bool]
_Values: TypeAlias = Callable[[Mapping[str, Any]], list[Any]]
_Test: TypeAlias = Callable[[Any], bool]

_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "gt": operator.gt,
    "ge": operator.ge,
    "lt": operator.lt,
    "le": operator.le,
}
_SUBSTRING: dict[str, Callable[[str, str], bool]] = {
    "co": lambda actual, wanted: wanted in actual,
    "sw": str.startswith,
    "ew": str.endswith,
}


def matches(node: Filter, resource: Mapping[str, Any], *, attribute: AttributeLookup) -> bool:
    """Whether ``resource`` satisfies the filter ``node``."""
    return compile_predicate(node, attribute=attribute)(resource)


def compile_predicate(node: Filter, *, attribute: AttributeLookup) -> Predicate:
    """Validate ``node`` against the schema once and return a predicate over
    resources (cheaper than :func:`matches` when testing many resources)."""
    return _Compiler(attribute).filter(node, None)


class _Compiler:
    """Turns a tree into closures; all schema and type checks happen here."""

    def __init__(self, attribute: AttributeLookup) -> None:
        self._attribute = attribute

    def filter(self, node: Filter, parent: AttrPath | None) -> Predicate:
        """``parent`` is the attribute whose values ``node`` is evaluated on
        (inside ``parent[...]``), or None at the top of the resource."""
        if isinstance(node, And | Or):
            left, right = self.filter(node.left, parent), self.filter(node.right, parent)
            if isinstance(node, And):
                return lambda obj: left(obj) and right(obj)
            return lambda obj: left(obj) or right(obj)
        if isinstance(node, Not):
            operand = self.filter(node.operand, parent)
            return lambda obj: not operand(obj)
        if isinstance(node, ValuePath):
            if node.sub_attr is not None:
                raise FilterError(f"'{render(node)}' must be followed by an operator")
            elements, inner = self._elements(node, parent)
            return lambda obj: any(inner(element) for element in elements(obj))
        if isinstance(node, Present):
            return self._present(node.path, parent)
        if isinstance(node, Compare):
            return self._compare(node, parent)
        raise TypeError(f"not a filter node: {node!r}")

    def _present(self, path: AttrPath | ValuePath, parent: AttrPath | None) -> Predicate:
        values, _, _ = self._values(path, parent, compare=False)
        return lambda obj: any(_is_present(value) for value in values(obj))

    def _compare(self, node: Compare, parent: AttrPath | None) -> Predicate:
        if node.value is None:
            present = self._present(node.path, parent)
            if node.op == "eq":
                return lambda obj: not present(obj)
            if node.op == "ne":
                return present
            raise FilterError(f"'{node.op}' cannot compare with null; use 'eq null', 'ne null' or 'pr'")
        values, info, label = self._values(node.path, parent, compare=True)
        # ne is the negation of eq over all values, see the module docstring.
        test = _value_test("eq" if node.op == "ne" else node.op, node.value, info, label)
        if node.op == "ne":
            return lambda obj: not any(test(value) for value in values(obj))
        return lambda obj: any(test(value) for value in values(obj))

    def _values(
        self, path: AttrPath | ValuePath, parent: AttrPath | None, *, compare: bool
    ) -> tuple[_Values, AttributeInfo, str]:
        """How to fetch the (flattened) values of ``path``, their schema and
        a label for error messages."""
        if isinstance(path, ValuePath):
            return self._value_path_values(path, parent)
        if parent is not None:
            return self._sub_attr_values(path, parent)
        label = render(path)
        info = self._attribute(path)
        if compare and path.sub_attr is None and info.type == "complex" and info.multi_valued:
            path = AttrPath(path.schema, path.attr, "value")  # `emails co "x"`
            info = self._attribute(path)
        schema, name, sub_attr = path.schema, path.attr, path.sub_attr

        def values(resource: Mapping[str, Any]) -> list[Any]:
            found = _as_list(_get(_container(resource, schema), name))
            if sub_attr is None:
                return found
            return [value for element in found for value in _as_list(_get(element, sub_attr))]

        return values, info, label

    def _sub_attr_values(self, path: AttrPath, parent: AttrPath) -> tuple[_Values, AttributeInfo, str]:
        """Values of ``path`` inside ``parent[...]``, read from one element."""
        if path.schema is not None or path.sub_attr is not None:
            raise FilterError(f"'{render(path)}' inside '{render(parent)}[...]' must be a plain sub-attribute name")
        full = AttrPath(parent.schema, parent.attr, path.attr)
        name = path.attr
        return (lambda element: _as_list(_get(element, name))), self._attribute(full), render(full)

    def _value_path_values(self, path: ValuePath, parent: AttrPath | None) -> tuple[_Values, AttributeInfo, str]:
        """Values of ``attr[filter].sub`` (Entra's form)."""
        if path.sub_attr is None:
            raise FilterError(f"'{render(path)}' needs a sub-attribute, such as '.value', to compare")
        elements, inner = self._elements(path, parent)
        sub_attr = path.sub_attr
        info = self._attribute(AttrPath(path.attr.schema, path.attr.attr, sub_attr))

        def values(resource: Mapping[str, Any]) -> list[Any]:
            chosen = [element for element in elements(resource) if inner(element)]
            return [value for element in chosen for value in _as_list(_get(element, sub_attr))]

        return values, info, render(path)

    def _elements(self, path: ValuePath, parent: AttrPath | None) -> tuple[_Values, Predicate]:
        """The values of ``path.attr`` and the compiled filter in brackets."""
        attr = path.attr
        if parent is not None:
            raise FilterError(f"value filters cannot be nested inside '{render(parent)}[...]'")
        if attr.sub_attr is not None or self._attribute(attr).type != "complex":
            raise FilterError(f"'{render(attr)}' is not a complex attribute, so it cannot take '[...]'")
        inner = self.filter(path.filter, attr)
        schema, name = attr.schema, attr.attr

        def elements(resource: Mapping[str, Any]) -> list[Any]:
            found = _as_list(_get(_container(resource, schema), name))
            return [element for element in found if isinstance(element, Mapping)]

        return elements, inner


def _value_test(op: str, literal: CompValue, info: AttributeInfo, label: str) -> _Test:
    """A test of one stored value against ``literal``; raises on misuse."""
    kind = info.type
    if kind == "complex":
        raise FilterError(f"'{label}' is a complex attribute; compare one of its sub-attributes")
    if kind == "boolean":
        if op != "eq":
            raise FilterError(f"'{op}' cannot be used with the boolean attribute '{label}'; use eq, ne or pr")
        if isinstance(literal, str) and literal.lower() in ("true", "false"):
            literal = literal.lower() == "true"
        if not isinstance(literal, bool):
            raise _mismatch(label, kind, literal)
        wanted = literal
        return lambda value: isinstance(value, bool) and value == wanted
    if op in _SUBSTRING and kind in ("integer", "decimal", "dateTime"):
        raise FilterError(f"'{op}' only works on strings, and '{label}' is a {kind} attribute")
    if kind in ("integer", "decimal"):
        if not _is_number(literal):
            raise _mismatch(label, kind, literal)
        order = _ORDERING[op]
        return lambda value: _is_number(value) and order(value, literal)
    if kind == "dateTime":
        return _datetime_test(op, literal, label)
    return _string_test(op, literal, info, label)


def _datetime_test(op: str, literal: CompValue, label: str) -> _Test:
    instant = _parse_datetime(literal)
    if instant is None:
        raise FilterError(
            f"'{label}' is a dateTime attribute; compare it with an ISO 8601 string "
            f'such as "2011-05-13T04:42:34Z", not {render_value(literal)}'
        )
    order = _ORDERING[op]

    def test(value: Any) -> bool:
        parsed = _parse_datetime(value)
        return parsed is not None and order(parsed, instant)

    return test


def _string_test(op: str, literal: CompValue, info: AttributeInfo, label: str) -> _Test:
    if not isinstance(literal, str):
        raise _mismatch(label, info.type, literal)
    if info.type == "binary" and op in ("gt", "ge", "lt", "le"):
        raise FilterError(f"'{op}' cannot be used with the binary attribute '{label}'")
    fold: Callable[[str], str] = (lambda text: text) if info.case_exact else str.lower
    if info.keyed and op == "eq":
        fold = name_key
    wanted = fold(literal)
    compare = _SUBSTRING.get(op) or _ORDERING[op]
    return lambda value: isinstance(value, str) and compare(fold(value), wanted)


def _mismatch(label: str, kind: str, literal: CompValue) -> FilterError:
    return FilterError(f"cannot compare the {kind} attribute '{label}' with {render_value(literal)}")


def _is_number(value: Any) -> bool:
    # bool is an int subclass, but true is not the number 1 in SCIM.
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _parse_datetime(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _is_present(value: Any) -> bool:
    if value is None:
        return False
    return not (isinstance(value, str | list | tuple | Mapping) and len(value) == 0)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _get(obj: Any, name: str) -> Any:
    """``obj[name]`` with a case-insensitive key match; None when absent."""
    if not isinstance(obj, Mapping):
        return None
    if name in obj:
        return obj[name]
    lowered = name.lower()
    for key, value in obj.items():
        if isinstance(key, str) and key.lower() == lowered:
            return value
    return None


def _container(resource: Mapping[str, Any], schema: str | None) -> Mapping[str, Any]:
    """The object holding the attributes of ``schema`` (see module docstring)."""
    if schema is None or schema.lower().startswith(CORE_SCHEMA_PREFIX):
        return resource
    extension = _get(resource, schema)
    return extension if isinstance(extension, Mapping) else {}
