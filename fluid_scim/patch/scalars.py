"""PATCH on a multi-valued simple attribute (a declared custom ``multiValued`` string, number, …).

RFC 7644 §3.5.2: ``add`` appends the values not already present, ``replace`` swaps the list,
``remove`` takes out all values, the values given, or those a value filter selects — written
``tags[value eq "x"]``, ``value`` standing for the element itself (as RFC 7643 §2.4 names the
value of a multi-valued attribute).
"""

from __future__ import annotations

from typing import Any

from fluid_scim.errors import InvalidValue
from fluid_scim.patch.targets import Target
from fluid_scim.schema.attributes import Attribute
from fluid_scim.schema.coerce import coerce_attribute
from fluid_scim.schema.limits import describe_limit, values_limit


def _given(target: Target, attribute: Attribute, value: Any, quirks: set[str]) -> list[Any]:
    if value is not None and not isinstance(value, list):
        quirks.add("single-value-wrapped")
        value = [value]
    return coerce_attribute(target.schema, attribute, value, quirks=quirks, label=target.label) or []


def written(op: str, target: Target, attribute: Attribute, current: list[Any], value: Any, quirks: set[str]) -> list[Any]:
    """The list after an add or replace (at most :func:`values_limit` values)."""
    given = _given(target, attribute, value, quirks)
    if target.predicate is not None:
        kept = [item for item in current if not target.predicate({"value": item})]
        result = kept + [item for item in given if item not in kept]
    elif op == "replace":
        result = list(dict.fromkeys(given)) if _hashable(given) else given
    else:
        result = current + [item for item in given if item not in current]
    if len(result) > values_limit(attribute):
        raise InvalidValue(f"'{target.label}' would hold {len(result):,} values; {describe_limit(attribute)}")
    return result


def removed(target: Target, attribute: Attribute, current: list[Any], value: Any, quirks: set[str]) -> list[Any]:
    """The list after a remove."""
    if target.predicate is not None:
        return [item for item in current if not target.predicate({"value": item})]
    if value is None:
        return []
    quirks.add("remove-by-value")
    given = _given(target, attribute, value, quirks)
    return [item for item in current if item not in given]


def _hashable(items: list[Any]) -> bool:
    return all(isinstance(item, str | int | float | bool) for item in items)
