"""Which canonical paths differ between two canonical documents (for the audit log)."""

from __future__ import annotations

from typing import Any

from fluid_scim.schema.attributes import Attribute, ResourceType
from fluid_scim.schema.custom import undeclared_paths
from fluid_scim.schema.definitions import EXTERNAL_ID


def changed_paths(resource_type: ResourceType, before: dict[str, Any], after: dict[str, Any]) -> tuple[str, ...]:
    """Canonical paths whose value differs, in schema order: ``externalId``, ``name.givenName``,
    ``emails``, ``urn:...:enterprise:2.0:User:employeeNumber``, ``urn:...:User:manager.value``.

    Single-valued complex attributes are compared per sub-attribute, everything else as a whole.
    """
    changed: list[str] = []
    for schema in resource_type.schemas:
        if schema is resource_type.schema:
            old, new, prefix = before, after, ""
            attributes: tuple[Attribute, ...] = (EXTERNAL_ID, *schema.attributes)
        else:
            old, new, prefix = _object(before.get(schema.id)), _object(after.get(schema.id)), f"{schema.id}:"
            attributes = schema.attributes
        for attribute in attributes:
            old_value, new_value = old.get(attribute.name), new.get(attribute.name)
            if _same(old_value, new_value):
                continue
            if attribute.type == "complex" and not attribute.multi_valued:
                old_object, new_object = _object(old_value), _object(new_value)
                names = [sub.name for sub in attribute.sub_attributes]
                names += sorted({*old_object, *new_object} - set(names))
                changed.extend(
                    f"{prefix}{attribute.name}.{name}" for name in names if not _same(old_object.get(name), new_object.get(name))
                )
            else:
                changed.append(f"{prefix}{attribute.name}")
    changed.extend(_undeclared_changes(resource_type, before, after))
    return tuple(changed)


def _undeclared_changes(resource_type: ResourceType, before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Paths of values no schema defines (kept as received) that differ, in name order."""
    old, new = dict(undeclared_paths(resource_type, before)), dict(undeclared_paths(resource_type, after))
    return [path for path in sorted({*old, *new}) if not _same(old.get(path), new.get(path))]


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _same(left: Any, right: Any) -> bool:
    """Equality that does not take ``True`` for ``1``."""
    if isinstance(left, dict | list):
        return _deep(left, right)
    return type(left) is type(right) and left == right


def _deep(left: Any, right: Any) -> bool:
    if isinstance(left, dict):
        return isinstance(right, dict) and left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list):
        return isinstance(right, list) and len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    return _same(left, right)
