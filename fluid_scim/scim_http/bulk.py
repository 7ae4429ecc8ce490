"""POST /Bulk (RFC 7644 §3.7), applied whole or not at all.

Operations run in order in one transaction, with ``bulkId:`` references resolved to the ids created
earlier in the request. The first failing operation rolls everything back: it carries its error,
the operations before it carry 424 (Failed Dependency: undone because another failed), and the
rest are not run. ``failOnErrors`` is accepted; with all-or-nothing semantics the first error ends
the request whatever its value.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, g

from fluid_scim.config import Settings
from fluid_scim.errors import Conflict, DomainError, InvalidValue, TooMany
from fluid_scim.messages import parse_bulk_request, parse_patch_operations
from fluid_scim.scim_http.errors import error_body, scim_error_answer
from fluid_scim.scim_http.request_parsing import json_body
from fluid_scim.scim_http.resource_views import base_url
from fluid_scim.scim_http.responses import scim_json
from fluid_scim.services import audit, groups, transaction, users
from fluid_scim.services.resource_support import etag

BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
_PATH = re.compile(r"^/(Users|Groups)(?:/([^/]+))?$")
_REFERENCE = re.compile(r"^bulkId:(.+)$")
FAILED_DEPENDENCY = 424  # RFC 4918 §11.4
UNDONE = "undone: a later operation of this Bulk request failed, and Bulk requests apply whole or not at all"


def register(blueprint: Blueprint) -> None:
    blueprint.add_url_rule("/Bulk", view_func=bulk, methods=["POST"])


def bulk() -> Response:
    settings: Settings = current_app.extensions["fluid_settings"]
    request_body = parse_bulk_request(json_body())
    operations: list[dict[str, Any]] = request_body["Operations"]
    if len(operations) > settings.scim_bulk_max_operations:
        raise TooMany(
            f"a Bulk request may carry at most {settings.scim_bulk_max_operations} operations; it has {len(operations)}"
        )
    results: list[dict[str, Any]] = []
    created: dict[str, str] = {}
    try:
        with transaction.all_or_nothing():
            for index, operation in enumerate(operations):
                try:
                    results.append(_run(operation, created))
                except DomainError as error:
                    results.append(_failure(operation, error, index))
                    raise
    except DomainError:
        # The events of the undone operations were rolled back with them: record the request itself.
        audit.current().recorded = False
        g.audit_detail = f"rolled back: {results[-1]['response']['detail']}"
        for result in results[:-1]:
            result.pop("location", None)
            result.pop("version", None)
            result["status"] = str(FAILED_DEPENDENCY)
            result["response"] = error_body(FAILED_DEPENDENCY, UNDONE)
    return scim_json({"schemas": [BULK_RESPONSE], "Operations": results})


def _failure(operation: dict[str, Any], error: DomainError, index: int) -> dict[str, Any]:
    answer = scim_error_answer(error)
    body = answer.body
    body["detail"] = f"Operations[{index}]: {body['detail']}"
    result = {"method": operation["method"], "status": body["status"], "response": body}
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    return result


def _resolve(value: Any, created: dict[str, str]) -> Any:
    """Replace every ``bulkId:x`` string with the id created for ``x`` earlier in the request."""
    if isinstance(value, str):
        match = _REFERENCE.match(value)
        if match is None:
            return value
        if match.group(1) not in created:
            raise Conflict(f"'{value}' refers to no resource created earlier in this request")
        return created[match.group(1)]
    if isinstance(value, list):
        return [_resolve(item, created) for item in value]
    if isinstance(value, dict):
        return {key: _resolve(item, created) for key, item in value.items()}
    return value


def _run(operation: dict[str, Any], created: dict[str, str]) -> dict[str, Any]:
    method: str = operation["method"].upper()
    match = _PATH.match(operation.get("path") or "")
    if match is None:
        raise InvalidValue(f"path must be /Users, /Groups, /Users/{{id}} or /Groups/{{id}}; got {operation.get('path')!r}")
    collection, raw_id = match.groups()
    resource_id = _resolve(raw_id, created) if raw_id else None
    service: Any = users if collection == "Users" else groups
    noun = "user" if collection == "Users" else "group"
    data = _resolve(operation.get("data") or {}, created)
    version = operation.get("version")
    organisation = g.organisation
    quirks: set[str] = g.setdefault("scim_quirks", set())
    audit.current().success_status = {"POST": 201, "DELETE": 204}.get(method, 200)
    if method == "POST" and resource_id is None:
        if not operation.get("bulkId"):
            raise InvalidValue("a POST operation needs a bulkId")
        resource = getattr(service, f"create_{noun}")(organisation=organisation, body=data, quirks=quirks)
        created[operation["bulkId"]] = resource.id
        return _success(operation, collection, resource, "201")
    if resource_id is None or method not in ("PUT", "PATCH", "DELETE"):
        raise InvalidValue(f"{method} is not allowed on {operation.get('path')}")
    key = f"{noun}_id"
    if method == "DELETE":
        getattr(service, f"delete_{noun}")(organisation=organisation, if_match=version, **{key: resource_id})
        return {"method": "DELETE", "status": "204", "location": f"{base_url()}/{collection}/{resource_id}"}
    if method == "PUT":
        resource = getattr(service, f"replace_{noun}")(
            organisation=organisation, body=data, if_match=version, quirks=quirks, **{key: resource_id}
        )
    else:
        resource = getattr(service, f"patch_{noun}")(
            organisation=organisation,
            operations=parse_patch_operations(data, quirks=quirks),
            if_match=version,
            quirks=quirks,
            **{key: resource_id},
        )
    return _success(operation, collection, resource, "200")


def _success(operation: dict[str, Any], collection: str, resource: Any, status: str) -> dict[str, Any]:
    result = {
        "method": operation["method"].upper(),
        "location": f"{base_url()}/{collection}/{resource.id}",
        "version": etag(resource.version),
        "status": status,
    }
    if operation.get("bulkId"):
        result["bulkId"] = operation["bulkId"]
    return result
