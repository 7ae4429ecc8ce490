"""Which values of a Bulk operation's data may be ``bulkId:`` references (RFC 7644 §3.7.2).

A ``bulkId:x`` reference stands for the id of a resource created earlier in the same request, and
only where the data names a resource: a group's ``members[].value`` and a user's
``manager.value`` (RFC 7643 §4.3), in a POST or PUT body and in the values of PATCH operations that
address them. Anywhere else "bulkId:x" is data like any other string (a title, a custom attribute)
and is stored as sent. Attribute names are matched case-insensitively (RFC 7643 §2.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PREFIX = "bulkId:"

Resolve = Callable[[str], str]


def resolve_data(collection: str, method: str, data: Any, resolve: Resolve) -> Any:
    """``data`` with its reference-typed ``bulkId:`` values replaced by ``resolve(bulk_id)``."""
    if not isinstance(data, dict):
        return data
    if method == "PATCH":
        return _patch(collection, data, resolve)
    return _resource(collection, data, resolve)


def _resource(collection: str, data: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    result = dict(data)
    for key, value in data.items():
        folded = key.lower()
        if collection == "Groups" and folded == "members":
            result[key] = _members(value, resolve)
        elif collection == "Users" and folded == ENTERPRISE_URN.lower() and isinstance(value, dict):
            result[key] = _enterprise(value, resolve)
    return result


def _enterprise(extension: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    return {key: _manager(value, resolve) if key.lower() == "manager" else value for key, value in extension.items()}


def _manager(value: Any, resolve: Resolve) -> Any:
    if isinstance(value, dict):
        return {key: _reference(item, resolve) if key.lower() == "value" else item for key, item in value.items()}
    return _reference(value, resolve)  # the value alone, as some clients send it


def _members(value: Any, resolve: Resolve) -> Any:
    if not isinstance(value, list):
        return value
    return [_manager(item, resolve) if isinstance(item, dict) else item for item in value]


def _patch(collection: str, data: dict[str, Any], resolve: Resolve) -> dict[str, Any]:
    result = dict(data)
    for key, operations in data.items():
        if key.lower() == "operations" and isinstance(operations, list):
            result[key] = [_operation(collection, item, resolve) for item in operations]
    return result


def _operation(collection: str, operation: Any, resolve: Resolve) -> Any:
    if not isinstance(operation, dict):
        return operation
    path = next((item for key, item in operation.items() if key.lower() == "path"), None)
    result = dict(operation)
    for key, value in operation.items():
        if key.lower() == "value":
            result[key] = _operation_value(collection, path, value, resolve)
    return result


def _operation_value(collection: str, path: Any, value: Any, resolve: Resolve) -> Any:
    if path is None:
        return _resource(collection, value, resolve) if isinstance(value, dict) else value
    if not isinstance(path, str):
        return value
    folded = path.strip().lower()
    if collection == "Groups" and folded.split("[", 1)[0] == "members":
        return _manager(value, resolve) if isinstance(value, dict) else _members(value, resolve)
    if collection == "Users":
        return _user_path_value(folded, value, resolve)
    return value


def _user_path_value(folded: str, value: Any, resolve: Resolve) -> Any:
    enterprise = ENTERPRISE_URN.lower()
    if folded == enterprise:
        return _enterprise(value, resolve) if isinstance(value, dict) else value
    attribute = folded[len(enterprise) + 1 :] if folded.startswith(enterprise + ":") else None
    if attribute == "manager":
        return _manager(value, resolve)
    if attribute == "manager.value":
        return _reference(value, resolve)
    return value


def _reference(value: Any, resolve: Resolve) -> Any:
    if isinstance(value, str) and value.startswith(PREFIX) and len(value) > len(PREFIX):
        return resolve(value[len(PREFIX) :])
    return value
